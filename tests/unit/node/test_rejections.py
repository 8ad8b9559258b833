"""What a node refuses, and that a refusal is audited and leaves nothing behind (PRODUCT.md §8)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import timedelta
from typing import Any

import pytest

from gsomia.audit.records import AuditKind
from gsomia.envelope import TrustStore
from gsomia.errors import StoreError
from gsomia.node import FrameError, FrameKind, Node, NodeInputError
from gsomia.node.framing import decode, item_frame, receipt_frame, receipts_frame
from gsomia.ports import DeliveryState, ReceiptDirection, Store, StoreReader, UnitOfWork
from gsomia.testing import InMemoryNetwork, InMemoryStore
from tests.conftest import make_label
from tests.unit.node.cluster import RELEASER, Cluster, build, release_to_japan


def _sent_frame(cluster: Cluster, item_id: str) -> bytes:
    with cluster.stores["KOR"].read() as kor:
        entry = kor.outbox_entry(f"{item_id}:JPN")
        assert entry is not None
        return entry.message.payload


def _nothing_held(cluster: Cluster, party: str, item_id: str) -> None:
    with cluster.stores[party].read() as reader:
        assert reader.item(item_id) is None
        assert reader.inbox_entry(item_id) is None
        assert reader.outbox() == []


def test_a_tampered_item_is_rejected_with_its_cause_and_nothing_stored(cluster: Cluster) -> None:
    cluster.network.down.add("JPN")  # keep the genuine item from arriving first
    item_id = release_to_japan(cluster).item_id
    frame = decode(_sent_frame(cluster, item_id))
    body = bytearray(frame.body)
    body[-100] ^= 0x01  # one bit of the last segment
    cluster.network.down.clear()
    cluster.nodes["KOR"]._ctx.channel.send(
        "JPN", item_frame(frame.topic, frame.purpose, bytes(body)), idempotency_key="k1"
    )
    summary = cluster.nodes["JPN"].receive()
    assert (summary.accepted, summary.rejected) == (0, 1)
    (record,) = cluster.audit("JPN")
    assert (record.kind, record.decision, record.reasons) == (
        AuditKind.REJECT,
        "deny",
        ("ENVELOPE_REJECTED",),
    )
    assert record.detail["cause"] == "SIGNATURE_INVALID"
    assert record.actor == "KOR"
    _nothing_held(cluster, "JPN", item_id)


def test_an_item_relayed_by_someone_else_is_not_the_senders(cluster: Cluster) -> None:
    cluster.network.down.add("JPN")
    item_id = release_to_japan(cluster).item_id
    cluster.network.down.clear()
    cluster.nodes["USA"]._ctx.channel.send(
        "JPN", _sent_frame(cluster, item_id), idempotency_key="k2"
    )
    summary = cluster.nodes["JPN"].receive()
    assert summary.rejections == ((item_id, "NODE_SENDER_MISMATCH"),)
    _nothing_held(cluster, "JPN", item_id)


def test_garbage_on_the_channel_is_rejected_and_audited(cluster: Cluster) -> None:
    channel = cluster.nodes["USA"]._ctx.channel
    channel.send("JPN", b"\x07junk", idempotency_key="k3")
    channel.send("JPN", b"\x01\x03NK", idempotency_key="bad key with spaces")
    summary = cluster.nodes["JPN"].receive()
    assert summary.rejections == (("k3", "NODE_FRAME_INVALID"), ("unknown", "NODE_FRAME_INVALID"))
    assert [r.subject for r in cluster.audit("JPN")] == ["k3", "unknown"]


def test_a_receipt_is_believed_only_from_the_recipient_and_for_what_we_sent(
    cluster: Cluster,
) -> None:
    item_id = release_to_japan(cluster).item_id
    cluster.nodes["KOR"].deliver_due()
    cluster.nodes["JPN"].receive()
    with cluster.stores["JPN"].read() as jpn:
        issued = jpn.receipt(item_id, "KOR", ReceiptDirection.ISSUED)
        assert issued is not None
    token = issued.token
    usa = cluster.nodes["USA"]._ctx.channel
    usa.send("KOR", receipts_frame(token), idempotency_key="r1")  # JPN's receipt, from USA
    usa.send("KOR", receipts_frame(token.replace(b'"', b"'", 1)), idempotency_key="r2")
    summary = cluster.nodes["KOR"].receive()
    assert summary.receipts_rejected == 2
    assert summary.rejections == (("r1", "NODE_RECEIPT_MISMATCH"), ("r2", "TOKEN_MALFORMED"))
    with cluster.stores["KOR"].read() as kor:
        assert kor.outbox_entry(f"{item_id}:JPN").state is DeliveryState.PENDING  # type: ignore[union-attr]
    cluster.pump()
    with cluster.stores["KOR"].read() as kor:
        assert kor.outbox_entry(f"{item_id}:JPN").state is DeliveryState.ACKNOWLEDGED  # type: ignore[union-attr]


def test_frames_round_trip_and_refuse_what_is_not_one() -> None:
    frame = decode(item_frame("NK-MISSILE", "경보 purpose", b"sealed"))
    assert (frame.kind, frame.topic, frame.purpose, frame.body) == (
        FrameKind.ITEM,
        "NK-MISSILE",
        "경보 purpose",
        b"sealed",
    )
    assert decode(receipt_frame(b"{}")).body == b"{}"
    for bad in (b"", b"\x01", b"\x03abc", b"\x01\x02nk\x00\x01p", b"\x01\x02NK\x00\x01\x07x"):
        with pytest.raises(FrameError):
            decode(bad)
    with pytest.raises(ValueError):
        item_frame("NK-MISSILE", "line\nbreak", b"x")


# -- atomicity: a failure anywhere in a unit of work leaves nothing (issue 4 §1; ADR 0004) -------


RECORD_RECEIPT = ("record_receipt", "record_receipts")  # one item's receipt, or a run's


class _FailingUnit:
    def __init__(self, uow: UnitOfWork, fail_on: str | tuple[str, ...]) -> None:
        self._uow = uow
        self._fail_on = (fail_on,) if isinstance(fail_on, str) else fail_on

    def __getattr__(self, name: str) -> Any:
        if name in self._fail_on:

            def fail(*args: object, **kwargs: object) -> None:
                raise StoreError("injected failure", code="STORE_UNAVAILABLE")

            return fail
        return getattr(self._uow, name)


class FailingStore:
    """A store whose units of work fail at the method(s) named ``fail_on`` (None: never)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.fail_on: str | tuple[str, ...] | None = None

    @contextmanager
    def _unit(self) -> Iterator[Any]:
        with self.inner.unit_of_work() as uow:
            yield uow if self.fail_on is None else _FailingUnit(uow, self.fail_on)

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        return self._unit()

    def read(self) -> AbstractContextManager[StoreReader]:
        return self.inner.read()

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("fail_on", ["enqueue", "append_audit"])
def test_a_release_is_one_unit_of_work(fail_on: str) -> None:
    stores: dict[str, FailingStore] = {}
    cluster = build(lambda p: stores.setdefault(p, FailingStore(InMemoryStore())))
    stores["KOR"].fail_on = fail_on
    with pytest.raises(StoreError):
        release_to_japan(cluster)
    with cluster.stores["KOR"].read() as kor:
        assert kor.items() == []
        assert kor.outbox() == []
        assert kor.audit_size() == 0


@pytest.mark.parametrize("fail_on", ["put_item", RECORD_RECEIPT, "enqueue"])
def test_an_acceptance_is_one_unit_of_work_and_the_item_is_not_lost(
    fail_on: str | tuple[str, ...],
) -> None:
    stores: dict[str, FailingStore] = {}
    cluster = build(lambda p: stores.setdefault(p, FailingStore(InMemoryStore())))
    item_id = release_to_japan(cluster).item_id
    stores["JPN"].fail_on = fail_on
    cluster.nodes["KOR"].deliver_due()
    with pytest.raises(StoreError):
        cluster.nodes["JPN"].receive()
    _nothing_held(cluster, "JPN", item_id)
    assert cluster.audit("JPN") == []
    stores["JPN"].fail_on = None
    cluster.pump(rounds=3, step=timedelta(minutes=10))  # KOR's retry brings it again
    with cluster.stores["JPN"].read() as jpn:
        assert [i.item_id for i in jpn.items()] == [item_id]
    with cluster.stores["KOR"].read() as kor:
        assert kor.outbox_entry(f"{item_id}:JPN").state is DeliveryState.ACKNOWLEDGED  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("payload", "recipients", "purpose"),
    [(b"", ["JPN"], "p"), (b"x", [], "p"), (b"x", ["JPN", "JPN"], "p"), (b"x", ["JPN"], "a\x00")],
)
def test_an_ill_formed_release_is_refused_and_audited(
    cluster: Cluster, payload: bytes, recipients: list[str], purpose: str
) -> None:
    with pytest.raises(NodeInputError):
        cluster.nodes["KOR"].release(
            RELEASER, payload, make_label(), recipients, "NK-MISSILE", purpose
        )
    (record,) = cluster.audit("KOR")
    assert record.reasons == ("NODE_INPUT_INVALID",)
    _nothing_held(cluster, "KOR", "any")


def test_a_recipient_without_a_trusted_key_gets_nothing(cluster: Cluster) -> None:
    ctx = cluster.nodes["KOR"]._ctx
    kor = Node(
        "KOR", ctx.registry, ctx.store, InMemoryNetwork().channel("KOR"), ctx.keys,
        TrustStore(), ctx.clock,
    )  # fmt: skip
    result = kor.release(RELEASER, b"x", make_label(), ["JPN"], "NK-MISSILE", "p")
    assert result.reasons == ("NODE_NO_RECIPIENT_KEY",)
    with ctx.store.read() as reader:
        assert reader.items() == []
