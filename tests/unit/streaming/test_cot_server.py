"""CoT over TCP and TLS in one process (issue 5 §2): ingest, egress per entitlement, malformed input,
late joiners, slow clients, client certificates.  Real sockets on loopback, an in-memory node."""

from __future__ import annotations

import asyncio
import ssl
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from gsomia.audit.records import AuditKind
from gsomia.streaming import TrackHub, TrackIngest
from gsomia.streaming.cot_server import CotServer
from gsomia.streaming.settings import CotListener, CotSettings
from gsomia.tracks import CotFramer, TrackMessage, decode_event, encode_event
from tests.unit.node.cluster import Cluster
from tests.unit.streaming.certs import TestCa
from tests.unit.streaming.helpers import (
    JPN_LIAISON,
    KOR_NO_DUTY,
    KOR_SENSOR_FEED,
    KOR_WATCH,
    kor_cluster,
    kor_messages,
)

OFFICIALS = (KOR_SENSOR_FEED, KOR_WATCH, KOR_NO_DUTY, JPN_LIAISON)


@dataclass
class Bed:
    cluster: Cluster
    server: CotServer
    ports: dict[str, int]  # official (plain) or "tls" -> port

    @property
    def schemes(self):  # type: ignore[no-untyped-def]
        return self.cluster.nodes["KOR"].registry.schemes

    def encode(self, message: TrackMessage) -> bytes:
        return encode_event(message, self.schemes)


def messages(seeds: range = range(1, 2), count: int = 200) -> list[TrackMessage]:
    """Messages of several launches at 10 Hz, all within 30 s of the first one."""
    out = [m for s in seeds for m in kor_messages(seed=s, rate_hz=10.0)[:count]]
    return out


@asynccontextmanager
async def bed(tmp: Path | None = None, **kwargs: object) -> AsyncIterator[Bed]:
    cluster = kor_cluster()
    node = cluster.nodes["KOR"]
    cluster.clock.set(kor_messages()[0].time)
    listeners = [CotListener("127.0.0.1", 0, official=o) for o in OFFICIALS]
    clients: dict[str, str] = {}
    if tmp is not None:
        ca = TestCa(tmp)
        server_cert = ca.issue("cot-server", server=True)
        listeners.append(
            CotListener(
                "127.0.0.1",
                0,
                cert=server_cert.cert.name,
                key=server_cert.key.name,
                client_ca=ca.path.name,
            )
        )
        for who in (KOR_WATCH, KOR_SENSOR_FEED):
            clients[ca.issue(who).fingerprint] = who
        ca.issue("stranger")  # verifies against the CA, but mapped to no official
    settings = CotSettings(tuple(listeners), clients)

    def resolve(official_id: str):  # type: ignore[no-untyped-def]
        with cluster.stores["KOR"].read() as reader:
            return reader.official(official_id)

    ingest = TrackIngest(node, TrackHub())
    server = CotServer(node, ingest, settings, tmp or Path("."), resolve, **kwargs)  # type: ignore[arg-type]
    bound = await server.start()
    ports = {(b.official or "tls"): b.port for b in bound}
    try:
        yield Bed(cluster, server, ports)
    finally:
        await server.close()


_KEEP: list[asyncio.StreamWriter] = []  # a writer dropped closes its connection (3.11.5+)


async def connect(
    port: int, context: ssl.SSLContext | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=context)
    _KEEP.append(writer)
    return reader, writer


async def receive(
    reader: asyncio.StreamReader, bed: Bed, count: int, timeout: float = 10.0
) -> list[TrackMessage]:
    framer = CotFramer()
    got: list[TrackMessage] = []
    while len(got) < count:
        data = await asyncio.wait_for(reader.read(65536), timeout)
        if not data:
            break
        for frame in framer.feed(data):
            assert isinstance(frame, bytes)
            got.append(decode_event(frame, bed.schemes))
    return got


async def nothing_pending(reader: asyncio.StreamReader) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(65536), 0.05)
    except TimeoutError:
        return True
    return data == b""


def test_a_sensor_feeds_and_only_the_entitled_client_receives_in_order() -> None:
    async def run() -> None:
        async with bed() as b:
            watch_r, _ = await connect(b.ports[KOR_WATCH])
            no_duty_r, _ = await connect(b.ports[KOR_NO_DUTY])
            liaison_r, _ = await connect(b.ports[JPN_LIAISON])
            _, sensor_w = await connect(b.ports[KOR_SENSOR_FEED])
            await asyncio.sleep(0.05)  # the three have attached
            sent = messages(count=100)
            for m in sent:
                sensor_w.write(b'<?xml version="1.0" encoding="UTF-8"?>\n' + b.encode(m))
            await sensor_w.drain()
            got = await receive(watch_r, b, len(sent))
            assert got == sent  # every message, in order, decoded back equal
            assert await nothing_pending(no_duty_r)  # no duty for NK-MISSILE
            assert await nothing_pending(liaison_r)  # a JPN official: Art. 7
            assert b.server.ingest.stats()["accepted"] == len(sent)

    asyncio.run(run())


def test_a_client_that_is_not_a_sensor_feed_cannot_publish() -> None:
    async def run() -> None:
        async with bed() as b:
            watch_r, watch_w = await connect(b.ports[KOR_WATCH])
            await asyncio.sleep(0.05)
            watch_w.write(b.encode(messages(count=1)[0]))
            await watch_w.drain()
            for _ in range(100):
                if b.server.ingest.stats()["refused"]:
                    break
                await asyncio.sleep(0.01)
            assert b.server.ingest.stats()["refused"] == {"NODE_FORBIDDEN": 1}
            assert b.server.hub.published == 0
            assert await nothing_pending(watch_r)

    asyncio.run(run())


MALFORMED = {
    # the framer keeps only <event…</event>: a DTD before it is garbage, its entity undeclared
    "COT_FRAME_GARBAGE": b'<!DOCTYPE event [<!ENTITY x "y">]><event version="2.0">&x;</event>',
    "COT_ENTITY_FORBIDDEN": b'<event version="2.0" uid="&ext;"></event>',
    "COT_TOO_DEEP": b"<event>" + b"<a>" * 40 + b"</a>" * 40 + b"</event>",
    "COT_MALFORMED": b"<event/><x>hello</x></event>",
    "COT_FRAME_TOO_LARGE": b'<event version="2.0">' + b" " * 70_000 + b"</event>",
}


def test_malformed_cot_is_refused_counted_and_audited_and_the_stream_goes_on() -> None:
    async def run() -> None:
        async with bed() as b:
            watch_r, _ = await connect(b.ports[KOR_WATCH])
            _, sensor_w = await connect(b.ports[KOR_SENSOR_FEED])
            await asyncio.sleep(0.05)
            good = messages(count=6)
            bad_point = b.encode(good[5]).replace(b'lat="', b'lat="9', 1)
            for i, m in enumerate(good[:5]):
                sensor_w.write(b.encode(m))
                sensor_w.write(list(MALFORMED.values())[i])
            sensor_w.write(bad_point)
            sensor_w.write(b.encode(good[5]))
            await sensor_w.drain()
            assert await receive(watch_r, b, 6) == good
            refused = b.server.ingest.stats()["refused"]
            for code in MALFORMED:
                assert refused.get(code, 0) >= 1, (code, refused)
            assert refused.get("COT_POINT_INVALID") == 1
        rejects = {r.reasons[0] for r in b.cluster.audit("KOR") if r.kind is AuditKind.REJECT}
        assert set(MALFORMED) | {"COT_POINT_INVALID"} <= rejects  # flushed on close

    asyncio.run(run())


def test_a_late_joiner_gets_the_current_tracks_it_may_see_and_nothing_stale() -> None:
    async def run() -> None:
        async with bed() as b:
            _, sensor_w = await connect(b.ports[KOR_SENSOR_FEED])
            sent = messages(count=50)
            for m in sent:
                sensor_w.write(b.encode(m))
            await sensor_w.drain()
            for _ in range(200):
                if b.server.hub.published == len(sent):
                    break
                await asyncio.sleep(0.01)
            late_r, _ = await connect(b.ports[KOR_WATCH])
            got = await receive(late_r, b, 2)
            # the launch point and the moving symbol's latest update (no impact yet)
            assert [m.seq for m in got] == [sent[0].seq, sent[-1].seq]
            assert await nothing_pending(late_r)
            liaison_r, _ = await connect(b.ports[JPN_LIAISON])
            assert await nothing_pending(liaison_r)
            # once the update is stale, a new joiner gets only the launch point
            b.cluster.clock.set(sent[-1].stale + timedelta(seconds=1))
            b.server._now = None
            later_r, _ = await connect(b.ports[KOR_WATCH])
            assert [m.seq for m in await receive(later_r, b, 1)] == [sent[0].seq]
            assert await nothing_pending(later_r)

    asyncio.run(run())


def test_a_slow_client_is_cut_off_and_does_not_hold_up_the_others() -> None:
    async def run() -> None:
        async with bed(max_buffer=64 * 1024) as b:
            _slow_r, _slow_w = await connect(b.ports[KOR_WATCH])  # never reads
            fast_r, _ = await connect(b.ports[KOR_WATCH])
            _, sensor_w = await connect(b.ports[KOR_SENSOR_FEED])
            await asyncio.sleep(0.05)
            sent = messages(seeds=range(1, 16), count=300)
            reading = asyncio.create_task(receive(fast_r, b, len(sent), timeout=30))
            for m in sent:
                sensor_w.write(b.encode(m))
            await sensor_w.drain()
            got = await reading
            assert len(got) == len(sent)
            assert b.server.ingest.stats()["refused"].get("COT_CLIENT_TOO_SLOW") == 1
            assert b.server.hub.subscribers == 1

    asyncio.run(run())


def test_tls_clients_are_who_their_certificates_say() -> None:
    async def run(tmp: Path) -> None:
        async with bed(tmp) as b:

            def context(who: str | None) -> ssl.SSLContext:
                ctx = ssl.create_default_context(cafile=tmp / "gsomia-test-CA.pem")
                if who is not None:
                    ctx.load_cert_chain(tmp / f"{who}.pem", tmp / f"{who}.key")
                return ctx

            watch_r, _ = await connect(b.ports["tls"], context(KOR_WATCH))
            stranger_r, _ = await connect(b.ports["tls"], context("stranger"))
            _, sensor_w = await connect(b.ports["tls"], context(KOR_SENSOR_FEED))
            await asyncio.sleep(0.1)
            sent = messages(count=20)
            for m in sent:
                sensor_w.write(b.encode(m))
            await sensor_w.drain()
            assert await receive(watch_r, b, len(sent)) == sent
            assert await asyncio.wait_for(stranger_r.read(), 5) == b""  # closed, nothing sent
            assert b.server.ingest.stats()["refused"] == {"COT_CLIENT_UNKNOWN": 1}
            try:  # no client certificate: the handshake fails
                r, _ = await connect(b.ports["tls"], context(None))
                assert await asyncio.wait_for(r.read(), 5) == b""
            except (ssl.SSLError, ConnectionError):
                pass

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp)))
