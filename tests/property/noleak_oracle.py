"""The no-leak oracle (issue 8 §4): who may hold and read an item, written apart from gsomia.policy.

The state machine in ``test_no_leak.py`` asks this module, never :mod:`gsomia.policy`, whether a
party may hold an item and whether an official may read it.  It is small on purpose, and reads
the rules straight from PRODUCT.md §3-§4 and the shipped agreement files:

* **Grades, not tables.**  Every level of every scheme has an English grade (TOP SECRET, SECRET,
  CONFIDENTIAL) and a rank; an agreement *covers* a set of grades (Art. 4: the ROK-JPN table has
  SECRET and CONFIDENTIAL only, so KOR 군사I급비밀 can never pass under it; TISA is up to SECRET;
  the two US bilaterals cover all three).  A party's equivalent of a level is any of its levels
  of the same grade; the one it must protect at least as is the lowest-ranked of those.
* **The ROK-JPN state** (Art. 21) is computed here from the events, by the rules of PRODUCT.md
  §4 (one-year terms from 23 Nov 2016 00:00 KST; a notice takes effect at the end of the term if
  given at least 90 days before it, else at the end of the next; suspended keeps it in force;
  a resumption names the instant; a withdrawal restores it; terminated is final), not by
  :mod:`gsomia.agreements`.  The US bilaterals and TISA have no events in the run: always in force.
* **Holding** (Arts. 6, 21; TISA): a party other than the originator may hold an item only if it
  came to it by one of three routes, each checked at the instant the item *arrived* (the item was
  provided then): (1) directly from the originator, to a recipient the originator named, in
  Releasable To, the release topic on the label, under an agreement between the two allowing new
  exchanges then and covering the grade; (2) through the TISA hub (USA in Releasable To, topic NK
  nuclear or missile, grade up to SECRET), for the hub itself and for a final recipient the
  originator named; (3) by a forward the holder made under the originator's written consent for
  that item, third party and purpose (granted before, not expired, not yet revoked as far as the
  holder knew), under an agreement between holder and third party allowing new exchanges at
  arrival and covering the grade.
* **Reading** (Art. 7): an active reader of the holding party's nationality, in the register,
  with duties covering every topic of the item and a clearance under the holder's scheme ranked
  at least the lowest equivalent, for the holder, of the item's current level; rank or post alone
  never.  Access does not depend on the agreement's state (Art. 21: what was provided stays
  readable), and nothing is readable once returned or destroyed (Art. 13).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

TS, S, C = "TOP SECRET", "SECRET", "CONFIDENTIAL"
PARTIES = ("KOR", "JPN", "USA")
HUB = "USA"

# party -> level -> (grade, rank); from schemes.toml, written out again here on purpose.
LEVELS: dict[str, dict[str, tuple[str, int]]] = {
    "KOR": {"군사I급비밀": (TS, 40), "군사II급비밀": (S, 30), "군사III급비밀": (C, 20)},
    "JPN": {"機密": (TS, 40), "特定秘密": (S, 35), "極秘": (S, 30), "秘": (C, 20)},
    "USA": {"TOP SECRET": (TS, 40), "SECRET": (S, 30), "CONFIDENTIAL": (C, 20)},
}
KOR_JPN = "kor-jpn-gsomia-2016"
# The bilateral agreement linking each pair and the grades it covers (Art. 4 tables).
BILATERAL: dict[frozenset[str], tuple[str, frozenset[str]]] = {
    frozenset({"KOR", "JPN"}): (KOR_JPN, frozenset({S, C})),
    frozenset({"KOR", "USA"}): ("usa-kor-gsomia-1987", frozenset({TS, S, C})),
    frozenset({"JPN", "USA"}): ("usa-jpn-gsomia-2007", frozenset({TS, S, C})),
}
TISA_GRADES = frozenset({S, C})
TISA_TOPICS = frozenset({"NK-MISSILE", "NK-NUCLEAR"})

SEOUL = ZoneInfo("Asia/Seoul")
FIRST_TERM = datetime(2016, 11, 23, tzinfo=SEOUL)
NOTICE = timedelta(days=90)


def grade(party: str, level: str) -> str | None:
    """The English grade of ``party``'s ``level``; None for an unknown level (deny)."""
    found = LEVELS.get(party, {}).get(level)
    return None if found is None else found[0]


def rank(party: str, level: str | None) -> int | None:
    """The rank of ``party``'s ``level`` within its own scheme; None if unknown."""
    found = LEVELS.get(party, {}).get(level or "")
    return None if found is None else found[1]


def least_equivalent_rank(originator: str, level: str, holder: str) -> int | None:
    """The lowest rank among ``holder``'s levels of the grade of the originator's ``level``."""
    g = grade(originator, level)
    ranks = [r for gg, r in LEVELS[holder].values() if gg == g]
    return min(ranks) if ranks else None


# -- Art. 21: the ROK-JPN agreement's state, from its events -------------------------------------


@dataclass(frozen=True)
class Ev:
    """One ROK-JPN event: kind as in the agreement files, instant, and for a resumption the
    instant it names."""

    kind: str
    at: datetime
    effective: datetime | None = None


BUILT_IN: tuple[Ev, ...] = (
    Ev("signed", datetime(2016, 11, 23, tzinfo=SEOUL)),
    Ev("entered_into_force", datetime(2016, 11, 23, tzinfo=SEOUL)),
    Ev("notice_given", datetime(2019, 8, 23, tzinfo=SEOUL)),
    Ev("notice_suspended", datetime(2019, 11, 22, 18, tzinfo=SEOUL)),
    Ev("notice_withdrawn", datetime(2023, 3, 21, tzinfo=SEOUL)),
)


def _anniversary(k: int) -> datetime:
    return FIRST_TERM.replace(year=FIRST_TERM.year + k)


def notice_takes_effect(given: datetime) -> datetime:
    """End of the current term if ``given`` at least 90 days before it, else end of the next."""
    k = 1
    while _anniversary(k) <= given:
        k += 1
    return _anniversary(k) if given <= _anniversary(k) - NOTICE else _anniversary(k + 1)


def kor_jpn_allows(events: tuple[Ev, ...], t: datetime) -> bool:
    """Does the ROK-JPN agreement allow new exchanges at ``t`` (Art. 21; PRODUCT.md §4)?"""
    state, effective = "not_in_force", None
    for ev in events:
        if ev.at > t:
            break
        if state == "notice" and effective is not None and effective <= ev.at:
            state = "terminated"
        if ev.kind == "entered_into_force":
            state = "in_force"
        elif ev.kind == "notice_given":
            state, effective = "notice", notice_takes_effect(ev.at)
        elif ev.kind == "notice_suspended":
            state = "suspended"
        elif ev.kind == "notice_resumed":
            state, effective = "notice", ev.effective
        elif ev.kind == "notice_withdrawn":
            state = "in_force"
        elif ev.kind == "terminated":
            state = "terminated"
    if state == "notice" and effective is not None and effective <= t:
        state = "terminated"
    return state in {"in_force", "notice", "suspended"}


# -- what the test did: releases, consents, forwards ----------------------------------------------


@dataclass
class Released:
    """An item the test released, as it asked: the originator's label and the request."""

    item_id: str
    originator: str
    level: str
    rel_to: frozenset[str]
    label_topics: frozenset[str]
    topic: str
    recipients: frozenset[str]
    at: datetime
    levels: list[str] = field(default_factory=list)  # every level it has had, in order


@dataclass(frozen=True)
class Granted:
    """A written consent the originator's security officer granted (Art. 6)."""

    consent_id: str
    item_id: str
    holder: str
    third_party: str
    purpose: str
    granted: datetime
    expires: datetime


@dataclass(frozen=True)
class Forwarded:
    """A forward the holder's node reported done, with what the holder knew at that instant."""

    item_id: str
    holder: str
    third_party: str
    purpose: str
    at: datetime
    level: str  # the level the holder held the item at
    known_revoked: frozenset[str]  # consents the holder had recorded as revoked


@dataclass
class Oracle:
    """The test's own account of the world, and the rules above over it."""

    events: tuple[Ev, ...] = BUILT_IN
    released: dict[str, Released] = field(default_factory=dict)
    granted: dict[str, Granted] = field(default_factory=dict)
    forwards: list[Forwarded] = field(default_factory=list)

    def allows(self, a: str, b: str, t: datetime) -> tuple[bool, frozenset[str]]:
        """Whether the bilateral agreement between ``a`` and ``b`` allows new exchanges at
        ``t``, and the grades it covers."""
        agreement, grades = BILATERAL[frozenset({a, b})]
        return (kor_jpn_allows(self.events, t) if agreement == KOR_JPN else True), grades

    def may_hold(self, party: str, item_id: str, arrived: datetime) -> str | None:
        """The route by which ``party`` may hold the item that arrived at ``arrived``; None if
        there is none (a leak)."""
        item = self.released.get(item_id)
        if item is None:
            return None  # an item the test never released: nobody may hold it
        if party == item.originator:
            return "originator"
        g = grade(item.originator, item.level)
        label_ok = item.topic in item.label_topics and g is not None
        if label_ok and party in item.recipients and party in item.rel_to:
            in_force, grades = self.allows(item.originator, party, arrived)
            if in_force and g in grades:
                return "direct"
        hub_ok = (
            label_ok
            and HUB in item.rel_to
            and item.topic in TISA_TOPICS
            and g in TISA_GRADES
            and item.originator != HUB
        )
        if hub_ok and party == HUB and any(r in item.rel_to for r in item.recipients - {HUB}):
            return "hub"
        if hub_ok and party in item.recipients and party in item.rel_to and party != HUB:
            return "via hub"
        for fwd in self.forwards:
            if (fwd.item_id, fwd.third_party) != (item_id, party) or fwd.at > arrived:
                continue
            consent = any(
                (c.item_id, c.holder, c.third_party, c.purpose)
                == (item_id, fwd.holder, party, fwd.purpose)
                and c.granted <= fwd.at < c.expires
                and c.consent_id not in fwd.known_revoked
                for c in self.granted.values()
            )
            in_force, grades = self.allows(fwd.holder, party, arrived)
            fg = grade(item.originator, fwd.level)
            if consent and in_force and fg in grades:
                return "forward"
        return None


@dataclass(frozen=True)
class Person:
    """An official as the test defined it (Art. 7), kept apart from the node's directory."""

    id: str
    nationality: str
    clearance: str | None
    duties: frozenset[str]
    in_register: bool = True
    active: bool = True
    roles: frozenset[str] = frozenset({"reader"})


def may_read(
    person: Person, holder: str, originator: str, level: str, marking: str | None, topics: set[str]
) -> bool:
    """Art. 7 at the holder, for an item held at the originator's ``level``; ``marking`` is the
    holder's own marking of it (None at the originator)."""
    if not (person.active and "reader" in person.roles and person.in_register):
        return False
    if person.nationality != holder or person.clearance is None:
        return False
    cleared = rank(holder, person.clearance)
    if holder == originator:
        needed = rank(holder, level)
    else:
        floor = least_equivalent_rank(originator, level, holder)
        own = rank(holder, marking)
        needed = None if floor is None or own is None else max(floor, own)
    if cleared is None or needed is None or cleared < needed:
        return False
    return bool(topics) and topics <= person.duties
