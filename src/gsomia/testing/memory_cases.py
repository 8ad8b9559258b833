"""The in-memory Store's case records: breaches, disposals, visits, reclassifications and
agreement events (:mod:`gsomia.ports.cases`), as mixins of :mod:`gsomia.testing.memory_store`.

The committed state holds one :class:`CaseState` (dicts of immutable records, so a shallow copy
is a snapshot); a unit of work writes into its copy.  Conflicts are checked before anything
changes, and every error code matches :mod:`gsomia.adapters.sqlite_store.cases`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from gsomia.agreements import Event
from gsomia.errors import InputError
from gsomia.instants import require_aware
from gsomia.ports import Recorded, check_limit, check_transition, conflict, not_found
from gsomia.ports.cases import (
    BREACH_TRANSITIONS,
    DISPOSAL_TRANSITIONS,
    VISIT_TRANSITIONS,
    AgreementEventRecord,
    BreachRecord,
    DisposalRecord,
    DisposalState,
    ReclassificationRecord,
    VisitRecord,
    VisitState,
)

__all__ = ["CaseState", "CasesReader", "CasesWriter"]

V = TypeVar("V")


def _page(rows: Iterable[V], key: Callable[[V], Any], limit: int) -> list[V]:
    return sorted(rows, key=key)[: check_limit(limit)]


def _invalid(message: str) -> InputError:
    return InputError(message, code="STORE_RECORD_INVALID")


@dataclass(slots=True)
class CaseState:
    """The case records of one committed state."""

    breaches: dict[str, BreachRecord] = field(default_factory=dict)
    disposals: dict[str, DisposalRecord] = field(default_factory=dict)
    visits: dict[str, VisitRecord] = field(default_factory=dict)
    reclassifications: dict[tuple[str, int], ReclassificationRecord] = field(default_factory=dict)
    agreement_events: list[AgreementEventRecord] = field(default_factory=list)

    def copy(self) -> CaseState:
        return CaseState(
            dict(self.breaches),
            dict(self.disposals),
            dict(self.visits),
            dict(self.reclassifications),
            list(self.agreement_events),
        )


class CasesReader:
    """The case reads of :class:`~gsomia.ports.StoreReader`; ``_cases`` is the state read."""

    @property
    def _cases(self) -> CaseState:
        raise NotImplementedError

    def breach(self, breach_id: str) -> BreachRecord | None:
        return self._cases.breaches.get(breach_id)

    def breaches(
        self, *, item_id: str | None = None, after: str | None = None, limit: int = 100
    ) -> list[BreachRecord]:
        rows = (
            v
            for k, v in self._cases.breaches.items()
            if (item_id is None or v.item_id == item_id) and (after is None or k > after)
        )
        return _page(rows, lambda v: v.breach_id, limit)

    def disposal(self, disposal_id: str) -> DisposalRecord | None:
        return self._cases.disposals.get(disposal_id)

    def disposals(
        self, *, item_id: str | None = None, after: str | None = None, limit: int = 100
    ) -> list[DisposalRecord]:
        rows = (
            v
            for k, v in self._cases.disposals.items()
            if (item_id is None or v.item_id == item_id) and (after is None or k > after)
        )
        return _page(rows, lambda v: v.disposal_id, limit)

    def visit(self, visit_id: str) -> VisitRecord | None:
        return self._cases.visits.get(visit_id)

    def visits(self, *, after: str | None = None, limit: int = 100) -> list[VisitRecord]:
        rows = (v for k, v in self._cases.visits.items() if after is None or k > after)
        return _page(rows, lambda v: v.visit_id, limit)

    def reclassifications(self, item_id: str) -> list[ReclassificationRecord]:
        rows = [r for (i, _), r in self._cases.reclassifications.items() if i == item_id]
        return sorted(rows, key=lambda r: r.seq)

    def agreement_events(
        self, *, agreement_id: str | None = None, after: int = 0, limit: int = 100
    ) -> list[AgreementEventRecord]:
        rows = (
            r
            for r in self._cases.agreement_events
            if r.seq > after and (agreement_id is None or r.agreement_id == agreement_id)
        )
        return _page(rows, lambda r: r.seq, limit)


class CasesWriter(CasesReader):
    """The case writes of :class:`~gsomia.ports.UnitOfWork`, into the unit's own copy."""

    def put_breach(self, record: BreachRecord) -> Recorded[BreachRecord]:
        s = self._cases
        if not isinstance(record, BreachRecord) or record.version != 1:
            raise _invalid("a new breach is a BreachRecord at version 1")
        if record.breach_id in s.breaches:
            return Recorded(s.breaches[record.breach_id], True)
        s.breaches[record.breach_id] = record
        return Recorded(record, False)

    def update_breach(self, record: BreachRecord) -> BreachRecord:
        s = self._cases
        if not isinstance(record, BreachRecord):
            raise _invalid("update_breach takes a BreachRecord")
        stored = s.breaches.get(record.breach_id)
        if stored is None:
            raise not_found("breach", record.breach_id)
        what = f"breach {record.breach_id!r}"
        if not stored.same_report(record) or record.version != stored.version + 1:
            raise conflict(f"{what} is not followed by this update", version=stored.version)
        check_transition(BREACH_TRANSITIONS, stored.status, record.status, what)
        s.breaches[record.breach_id] = record
        return record

    def put_disposal(self, record: DisposalRecord) -> Recorded[DisposalRecord]:
        s = self._cases
        if not isinstance(record, DisposalRecord):
            raise _invalid("put_disposal takes a DisposalRecord")
        if record.disposal_id in s.disposals:
            return Recorded(s.disposals[record.disposal_id], True)
        s.disposals[record.disposal_id] = record
        return Recorded(record, False)

    def complete_disposal(
        self, disposal_id: str, *, at: datetime, certificate: bytes
    ) -> DisposalRecord:
        s = self._cases
        stored = s.disposals.get(disposal_id)
        if stored is None:
            raise not_found("disposal", disposal_id)
        what = f"disposal {disposal_id!r}"
        check_transition(DISPOSAL_TRANSITIONS, stored.state, DisposalState.COMPLETED, what)
        new = replace(stored, state=DisposalState.COMPLETED, completed=at, certificate=certificate)
        s.disposals[disposal_id] = new
        return new

    def put_visit(self, record: VisitRecord) -> Recorded[VisitRecord]:
        s = self._cases
        if not isinstance(record, VisitRecord) or record.state is not VisitState.REQUESTED:
            raise _invalid("a new visit is a VisitRecord in state requested")
        if record.visit_id in s.visits:
            return Recorded(s.visits[record.visit_id], True)
        s.visits[record.visit_id] = record
        return Recorded(record, False)

    def decide_visit(
        self,
        visit_id: str,
        state: VisitState,
        *,
        at: datetime,
        decision: bytes,
        level: str | None = None,
        note: str = "",
    ) -> VisitRecord:
        s = self._cases
        stored = s.visits.get(visit_id)
        if stored is None:
            raise not_found("visit", visit_id)
        target = check_transition(VISIT_TRANSITIONS, stored.state, state, f"visit {visit_id!r}")
        new = replace(stored, state=target, decided=at, decision=decision, level=level, note=note)
        s.visits[visit_id] = new
        return new

    def record_reclassification(
        self, record: ReclassificationRecord
    ) -> Recorded[ReclassificationRecord]:
        s = self._cases
        if not isinstance(record, ReclassificationRecord):
            raise _invalid("record_reclassification takes a ReclassificationRecord")
        stored = s.reclassifications.get((record.item_id, record.seq))
        if stored is not None:
            return Recorded(stored, True)
        last = sum(1 for (i, _) in s.reclassifications if i == record.item_id)
        if record.seq != last + 1:
            raise conflict(
                f"reclassification {record.seq} of {record.item_id!r} does not follow {last}",
                item_id=record.item_id,
            )
        s.reclassifications[(record.item_id, record.seq)] = record
        return Recorded(record, False)

    def record_agreement_event(
        self, agreement_id: str, event: Event, *, recorded: datetime, recorded_by: str
    ) -> AgreementEventRecord:
        s = self._cases
        seq = len(s.agreement_events) + 1
        record = AgreementEventRecord(
            seq, agreement_id, event, require_aware(recorded, "recorded"), recorded_by
        )
        s.agreement_events.append(record)
        return record
