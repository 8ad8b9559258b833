"""The one-statement writes of the SQLite store (ADR 0004 §2) keep the contract's answers.

A new item, outbox message, inbox entry or receipt is inserted first and the stored row read only
on a conflict; claiming and acknowledging an outbox message is one guarded ``UPDATE … RETURNING``.
Every store of the contract must answer exactly as before: the first record back for a second
one, the precise conflict for an existing item or key, an acknowledgement twice idempotent, a
cancelled message still acknowledged by a late receipt, and a settled one never claimed.
"""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from gsomia.adapters.sqlite_store import queries
from gsomia.errors import GsomiaError, StoreError
from gsomia.ports import DELIVERY_TRANSITIONS, DeliveryState, ReceiptDirection, Store
from tests.contract.conftest import T0, inbound, item, message, receipt


def test_the_acknowledging_statement_follows_the_transition_table() -> None:
    sources = {f.value for (f, t) in DELIVERY_TRANSITIONS if t is DeliveryState.ACKNOWLEDGED}
    assert set(queries.ACKNOWLEDGE_FROM) == sources
    quoted = ", ".join(f"'{s}'" for s in queries.ACKNOWLEDGE_FROM)
    assert f"state IN ({quoted})" in queries.ACKNOWLEDGE_OUTBOX


def test_records_are_recorded_once_and_conflicts_reported(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.put_item(item())
        uow.enqueue(message())
        first_in = uow.record_inbound(inbound())
        first_receipt = uow.record_receipt(receipt())
        with pytest.raises(StoreError) as exists:
            uow.put_item(item())
        assert (exists.value.code, exists.value.detail.get("item_id")) == (
            "STORE_CONFLICT",
            "item-1",
        )
        with pytest.raises(StoreError) as key:
            uow.enqueue(message())
        assert (key.value.code, key.value.detail.get("key")) == ("STORE_CONFLICT", "item-1/JPN")
        again = uow.record_inbound(inbound(payload=b"other bytes"))
        assert (again.duplicate, again.value) == (True, first_in.value)
        twice = uow.record_receipt(receipt(token=b'{"typ":"other"}'))
        assert (twice.duplicate, twice.value) == (True, first_receipt.value)
    with store.read() as reader:
        assert len(reader.items()) == 1
        assert len(reader.outbox()) == 1
        stored = reader.receipt("item-1", "JPN", ReceiptDirection.RECEIVED)
        assert stored == first_receipt.value


def test_claiming_and_acknowledging_follow_the_delivery_table(store: Store) -> None:
    later = T0 + timedelta(seconds=5)
    with store.unit_of_work() as uow:
        uow.enqueue(message())
        uow.enqueue(message("item-2/JPN", subject="item-2"))
        claimed = uow.record_attempt("item-1/JPN", at=T0, next_attempt=later)
        assert (claimed.attempts, claimed.last_attempt, claimed.next_attempt) == (1, T0, later)
        assert claimed.message == message()
        again = uow.record_attempt("item-1/JPN", at=later, next_attempt=later, error="timeout")
        assert (again.attempts, again.last_error) == (2, "timeout")
        acked = uow.acknowledge("item-1/JPN", at=later)
        assert (acked.state, acked.settled, acked.attempts) == (
            DeliveryState.ACKNOWLEDGED,
            later,
            2,
        )
        assert uow.acknowledge("item-1/JPN", at=T0 + timedelta(hours=1)) == acked  # idempotent
        with pytest.raises(StoreError) as settled:
            uow.record_attempt("item-1/JPN", at=later, next_attempt=later)
        assert settled.value.code == "STORE_CONFLICT"
        uow.cancel("item-2/JPN", at=later)
        late = uow.acknowledge("item-2/JPN", at=later)  # a receipt proves delivery anyway
        assert late.state is DeliveryState.ACKNOWLEDGED
        with pytest.raises(GsomiaError) as unknown:
            uow.acknowledge("nothing/JPN", at=later)
        assert unknown.value.code == "OUTBOX_NOT_FOUND"


def test_claiming_what_due_read_answers_as_a_read_back(store: Store) -> None:
    """The claim of an entry ``due`` just read (built without decoding the row again) equals the
    stored row read back, in UTC, also when claimed twice or settled first in the same unit."""
    kst = timezone(timedelta(hours=9))
    with store.unit_of_work() as uow:
        uow.enqueue(message())
        uow.enqueue(message("item-2/JPN", subject="item-2"))
    with store.unit_of_work() as uow:
        assert [e.key for e in uow.due(T0)] == ["item-1/JPN", "item-2/JPN"]
        at, retry = T0.astimezone(kst), (T0 + timedelta(seconds=5)).astimezone(kst)
        first = uow.record_attempt("item-1/JPN", at=at, next_attempt=retry)
        assert first == uow.outbox_entry("item-1/JPN")
        assert (first.attempts, first.last_attempt, first.next_attempt) == (1, at, retry)
        assert first.next_attempt.utcoffset() == timedelta(0)
        again = uow.record_attempt("item-1/JPN", at=retry, next_attempt=retry)
        assert again.attempts == 2
        assert again == uow.outbox_entry("item-1/JPN")
        uow.acknowledge("item-2/JPN", at=at)
        with pytest.raises(GsomiaError) as settled:
            uow.record_attempt("item-2/JPN", at=at, next_attempt=retry)
        assert settled.value.code == "STORE_CONFLICT"
    with store.read() as reader:
        assert reader.outbox_entry("item-1/JPN") == again
        assert reader.outbox_entry("item-2/JPN").state is DeliveryState.ACKNOWLEDGED  # type: ignore[union-attr]
