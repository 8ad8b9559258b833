"""The registry: schemes, topics and agreements loaded together, checked against each other.

It is a pure value built by :mod:`gsomia.catalog` (which reads the data files) or by tests.  On
construction it checks what no single file can: every level text of every equivalence table is a
level of that party's scheme, and each table covers a *downward-closed* set of each party's levels
(if a level is covered, so is every less sensitive one).  That closure is what makes release
decisions monotone: raising an item's level can never turn a denial into a release.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gsomia.agreements import Agreement, Kind, Timeline, compile_timeline
from gsomia.errors import DataError, MarkingError, NotFoundError
from gsomia.markings import Level, Scheme


def _freeze(
    index: dict[tuple[str, str], list[Agreement]],
) -> Mapping[tuple[str, str], tuple[Agreement, ...]]:
    return MappingProxyType({k: tuple(v) for k, v in index.items()})


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic code and what it covers."""

    code: str
    name: str


@dataclass(frozen=True)
class Registry:
    """Everything a decision needs to know, indexed for fast lookup."""

    schemes: Mapping[str, Scheme]
    topics: Mapping[str, Topic]
    agreements: Mapping[str, Agreement]
    timelines: Mapping[str, Timeline] = field(init=False, repr=False)
    parties: frozenset[str] = field(init=False)
    _pairs: Mapping[tuple[str, str], tuple[Agreement, ...]] = field(init=False, repr=False)
    _hubs: Mapping[tuple[str, str], tuple[Agreement, ...]] = field(init=False, repr=False)
    memo: dict[tuple[Any, ...], Any] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )
    """Memo of policy hops and allowed decisions, owned by :mod:`gsomia.policy.exchange`
    (bounded: every key is made of known agreements, segments, parties, levels and topics)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "schemes", MappingProxyType(dict(self.schemes)))
        object.__setattr__(self, "topics", MappingProxyType(dict(self.topics)))
        object.__setattr__(self, "agreements", MappingProxyType(dict(self.agreements)))
        parties = frozenset(s.party for s in self.schemes.values() if s.party is not None)
        object.__setattr__(self, "parties", parties)
        for agreement in self.agreements.values():
            self._check(agreement)
        timelines = {a.id: compile_timeline(a) for a in self.agreements.values()}
        object.__setattr__(self, "timelines", MappingProxyType(timelines))
        # Indexes by ordered pair of parties, so that decisions never scan the agreements.
        # Bilateral agreements first: a direct agreement is preferred to a hub arrangement.
        pairs: dict[tuple[str, str], list[Agreement]] = {}
        hubs: dict[tuple[str, str], list[Agreement]] = {}
        ordered = sorted(self.agreements.values(), key=lambda a: (a.kind is Kind.HUB, a.id))
        for agreement in ordered:
            for a in agreement.parties:
                for b in agreement.parties:
                    if agreement.links(a, b):
                        pairs.setdefault((a, b), []).append(agreement)
                    elif a != b and agreement.kind is Kind.HUB:  # two spokes of one hub
                        hubs.setdefault((a, b), []).append(agreement)
        object.__setattr__(self, "_pairs", _freeze(pairs))
        object.__setattr__(self, "_hubs", _freeze(hubs))

    def _check(self, agreement: Agreement) -> None:
        for party in agreement.parties:
            if party not in self.parties:
                raise DataError(
                    f"{agreement.id}: party {party} has no marking scheme", code="DATA_INVALID"
                )
        if agreement.topics is not None:
            unknown = agreement.topics - set(self.topics)
            if unknown:
                raise DataError(f"{agreement.id}: unknown topics {sorted(unknown)}")
        for table in agreement.tables:
            for party in agreement.parties:
                scheme = self.scheme_of(party)
                covered = table.covered(party)
                for text in covered:
                    found = scheme.find(text)
                    if found is None or found.native != text:
                        raise DataError(
                            f"{agreement.id} table v{table.version}: {text!r} is not "
                            f"a level of the {scheme.id} scheme"
                        )
                ranks = [scheme.level(t).rank for t in covered]
                if ranks:
                    floor = max(ranks)
                    missing = [
                        lv.native
                        for lv in scheme.levels
                        if lv.rank <= floor and lv.native not in covered
                    ]
                    if missing:
                        raise DataError(
                            f"{agreement.id} table v{table.version}: {party} levels {missing} are "
                            "below a covered level but not covered (tables must be downward "
                            "closed)"
                        )

    def scheme_of(self, party: str) -> Scheme:
        """The national scheme of ``party``; raise ``UNKNOWN_PARTY`` if none."""
        scheme = self.schemes.get(party)
        if scheme is None or scheme.party != party:
            raise MarkingError(
                f"unknown party {party!r} (known: {', '.join(sorted(self.parties))})",
                code="UNKNOWN_PARTY",
            )
        return scheme

    def level(self, party: str, text: str) -> Level:
        """``party``'s level named ``text`` (native text or alias)."""
        return self.scheme_of(party).level(text)

    def agreement(self, agreement_id: str) -> Agreement:
        """The agreement with that id; raise ``AGREEMENT_NOT_FOUND`` if none."""
        found = self.agreements.get(agreement_id)
        if found is None:
            raise NotFoundError(
                f"no agreement {agreement_id!r} (known: {', '.join(sorted(self.agreements))})",
                code="AGREEMENT_NOT_FOUND",
            )
        return found

    def timeline(self, agreement_id: str) -> Timeline:
        """The compiled timeline of that agreement."""
        self.agreement(agreement_id)
        return self.timelines[agreement_id]

    def between(self, a: str, b: str) -> tuple[Agreement, ...]:
        """Agreements under which CMI may pass directly from ``a`` to ``b``, bilateral first."""
        return self._pairs.get((a, b), ())

    def hub_arrangements(self, a: str, b: str) -> tuple[Agreement, ...]:
        """Hub arrangements with ``a`` and ``b`` as spokes (neither is the hub)."""
        return self._hubs.get((a, b), ())

    def replace_agreements(self, agreements: Iterable[Agreement]) -> Registry:
        """A registry with these agreements substituted (by id) — used for what-if analysis."""
        merged = dict(self.agreements)
        merged.update({a.id: a for a in agreements})
        return Registry(self.schemes, self.topics, merged)
