"""Batch receipts settled by the digest kept at enqueue (``UnitOfWork.settle_sent``, ADR 0011).

The tests of :mod:`tests.unit.node.test_batch_receipts` run again here on nodes whose item
messages are enqueued with the SHA-256 of the sealed bytes they carry (as :mod:`gsomia.node.
relay` gives it), on the in-memory store and on SQLite: settlement then takes the one-statement
path and never reads a payload back, with the same results, audit records and refusals.  Their
run in their own module covers messages enqueued without a digest (a store migrated with
messages pending), which are read back and hashed as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.adapters.sqlite_store.uow import SqliteUnitOfWork
from gsomia.node.framing import decode
from gsomia.ports import OutboxMessage
from gsomia.ports.protocols import Sent
from gsomia.testing import memory_store
from tests.unit.node.cluster import Cluster, build
from tests.unit.node.test_batch_receipts import (
    _maritime,
    test_a_forged_batch_receipt_settles_nothing,
    test_a_refused_item_delivered_again_gets_the_same_signed_refusal,
    test_a_refused_item_is_settled_by_the_signed_refusal_and_never_retried,
    test_a_replayed_batch_receipt_changes_nothing,
    test_a_truncated_batch_receipt_settles_nothing,
    test_duplicates_of_a_run_are_answered_with_their_extracts_in_one_exchange,
    test_labels_are_not_touched_by_a_refusal,
    test_one_signed_receipt_settles_every_item_of_the_run,
)

__all__ = [
    "test_a_forged_batch_receipt_settles_nothing",
    "test_a_refused_item_delivered_again_gets_the_same_signed_refusal",
    "test_a_refused_item_is_settled_by_the_signed_refusal_and_never_retried",
    "test_a_replayed_batch_receipt_changes_nothing",
    "test_a_truncated_batch_receipt_settles_nothing",
    "test_duplicates_of_a_run_are_answered_with_their_extracts_in_one_exchange",
    "test_labels_are_not_touched_by_a_refusal",
    "test_one_signed_receipt_settles_every_item_of_the_run",
]

Enqueue = Callable[..., Any]


def _with_digest(enqueue: Enqueue) -> Enqueue:
    """``enqueue`` giving an item message the digest of its sealed bytes (as relay does)."""

    def wrapped(self: Any, message: OutboxMessage, *, digest: bytes | None = None) -> Any:
        if digest is None and message.kind == "item":
            digest = hashlib.sha256(decode(message.payload).body).digest()
        return enqueue(self, message, digest=digest)

    return wrapped


@pytest.fixture(params=["memory", "sqlite"])
def cluster(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Cluster]:
    """The node tests' cluster, its item messages enqueued with their digest."""
    for cls in (memory_store._UnitOfWork, SqliteUnitOfWork):
        monkeypatch.setattr(cls, "enqueue", _with_digest(cls.enqueue))
    if request.param == "memory":
        yield build(custody=True)
        return
    c = build(lambda party: SqliteStore(tmp_path / f"{party}.db"), custody=True)
    yield c
    for store in c.stores.values():
        store.close()


def test_settlement_reads_no_payload_back(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one-statement path: every entry SETTLED, no ``outbox_entry`` read while settling."""
    ids = _maritime(cluster, 3)
    cluster.nodes["KOR"].deliver_due()
    assert cluster.nodes["JPN"].receive().accepted == 3
    cluster.nodes["JPN"].deliver_due()
    found: list[Sent] = []
    for cls in (memory_store._UnitOfWork, SqliteUnitOfWork):
        settle = cls.settle_sent_many

        def spy(self: Any, *args: Any, _settle: Any = settle, **kw: Any) -> list[Sent]:
            result: list[Sent] = _settle(self, *args, **kw)
            found.extend(result)
            return result

        def no_read(self: Any, key: str) -> None:
            raise AssertionError(f"outbox_entry({key!r}) read while settling")

        monkeypatch.setattr(cls, "settle_sent_many", spy)
        monkeypatch.setattr(cls, "outbox_entry", no_read)
    assert cluster.nodes["KOR"].receive().receipts == 3
    assert found == [Sent.SETTLED] * 3
    assert len(ids) == 3
