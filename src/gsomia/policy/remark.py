"""Re-marking CMI already provided, after the originator reclassifies it (Arts. 4, 6).

The originator may reclassify CMI it provided (Art. 6) and the recipient must re-mark it: the
recipient's new marking is its equivalent (Art. 4) of the originator's new level, under the
agreement the item was provided under, with that agreement's equivalence table at the instant of
the reclassification.  The agreement need not allow *new* exchanges: CMI already provided stays
protected after termination (Art. 21), and re-marking protects it.  A new level without an
equivalent under that table (for example the ROK's 군사I급비밀, outside the ROK–JPN agreement)
denies with ``LEVEL_NOT_COVERED``: such an item cannot be held under the agreement, and the
originator should request its return or destruction instead.

Pure; deny by default: an unknown party, level or agreement denies with a reason.
"""

from __future__ import annotations

from datetime import datetime

from gsomia.policy.decision import Code, Decision, Marking, deny
from gsomia.reasons import Reason
from gsomia.registry import Registry

__all__ = ["REMARK_ALLOWED", "remark"]

REMARK_ALLOWED = "REMARK_ALLOWED"
_DEFAULT = "deny by default"


def _unknown_level(party: str, text: str) -> Reason:
    return Reason(Code.UNKNOWN_LEVEL, f"{text!r} is not a level of the {party} scheme", _DEFAULT)


def remark(
    reg: Registry,
    agreement_id: str,
    originator: str,
    level: str,
    holder: str,
    at: datetime,
    *,
    table_version: int | None = None,
) -> Decision:
    """The marking ``holder`` applies to ``originator``'s new ``level`` (Arts. 4, 6).

    ``agreement_id`` is the agreement the item was provided under; ``table_version`` the
    version it was marked under, used if the agreement had no table at ``at``.
    """
    agreement = reg.agreements.get(agreement_id)
    if agreement is None or not {originator, holder} <= set(agreement.parties):
        return deny(
            Reason(Code.NO_AGREEMENT, f"no agreement {agreement_id!r} between the two", _DEFAULT)
        )
    found = reg.schemes[originator].find(level) if originator in reg.parties else None
    if found is None:
        return deny(_unknown_level(originator, level))
    version = reg.timelines[agreement_id].segment_at(at).table_version or table_version
    if version is None or not 1 <= version <= len(agreement.tables):
        return deny(
            Reason(Code.AGREEMENT_NOT_IN_FORCE, f"{agreement_id} has no table", agreement.cite)
        )
    equivalent = agreement.table(version).equivalent(originator, found.native, holder)
    if equivalent is None:
        return deny(
            Reason(
                Code.LEVEL_NOT_COVERED,
                f"{originator} {found.native} has no {holder} equivalent under {agreement_id} "
                f"table v{version}",
                "Art. 4",
            )
        )
    return Decision(
        True,
        (
            Reason(
                REMARK_ALLOWED,
                f"{holder} re-marks {originator} {found.native} as {equivalent}",
                "Art. 4, Art. 6",
            ),
        ),
        agreement_id,
        version,
        (originator, holder),
        (Marking(originator, found.native), Marking(holder, equivalent)),
    )
