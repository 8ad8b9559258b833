"""Access by an official to an item a party holds (Art. 7).

Art. 7: no person is entitled to access CMI solely by virtue of rank, appointment or clearance.
Access needs official duties that require it *and* a personnel security clearance granted under the
receiving party's law.  Here that is: the official is a national of the holding party (Art. 8
visits are a separate decision), holds a clearance under the holder's scheme at or above the level
under which the holder keeps the item (its own marking, or the equivalent it applied), has duties
covering every topic of the item, and is listed in the register of cleared persons (Art. 6).

Access does not depend on the agreement's state: CMI already provided stays protected, and readable
under the same rules, after termination (Art. 21).
"""

from __future__ import annotations

from dataclasses import dataclass

from gsomia.labels import LabelSet
from gsomia.policy.decision import Code, Decision, Marking, deny
from gsomia.reasons import Reason
from gsomia.registry import Registry

_ART7 = "Art. 7"


@dataclass(frozen=True, slots=True)
class Official:
    """A person in a node's directory.  ``rank`` and ``post`` never grant access by themselves."""

    id: str
    nationality: str
    clearance: str | None
    duties: frozenset[str]
    in_register: bool
    rank: str = ""
    post: str = ""


def access(
    reg: Registry, official: Official, labels: LabelSet, holder: str, topic: str | None = None
) -> Decision:
    """May ``official`` read the item ``holder`` holds with ``labels``?"""
    out: list[Reason] = []
    if holder not in reg.parties:
        return deny(Reason(Code.UNKNOWN_PARTY, f"unknown party {holder!r}", "deny by default"))
    scheme = reg.schemes[holder]
    if official.nationality != holder:
        out.append(
            Reason(
                Code.NATIONALITY,
                f"{official.id} is a {official.nationality} official; {holder} holds this item",
                _ART7,
            )
        )
    marking = labels.marking_for(holder)
    item_rank = None
    if marking is None:
        out.append(
            Reason(Code.NO_HOLDER_MARKING, f"{holder} holds no marking of this item", "Art. 4")
        )
    else:
        level = scheme.find(marking[1]) if marking[0] == scheme.id else None
        if level is None:
            out.append(
                Reason(
                    Code.UNKNOWN_LEVEL,
                    f"{marking[1]!r} is not a {scheme.id} level",
                    "deny by default",
                )
            )
        else:
            item_rank = level.rank
    if official.clearance is None:
        out.append(Reason(Code.NO_CLEARANCE, f"{official.id} holds no clearance", _ART7))
    else:
        clearance = scheme.find(official.clearance)
        if clearance is None:
            out.append(
                Reason(
                    Code.UNKNOWN_LEVEL,
                    f"clearance {official.clearance!r} is not a {scheme.id} level",
                    "deny by default",
                )
            )
        elif item_rank is not None and clearance.rank < item_rank:
            assert marking is not None
            out.append(
                Reason(
                    Code.CLEARANCE_INSUFFICIENT,
                    f"clearance {clearance.native} is below the item's {marking[1]}",
                    _ART7,
                )
            )
    topics = set(labels.originator.topics)
    if topic is not None:
        topics.add(topic)
    if not topics:
        out.append(Reason(Code.NO_TOPIC, "the item names no topic, so no duty can be shown", _ART7))
    for t in sorted(topics - official.duties):
        known = t in reg.topics
        out.append(
            Reason(
                Code.NO_DUTY if known else Code.UNKNOWN_TOPIC,
                f"{official.id} has no duty covering {t}" if known else f"unknown topic {t!r}",
                _ART7 if known else "deny by default",
            )
        )
    if not official.in_register:
        out.append(
            Reason(
                Code.NOT_IN_REGISTER,
                f"{official.id} is not in the register of cleared persons",
                "Art. 6",
            )
        )
    if out:
        return deny(*out)
    assert marking is not None
    return Decision(
        True,
        (
            Reason(
                Code.ACCESS_ALLOWED,
                f"{official.id}: cleared, on duty for {', '.join(sorted(topics))}, in the register",
                _ART7,
            ),
        ),
        markings=(Marking(holder, marking[1]),),
    )
