"""The in-memory fakes of the other ports, and exactly-once delivery built on the Store contract.

Issue 4 §1: delivery retries with backoff until a receipt comes back; receipt handling is
idempotent by item id, so at-least-once transport gives exactly-once effect.  Here two nodes on
fakes exchange items over a network that is down for a while and duplicates every message.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import timedelta

import pytest

from gsomia.audit.records import AuditKind
from gsomia.envelope.keys import NodeKeys
from gsomia.errors import InputError
from gsomia.ports import (
    Backoff,
    ChannelError,
    DeliveryState,
    InboxEntry,
    InboxOutcome,
    ReceiptDirection,
    ReceiptRecord,
    Store,
)
from gsomia.testing import (
    FixedClock,
    InMemoryChannel,
    InMemoryKeyStore,
    InMemoryNetwork,
    InMemoryStore,
    ManualClock,
    loopback_pair,
)
from tests.contract.conftest import T0, audit, item, message


def test_clocks_move_only_when_told() -> None:
    assert FixedClock(T0).now() == T0
    clock = ManualClock(T0)
    assert clock.advance(timedelta(seconds=3)) == T0 + timedelta(seconds=3)
    with pytest.raises(InputError):
        clock.advance(timedelta(seconds=-1))
    clock.set(T0 - timedelta(days=1))  # a real clock may be corrected backwards
    assert clock.now() == T0 - timedelta(days=1)
    with pytest.raises(InputError):
        ManualClock(T0.replace(tzinfo=None))


def test_loopback_channels_deliver_drop_and_duplicate() -> None:
    kor, jpn = loopback_pair("KOR", "JPN")
    kor.send("JPN", b"one", idempotency_key="k1")
    [got] = jpn.receive()
    assert (got.sender, got.payload, got.idempotency_key) == ("KOR", b"one", "k1")
    assert jpn.receive() == []
    with pytest.raises(ChannelError) as exc:
        kor.send("USA", b"x", idempotency_key="k2")  # no such node
    assert exc.value.code == "CHANNEL_UNAVAILABLE"
    network = InMemoryNetwork()
    a, b = network.channel("KOR"), network.channel("JPN")
    network.down.add("JPN")
    with pytest.raises(ChannelError):
        a.send("JPN", b"x", idempotency_key="k")
    network.down.clear()
    network.duplicate = True
    a.send("JPN", b"x", idempotency_key="k")
    assert [m.idempotency_key for m in b.receive(limit=1)] == ["k"]
    assert [m.idempotency_key for m in b.receive()] == ["k"]
    b.close()
    assert b.receive() == []
    with pytest.raises(ChannelError):
        b.send("KOR", b"x", idempotency_key="k")
    with pytest.raises(InputError):
        network.channel("KOR")


def test_the_key_store_fake_trusts_itself_by_default() -> None:
    keys = NodeKeys.generate("KOR", T0)
    store = InMemoryKeyStore(keys)
    assert store.load_keys() is keys
    assert store.load_trust().parties() == frozenset({"KOR"})


def release(store: Store, count: int) -> None:
    with store.unit_of_work() as uow:
        for n in range(count):
            uow.put_item(item(f"item-{n}"))
            uow.enqueue(message(f"item-{n}/JPN", subject=f"item-{n}"))
            uow.append_audit(audit(f"item-{n}", n=n))


def send_due(store: Store, channel: InMemoryChannel, backoff: Backoff, clock: ManualClock) -> None:
    """Claim due messages by recording the attempt first, then send: a crash only resends."""
    now = clock.now()
    with store.unit_of_work() as uow:
        due = uow.due(now)
        for e in due:
            retry = backoff.next_attempt(e.attempts + 1, now, e.key)
            uow.record_attempt(e.key, at=now, next_attempt=retry)
    for e in due:
        with contextlib.suppress(ChannelError):  # the outbox retries
            channel.send(e.message.recipient, e.message.payload, idempotency_key=e.key)


def receive_items(store: Store, channel: InMemoryChannel, clock: ManualClock) -> None:
    for msg in channel.receive(limit=1000):
        item_id = msg.idempotency_key.split("/")[0]
        digest = hashlib.sha256(msg.payload).digest()
        with store.unit_of_work() as uow:
            entry = InboxEntry(item_id, msg.sender, digest, clock.now(), InboxOutcome.ACCEPTED)
            recorded = uow.record_inbound(entry)
            if not recorded.duplicate:
                uow.put_item(item(item_id, sealed=msg.payload, received_from=msg.sender))
            kind = AuditKind.REJECT if recorded.duplicate else AuditKind.ACCEPT
            uow.append_audit(audit(item_id, kind=kind))  # a duplicate is audited, not stored
        # The receipt goes again for a duplicate: the first may have been lost.
        with contextlib.suppress(ChannelError):
            channel.send(msg.sender, b"receipt " + item_id.encode(), idempotency_key=item_id)


def receive_receipts(store: Store, channel: InMemoryChannel, clock: ManualClock) -> None:
    for msg in channel.receive(limit=1000):
        item_id = msg.idempotency_key
        with store.unit_of_work() as uow:
            rec = ReceiptRecord(item_id, msg.sender, ReceiptDirection.RECEIVED, msg.payload, T0)
            uow.record_receipt(rec)
            uow.acknowledge(f"{item_id}/{msg.sender}", at=clock.now())


def test_exactly_once_effect_over_a_lossy_duplicating_network() -> None:
    network, clock = InMemoryNetwork(), ManualClock(T0)
    kor_channel, jpn_channel = network.channel("KOR"), network.channel("JPN")
    kor, jpn = InMemoryStore(), InMemoryStore()
    backoff = Backoff(first=timedelta(seconds=1), cap=timedelta(seconds=8), jitter=0.5)
    release(kor, 25)
    network.duplicate = True
    for step in range(80):
        network.down = {"JPN"} if step < 6 else {"KOR"} if step < 12 else set()
        send_due(kor, kor_channel, backoff, clock)
        receive_items(jpn, jpn_channel, clock)
        receive_receipts(kor, kor_channel, clock)
        clock.advance(timedelta(milliseconds=500))
    with kor.read() as r:
        entries = r.outbox(limit=1000)
        assert len(entries) == 25
        assert {e.state for e in entries} == {DeliveryState.ACKNOWLEDGED}
        assert max(e.attempts for e in entries) > 1  # it did retry
        assert all(len(r.receipts(f"item-{n}")) == 1 for n in range(25))
    with jpn.read() as r:
        assert [i.item_id for i in r.items(limit=1000)] == sorted(f"item-{n}" for n in range(25))
        kinds = [r.audit_entry(i).kind for i in range(r.audit_size())]
        assert kinds.count(AuditKind.ACCEPT) == 25  # exactly once
        assert kinds.count(AuditKind.REJECT) >= 25  # every duplicate recognised and audited
