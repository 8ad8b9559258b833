"""Partner track links between real node processes (issue 5 §2, §3; ADR 0012): a KOR sensor's
track reaches a JPN CoT client directly, and through the USA hub in 2015; a track Releasable To
KOR, USA reaches the USA and never JPN; per-track order holds end to end; a JPN node killed and
restarted is caught up with the current picture; a node with an untrusted key is refused and
audited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gsomia.adapters.clock import ScenarioClock
from gsomia.adapters.keystore_files import load_trust
from gsomia.audit.records import AuditKind
from gsomia.catalog import builtin_registry
from gsomia.envelope import NodeKeys
from gsomia.labels import Category, CategoryType, OriginatorLabel
from gsomia.runtime.cluster import LocalCluster
from gsomia.runtime.config import KEYS_DIR
from gsomia.runtime.scenario import _official
from gsomia.streaming.link_wire import dial_handshake
from gsomia.tracks import CotFramer, TrackMessage, decode_event, encode_event
from gsomia.tracks.simulate import KOR_SENSOR, Scenario, simulate

pytestmark = pytest.mark.integration

SCHEMES = builtin_registry().schemes
SENSOR, JPN_WATCH, USA_WATCH = "kor-radar-1", "jpn-watch-1", "usa-watch-1"
MISSILE = ("NK-MISSILE",)
OFFICIALS = {
    "KOR": [_official(SENSOR, "KOR", "군사II급비밀", MISSILE, "sensor_feed")],
    "JPN": [_official(JPN_WATCH, "JPN", "極秘", MISSILE, "reader")],
    "USA": [_official(USA_WATCH, "USA", "SECRET", MISSILE, "reader")],
}
TISA_ERA = datetime(2015, 6, 1, 3, 0, tzinfo=UTC)  # before the ROK-JPN GSOMIA (Nov. 2016)


@dataclass
class Nodes:
    cluster: LocalCluster
    clock: ScenarioClock | None

    def now(self) -> datetime:
        return datetime.now(UTC) if self.clock is None else self.clock.now()

    def cot(self, party: str) -> tuple[str, int]:
        url = self.cluster.run_info(party)["cot"][0]["url"]
        host, port = url.removeprefix("tcp://").rsplit(":", 1)
        return host, int(port)


def _cluster(workdir: Path, era: datetime | None) -> Iterator[Nodes]:
    clock_file = None if era is None else workdir / "clock"
    cluster = LocalCluster(workdir / "nodes", ("KOR", "JPN", "USA"), clock_file=clock_file)
    cluster.create((era or datetime.now(UTC)) - timedelta(days=1))
    if clock_file is not None:
        from gsomia.adapters.clock import set_scenario_instant  # noqa: PLC0415

        set_scenario_instant(clock_file, era or datetime.now(UTC))
    cluster.wire_tracks()
    cluster.listen_cot("KOR", SENSOR)
    cluster.listen_cot("JPN", JPN_WATCH)
    cluster.listen_cot("USA", USA_WATCH)
    cluster.start()
    try:
        cluster.enrol(OFFICIALS)
        yield Nodes(cluster, None if clock_file is None else ScenarioClock(clock_file))
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def today(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    yield from _cluster(tmp_path_factory.mktemp("links"), None)


@pytest.fixture(scope="module")
def tisa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nodes]:
    yield from _cluster(tmp_path_factory.mktemp("links-2015"), TISA_ERA)


def launch(
    now: datetime, seed: int, count: int, rel_to: tuple[str, ...] = ()
) -> list[TrackMessage]:
    """The first ``count`` messages of a KOR radar track seen from a second before ``now``."""
    scenario = Scenario(now - timedelta(seconds=1), rate_hz=10.0, seed=seed, sensors=(KOR_SENSOR,))
    out = list(simulate(scenario))[:count]
    if rel_to:
        first = out[0].label
        label = OriginatorLabel(
            first.policy_id, first.classification, "KOR", first.created,
            (Category("Releasable To", CategoryType.PERMISSIVE, rel_to),
             Category("Topic", CategoryType.RESTRICTIVE, MISSILE)),
        )  # fmt: skip
        out = [replace(m, label=label) for m in out]
    return out


class Client:
    """A raw TCP CoT client."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.framer = reader, writer, CotFramer()

    @classmethod
    async def open(cls, address: tuple[str, int]) -> Client:
        return cls(*await asyncio.open_connection(*address))

    async def track(self, track: str, count: int, timeout: float = 20.0) -> list[int]:
        """Sequence numbers of ``track`` received, until ``count`` or ``timeout``."""
        got: list[int] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(got) < count and loop.time() < deadline:
            try:
                data = await asyncio.wait_for(self.reader.read(65536), deadline - loop.time())
            except TimeoutError:
                break
            if not data:
                break
            for frame in self.framer.feed(data):
                assert isinstance(frame, bytes)
                message = decode_event(frame, SCHEMES)
                if message.track_id == track:
                    got.append(message.seq)
        return got


async def send(address: tuple[str, int], messages: list[TrackMessage]) -> None:
    _reader, writer = await asyncio.open_connection(*address)
    for message in messages:
        writer.write(encode_event(message, SCHEMES))
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.close()


def audited(nodes: Nodes, party: str, code: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = nodes.cluster.tally(party).records
        if any(r.kind is AuditKind.REJECT and code in r.reasons for r in records):
            return True
        time.sleep(0.2)
    return False


def relayed(nodes: Nodes, sent: list[TrackMessage], to: str = "JPN") -> list[int]:
    """Feed ``sent`` to KOR's sensor port; the seqs a CoT client at ``to`` then receives."""

    async def run() -> list[int]:
        client = await Client.open(nodes.cot(to))
        await asyncio.sleep(0.3)
        await send(nodes.cot("KOR"), sent)
        got = await client.track(sent[0].track_id, len(sent))
        client.writer.close()
        return got

    return asyncio.run(run())


def test_a_kor_sensor_track_reaches_a_jpn_cot_client_directly_in_order(today: Nodes) -> None:
    sent = launch(today.now(), seed=21, count=60)
    info = today.cluster.run_info("JPN")
    assert info["links"]["port"] > 0  # run/node.json records the link listener

    assert relayed(today, sent) == [m.seq for m in sent]


def test_a_track_releasable_to_kor_and_usa_never_reaches_jpn(today: Nodes) -> None:
    sent = launch(today.now(), seed=22, count=20, rel_to=("KOR", "USA"))

    async def run() -> tuple[list[int], list[int]]:
        usa = await Client.open(today.cot("USA"))
        jpn = await Client.open(today.cot("JPN"))
        await asyncio.sleep(0.3)
        await send(today.cot("KOR"), sent)
        at_usa = await usa.track(sent[0].track_id, len(sent))
        at_jpn = await jpn.track(sent[0].track_id, 1, timeout=1.0)
        usa.writer.close()
        jpn.writer.close()
        return at_usa, at_jpn

    at_usa, at_jpn = asyncio.run(run())
    assert at_usa == [m.seq for m in sent]
    assert at_jpn == []


def test_a_node_with_an_untrusted_key_is_refused_and_audited(today: Nodes) -> None:
    port = today.cluster.run_info("JPN")["links"]["port"]
    trust = load_trust(today.cluster.nodes["KOR"].data / KEYS_DIR)  # JPN's key, as KOR has it
    intruder = NodeKeys.generate("KOR", today.now() - timedelta(days=1))

    async def run() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        session = await dial_handshake(reader, writer, intruder, trust, "JPN", today.now())
        writer.write(session.seal(1, b"{}\n{}"))
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return answer

    assert asyncio.run(run()) == b""  # JPN hung up
    assert audited(today, "JPN", "LINK_PEER_UNTRUSTED")


def test_a_restarted_jpn_node_is_caught_up_with_the_current_picture(today: Nodes) -> None:
    sent = launch(today.now(), seed=23, count=10)

    assert relayed(today, sent) == [m.seq for m in sent]
    today.cluster.kill("JPN")
    today.cluster.start(["JPN"])  # same ports: KOR's link dials it again (backoff)

    async def late() -> list[int]:
        client = await Client.open(today.cot("JPN"))
        got = await client.track(sent[0].track_id, 2)  # the launch point and the latest update
        client.writer.close()
        return got

    got = asyncio.run(late())
    assert got == sorted(set(got))
    assert got[-1] == sent[-1].seq


def test_in_2015_a_kor_track_reaches_jpn_through_the_usa_hub(tisa: Nodes) -> None:
    sent = launch(tisa.now(), seed=24, count=30)

    async def run() -> tuple[list[int], list[int]]:
        jpn = await Client.open(tisa.cot("JPN"))
        usa = await Client.open(tisa.cot("USA"))
        await asyncio.sleep(0.3)
        await send(tisa.cot("KOR"), sent)
        at_jpn = await jpn.track(sent[0].track_id, len(sent))
        at_usa = await usa.track(sent[0].track_id, len(sent))
        jpn.writer.close()
        usa.writer.close()
        return at_jpn, at_usa

    at_jpn, at_usa = asyncio.run(run())
    assert at_jpn == [m.seq for m in sent]
    assert at_usa == [m.seq for m in sent]
    relays = [
        r for r in tisa.cluster.tally("JPN").records if r.kind is AuditKind.REJECT
    ]  # nothing refused on the way: the approval travelled with the relayed tracks
    assert not [r for r in relays if any(c.startswith(("CONSENT", "LINK")) for c in r.reasons)]
