"""Track streams across the workers of one node on JetStream, one worker killed mid-stream (ADR 0013).

JPN runs ``gsomia node serve --config`` worker processes sharing one PostgreSQL schema and one
NATS JetStream (issue 7 §1).  A JPN radar feeds worker A over CoT TCP; a watch officer's CoT
client is connected to worker B.  A third of the way through, A is ``kill -9``-ed and the radar
carries on at B.  B's client receives exactly what the node's track stream holds — every
accepted message, once, in per-track order, nothing else — and a client joining late, at B or at
a worker started afterwards, gets the current picture from the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest
from nats.js.api import DeliverPolicy

from gsomia.adapters.nats_channel import accounts_block
from gsomia.adapters.nats_tracks import (
    track_msg_id,
    track_subject,
    tracks_filter,
    tracks_stream,
)
from gsomia.catalog import builtin_registry
from gsomia.runtime.config import RUN_FILE
from gsomia.runtime.scenario import _official
from gsomia.tracks import CotFramer, TrackMessage, decode_event, encode_event, json_codec
from gsomia.tracks.cot import event_uid
from gsomia.tracks.simulate import JPN_SENSOR, Scenario, simulate
from tests.integration.test_nats_serve import ConfigCluster, serve_file
from tests.integration.test_nats_workers import postgres_node, spawn_worker
from tests.private_nats import PrivateNats, free_port
from tests.private_postgres import PrivatePostgres

pytestmark = pytest.mark.integration

SCHEMES = builtin_registry().schemes
RADAR, WATCH = "jpn-radar-1", "jpn-watch-1"
COUNT = 240  # 10 Hz: 24 s of flight, all within the 30 s ingest window


@pytest.fixture
def server() -> Iterator[PrivateNats]:
    deployment = PrivateNats.start()
    yield deployment
    deployment.stop()


def flight(count: int) -> list[TrackMessage]:
    """The first ``count`` messages of a launch the JPN radar saw a second ago, at 10 Hz, each
    current for ten minutes (so the late joiners' picture does not depend on the test's pace)."""
    now = datetime.now(UTC).replace(microsecond=0)
    first = next(simulate(Scenario(now, rate_hz=10.0, seed=7, sensors=(JPN_SENSOR,))))
    start = now - (first.time - now) - timedelta(seconds=1)
    messages = simulate(Scenario(start, rate_hz=10.0, seed=7, sensors=(JPN_SENSOR,)))
    return [replace(m, stale=m.time + timedelta(minutes=10)) for m in list(messages)[:count]]


def cot_ports(data: Path) -> dict[str, int]:
    """The CoT listeners of the worker that wrote ``run/node.json`` last, by official."""
    run = json.loads((data / RUN_FILE).read_text(encoding="utf-8"))
    return {c["official"]: int(c["port"]) for c in run["cot"]}


class Client:
    """A raw CoT TCP client collecting what it receives."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.framer = reader, writer, CotFramer()
        self.got: list[TrackMessage] = []

    @classmethod
    async def open(cls, port: int) -> Client:
        return cls(*await asyncio.open_connection("127.0.0.1", port))

    async def collect(self, quiet: float) -> list[TrackMessage]:
        """Read until nothing arrived for ``quiet`` seconds; everything received so far."""
        while True:
            try:
                data = await asyncio.wait_for(self.reader.read(65536), quiet)
            except TimeoutError:
                return self.got
            if not data:
                return self.got
            for frame in self.framer.feed(data):
                assert isinstance(frame, bytes)
                self.got.append(decode_event(frame, SCHEMES))

    def close(self) -> None:
        self.writer.close()


async def stream_contents(server: PrivateNats, party: str) -> tuple[list[TrackMessage], int]:
    """Everything the node's track stream holds, in stream order (read as its operator), and
    how many messages it ever accepted (its last sequence number)."""
    user, password = server.user(party, "ops")
    nc = await nats.connect(servers=server.urls, user=user, password=password)
    try:
        js = nc.jetstream()
        info = await js.stream_info(tracks_stream(party))
        total = info.state.messages
        got: list[TrackMessage] = []
        sub = await js.subscribe(tracks_filter(party), stream=tracks_stream(party),
                                 ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)  # fmt: skip
        while len(got) < total:
            msg = await sub.next_msg(timeout=10)
            message = json_codec.loads(msg.data)
            assert msg.subject == track_subject(party, message)
            assert msg.headers is not None
            assert msg.headers["Nats-Msg-Id"] == track_msg_id(message)
            got.append(message)
        return got, int(info.state.last_seq)
    finally:
        await nc.close()


async def feed(port: int, messages: list[TrackMessage], pace: float) -> None:
    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for message in messages:
            writer.write(encode_event(message, SCHEMES))
            await writer.drain()
            await asyncio.sleep(pace)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def keys(messages: list[TrackMessage]) -> list[tuple[str, int]]:
    return [(m.track_id, m.seq) for m in messages]


def test_the_node_permissions_cover_its_own_track_stream_only() -> None:
    from gsomia.adapters.nats_channel import AccountUser, Layout  # noqa: PLC0415

    text = accounts_block(Layout.of({p: [AccountUser(f"{p.lower()}-node", "pw")]
                                     for p in ("KOR", "JPN")}))  # fmt: skip
    jpn = text[text.index("  JPN {") : text.index("  KOR {")]
    assert '"gsomia.tracks.JPN.>"' in jpn
    assert '"$JS.API.STREAM.CREATE.GSOMIA_TRACKS_JPN"' in jpn
    assert "GSOMIA_TRACKS_KOR" not in jpn
    assert "gsomia.tracks.KOR" not in jpn
    assert "gsomia.tracks" not in text.split("exports")[1].split("]")[0]  # never exported


def test_workers_share_the_track_stream_and_one_dies_mid_stream(
    tmp_path: Path, server: PrivateNats, postgres: PrivatePostgres
) -> None:
    dsn = postgres.new_database("tracks")
    cluster = ConfigCluster(tmp_path / "nodes", ("JPN",))
    cluster.create(datetime.now(UTC) - timedelta(days=1))
    data = cluster.nodes["JPN"].data
    for official in (RADAR, WATCH):  # the operator's commands (docs/operations.md)
        subprocess.run(
            [sys.executable, "-m", "gsomia.cli.main", "node", "cot", "listen", "--data",
             str(data), "--port", "0", "--official", official, "--json"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    serve_file(data, server, "JPN")
    passphrase = cluster.passphrase_file.read_bytes().strip()
    cluster.nodes["JPN"].tokens["officer"] = postgres_node(data, dsn, passphrase)
    cluster.start()
    workers: list[subprocess.Popen[bytes]] = []
    try:
        cluster.enrol({"JPN": [
            _official(RADAR, "JPN", "極秘", ("NK-MISSILE",), "sensor_feed"),
            _official(WATCH, "JPN", "極秘", ("NK-MISSILE",), "reader"),
        ]})  # fmt: skip
        at_b = cot_ports(data)  # worker B: the cluster's own process
        worker_a = spawn_worker(cluster, "JPN", free_port())
        workers.append(worker_a)
        at_a = cot_ports(data)
        assert at_a != at_b
        messages = flight(COUNT)

        async def run() -> tuple[list[TrackMessage], tuple[list[TrackMessage], int]]:
            watch = await Client.open(at_b[WATCH])
            await asyncio.sleep(0.5)  # attached before the radar starts
            third = COUNT // 3
            await feed(at_a[RADAR], messages[:third], 0.01)
            await asyncio.sleep(0.05)
            worker_a.send_signal(signal.SIGKILL)  # kill -9 the radar's worker mid-stream
            await asyncio.get_running_loop().run_in_executor(None, worker_a.wait)
            await feed(at_b[RADAR], messages[third:], 0.005)  # the radar reconnects to B
            got = await watch.collect(quiet=3.0)
            watch.close()
            return got, await stream_contents(server, "JPN")

        received, (stored, accepted) = asyncio.run(run())
        assert worker_a.returncode == -signal.SIGKILL
        # what the stream accepted is what B's client received: no gap, no repeat, same order
        assert len(stored) == accepted  # the stream's limits dropped nothing here
        assert keys(received) == keys(stored)
        assert len(set(keys(received))) == len(received)
        seqs = [m.seq for m in received if m.track_id == messages[0].track_id]
        assert seqs == sorted(seqs)
        assert len(stored) > COUNT // 2  # most of the flight went through, before and after
        assert {m.seq for m in messages[COUNT // 3 :]} <= {m.seq for m in stored}

        # a late joiner at B, and at a worker started now, gets the current picture
        picture = {event_uid(m): m.seq for m in stored}
        worker_c = spawn_worker(cluster, "JPN", free_port())
        workers.append(worker_c)
        at_c = cot_ports(data)

        async def late(port: int) -> list[TrackMessage]:
            client = await Client.open(port)
            got = await client.collect(quiet=1.5)
            client.close()
            return got

        for port in (at_b[WATCH], at_c[WATCH]):
            joined = asyncio.run(late(port))
            assert {event_uid(m): m.seq for m in joined} == picture
            assert len(joined) == len(picture)
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
                process.wait()
        cluster.stop()
