"""The agreement model: parties, scope, term, notice period, equivalence tables and events.

An :class:`Agreement` is a value.  Its status at any instant is a pure function of its recorded
events (see :mod:`gsomia.agreements.lifecycle`); nothing about its state is stored beside them.

Events mirror what the parties do through the diplomatic channel (Art. 21 of the 2016 ROK–JPN
text): sign, enter into force, give written notice of termination, suspend the effect of a notice
(with the notifying party's claimed condition and whether the other party disputes it), resume it
(naming the instant termination takes effect), withdraw it, amend the agreement (a new version of
its equivalence table) and terminate it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from gsomia.errors import AgreementError
from gsomia.instants import require_aware, zone
from gsomia.markings import EquivalenceTable, validate_party


class State(StrEnum):
    """The state of an agreement at an instant (PRODUCT.md §4)."""

    NOT_IN_FORCE = "not_in_force"
    IN_FORCE = "in_force"
    NOTICE_GIVEN = "notice_given"
    NOTICE_SUSPENDED = "notice_suspended"
    TERMINATED = "terminated"

    @property
    def exchange_allowed(self) -> bool:
        """New exchanges are allowed exactly while the agreement is in force (Art. 21)."""
        return self in _EXCHANGE_STATES


_EXCHANGE_STATES = frozenset({State.IN_FORCE, State.NOTICE_GIVEN, State.NOTICE_SUSPENDED})


class EventKind(StrEnum):
    """What a party (or the parties) did."""

    SIGNED = "signed"
    ENTERED_INTO_FORCE = "entered_into_force"
    NOTICE_GIVEN = "notice_given"
    NOTICE_SUSPENDED = "notice_suspended"
    NOTICE_RESUMED = "notice_resumed"
    NOTICE_WITHDRAWN = "notice_withdrawn"
    AMENDED = "amended"
    TERMINATED = "terminated"


class Kind(StrEnum):
    """A treaty-level bilateral agreement, or a hub arrangement such as TISA."""

    BILATERAL = "bilateral"
    HUB = "hub_arrangement"


class RelayRule(StrEnum):
    """How a hub may pass on what it received (TISA: only with the originator's approval)."""

    ORIGINATOR_APPROVAL = "originator_approval"


@dataclass(frozen=True, slots=True)
class Event:
    """One recorded (or hypothetical) event of an agreement."""

    kind: EventKind
    at: datetime
    by: str | None = None
    note: str = ""
    source: str = ""
    condition: str = ""
    disputed_by: str | None = None
    effective: datetime | None = None
    table_version: int | None = None
    hypothetical: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at, f"{self.kind} time"))
        if self.effective is not None:
            object.__setattr__(
                self, "effective", require_aware(self.effective, f"{self.kind} effective time")
            )
        for who in (self.by, self.disputed_by):
            if who is not None:
                validate_party(who)
        needs_by = {
            EventKind.NOTICE_GIVEN,
            EventKind.NOTICE_SUSPENDED,
            EventKind.NOTICE_RESUMED,
            EventKind.NOTICE_WITHDRAWN,
        }
        if self.kind in needs_by and self.by is None:
            raise AgreementError(
                f"a {self.kind} event must say which party (by)", code="EVENT_INVALID"
            )
        if self.kind is EventKind.NOTICE_RESUMED and self.effective is None:
            raise AgreementError(
                "notice_resumed must name the instant termination takes effect",
                code="EVENT_INVALID",
            )
        if self.kind is EventKind.AMENDED and self.table_version is None:
            raise AgreementError("an amendment names the new table version", code="EVENT_INVALID")


@dataclass(frozen=True, slots=True)
class Agreement:
    """A GSOMIA or a hub arrangement, with its recorded history."""

    id: str
    title: str
    kind: Kind
    parties: tuple[str, ...]
    tables: tuple[EquivalenceTable, ...]
    events: tuple[Event, ...]
    zone_name: str = "UTC"
    term_years: int | None = 1
    notice_days: int | None = 90
    topics: frozenset[str] | None = None
    hub: str | None = None
    relay_rule: RelayRule | None = None
    treaty: bool = True
    duration_clause: str = ""
    notes: str = ""
    sources: tuple[str, ...] = ()
    tz: ZoneInfo = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.id or not self.id.replace("-", "").isalnum() or self.id.lower() != self.id:
            raise AgreementError(
                f"agreement id {self.id!r}: use lower-case words and hyphens",
                code="AGREEMENT_INVALID",
            )
        for party in self.parties:
            validate_party(party)
        if len(set(self.parties)) != len(self.parties) or len(self.parties) < 2:
            raise AgreementError(
                f"{self.id}: needs two or more distinct parties", code="AGREEMENT_INVALID"
            )
        if self.kind is Kind.HUB:
            if self.hub not in self.parties or self.relay_rule is None:
                raise AgreementError(
                    f"{self.id}: a hub arrangement names its hub and relay rule",
                    code="AGREEMENT_INVALID",
                )
        elif self.hub is not None or len(self.parties) != 2:
            raise AgreementError(
                f"{self.id}: a bilateral agreement has two parties and no hub",
                code="AGREEMENT_INVALID",
            )
        if self.term_years is not None and self.term_years < 1:
            raise AgreementError(
                f"{self.id}: term must be at least one year", code="AGREEMENT_INVALID"
            )
        if self.notice_days is not None and self.notice_days < 0:
            raise AgreementError(
                f"{self.id}: notice period cannot be negative", code="AGREEMENT_INVALID"
            )
        versions = [t.version for t in self.tables]
        if versions != list(range(1, len(versions) + 1)):
            raise AgreementError(
                f"{self.id}: table versions must be 1, 2, … in order", code="AGREEMENT_INVALID"
            )
        for table in self.tables:
            if table.agreement != self.id:
                raise AgreementError(
                    f"{self.id}: table v{table.version} belongs elsewhere", code="AGREEMENT_INVALID"
                )
            for row in table.rows:
                strangers = set(row.markings) - set(self.parties)
                if strangers:
                    raise AgreementError(
                        f"{self.id}: table v{table.version} names non-parties {sorted(strangers)}",
                        code="AGREEMENT_INVALID",
                    )
        for event in self.events:
            for who in (event.by, event.disputed_by):
                if who is not None and who not in self.parties:
                    raise AgreementError(
                        f"{self.id}: {who} is not a party to it", code="AGREEMENT_INVALID"
                    )
            if event.table_version is not None and event.table_version not in versions:
                raise AgreementError(
                    f"{self.id}: amendment names table v{event.table_version}, which is not in "
                    "the data",
                    code="AGREEMENT_INVALID",
                )
        object.__setattr__(self, "tz", zone(self.zone_name))

    @property
    def cite(self) -> str:
        """The clause on duration and termination, for reasons ("Art. 21")."""
        return self.duration_clause or f"{self.id} duration clause"

    def table(self, version: int) -> EquivalenceTable:
        """The equivalence table of that version."""
        return self.tables[version - 1]

    def with_events(self, extra: tuple[Event, ...]) -> Agreement:
        """The same agreement with ``extra`` events merged in time order (what-if analysis)."""
        merged = tuple(sorted((*self.events, *extra), key=lambda e: e.at))
        return Agreement(
            id=self.id,
            title=self.title,
            kind=self.kind,
            parties=self.parties,
            tables=self.tables,
            events=merged,
            zone_name=self.zone_name,
            term_years=self.term_years,
            notice_days=self.notice_days,
            topics=self.topics,
            hub=self.hub,
            relay_rule=self.relay_rule,
            treaty=self.treaty,
            duration_clause=self.duration_clause,
            notes=self.notes,
            sources=self.sources,
        )

    def covers(self, topic: str) -> bool:
        """Whether ``topic`` is in scope (no scope = every defence topic)."""
        return self.topics is None or topic in self.topics

    def links(self, a: str, b: str) -> bool:
        """Whether CMI may pass directly from ``a`` to ``b`` under this agreement.

        Under a hub arrangement (TISA) one of the two must be the hub: the spokes give
        information to the hub, which passes it on only with the originator's approval.
        """
        if a == b or a not in self.parties or b not in self.parties:
            return False
        return self.kind is Kind.BILATERAL or self.hub in (a, b)
