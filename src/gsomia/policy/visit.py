"""Visits by one party's personnel to the other (Art. 8).

A visit needs an agreement between the requesting party and the host that allows exchanges at
that instant (Art. 21).  When the host names the highest level that may be disclosed (in its own
scheme), that level must have an equivalent in the requesting party's scheme under the
agreement's table (Art. 4), and the visitor's national clearance must reach that equivalent
(Art. 7: access needs a clearance; Art. 8: the stated level bounds disclosure).

Pure; deny by default: an unknown party, level or agreement denies with a reason.
"""

from __future__ import annotations

from datetime import datetime

from gsomia.agreements import Agreement, Segment, State
from gsomia.policy.decision import Code, Decision, Marking, deny
from gsomia.reasons import Reason
from gsomia.registry import Registry

__all__ = ["VISIT_ALLOWED", "visit"]

VISIT_ALLOWED = "VISIT_ALLOWED"
_DEFAULT = "deny by default"


def _unknown_level(party: str, text: str) -> Reason:
    return Reason(Code.UNKNOWN_LEVEL, f"{text!r} is not a level of the {party} scheme", _DEFAULT)


def _in_force(reg: Registry, a: str, b: str, at: datetime) -> tuple[Agreement, Segment] | Reason:
    """The first agreement between ``a`` and ``b`` allowing exchanges at ``at``, or why none."""
    why: Reason | None = None
    for agreement in reg.between(a, b):
        seg = reg.timelines[agreement.id].segment_at(at)
        if seg.state.exchange_allowed:
            return agreement, seg
        if why is None:
            code = (
                Code.AGREEMENT_TERMINATED
                if seg.state is State.TERMINATED
                else Code.AGREEMENT_NOT_IN_FORCE
            )
            why = Reason(code, f"{agreement.id} is {seg.state}", agreement.cite)
    return why or Reason(Code.NO_AGREEMENT, f"no agreement between {a} and {b}", _DEFAULT)


def visit(
    reg: Registry,
    requester: str,
    host: str,
    clearance: str,
    at: datetime,
    level: str | None = None,
) -> Decision:
    """May ``requester``'s official cleared at ``clearance`` visit ``host`` at ``at`` (Art. 8),
    and, if ``level`` is given, be disclosed CMI up to the host's ``level``?"""
    for party in (requester, host):
        if party not in reg.parties:
            return deny(Reason(Code.UNKNOWN_PARTY, f"unknown party {party!r}", _DEFAULT))
    if requester == host:
        return deny(Reason(Code.SAME_PARTY, "a party does not visit itself", "Art. 8"))
    cleared = reg.schemes[requester].find(clearance)
    if cleared is None:
        return deny(_unknown_level(requester, clearance))
    found = _in_force(reg, requester, host, at)
    if isinstance(found, Reason):
        return deny(found)
    agreement, seg = found
    path = (requester, host)
    if level is None:
        reason = Reason(VISIT_ALLOWED, f"{agreement.id} allows exchanges", "Art. 8")
        return Decision(True, (reason,), agreement.id, seg.table_version, path)
    disclosed = reg.schemes[host].find(level)
    if disclosed is None:
        return deny(_unknown_level(host, level), path=path)
    equivalent = agreement.table(seg.table_version).equivalent(host, disclosed.native, requester)
    if equivalent is None:
        return deny(
            Reason(
                Code.LEVEL_NOT_COVERED,
                f"{host} {disclosed.native} has no {requester} equivalent under {agreement.id}",
                "Art. 4",
            ),
            path=path,
        )
    if reg.schemes[requester].level(equivalent).rank > cleared.rank:
        return deny(
            Reason(
                Code.CLEARANCE_INSUFFICIENT,
                f"the visitor's {cleared.native} clearance is below {equivalent}",
                "Art. 7, Art. 8",
            ),
            path=path,
        )
    return Decision(
        True,
        (
            Reason(
                VISIT_ALLOWED,
                f"up to {disclosed.native} may be disclosed ({requester} {equivalent})",
                "Art. 8",
            ),
        ),
        agreement.id,
        seg.table_version,
        path,
        (Marking(host, disclosed.native), Marking(requester, equivalent)),
    )
