"""``UnitOfWork.settle_sent``: a receipt settles its outbox message in one step (ADR 0011).

Every store keeps the digest given at ``enqueue`` beside the message and settles the message a
receipt names only if it is pending, of the kind, to the recipient and with the digest the receipt
quotes; anything else changes nothing and says why.  A message enqueued without a digest (a store
migrated with messages pending) is ``UNKNOWN_DIGEST``: the caller compares its payload itself.
The migrations that add the column keep such rows and they settle the old way.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gsomia.adapters.postgres_store import PostgresStore
from gsomia.adapters.postgres_store import schema as pg_schema
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.adapters.sqlite_store import schema as sqlite_schema
from gsomia.errors import GsomiaError
from gsomia.ports import DeliveryState, OutboxEntry, Store
from gsomia.ports.protocols import Sent
from tests.contract.conftest import T0, message
from tests.private_postgres import PrivatePostgres

KEY = "item-1/JPN"
DIGEST = hashlib.sha256(b"sealed item-1").digest()
OTHER = hashlib.sha256(b"something else").digest()
LATER = T0 + timedelta(minutes=5)


def _enqueued(store: Store, digest: bytes | None = DIGEST, **kw: Any) -> None:
    with store.unit_of_work() as uow:
        uow.enqueue(message(KEY, **kw), digest=digest)


def _settle(store: Store, **kw: Any) -> Sent:
    args: dict[str, Any] = {"kind": "item", "recipient": "JPN", "digest": DIGEST, "at": LATER}
    with store.unit_of_work() as uow:
        return uow.settle_sent(KEY, **(args | kw))


def _entry(store: Store) -> OutboxEntry:
    with store.read() as r:
        entry = r.outbox_entry(KEY)
    assert entry is not None
    return entry


def test_a_matching_receipt_acknowledges_the_pending_message_once(store: Store) -> None:
    _enqueued(store)
    before = _entry(store)
    assert _settle(store) is Sent.SETTLED
    after = _entry(store)
    assert (after.state, after.settled) == (DeliveryState.ACKNOWLEDGED, LATER)
    assert after.last_error is None
    assert (after.message, after.seq, after.attempts) == (before.message, before.seq, 0)
    assert _settle(store, at=LATER + timedelta(hours=1)) is Sent.NOT_PENDING  # a replay
    assert _entry(store) == after


def test_a_negative_receipt_cancels_it_with_the_reason(store: Store) -> None:
    _enqueued(store)
    assert _settle(store, reason="REFUSED AGREEMENT_TERMINATED") is Sent.SETTLED
    entry = _entry(store)
    assert (entry.state, entry.settled) == (DeliveryState.CANCELLED, LATER)
    assert entry.last_error == "REFUSED AGREEMENT_TERMINATED"
    assert _settle(store) is Sent.NOT_PENDING  # cancelled: a later receipt changes nothing
    assert _entry(store) == entry


@pytest.mark.parametrize(
    "change",
    [{"digest": OTHER}, {"recipient": "USA"}, {"kind": "receipt"}],
    ids=["digest", "recipient", "kind"],
)
def test_anything_that_does_not_match_changes_nothing(store: Store, change: dict[str, Any]) -> None:
    _enqueued(store)
    before = _entry(store)
    assert _settle(store, **change) is Sent.MISMATCH
    assert _settle(store, reason="REFUSED X", **change) is Sent.MISMATCH
    assert _entry(store) == before
    with store.unit_of_work() as uow:
        uow.acknowledge(KEY, at=LATER)
    assert _settle(store, **change) is Sent.MISMATCH  # settled or not, a mismatch is a mismatch


def test_an_unknown_key_is_a_mismatch(store: Store) -> None:
    assert _settle(store) is Sent.MISMATCH
    with store.read() as r:
        assert r.outbox_entry(KEY) is None


def test_a_message_without_a_digest_is_left_to_the_caller(store: Store) -> None:
    _enqueued(store, digest=None)
    before = _entry(store)
    assert _settle(store) is Sent.UNKNOWN_DIGEST
    assert _settle(store, reason="REFUSED X") is Sent.UNKNOWN_DIGEST
    assert _settle(store, recipient="USA") is Sent.MISMATCH  # what it can tell, it tells
    assert _entry(store) == before


@pytest.mark.parametrize("digest", [b"short", "ab" * 32, bytearray(32)], ids=repr)
def test_a_digest_is_32_bytes(store: Store, digest: Any) -> None:
    with pytest.raises(GsomiaError) as info, store.unit_of_work() as uow:
        uow.enqueue(message(KEY), digest=digest)
    assert info.value.code == "STORE_RECORD_INVALID"
    _enqueued(store)
    for bad in (digest, None):
        with pytest.raises(GsomiaError) as info, store.unit_of_work() as uow:
            uow.settle_sent(KEY, kind="item", recipient="JPN", digest=bad, at=LATER)
        assert info.value.code == "STORE_RECORD_INVALID"
    assert _entry(store).state is DeliveryState.PENDING


def test_a_reason_is_bounded_as_last_error_is_and_the_instant_aware(store: Store) -> None:
    _enqueued(store)
    with pytest.raises(GsomiaError) as info, store.unit_of_work() as uow:
        uow.settle_sent(
            KEY, kind="item", recipient="JPN", digest=DIGEST, at=LATER, reason="x" * 1025
        )
    assert info.value.code == "STORE_RECORD_INVALID"
    with pytest.raises(GsomiaError), store.unit_of_work() as uow:
        uow.settle_sent(
            KEY, kind="item", recipient="JPN", digest=DIGEST, at=LATER.replace(tzinfo=None)
        )
    assert _settle(store, reason="x" * 1024) is Sent.SETTLED


def _crash_after_enqueue(store: Store) -> None:
    with store.unit_of_work() as uow:
        uow.enqueue(message(KEY), digest=DIGEST)
        raise RuntimeError("crash")


def test_a_rolled_back_unit_keeps_no_digest(store: Store) -> None:
    with pytest.raises(RuntimeError):
        _crash_after_enqueue(store)
    _enqueued(store, digest=None)
    assert _settle(store) is Sent.UNKNOWN_DIGEST


# -- migrations: a store with messages pending before the digest column ---------------------------


def test_sqlite_migration_keeps_pending_messages_which_settle_the_old_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "node.db"
    with monkeypatch.context() as m:  # a store of version 4, as the release before wrote it
        m.setattr(sqlite_schema, "MIGRATIONS", sqlite_schema.MIGRATIONS[:4])
        m.setattr(sqlite_schema, "SCHEMA_VERSION", 4)
        SqliteStore(path).close()
    db = sqlite3.connect(path)
    with db:
        db.execute(
            "INSERT INTO outbox (key, recipient, kind, subject, payload, created, state, "
            "attempts, next_attempt) VALUES (?, 'JPN', 'item', 'item-1', ?, "
            "'2024-05-01T09:00:00.000000Z', 'pending', 0, '2024-05-01T09:00:00.000000Z')",
            (KEY, b"sealed item-1"),
        )
    db.close()
    store = SqliteStore(path)
    try:
        assert store.migrated_from == 4
        _pending_then_settled_the_old_way(store)
    finally:
        store.close()


def test_postgres_migration_keeps_pending_messages_which_settle_the_old_way(
    postgres: PrivatePostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = postgres.new_schema()
    with monkeypatch.context() as m:  # a schema of version 2, as the release before wrote it
        m.setattr(pg_schema, "MIGRATIONS", pg_schema.MIGRATIONS[:2])
        m.setattr(pg_schema, "SCHEMA_VERSION", 2)
        PostgresStore(postgres.dsn, schema=schema).close()
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO {schema}.outbox (seq, key, recipient, kind, subject, payload, created, "
            "state, attempts, next_attempt) VALUES (1, %s, 'JPN', 'item', 'item-1', %s, %s, "
            "'pending', 0, %s)",
            (KEY, b"sealed item-1", T0, T0),
        )
    store = PostgresStore(postgres.dsn, schema=schema)
    try:
        assert store.migrated_from == 2
        _pending_then_settled_the_old_way(store)
    finally:
        store.close()


def _pending_then_settled_the_old_way(store: Store) -> None:
    assert _entry(store).state is DeliveryState.PENDING
    assert _settle(store) is Sent.UNKNOWN_DIGEST
    with store.unit_of_work() as uow:  # what gsomia.node.receipts does then
        uow.acknowledge(KEY, at=LATER)
    assert _entry(store).state is DeliveryState.ACKNOWLEDGED
    assert _settle(store) is Sent.UNKNOWN_DIGEST  # the row keeps no digest; nothing changes
    with store.unit_of_work() as uow:  # a message enqueued after the migration has one
        uow.enqueue(message("item-2/JPN", subject="item-2"), digest=DIGEST)
        found = uow.settle_sent("item-2/JPN", kind="item", recipient="JPN", digest=DIGEST, at=LATER)
    assert found is Sent.SETTLED
