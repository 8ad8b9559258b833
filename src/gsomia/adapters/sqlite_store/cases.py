"""The SQLite store's case records: breaches (Art. 17), disposals (Arts. 6, 13), visits (Art. 8),
reclassifications (Art. 6) and the node's own record of agreement events (Art. 21).

The tables are those of the ``_CASES`` migration in :mod:`.schema`; here are their statements
(literal text, parameters always bound), the rows ↔ records codec, and two mixins:
:class:`CasesReader` of :class:`~.reader.SqliteReader` and :class:`CasesWriter` of
:class:`~.uow.SqliteUnitOfWork`.  As everywhere in this store, each write checks stored state
first (same messages and codes as :mod:`gsomia.testing.memory_cases`), and the schema's
constraints and triggers stand behind those checks.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from gsomia.adapters.sqlite_store import codec
from gsomia.agreements import Event, EventKind
from gsomia.errors import InputError
from gsomia.instants import require_aware
from gsomia.ports import Recorded, check_limit, check_transition, conflict, not_found
from gsomia.ports.cases import (
    BREACH_TRANSITIONS,
    DISPOSAL_TRANSITIONS,
    VISIT_TRANSITIONS,
    AgreementEventRecord,
    BreachKind,
    BreachRecord,
    BreachStatus,
    DisposalAction,
    DisposalRecord,
    DisposalState,
    ReclassificationRecord,
    Visitor,
    VisitRecord,
    VisitState,
)

__all__ = ["CasesReader", "CasesWriter"]

# -- statements (literal text: no statement is built at run time) --------------------------------

SELECT_BREACH: Final = (
    "SELECT breach_id, item_id, originator, reporter, reported_by, kind, description, "
    "reported, updated, status, version, investigation, results, measures, token FROM "
    "breaches WHERE breach_id = ?"
)
SELECT_BREACHES: Final = (
    "SELECT breach_id, item_id, originator, reporter, reported_by, kind, description, "
    "reported, updated, status, version, investigation, results, measures, token FROM "
    "breaches WHERE (?1 IS NULL OR item_id = ?1) AND (?2 IS NULL OR breach_id > ?2) ORDER "
    "BY breach_id LIMIT ?3"
)
INSERT_BREACH: Final = (
    "INSERT INTO breaches (breach_id, item_id, originator, reporter, reported_by, kind, "
    "description, reported, updated, status, version, investigation, results, measures, "
    "token) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPDATE_BREACH: Final = (
    "UPDATE breaches SET updated = ?, status = ?, version = ?, investigation = ?, results "
    "= ?, measures = ?, token = ? WHERE breach_id = ?"
)
SELECT_DISPOSAL: Final = (
    "SELECT disposal_id, item_id, originator, holder, action, reason, requested, state, "
    "completed, request, certificate FROM disposals WHERE disposal_id = ?"
)
SELECT_DISPOSALS: Final = (
    "SELECT disposal_id, item_id, originator, holder, action, reason, requested, state, "
    "completed, request, certificate FROM disposals WHERE (?1 IS NULL OR item_id = ?1) "
    "AND (?2 IS NULL OR disposal_id > ?2) ORDER BY disposal_id LIMIT ?3"
)
INSERT_DISPOSAL: Final = (
    "INSERT INTO disposals (disposal_id, item_id, originator, holder, action, reason, "
    "requested, state, completed, request, certificate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?)"
)
COMPLETE_DISPOSAL: Final = (
    "UPDATE disposals SET state = 'completed', completed = ?, certificate = ? WHERE disposal_id = ?"
)
SELECT_VISIT: Final = (
    "SELECT visit_id, requester, host, visitor_name, visitor_nationality, "
    "visitor_clearance, visitor_post, purpose, starts, ends, requested, request, state, "
    "level, decided, note, decision FROM visits WHERE visit_id = ?"
)
SELECT_VISITS: Final = (
    "SELECT visit_id, requester, host, visitor_name, visitor_nationality, "
    "visitor_clearance, visitor_post, purpose, starts, ends, requested, request, state, "
    "level, decided, note, decision FROM visits WHERE (?1 IS NULL OR visit_id > ?1) ORDER "
    "BY visit_id LIMIT ?2"
)
INSERT_VISIT: Final = (
    "INSERT INTO visits (visit_id, requester, host, visitor_name, visitor_nationality, "
    "visitor_clearance, visitor_post, purpose, starts, ends, requested, request, state, "
    "level, decided, note, decision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?)"
)
DECIDE_VISIT: Final = (
    "UPDATE visits SET state = ?, level = ?, decided = ?, note = ?, decision = ? WHERE visit_id = ?"
)
SELECT_RECLASSIFICATIONS: Final = (
    "SELECT item_id, seq, originator, previous, level, at, token FROM reclassifications "
    "WHERE item_id = ? ORDER BY seq"
)
SELECT_LAST_RECLASSIFICATION: Final = (
    "SELECT COALESCE(MAX(seq), 0) FROM reclassifications WHERE item_id = ?"
)
INSERT_RECLASSIFICATION: Final = (
    "INSERT INTO reclassifications (item_id, seq, originator, previous, level, at, token) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
SELECT_AGREEMENT_EVENTS: Final = (
    "SELECT seq, agreement_id, kind, at, by_party, note, source, condition, disputed_by, "
    "effective, table_version, recorded, recorded_by FROM agreement_events WHERE seq > ?1 "
    "AND (?2 IS NULL OR agreement_id = ?2) ORDER BY seq LIMIT ?3"
)
INSERT_AGREEMENT_EVENT: Final = (
    "INSERT INTO agreement_events (agreement_id, kind, at, by_party, note, source, "
    "condition, disputed_by, effective, table_version, recorded, recorded_by) VALUES (?, "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq"
)

# -- codec ---------------------------------------------------------------------------------------


def _at(text: Any) -> datetime:
    return codec._at(text)


def _maybe_at(text: Any) -> datetime | None:
    return None if text is None else codec._at(text)


def breach_params(r: BreachRecord) -> tuple[Any, ...]:
    """The ``breaches`` row of ``r``."""
    return (
        r.breach_id, r.item_id, r.originator, r.reporter, r.reported_by, r.kind.value,
        r.description, codec.instant(r.reported), codec.instant(r.updated), r.status.value,
        r.version, r.investigation, r.results, r.measures, r.token,
    )  # fmt: skip


def breach_from(row: Any) -> BreachRecord:
    """The record of a ``breaches`` row."""
    return BreachRecord(
        row[0], row[1], row[2], row[3], row[4], BreachKind(row[5]), row[6], _at(row[7]),
        _at(row[8]), BreachStatus(row[9]), row[10], row[11], row[12], row[13], row[14],
    )  # fmt: skip


def disposal_params(r: DisposalRecord) -> tuple[Any, ...]:
    """The ``disposals`` row of ``r``."""
    return (
        r.disposal_id, r.item_id, r.originator, r.holder, r.action.value, r.reason,
        codec.maybe_instant(r.requested), r.state.value, codec.maybe_instant(r.completed),
        r.request, r.certificate,
    )  # fmt: skip


def disposal_from(row: Any) -> DisposalRecord:
    """The record of a ``disposals`` row."""
    return DisposalRecord(
        row[0], row[1], row[2], row[3], DisposalAction(row[4]), row[5], _maybe_at(row[6]),
        DisposalState(row[7]), _maybe_at(row[8]), row[9], row[10],
    )  # fmt: skip


def visit_params(r: VisitRecord) -> tuple[Any, ...]:
    """The ``visits`` row of ``r``."""
    v = r.visitor
    return (
        r.visit_id, r.requester, r.host, v.name, v.nationality, v.clearance, v.post, r.purpose,
        codec.instant(r.start), codec.instant(r.end), codec.instant(r.requested), r.request,
        r.state.value, r.level, codec.maybe_instant(r.decided), r.note, r.decision,
    )  # fmt: skip


def visit_from(row: Any) -> VisitRecord:
    """The record of a ``visits`` row."""
    return VisitRecord(
        row[0], row[1], row[2], Visitor(row[3], row[4], row[5], row[6]), row[7], _at(row[8]),
        _at(row[9]), _at(row[10]), row[11], VisitState(row[12]), row[13], _maybe_at(row[14]),
        row[15], row[16],
    )  # fmt: skip


def reclassification_from(row: Any) -> ReclassificationRecord:
    """The record of a ``reclassifications`` row."""
    return ReclassificationRecord(row[0], row[1], row[2], row[3], row[4], _at(row[5]), row[6])


def event_params(
    agreement_id: str, e: Event, recorded: datetime, recorded_by: str
) -> tuple[Any, ...]:
    """The ``agreement_events`` row of an event (``seq`` is assigned by SQLite)."""
    return (
        agreement_id, e.kind.value, codec.instant(e.at), e.by, e.note, e.source, e.condition,
        e.disputed_by, codec.maybe_instant(e.effective), e.table_version,
        codec.instant(recorded), recorded_by,
    )  # fmt: skip


def event_from(row: Any) -> AgreementEventRecord:
    """The record of an ``agreement_events`` row."""
    event = Event(
        kind=EventKind(row[2]),
        at=_at(row[3]),
        by=row[4],
        note=row[5],
        source=row[6],
        condition=row[7],
        disputed_by=row[8],
        effective=_maybe_at(row[9]),
        table_version=row[10],
    )
    return AgreementEventRecord(row[0], row[1], event, _at(row[11]), row[12])


# -- mixins --------------------------------------------------------------------------------------


class CasesReader:
    """The case reads of :class:`~gsomia.ports.StoreReader` (mixed into ``SqliteReader``)."""

    def _rows(self, operation: str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        raise NotImplementedError  # SqliteReader's

    def _one(self, operation: str, sql: str, params: tuple[Any, ...]) -> Any:
        raise NotImplementedError  # SqliteReader's

    def breach(self, breach_id: str) -> BreachRecord | None:
        row = self._one("read", SELECT_BREACH, (breach_id,))
        return None if row is None else codec.decode(row, breach_from, "breaches")

    def breaches(
        self, *, item_id: str | None = None, after: str | None = None, limit: int = 100
    ) -> list[BreachRecord]:
        rows = self._rows("read", SELECT_BREACHES, (item_id, after, check_limit(limit)))
        return [codec.decode(row, breach_from, "breaches") for row in rows]

    def disposal(self, disposal_id: str) -> DisposalRecord | None:
        row = self._one("read", SELECT_DISPOSAL, (disposal_id,))
        return None if row is None else codec.decode(row, disposal_from, "disposals")

    def disposals(
        self, *, item_id: str | None = None, after: str | None = None, limit: int = 100
    ) -> list[DisposalRecord]:
        rows = self._rows("read", SELECT_DISPOSALS, (item_id, after, check_limit(limit)))
        return [codec.decode(row, disposal_from, "disposals") for row in rows]

    def visit(self, visit_id: str) -> VisitRecord | None:
        row = self._one("read", SELECT_VISIT, (visit_id,))
        return None if row is None else codec.decode(row, visit_from, "visits")

    def visits(self, *, after: str | None = None, limit: int = 100) -> list[VisitRecord]:
        rows = self._rows("read", SELECT_VISITS, (after, check_limit(limit)))
        return [codec.decode(row, visit_from, "visits") for row in rows]

    def reclassifications(self, item_id: str) -> list[ReclassificationRecord]:
        rows = self._rows("read", SELECT_RECLASSIFICATIONS, (item_id,))
        return [codec.decode(row, reclassification_from, "reclassifications") for row in rows]

    def agreement_events(
        self, *, agreement_id: str | None = None, after: int = 0, limit: int = 100
    ) -> list[AgreementEventRecord]:
        params = (after, agreement_id, check_limit(limit))
        rows = self._rows("read", SELECT_AGREEMENT_EVENTS, params)
        return [codec.decode(row, event_from, "agreement_events") for row in rows]


def _invalid(message: str) -> InputError:
    return InputError(message, code="STORE_RECORD_INVALID")


class CasesWriter(CasesReader):
    """The case writes of :class:`~gsomia.ports.UnitOfWork` (mixed into ``SqliteUnitOfWork``)."""

    def put_breach(self, record: BreachRecord) -> Recorded[BreachRecord]:
        if not isinstance(record, BreachRecord) or record.version != 1:
            raise _invalid("a new breach is a BreachRecord at version 1")
        stored = self.breach(record.breach_id)
        if stored is not None:
            return Recorded(stored, True)
        self._rows("put_breach", INSERT_BREACH, breach_params(record))
        return Recorded(record, False)

    def update_breach(self, record: BreachRecord) -> BreachRecord:
        if not isinstance(record, BreachRecord):
            raise _invalid("update_breach takes a BreachRecord")
        stored = self.breach(record.breach_id)
        if stored is None:
            raise not_found("breach", record.breach_id)
        what = f"breach {record.breach_id!r}"
        if not stored.same_report(record) or record.version != stored.version + 1:
            raise conflict(f"{what} is not followed by this update", version=stored.version)
        check_transition(BREACH_TRANSITIONS, stored.status, record.status, what)
        r = record
        params = (
            codec.instant(r.updated), r.status.value, r.version, r.investigation, r.results,
            r.measures, r.token, r.breach_id,
        )  # fmt: skip
        self._rows("update_breach", UPDATE_BREACH, params)
        return record

    def put_disposal(self, record: DisposalRecord) -> Recorded[DisposalRecord]:
        if not isinstance(record, DisposalRecord):
            raise _invalid("put_disposal takes a DisposalRecord")
        stored = self.disposal(record.disposal_id)
        if stored is not None:
            return Recorded(stored, True)
        self._rows("put_disposal", INSERT_DISPOSAL, disposal_params(record))
        return Recorded(record, False)

    def complete_disposal(
        self, disposal_id: str, *, at: datetime, certificate: bytes
    ) -> DisposalRecord:
        stored = self.disposal(disposal_id)
        if stored is None:
            raise not_found("disposal", disposal_id)
        what = f"disposal {disposal_id!r}"
        check_transition(DISPOSAL_TRANSITIONS, stored.state, DisposalState.COMPLETED, what)
        new = replace(stored, state=DisposalState.COMPLETED, completed=at, certificate=certificate)
        params = (codec.maybe_instant(new.completed), new.certificate, disposal_id)
        self._rows("complete_disposal", COMPLETE_DISPOSAL, params)
        return new

    def put_visit(self, record: VisitRecord) -> Recorded[VisitRecord]:
        if not isinstance(record, VisitRecord) or record.state is not VisitState.REQUESTED:
            raise _invalid("a new visit is a VisitRecord in state requested")
        stored = self.visit(record.visit_id)
        if stored is not None:
            return Recorded(stored, True)
        self._rows("put_visit", INSERT_VISIT, visit_params(record))
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
        stored = self.visit(visit_id)
        if stored is None:
            raise not_found("visit", visit_id)
        target = check_transition(VISIT_TRANSITIONS, stored.state, state, f"visit {visit_id!r}")
        new = replace(stored, state=target, decided=at, decision=decision, level=level, note=note)
        params = (
            new.state.value, new.level, codec.maybe_instant(new.decided), new.note, new.decision,
            visit_id,
        )  # fmt: skip
        self._rows("decide_visit", DECIDE_VISIT, params)
        return new

    def record_reclassification(
        self, record: ReclassificationRecord
    ) -> Recorded[ReclassificationRecord]:
        if not isinstance(record, ReclassificationRecord):
            raise _invalid("record_reclassification takes a ReclassificationRecord")
        for stored in self.reclassifications(record.item_id):
            if stored.seq == record.seq:
                return Recorded(stored, True)
        last = self._one("record_reclassification", SELECT_LAST_RECLASSIFICATION, (record.item_id,))
        if record.seq != last[0] + 1:
            raise conflict(
                f"reclassification {record.seq} of {record.item_id!r} does not follow {last[0]}",
                item_id=record.item_id,
            )
        r = record
        params = (r.item_id, r.seq, r.originator, r.previous, r.level, codec.instant(r.at), r.token)
        self._rows("record_reclassification", INSERT_RECLASSIFICATION, params)
        return Recorded(record, False)

    def record_agreement_event(
        self, agreement_id: str, event: Event, *, recorded: datetime, recorded_by: str
    ) -> AgreementEventRecord:
        recorded = require_aware(recorded, "recorded")
        AgreementEventRecord(1, agreement_id, event, recorded, recorded_by)  # checks the fields
        params = event_params(agreement_id, event, recorded, recorded_by)
        seq = self._one("record_agreement_event", INSERT_AGREEMENT_EVENT, params)[0]
        return AgreementEventRecord(seq, agreement_id, event, recorded, recorded_by)
