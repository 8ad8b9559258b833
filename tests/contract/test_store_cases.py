"""The Store contract for case records, against InMemoryStore and the SQLite store alike.

Breaches (Art. 17), disposals (Arts. 6, 13), visits (Art. 8), reclassifications (Art. 6) and the
node's own record of agreement events (Art. 21): record-once by id, state tables enforced with
``STORE_CONFLICT``, nothing left behind by a rolled-back unit of work, everything kept on reopen.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.agreements import Event, EventKind
from gsomia.errors import GsomiaError, InputError, NotFoundError, StoreError
from gsomia.ports import (
    AgreementEventRecord,
    BreachKind,
    BreachRecord,
    BreachStatus,
    DisposalAction,
    DisposalRecord,
    DisposalState,
    ReclassificationRecord,
    Store,
    Visitor,
    VisitRecord,
    VisitState,
)
from tests.contract.conftest import T0

TOKEN = b'{"typ":"gsomia-notice/1"}'


def breach(breach_id: str = "breach-1", **fields: object) -> BreachRecord:
    base = BreachRecord(
        breach_id, "item-1", "KOR", "JPN", "jpn-analyst-1", BreachKind.POSSIBLE,
        "laptop left unattended", T0, T0, token=TOKEN,
    )  # fmt: skip
    return replace(base, **fields)  # type: ignore[arg-type]


def disposal(disposal_id: str = "disposal-1", **fields: object) -> DisposalRecord:
    base = DisposalRecord(
        disposal_id, "item-1", "KOR", "JPN", DisposalAction.DESTROY, "no longer needed", T0,
        request=TOKEN,
    )  # fmt: skip
    return replace(base, **fields)  # type: ignore[arg-type]


def visit(visit_id: str = "visit-1") -> VisitRecord:
    visitor = Visitor("KIM Min-jun", "KOR", "군사II급비밀", "J2 analyst")
    return VisitRecord(
        visit_id, "KOR", "JPN", visitor, "missile warning exchange", T0 + timedelta(days=7),
        T0 + timedelta(days=9), T0, TOKEN,
    )  # fmt: skip


def codes(exc: pytest.ExceptionInfo[GsomiaError]) -> str:
    return exc.value.code


# -- breaches ------------------------------------------------------------------------------------


def test_a_breach_is_recorded_once_and_updated_in_order(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert not uow.put_breach(breach()).duplicate
        again = uow.put_breach(breach(description="another text"))
        assert again.duplicate
        assert again.value == breach()
    later = T0 + timedelta(hours=2)
    second = breach(version=2, status=BreachStatus.INVESTIGATING, updated=later, investigation="x")
    with store.unit_of_work() as uow:
        assert uow.update_breach(second) == second
        with pytest.raises(StoreError) as skipped:  # version 4 does not follow 2
            uow.update_breach(replace(second, version=4))
        assert codes(skipped) == "STORE_CONFLICT"
        with pytest.raises(StoreError) as altered:  # the report itself never changes
            uow.update_breach(replace(second, version=3, description="rewritten"))
        assert codes(altered) == "STORE_CONFLICT"
        closed = replace(second, version=3, status=BreachStatus.CLOSED, measures="locks fitted")
        uow.update_breach(closed)
    with store.unit_of_work() as uow, pytest.raises(StoreError) as final:
        uow.update_breach(replace(closed, version=4, status=BreachStatus.INVESTIGATING))
    assert codes(final) == "STORE_CONFLICT"
    with store.read() as r:
        assert r.breach("breach-1") == closed
        assert r.breaches(item_id="item-1") == [closed]
        assert r.breaches(item_id="item-2") == []
        assert r.breaches(after="breach-1") == []


def test_breach_updates_of_an_unknown_breach_and_bad_records_are_refused(store: Store) -> None:
    with store.unit_of_work() as uow:
        with pytest.raises(NotFoundError) as unknown:
            uow.update_breach(breach(version=2, status=BreachStatus.CLOSED))
        assert codes(unknown) == "BREACH_NOT_FOUND"
        with pytest.raises(InputError):
            uow.put_breach(breach(version=2, status=BreachStatus.CLOSED))
    with pytest.raises(InputError):
        breach(status=BreachStatus.CLOSED)  # version 1 is the report
    with pytest.raises(InputError):
        breach(description="x" * 2001)


# -- disposals -----------------------------------------------------------------------------------


def test_a_requested_disposal_completes_once(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert not uow.put_disposal(disposal()).duplicate
        assert uow.put_disposal(disposal(reason="other")).duplicate
        done = uow.complete_disposal("disposal-1", at=T0 + timedelta(days=1), certificate=TOKEN)
        assert done.state is DisposalState.COMPLETED
        with pytest.raises(StoreError) as twice:
            uow.complete_disposal("disposal-1", at=T0, certificate=TOKEN)
        assert codes(twice) == "STORE_CONFLICT"
        with pytest.raises(NotFoundError) as unknown:
            uow.complete_disposal("disposal-9", at=T0, certificate=TOKEN)
        assert codes(unknown) == "DISPOSAL_NOT_FOUND"
        own = disposal(
            "disposal-2", requested=None, request=None, state=DisposalState.COMPLETED,
            completed=T0, certificate=TOKEN,
        )  # fmt: skip
        uow.put_disposal(own)
    with store.read() as r:
        assert r.disposal("disposal-1") == done
        assert [d.disposal_id for d in r.disposals(item_id="item-1")] == [
            "disposal-1",
            "disposal-2",
        ]
        assert r.disposals(after="disposal-1") == [own]
    with pytest.raises(InputError):
        disposal(requested=None, request=None)  # not requested, so completed at once


# -- visits --------------------------------------------------------------------------------------


def test_a_visit_is_decided_once(store: Store) -> None:
    with store.unit_of_work() as uow:
        assert not uow.put_visit(visit()).duplicate
        assert uow.put_visit(visit()).duplicate
        with pytest.raises(InputError):  # an approval names the level that may be disclosed
            uow.decide_visit("visit-1", VisitState.APPROVED, at=T0, decision=TOKEN)
        approved = uow.decide_visit(
            "visit-1", VisitState.APPROVED, at=T0, decision=TOKEN, level="極秘", note="escorted"
        )
        with pytest.raises(StoreError) as twice:
            uow.decide_visit("visit-1", VisitState.DENIED, at=T0, decision=TOKEN)
        assert codes(twice) == "STORE_CONFLICT"
        uow.put_visit(visit("visit-2"))
        with pytest.raises(NotFoundError):
            uow.decide_visit("visit-9", VisitState.DENIED, at=T0, decision=TOKEN)
    with store.read() as r:
        assert r.visit("visit-1") == approved
        assert approved.level == "極秘"
        assert [v.visit_id for v in r.visits()] == ["visit-1", "visit-2"]
        assert [v.visit_id for v in r.visits(after="visit-1", limit=5)] == ["visit-2"]


# -- reclassifications and agreement events ------------------------------------------------------


def test_reclassifications_follow_one_another(store: Store) -> None:
    first = ReclassificationRecord("item-1", 1, "KOR", "군사II급비밀", "군사III급비밀", T0, TOKEN)
    with store.unit_of_work() as uow:
        with pytest.raises(StoreError) as gap:
            uow.record_reclassification(replace(first, seq=2))
        assert codes(gap) == "STORE_CONFLICT"
        assert not uow.record_reclassification(first).duplicate
        assert uow.record_reclassification(replace(first, level="x")).duplicate
        second = ReclassificationRecord("item-1", 2, "KOR", "군사III급비밀", "군사II급비밀", T0)
        uow.record_reclassification(second)
    with store.read() as r:
        assert r.reclassifications("item-1") == [first, second]
        assert r.reclassifications("item-2") == []


def test_agreement_events_are_numbered_in_order(store: Store) -> None:
    notice = Event(EventKind.NOTICE_GIVEN, T0, by="KOR", note="written notice")
    withdrawn = Event(EventKind.NOTICE_WITHDRAWN, T0 + timedelta(days=3), by="KOR")
    with store.unit_of_work() as uow:
        one = uow.record_agreement_event(
            "kor-jpn-gsomia-2016", notice, recorded=T0, recorded_by="kor-so-1"
        )
        assert one == AgreementEventRecord(1, "kor-jpn-gsomia-2016", notice, T0, "kor-so-1")
        uow.record_agreement_event("usa-kor-gsomia-1987", notice, recorded=T0, recorded_by="x")
        uow.record_agreement_event(
            "kor-jpn-gsomia-2016", withdrawn, recorded=T0, recorded_by="kor-so-1"
        )
        hypothetical = replace(notice, hypothetical=True)
        with pytest.raises(InputError):
            uow.record_agreement_event(
                "kor-jpn-gsomia-2016", hypothetical, recorded=T0, recorded_by="kor-so-1"
            )
    with store.read() as r:
        mine = r.agreement_events(agreement_id="kor-jpn-gsomia-2016")
        assert [(e.seq, e.event) for e in mine] == [(1, notice), (3, withdrawn)]
        assert [e.seq for e in r.agreement_events(after=1, limit=1)] == [2]


# -- atomicity and durability --------------------------------------------------------------------


def test_a_rolled_back_unit_leaves_no_case_record(store: Store) -> None:
    def fail() -> None:
        with store.unit_of_work() as uow:
            uow.put_breach(breach())
            uow.put_disposal(disposal())
            uow.put_visit(visit())
            uow.record_reclassification(ReclassificationRecord("item-1", 1, "KOR", "a", "b", T0))
            uow.record_agreement_event(
                "kor-jpn-gsomia-2016", Event(EventKind.NOTICE_GIVEN, T0, by="KOR"),
                recorded=T0, recorded_by="kor-so-1",
            )  # fmt: skip
            raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        fail()
    with store.read() as r:
        assert r.breaches() == r.disposals() == r.visits() == []
        assert r.reclassifications("item-1") == []
        assert r.agreement_events() == []


def test_case_records_survive_reopening_the_sqlite_file(tmp_path: Path) -> None:
    store = SqliteStore.in_data_dir(tmp_path)
    event = Event(EventKind.NOTICE_GIVEN, T0, by="KOR", note="note", source="MOFA")
    with store.unit_of_work() as uow:
        uow.put_breach(breach())
        uow.put_disposal(disposal())
        uow.put_visit(visit())
        uow.record_agreement_event("kor-jpn-gsomia-2016", event, recorded=T0, recorded_by="so")
    store.close()
    with SqliteStore(store.path) as again, again.read() as r:
        assert r.breach("breach-1") == breach()
        assert r.disposal("disposal-1") == disposal()
        assert r.visit("visit-1") == visit()
        assert r.agreement_events()[0].event == event
