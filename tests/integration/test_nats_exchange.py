"""National nodes exchanging items over NATS JetStream, one account per nation (issue 7 §1, §2).

Real nodes (the service, SQLite stores, real keys) and a private nats-server per test
(tests/private_nats.py): items delivered exactly once, a duplicated publish de-duplicated by the
stream, a consumer restarted with messages in flight, and the broker refusing a JPN user a
KOR → USA subject (the second line behind the node's own release check; ADR 0010).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import pytest

from gsomia.adapters.nats_channel import NatsChannel, stream_name, subject
from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.audit.records import AuditKind
from gsomia.catalog import builtin_registry
from gsomia.envelope import NodeKeys, TrustStore
from gsomia.node import Node
from gsomia.ports import ChannelError, DeliveryState
from gsomia.testing import ManualClock
from tests.private_nats import PrivateNats
from tests.unit.node.cluster import (
    JPN_READER,
    NOW,
    PARTIES,
    PAYLOAD,
    officials,
    release_to_japan,
)

pytestmark = pytest.mark.integration


class NatsCluster:
    """KOR, JPN and USA nodes on SQLite, their channels on one private nats-server."""

    def __init__(self, server: PrivateNats, directory: Path, **channel: Any) -> None:
        self.server, self.directory, self.channel_options = server, directory, channel
        self.clock = ManualClock(NOW)
        self.keys = {p: NodeKeys.generate(p, NOW - timedelta(days=1)) for p in PARTIES}
        self.stores = {p: SqliteStore.in_data_dir(directory / p) for p in PARTIES}
        self.channels: dict[str, NatsChannel] = {}
        self.nodes: dict[str, Node] = {}
        for party in PARTIES:
            with self.stores[party].unit_of_work() as uow:
                for record in officials(party):
                    uow.put_official(record)
            self.connect(party)

    def trust(self, party: str) -> TrustStore:
        trust = TrustStore()
        for other in PARTIES:
            if other != party:
                trust = trust.add_bundle(self.keys[other].public_bundle())
        return trust

    def connect(self, party: str) -> None:
        """(Re)start ``party``'s channel and node on its store: a restarted worker."""
        channel = NatsChannel(
            party, self.keys[party], self.trust(party), clock=self.clock,
            **self.server.credentials(party), **self.channel_options,
        )  # fmt: skip
        self.channels[party] = channel
        self.nodes[party] = Node(
            party, builtin_registry(), self.stores[party], channel, self.keys[party],
            self.trust(party), self.clock,
        )  # fmt: skip

    def pump(self, *, until: Any, rounds: int = 200, step: timedelta = timedelta(0)) -> None:
        """Deliver and receive on every node, as the host's pumps do, until ``until()``;
        the clock moves on by ``step`` each round (so that retries fall due)."""
        for _ in range(rounds):
            self.clock.advance(step)
            for node in self.nodes.values():
                node.deliver_due()
            for party, node in self.nodes.items():
                node.receive(timeout=0.02)
                self.channels[party].settle(True)
            if until():
                return
        raise AssertionError("the exchange did not settle")

    def accepted(self, party: str) -> list[str]:
        with self.stores[party].read() as reader:
            entries = [reader.audit_entry(i) for i in range(reader.audit_size())]
        return [e.subject for e in entries if e.kind is AuditKind.ACCEPT]

    def acknowledged(self, party: str, key: str) -> bool:
        with self.stores[party].read() as reader:
            entry = reader.outbox_entry(key)
        return entry is not None and entry.state is DeliveryState.ACKNOWLEDGED

    def close(self) -> None:
        for channel in self.channels.values():
            channel.close()
        for store in self.stores.values():
            store.close()


@pytest.fixture
def server() -> Iterator[PrivateNats]:
    deployment = PrivateNats.start()
    yield deployment
    deployment.stop()


@pytest.fixture
def cluster(server: PrivateNats, tmp_path: Path) -> Iterator[NatsCluster]:
    built = NatsCluster(server, tmp_path, ack_wait=2.0)
    yield built
    built.close()


def stream_messages(server: PrivateNats, party: str) -> int:
    """How many messages ``party``'s stream holds (its operator's view)."""

    async def count() -> int:
        nc = await nats.connect(servers=server.urls, user=server.user(party, "ops")[0],
                                password=server.user(party, "ops")[1])  # fmt: skip
        try:
            info = await nc.jetstream().stream_info(stream_name(party))
            return int(info.state.messages)
        finally:
            await nc.close()

    return asyncio.run(count())


def test_items_are_delivered_exactly_once_and_receipts_come_back(cluster: NatsCluster) -> None:
    released = [release_to_japan(cluster) for _ in range(5)]
    ids = [r.item_id for r in released]
    assert all(r.released for r in released)
    cluster.pump(until=lambda: all(cluster.acknowledged("KOR", f"{i}:JPN") for i in ids))
    assert sorted(cluster.accepted("JPN")) == sorted(ids)
    assert cluster.accepted("USA") == []
    assert cluster.nodes["JPN"].read(JPN_READER, ids[0]) == PAYLOAD
    for party in PARTIES:
        cluster.stores[party].close()
        verified = SqliteAuditLog(cluster.directory / party / "node.sqlite").verify()
        assert verified.ok, verified.problems
        cluster.stores[party] = SqliteStore.in_data_dir(cluster.directory / party)
    assert stream_messages(cluster.server, "JPN") == 0  # work queue: acked messages leave


def test_a_duplicated_publish_is_stored_once(cluster: NatsCluster) -> None:
    result = release_to_japan(cluster)
    key = f"{result.item_id}:JPN"
    with cluster.stores["KOR"].read() as reader:
        entry = reader.outbox_entry(key)
    assert entry is not None
    for _ in range(3):  # the outbox's retries after a lost acknowledgement
        cluster.channels["KOR"].send("JPN", entry.message.payload, idempotency_key=key)
    assert stream_messages(cluster.server, "JPN") == 1
    cluster.pump(until=lambda: cluster.acknowledged("KOR", key))
    assert cluster.accepted("JPN") == [result.item_id]
    with cluster.stores["JPN"].read() as reader:
        kinds = [reader.audit_entry(i).kind for i in range(reader.audit_size())]
    assert AuditKind.REJECT not in kinds  # no duplicate ever reached the node


def test_a_consumer_killed_before_its_commit_gets_the_messages_again(
    cluster: NatsCluster,
) -> None:
    ids = [release_to_japan(cluster).item_id for _ in range(3)]
    for node in cluster.nodes.values():
        node.deliver_due()
    # the worker takes what came (one receive: a second one would acknowledge the first's), then
    # dies before its unit of work commits; KOR's clock stands still, so its outbox retries nothing
    taken = cluster.channels["JPN"].receive(limit=100, timeout=5.0)
    assert taken
    assert {m.sender for m in taken} == {"KOR"}
    cluster.channels["JPN"].close()  # no settle: nothing acknowledged
    assert cluster.accepted("JPN") == []
    cluster.connect("JPN")  # a new worker on the same durable consumer
    cluster.pump(until=lambda: all(cluster.acknowledged("KOR", f"{i}:JPN") for i in ids))
    assert sorted(cluster.accepted("JPN")) == sorted(ids)


def test_a_failed_unit_of_work_gives_the_batch_back(cluster: NatsCluster) -> None:
    item_id = release_to_japan(cluster).item_id
    cluster.nodes["KOR"].deliver_due()
    got: list[Any] = []
    for _ in range(100):
        got = cluster.channels["JPN"].receive(limit=10, timeout=0.1)
        if got:
            break
    assert [m.sender for m in got] == ["KOR"]
    cluster.channels["JPN"].settle(False)  # the host: Node.receive raised (a store hiccup)
    cluster.pump(until=lambda: cluster.acknowledged("KOR", f"{item_id}:JPN"))
    assert cluster.accepted("JPN") == [item_id]


def test_the_broker_keeps_kor_to_usa_from_a_jpn_user(server: PrivateNats) -> None:
    """JPN may neither read nor write the KOR → USA subject: refused, and not even visible."""

    async def scenario() -> tuple[list[str], int, bool]:
        errors: list[str] = []

        async def on_error(exc: Exception) -> None:
            errors.append(str(exc))

        user, password = server.user("JPN")
        jpn = await nats.connect(servers=server.urls, user=user, password=password,
                                 error_cb=on_error)  # fmt: skip
        ops_user, ops_password = server.user("JPN", "ops")
        jpn_ops = await nats.connect(servers=server.urls, user=ops_user, password=ops_password)
        kor_user, kor_password = server.user("KOR")
        kor = await nats.connect(servers=server.urls, user=kor_user, password=kor_password)
        usa_user, usa_password = server.user("USA", "ops")
        usa = await nats.connect(servers=server.urls, user=usa_user, password=usa_password)
        try:
            await usa.jetstream().add_stream(name=stream_name("USA"),
                                             subjects=["gsomia.*.USA"])  # fmt: skip
            await jpn.subscribe(subject("KOR", "USA"))  # the node user: refused
            await jpn.publish(subject("KOR", "USA"), b"forged")
            await jpn.flush()
            seen = await jpn_ops.subscribe(subject("KOR", "USA"))  # unrestricted, in JPN
            await jpn_ops.flush()
            ack = await kor.jetstream().publish(subject("KOR", "USA"), b"sealed",
                                                headers={"Nats-Msg-Id": "KOR:t1"})  # fmt: skip
            await asyncio.sleep(0.3)
            leaked = seen.pending_msgs
            try:
                await jpn_ops.jetstream().stream_info(stream_name("USA"))
                visible = True
            except nats.js.errors.NotFoundError:
                visible = False
            assert ack.stream == stream_name("USA")
            return errors, leaked, visible
        finally:
            for nc in (jpn, jpn_ops, kor, usa):
                await nc.close()

    errors, leaked, visible = asyncio.run(scenario())
    assert any("permissions violation for subscription" in e for e in errors), errors
    assert any("permissions violation for publish" in e for e in errors), errors
    assert leaked == 0  # account isolation: KOR's message to USA never reaches JPN's account
    assert not visible  # nor does USA's stream
    assert stream_messages(server, "USA") == 1  # only KOR's own message, not JPN's forgery


def test_no_broker_to_connect_to_is_a_stable_error(tmp_path: Path) -> None:
    from tests.private_nats import free_port  # noqa: PLC0415

    keys = NodeKeys.generate("KOR", NOW - timedelta(days=1))
    with pytest.raises(ChannelError) as err:
        NatsChannel("KOR", keys, TrustStore(), clock=ManualClock(NOW),
                    servers=[f"nats://127.0.0.1:{free_port()}"], timeout=0.5)  # fmt: skip
    assert err.value.code == "CHANNEL_BIND_FAILED"
    assert "no server answered" in err.value.message
