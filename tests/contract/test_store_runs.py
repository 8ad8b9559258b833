"""Runs of like writes in one unit of work (ADR 0018), on every store.

``settle_sent_many`` and ``record_receipts`` answer exactly what ``settle_sent`` and
``record_receipt`` called one after the other answer, and leave the same stored state, whatever
mix of pending, settled, unknown, mismatched, legacy (no digest) and repeated entries a run holds;
the SQLite store takes one statement per run when every entry is new, and falls back to one by one
otherwise.  Claims of messages ``due`` read, and audit entries, are written as runs too: whatever
a unit reads afterwards sees them, and a run that cannot be written whole fails the unit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.errors import GsomiaError, InputError, StoreError
from gsomia.ports import DeliveryState, OutboxEntry, ReceiptDirection, Store, UnitOfWork
from gsomia.ports.protocols import Sent, Settlement, record_each, settle_each
from tests.contract.conftest import STORES, T0, audit, message, open_store, receipt

LATER = T0 + timedelta(minutes=5)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def _fill(store: Store) -> None:
    """Eight messages: five pending with a digest, one settled, one without a digest (a store
    migrated with it pending), one of another kind."""
    with store.unit_of_work() as uow:
        for n in range(1, 7):
            uow.enqueue(message(f"item-{n}/JPN", subject=f"item-{n}"), digest=_digest(f"{n}"))
        uow.enqueue(message("item-7/JPN", subject="item-7"))
        uow.enqueue(message("r-8/JPN", subject="r-8", kind="receipt"), digest=_digest("8"))
    with store.unit_of_work() as uow:
        uow.acknowledge("item-6/JPN", at=T0)


def _ok(n: int, reason: str | None = None) -> Settlement:
    return Settlement(f"item-{n}/JPN", "item", "JPN", _digest(f"{n}"), reason)


MIXED = [
    _ok(1),
    _ok(2, "REFUSED AGREEMENT_TERMINATED"),
    _ok(1),  # the same entry again: settled a moment ago
    _ok(6),  # settled before
    Settlement("item-7/JPN", "item", "JPN", _digest("7")),  # enqueued without a digest
    Settlement("r-8/JPN", "item", "JPN", _digest("8")),  # not an item
    Settlement("item-9/JPN", "item", "JPN", _digest("9")),  # never sent
    Settlement("item-3/JPN", "item", "JPN", _digest("other")),  # another digest
    Settlement("item-4/JPN", "item", "USA", _digest("4")),  # another recipient
    _ok(5, ""),  # a refusal with an empty reason is still a refusal
]


DISTINCT = [_ok(1), _ok(6), MIXED[4], MIXED[6], _ok(2, "REFUSED X")]  # no key twice


def _outbox(store: Store) -> list[OutboxEntry]:
    with store.read() as reader:
        return reader.outbox()


@pytest.fixture(params=STORES)
def twins(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """Two empty stores of one kind."""
    a = open_store(request.param, tmp_path / "a", request)
    b = open_store(request.param, tmp_path / "b", request)
    yield a, b
    a.close()
    b.close()


def _same_as_one_by_one(
    twins: tuple[Store, Store],
    fill: Callable[[Store], None],
    run: Callable[[UnitOfWork], object],
    each: Callable[[UnitOfWork], object],
) -> object:
    together, one_by_one = twins
    fill(together)
    fill(one_by_one)
    with together.unit_of_work() as uow:
        found = run(uow)
    with one_by_one.unit_of_work() as uow:
        expected = each(uow)
    assert found == expected
    assert _outbox(together) == _outbox(one_by_one)
    with together.read() as a, one_by_one.read() as b:
        assert a.receipts("item-1") == b.receipts("item-1")
        assert a.receipts("item-2") == b.receipts("item-2")
    return found


@pytest.mark.parametrize(
    "settlements",
    [MIXED, DISTINCT, [_ok(1), _ok(2, "REFUSED X"), _ok(3)]],
    ids=["mixed", "distinct", "all-pending"],
)
def test_settle_sent_many_answers_as_settle_sent_one_by_one(
    twins: tuple[Store, Store], settlements: list[Settlement]
) -> None:
    found = _same_as_one_by_one(
        twins,
        _fill,
        lambda uow: uow.settle_sent_many(settlements, at=LATER),
        lambda uow: settle_each(uow, settlements, LATER),
    )
    if settlements is MIXED:
        assert found == [
            Sent.SETTLED, Sent.SETTLED, Sent.NOT_PENDING, Sent.NOT_PENDING, Sent.UNKNOWN_DIGEST,
            Sent.MISMATCH, Sent.MISMATCH, Sent.MISMATCH, Sent.MISMATCH, Sent.SETTLED,
        ]  # fmt: skip
    elif settlements is DISTINCT:
        assert found == [
            Sent.SETTLED, Sent.NOT_PENDING, Sent.UNKNOWN_DIGEST, Sent.MISMATCH, Sent.SETTLED,
        ]  # fmt: skip
    else:
        assert found == [Sent.SETTLED] * 3


def test_a_run_of_settlements_acknowledges_and_cancels_each(store: Store) -> None:
    _fill(store)
    with store.unit_of_work() as uow:
        assert uow.settle_sent_many([_ok(1), _ok(2, "REFUSED X")], at=LATER) == [Sent.SETTLED] * 2
    states = {e.message.key: (e.state, e.settled, e.last_error) for e in _outbox(store)}
    assert states["item-1/JPN"] == (DeliveryState.ACKNOWLEDGED, LATER, None)
    assert states["item-2/JPN"] == (DeliveryState.CANCELLED, LATER, "REFUSED X")
    assert states["item-3/JPN"][0] is DeliveryState.PENDING


@pytest.mark.parametrize(
    "bad",
    [
        "item-1/JPN",
        Settlement("item-1/JPN", "item", "JPN", b"short"),
        Settlement("item-1/JPN", "item", "JPN", _digest("1"), "x" * 1025),
    ],
    ids=["not-a-settlement", "digest", "reason"],
)
def test_an_ill_formed_settlement_is_refused_and_the_unit_changes_nothing(
    store: Store, bad: object
) -> None:
    _fill(store)
    before = _outbox(store)

    def settle() -> None:
        with store.unit_of_work() as uow:
            uow.settle_sent_many([_ok(1), bad, _ok(3)], at=LATER)  # type: ignore[list-item]

    with pytest.raises(InputError) as refused:
        settle()
    assert refused.value.code == "STORE_RECORD_INVALID"
    assert _outbox(store) == before


def _receipts_filled(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.record_receipt(receipt("item-2", token=b"first"))


RECEIPTS = [
    receipt("item-1"),
    receipt("item-2", token=b"second"),  # recorded before: the first stays
    receipt("item-1", direction=ReceiptDirection.ISSUED),
    receipt("item-1"),  # twice in the run
]


@pytest.mark.parametrize(
    "records",
    [RECEIPTS, RECEIPTS[:3], RECEIPTS[:1] + RECEIPTS[2:3]],
    ids=["mixed", "one-old", "new"],
)
def test_record_receipts_answers_as_record_receipt_one_by_one(
    twins: tuple[Store, Store], records: list[object]
) -> None:
    found = _same_as_one_by_one(
        twins,
        _receipts_filled,
        lambda uow: uow.record_receipts(records),  # type: ignore[arg-type]
        lambda uow: record_each(uow, records),  # type: ignore[arg-type]
    )
    expected = {4: [False, True, False, True], 3: [False, True, False], 2: [False, False]}
    assert [r.duplicate for r in found] == expected[len(records)]  # type: ignore[attr-defined]


def test_an_audit_entry_appended_in_a_unit_reads_back_in_it(store: Store) -> None:
    with store.unit_of_work() as uow:
        first = uow.append_audit(audit(n=1))
        second = uow.append_audit(audit(n=2))
        assert uow.audit_entry(first) == audit(n=1)
        third = uow.append_audit(audit(n=3))
        assert [uow.audit_entry(i) for i in (second, third)] == [audit(n=2), audit(n=3)]
    with store.read() as reader:
        assert reader.audit_size() == 3
        assert reader.audit_entry(2) == audit(n=3)


def test_claims_of_what_due_read_are_stored_before_the_next_statement(store: Store) -> None:
    _fill(store)
    with store.unit_of_work() as uow:
        due = uow.due(T0, limit=3)
        claimed = [uow.record_attempt(e.message.key, at=T0, next_attempt=LATER) for e in due]
        assert [uow.outbox_entry(e.message.key) for e in due] == claimed
    with store.read() as reader:
        assert [reader.outbox_entry(e.message.key) for e in due] == claimed
    assert all(c.attempts == 1 and c.next_attempt == LATER for c in claimed)


def test_a_claim_run_that_finds_its_rows_changed_fails_the_unit(tmp_path: Path) -> None:
    """A row ``due`` read cannot change under the unit's lock but by damage; simulated here by
    writing it behind the unit's back: the run finds one row fewer and the unit rolls back."""
    store = SqliteStore.in_data_dir(tmp_path / "data")
    _fill(store)
    before = _outbox(store)

    def claim_what_changed() -> None:
        with store.unit_of_work() as uow:
            due = uow.due(T0, limit=3)
            uow._db.execute(  # type: ignore[attr-defined]
                "UPDATE outbox SET state = 'cancelled', settled = 'x' WHERE key = ?", (due[1].key,)
            )
            for e in due:
                uow.record_attempt(e.message.key, at=T0, next_attempt=LATER)
            uow.append_audit(audit())

    with pytest.raises(StoreError) as failed:
        claim_what_changed()
    assert failed.value.code == "STORE_DAMAGED"
    assert _outbox(store) == before
    with store.read() as reader:
        assert reader.audit_size() == 0
    store.close()


def test_a_failed_unit_leaves_no_audit_entry_of_its_run(store: Store) -> None:

    def give_up() -> None:
        with store.unit_of_work() as uow:
            uow.append_audit(audit(n=1))
            uow.acknowledge("nothing/JPN", at=T0)  # OUTBOX_NOT_FOUND: the caller gives up

    with pytest.raises(GsomiaError):
        give_up()
    with store.read() as reader:
        assert reader.audit_size() == 0
    with store.unit_of_work() as uow:
        assert uow.append_audit(audit(n=2)) == 0
    with store.read() as reader:
        assert reader.audit_entry(0) == audit(n=2)
