"""Partner track links between three real nodes (KOR, JPN, USA; in-memory stores, real keys) over
real loopback sockets: direct release, the TISA path through the USA, fail-closed Releasable To,
per-track order, a cut link healed without repeats, forged frames and untrusted keys refused and
audited (issue 5 §2; ADR 0012)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pytest

from gsomia.agreements import Event, EventKind
from gsomia.envelope import NodeKeys
from gsomia.streaming import TrackHub, TrackIngest
from gsomia.streaming.ingest import Refusal
from gsomia.streaming.link import LinkService
from gsomia.streaming.link_settings import LinkPartner, LinkSettings
from gsomia.streaming.link_wire import dial_handshake
from gsomia.tracks import TrackMessage
from gsomia.tracks.simulate import KOR_SENSOR, Scenario, simulate
from tests.conftest import make_label
from tests.unit.node.cluster import KOR_SECURITY, NOW, TISA_ERA, Cluster, build

PARTIES = ("KOR", "JPN", "USA")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proxy:
    """A TCP relay in front of a listener that the test can cut, hold shut or tamper with."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self.open = True
        self.tamper = False
        self.replay = False
        self._pipes: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self._pipes += [writer, up_writer]
        await asyncio.gather(
            self._pipe(reader, up_writer, forward=True), self._pipe(up_reader, writer),
            return_exceptions=True,
        )  # fmt: skip

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, forward: bool = False
    ) -> None:
        try:
            while data := await reader.read(65536):
                if forward and self.tamper and len(data) > 8:
                    self.tamper = False
                    data = data[:-1] + bytes([data[-1] ^ 0x01])
                if forward and self.replay and len(data) > 8:
                    self.replay = False
                    data = data + data  # the same frames again
                writer.write(data)
        finally:
            writer.close()

    def cut(self) -> None:
        """Sever every connection through the proxy."""
        for writer in self._pipes:
            writer.transport.abort()
        self._pipes.clear()

    def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()


@dataclass
class Net:
    cluster: Cluster
    hubs: dict[str, TrackHub]
    services: dict[str, LinkService]
    audited: dict[str, list[Refusal]]
    proxies: dict[str, Proxy] = field(default_factory=dict)

    def flush(self) -> list[str]:
        """Audit what each node refused; the codes JPN audited."""
        for service in self.services.values():
            service.ingest.flush()
        return [code for _who, _route, code, _n in self.audited["JPN"]]


@contextlib.asynccontextmanager
async def network(
    start: datetime = NOW, via: dict[tuple[str, str], str] | None = None
) -> AsyncIterator[Net]:
    """Every node listens; every node dials every other (KOR dials JPN through a proxy)."""
    cluster = build(start=start, custody=True)
    ports = {p: free_port() for p in PARTIES}
    proxy = Proxy(ports["JPN"])
    await proxy.start()
    hubs: dict[str, TrackHub] = {}
    services: dict[str, LinkService] = {}
    audited: dict[str, list[Refusal]] = {p: [] for p in PARTIES}
    for party in PARTIES:
        node = cluster.nodes[party]
        hubs[party] = TrackHub()
        ingest = TrackIngest(node, hubs[party], audited[party].extend)
        partners = tuple(
            LinkPartner(
                other,
                f"127.0.0.1:{proxy.port if (party, other) == ('KOR', 'JPN') else ports[other]}",
                (via or {}).get((party, other)),
            )
            for other in PARTIES
            if other != party
        )
        settings = LinkSettings(("127.0.0.1", ports[party]), partners)
        ctx = node._ctx
        services[party] = LinkService(node, ingest, settings, ctx.keys, ctx.trust)
    for service in services.values():
        await service.start()
    net = Net(cluster, hubs, services, audited, {"JPN": proxy})
    try:
        await connected(net)
        yield net
    finally:
        proxy.close()
        for service in services.values():
            await service.close()


async def connected(net: Net, timeout: float = 5.0) -> None:
    """Until every node's links to the two others are up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if all(len(s.connected) == 2 for s in net.services.values()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError({p: s.connected for p, s in net.services.items()})


def launch(start: datetime, count: int, rel_to: Sequence[str] = ("KOR", "JPN", "USA"),
           seed: int = 3) -> list[TrackMessage]:  # fmt: skip
    """The first ``count`` messages of a KOR radar track at ``start`` (10 Hz)."""
    label = make_label(rel_to=tuple(rel_to), created="2015-01-01T00:00:00+00:00")
    scenario = Scenario(start - timedelta(seconds=2), rate_hz=10.0, seed=seed,
                        sensors=(KOR_SENSOR,))  # fmt: skip
    out = [replace(m, label=label) for m in simulate(scenario)][:count]
    assert len(out) == count
    return out


async def received(hub: TrackHub, track: str, count: int, timeout: float = 5.0) -> list[int]:
    """The sequence numbers of ``track`` at ``hub`` once ``count`` arrived (or the timeout)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        seqs = [m.seq for m in hub.snapshot() if m.track_id == track]
        if len(seqs) >= count:
            return seqs
        await asyncio.sleep(0.01)
    return [m.seq for m in hub.snapshot() if m.track_id == track]


def publish(net: Net, messages: Sequence[TrackMessage]) -> None:
    for message in messages:
        net.hubs["KOR"].publish(message)


def test_a_kor_track_reaches_jpn_directly_in_order() -> None:
    async def run() -> None:
        async with network() as net:
            track = launch(NOW, 30)
            publish(net, track)
            seqs = await received(net.hubs["JPN"], track[0].track_id, 30)
            assert seqs == [m.seq for m in track]  # every one, in order, once
            assert net.services["KOR"].counts["sent:JPN"] == 30
            assert net.services["JPN"].counts["received:KOR"] == 30
            assert net.services["USA"].counts["relayed:JPN"] == 0

    asyncio.run(run())


def test_a_track_releasable_to_kor_and_usa_never_reaches_jpn() -> None:
    async def run() -> None:
        async with network() as net:
            track = launch(NOW, 10, rel_to=("KOR", "USA"))
            publish(net, track)
            assert await received(net.hubs["USA"], track[0].track_id, 10) == [m.seq for m in track]
            await asyncio.sleep(0.2)  # what was going to JPN has had the time to arrive
            assert await received(net.hubs["JPN"], track[0].track_id, 1, timeout=0.2) == []
            assert net.services["KOR"].counts["sent:JPN"] == 0
            assert net.services["USA"].counts["relayed:JPN"] == 0

    asyncio.run(run())


def test_in_2015_a_kor_track_reaches_jpn_only_through_the_usa_hub() -> None:
    async def run() -> None:
        async with network(start=TISA_ERA) as net:
            track = launch(TISA_ERA, 20)
            publish(net, track)
            seqs = await received(net.hubs["JPN"], track[0].track_id, 20)
            assert seqs == [m.seq for m in track]
            assert net.services["KOR"].counts["sent:JPN"] == 0  # no direct exchange in 2015
            assert net.services["USA"].counts["relayed:JPN"] == 20
            assert net.services["JPN"].counts["received:USA"] == 20
            assert net.services["JPN"].counts["approvals"] >= 1  # KOR's, passed on by USA

    asyncio.run(run())


def test_a_hub_route_can_be_forced_when_direct_exchange_is_allowed() -> None:
    async def run() -> None:
        async with network(via={("KOR", "JPN"): "USA"}) as net:
            track = launch(NOW, 10)
            publish(net, track)
            assert await received(net.hubs["JPN"], track[0].track_id, 10) == [m.seq for m in track]
            assert net.services["KOR"].counts["sent:JPN"] == 0
            assert net.services["USA"].counts["relayed:JPN"] == 10

    asyncio.run(run())


def test_when_kor_terminates_the_gsomia_its_tracks_reach_jpn_through_the_hub() -> None:
    """Art. 21: the very next decision applies the recorded event; TISA still carries them."""

    async def run() -> None:
        async with network() as net:
            track = launch(NOW, 10)
            publish(net, track[:4])
            assert await received(net.hubs["JPN"], track[0].track_id, 4) == [1, 2, 3, 4]
            ended = Event(EventKind.TERMINATED, NOW - timedelta(minutes=1))
            net.cluster.nodes["KOR"].record_agreement_event(
                KOR_SECURITY, "kor-jpn-gsomia-2016", ended
            )
            publish(net, track[4:])
            seqs = await received(net.hubs["JPN"], track[0].track_id, 10)
            assert seqs == [m.seq for m in track]
            assert net.services["KOR"].counts["sent:JPN"] == 4  # none directly after the event
            assert net.services["USA"].counts["relayed:JPN"] == 6

    asyncio.run(run())


def test_without_the_originators_approval_the_hub_relays_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def run() -> None:
        async with network(start=TISA_ERA) as net:
            held = net.services["USA"].approvals._held
            sent = len(net.services["KOR"].policy.hubs_for("USA"))  # one per (third, topic)
            for _ in range(500):  # KOR's standing approvals are sent when its link comes up
                if sum(key[1] == "KOR" for key in held) >= sent:
                    break
                await asyncio.sleep(0.01)
            assert sent > 0
            assert sum(key[1] == "KOR" for key in held) == sent
            monkeypatch.setattr(net.services["KOR"].policy, "hubs_for", lambda peer: [])
            held.clear()  # as if KOR had never approved (and no renewal brings one back)
            track = launch(TISA_ERA, 5)
            publish(net, track)
            assert len(await received(net.hubs["USA"], track[0].track_id, 5)) == 5
            await asyncio.sleep(0.2)
            assert await received(net.hubs["JPN"], track[0].track_id, 1, timeout=0.2) == []
            assert net.services["USA"].counts["relayed:JPN"] == 0

    asyncio.run(run())


def test_a_cut_link_heals_with_the_current_picture_and_no_repeat() -> None:
    async def run() -> None:
        async with network() as net:
            proxy = net.proxies["JPN"]
            track = launch(NOW, 12)
            ident = track[0].track_id
            publish(net, track[:5])
            assert await received(net.hubs["JPN"], ident, 5) == [1, 2, 3, 4, 5]
            proxy.open = False
            proxy.cut()
            await asyncio.sleep(0.1)
            publish(net, track[5:9])  # sent while JPN is cut off: lost to it but the latest
            proxy.open = True
            deadline = asyncio.get_running_loop().time() + 10
            while "JPN" not in net.services["KOR"].connected:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.01)
            publish(net, track[9:])
            seqs = await received(net.hubs["JPN"], ident, 8)
            assert seqs == sorted(set(seqs))  # in order, nothing twice
            assert seqs[:5] == [1, 2, 3, 4, 5]
            assert seqs[-3:] == [10, 11, 12]
            assert 9 in seqs  # the current picture caught JPN up with the latest update
            assert net.services["JPN"].counts["repeats:KOR"] >= 1  # the launch, resent

    asyncio.run(run())


def test_a_tampered_frame_closes_the_link_is_audited_and_the_link_heals() -> None:
    async def run() -> None:
        async with network() as net:
            proxy = net.proxies["JPN"]
            track = launch(NOW, 6)
            proxy.tamper = True
            publish(net, track[:1])
            await asyncio.sleep(0.3)
            publish(net, track[1:])
            seqs = await received(net.hubs["JPN"], track[0].track_id, 5)
            assert seqs == sorted(set(seqs))
            assert seqs[-1] == 6
            assert "LINK_FRAME_INVALID" in net.flush()

    asyncio.run(run())


def test_a_replayed_frame_closes_the_link_and_is_audited() -> None:
    async def run() -> None:
        async with network() as net:
            proxy = net.proxies["JPN"]
            track = launch(NOW, 4)
            publish(net, track[:1])
            assert await received(net.hubs["JPN"], track[0].track_id, 1) == [1]
            proxy.replay = True
            publish(net, track[1:2])
            await asyncio.sleep(0.3)
            publish(net, track[2:])
            seqs = await received(net.hubs["JPN"], track[0].track_id, 4)
            assert seqs == [1, 2, 3, 4]  # the replayed copy was never taken
            assert "LINK_FRAME_INVALID" in net.flush()

    asyncio.run(run())


def test_a_node_with_an_untrusted_key_is_refused_and_audited() -> None:
    async def run() -> None:
        async with network() as net:
            intruder = NodeKeys.generate("KOR", NOW - timedelta(days=1))
            jpn = net.services["JPN"]
            assert jpn.bound is not None
            reader, writer = await asyncio.open_connection("127.0.0.1", jpn.bound.port)
            trust = net.services["KOR"].trust  # the intruder knows JPN's public key
            session = await dial_handshake(reader, writer, intruder, trust, "JPN", NOW)
            writer.write(session.seal(1, b"{}\n{}"))
            assert await asyncio.wait_for(reader.read(), 5) == b""  # JPN hung up
            writer.close()
            assert "LINK_PEER_UNTRUSTED" in net.flush()
            assert jpn.counts["received:KOR"] == 0

    asyncio.run(run())
