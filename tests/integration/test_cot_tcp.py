"""CoT/TAK against a real node process (issue 5 §3): PyTAK feeds it over ``tcp://``, raw TCP and a
PyTAK TLS client with a certificate receive; an unentitled client gets nothing; order, staleness,
late joiners and malformed input (refused with its code, counted, audited; the stream goes on);
TAK pings answered with a pong (issue 5 §2)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from configparser import ConfigParser
from configparser import SectionProxy as Section
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from gsomia.audit.records import AuditKind
from gsomia.catalog import builtin_registry
from gsomia.runtime.cluster import LocalCluster
from gsomia.runtime.config import RUN_FILE
from gsomia.tracks import CotFramer, TrackMessage, decode_event, encode_event
from gsomia.tracks.json_codec import to_dict
from gsomia.tracks.simulate import KOR_SENSOR, Scenario, simulate
from tests.unit.streaming.certs import TestCa

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # PyTAK warns that aiohttp (for its Marti API) is missing
    import pytak

pytestmark = pytest.mark.integration

SCHEMES = builtin_registry().schemes
SECRET = "군사II급비밀"
SENSOR, WATCH, NO_DUTY, TLS_WATCH = "kor-radar-1", "kor-watch-1", "kor-watch-2", "kor-watch-3"


def _official(oid: str, duties: list[str], *roles: str) -> dict[str, Any]:
    return {
        "id": oid,
        "nationality": "KOR",
        "clearance": SECRET,
        "duties": duties,
        "roles": list(roles),
        "in_register": True,
        "rank": "",
        "post": "",
        "active": True,
    }


def _gsomia(*args: str) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-m", "gsomia.cli.main", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(run.stdout))


@dataclass
class Node:
    cluster: LocalCluster
    urls: dict[str, str]  # official (plain) or "tls" -> COT_URL
    tls: Path

    def stats(self) -> dict[str, Any]:
        return dict(self.cluster.nodes["KOR"].client().json("GET", "/v1/tracks/stats"))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    cluster = LocalCluster(tmp_path_factory.mktemp("cot") / "nodes", ("KOR",))
    cluster.create(datetime.now(UTC) - timedelta(days=1))
    data = cluster.nodes["KOR"].data
    tls = data / "tls"
    ca = TestCa(tls, "cot-clients-ca")
    server = ca.issue("cot-server", server=True)
    ca.issue(TLS_WATCH)
    for official in (SENSOR, WATCH, NO_DUTY):  # the operator's commands (docs/operations.md)
        _gsomia("node", "cot", "listen", "--data", str(data), "--port", "0", "--official", official)
    _gsomia(
        "node",
        "cot",
        "listen",
        "--data",
        str(data),
        "--port",
        "0",
        "--cert",
        f"tls/{server.cert.name}",
        "--key",
        f"tls/{server.key.name}",
        "--client-ca",
        f"tls/{ca.path.name}",
    )
    mapped = _gsomia(
        "node",
        "cot",
        "client",
        "--data",
        str(data),
        "--cert",
        str(tls / f"{TLS_WATCH}.pem"),
        "--official",
        TLS_WATCH,
    )
    assert mapped["official"] == TLS_WATCH
    cluster.start()
    try:
        cluster.enrol(
            {
                "KOR": [
                    _official(SENSOR, ["NK-MISSILE"], "sensor_feed"),
                    _official(WATCH, ["NK-MISSILE"], "reader"),
                    _official(NO_DUTY, ["MARITIME-SECURITY"], "reader"),
                    _official(TLS_WATCH, ["NK-MISSILE"], "reader"),
                ]
            }
        )
        run = json.loads((data / RUN_FILE).read_text(encoding="utf-8"))
        urls = {(c["official"] or "tls"): c["url"] for c in run["cot"]}
        yield Node(cluster, urls, tls)
    finally:
        cluster.stop()


def launch(seed: int, count: int) -> list[TrackMessage]:
    """The first ``count`` messages of a launch starting now, the KOR radar at 10 Hz."""
    now = datetime.now(UTC).replace(microsecond=0)
    first = next(simulate(Scenario(now, rate_hz=10.0, seed=seed, sensors=(KOR_SENSOR,))))
    start = now - (first.time - now) - timedelta(seconds=1)  # the radar sees it a second ago
    scenario = Scenario(start, rate_hz=10.0, seed=seed, sensors=(KOR_SENSOR,))
    return list(simulate(scenario))[:count]


def cot(message: TrackMessage) -> bytes:
    return encode_event(message, SCHEMES)


def config(url: str, **extra: str) -> Section:
    parser = ConfigParser(interpolation=None)
    parser["gsomia"] = {"COT_URL": url, **extra}
    return parser["gsomia"]


async def pytak_send(url: str, events: list[bytes]) -> None:
    """PyTAK as a sensor: its TX worker writes each queued event to the node."""
    conf = config(url)
    _reader, writer = await pytak.protocol_factory(conf)
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    worker = pytak.TXWorker(queue, conf, writer)
    for event in events:
        queue.put_nowait(event)
    while not queue.empty():
        await worker.run_once()
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()


class Raw:
    """A raw TCP client reading CoT events."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.framer = reader, writer, CotFramer()

    @classmethod
    async def open(cls, url: str) -> Raw:
        host, port = url.removeprefix("tcp://").rsplit(":", 1)
        return cls(*await asyncio.open_connection(host, int(port)))

    async def events(
        self, count: int, timeout: float = 20.0, track: str | None = None
    ) -> list[TrackMessage]:
        """The next ``count`` events (of ``track`` only, if given: the late-joiner's picture
        holds the other tests' tracks too)."""
        got: list[TrackMessage] = []
        while len(got) < count:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                break
            for frame in self.framer.feed(data):
                assert isinstance(frame, bytes)
                message = decode_event(frame, SCHEMES)
                if track is None or message.track_id == track:
                    got.append(message)
        return got

    async def idle(self) -> bool:
        """Nothing arrived (or the connection was closed without a byte)."""
        try:
            data = await asyncio.wait_for(self.reader.read(65536), 0.3)
        except TimeoutError:
            return True
        return data == b""


def wait(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_pytak_feeds_the_node_and_only_entitled_clients_receive_in_order(node: Node) -> None:
    sent = launch(seed=11, count=80)

    async def run() -> tuple[list[TrackMessage], list[TrackMessage], bool]:
        watch = await Raw.open(node.urls[WATCH])
        no_duty = await Raw.open(node.urls[NO_DUTY])
        tls_conf = config(
            node.urls["tls"],
            PYTAK_TLS_CLIENT_CERT=str(node.tls / f"{TLS_WATCH}.pem"),
            PYTAK_TLS_CLIENT_KEY=str(node.tls / f"{TLS_WATCH}.key"),
            PYTAK_TLS_CLIENT_CAFILE=str(node.tls / "cot-clients-ca.pem"),
            PYTAK_TLS_SERVER_EXPECTED_HOSTNAME="127.0.0.1",
        )
        tls_reader, tls_writer = await pytak.protocol_factory(tls_conf)
        receiver = pytak.RXWorker(asyncio.Queue(), tls_conf, tls_reader)
        await asyncio.sleep(0.3)  # every client is attached before the first event
        await pytak_send(node.urls[SENSOR], [cot(m) for m in sent])
        got = await watch.events(len(sent))
        over_tls = [
            decode_event(await asyncio.wait_for(receiver.readcot(), 20), SCHEMES) for _ in sent
        ]
        nothing = await no_duty.idle()
        for w in (watch.writer, no_duty.writer, tls_writer):
            w.close()
        return got, over_tls, nothing

    got, over_tls, nothing = asyncio.run(run())
    assert got == sent  # every message, in order, bit for bit what the sensor sent
    assert over_tls == sent
    assert nothing  # a reader without the NK-MISSILE duty: not one byte (Art. 7)
    assert node.stats()["accepted"] >= len(sent)


def test_a_late_joiner_gets_the_current_tracks_only(node: Node) -> None:
    sent = launch(seed=12, count=30)

    async def run() -> list[TrackMessage]:
        await pytak_send(node.urls[SENSOR], [cot(m) for m in sent])
        await asyncio.sleep(0.5)
        late = await Raw.open(node.urls[WATCH])
        got = await late.events(2, track=sent[0].track_id)
        late.writer.close()
        return got

    got = asyncio.run(run())
    # the launch point and the latest position of the track: not its history
    assert [m.seq for m in got] == [sent[0].seq, sent[-1].seq]


def test_stale_and_malformed_input_is_refused_counted_audited_and_the_stream_goes_on(
    node: Node,
) -> None:
    before = node.stats()["refused"]
    old = launch(seed=13, count=5)[1]
    stale = TrackMessage(
        **{
            **{
                f: getattr(old, f)
                for f in (
                    "track_id",
                    "seq",
                    "sensor",
                    "weapon",
                    "label",
                    "body",
                    "ce",
                    "le",
                    "simulated",
                )
            },
            "time": old.time - timedelta(hours=1),
            "stale": old.time - timedelta(minutes=59),
        }
    )
    good = launch(seed=14, count=10)
    bad = [
        cot(stale),
        b'<!DOCTYPE x [<!ENTITY a "b">]><event version="2.0" uid="&a;"></event>',
        b"<event>" + b"<x>" * 50 + b"</x>" * 50 + b"</event>",
        cot(good[1]).replace(b'lat="', b'lat="1', 1),  # latitude out of range
        b"garbage</event>",
    ]

    async def run() -> list[TrackMessage]:
        watch = await Raw.open(node.urls[WATCH])
        await asyncio.sleep(0.3)
        stream = [cot(good[0]), *bad, *(cot(m) for m in good[1:])]
        await pytak_send(node.urls[SENSOR], stream)
        got = await watch.events(len(good), track=good[0].track_id)
        watch.writer.close()
        return got

    assert asyncio.run(run()) == good  # nothing bad got through; nothing good was lost
    refused = node.stats()["refused"]
    for code in (
        "COT_STALE",
        "COT_ENTITY_FORBIDDEN",
        "COT_TOO_DEEP",
        "COT_POINT_INVALID",
        "COT_FRAME_GARBAGE",
    ):
        assert refused.get(code, 0) > before.get(code, 0), (code, refused)

    def audited() -> bool:
        records = node.cluster.tally("KOR").records
        codes = {r.reasons[0] for r in records if r.kind is AuditKind.REJECT and r.reasons}
        return {"COT_STALE", "COT_ENTITY_FORBIDDEN", "COT_POINT_INVALID"} <= codes

    wait(audited)  # batched: within a flush period


def test_an_unknown_certificate_gets_nothing(node: Node) -> None:
    ca = TestCa(node.tls / "other", "cot-clients-ca")  # another CA: the handshake fails
    stranger = ca.issue("stranger")

    async def run() -> bool:
        conf = config(
            node.urls["tls"],
            PYTAK_TLS_CLIENT_CERT=str(stranger.cert),
            PYTAK_TLS_CLIENT_KEY=str(stranger.key),
            PYTAK_TLS_CLIENT_CAFILE=str(node.tls / "cot-clients-ca.pem"),
            PYTAK_TLS_SERVER_EXPECTED_HOSTNAME="127.0.0.1",
        )
        try:
            reader, writer = await pytak.protocol_factory(conf)
            data = await asyncio.wait_for(reader.read(), 10)
            writer.close()
        except (OSError, ConnectionError, SyntaxError):
            return True
        return data == b""

    assert asyncio.run(run())


def test_the_live_map_stream_shows_the_ingested_tracks(node: Node) -> None:
    sent = launch(seed=15, count=5)
    asyncio.run(pytak_send(node.urls[SENSOR], [cot(m) for m in sent]))
    kor = node.cluster.nodes["KOR"]
    seen: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {kor.tokens[WATCH]}"}
    with httpx.stream(
        "GET", f"{kor.api_url}/v1/tracks/events", headers=headers, timeout=20
    ) as answer:
        event = ""
        for line in answer.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "track":
                view = json.loads(line[6:])
                if view["track"] == sent[0].track_id:
                    seen.append(view)
                if len(seen) == len(sent):
                    break
    assert [v["seq"] for v in seen] == [m.seq for m in sent]
    assert seen[0]["markings"]["originator"]["level"] == SECRET


def _ping(uid: str) -> bytes:
    """A TAK ping as PyTAK writes one (ATAK's has the same type, point and stale)."""
    return bytes(
        pytak.gen_cot(
            lat=0, lon=0, ce=9999999, hae=0, le=9999999, uid=uid, stale=10, cot_type="t-x-c-t"
        )
    )


def test_a_tak_ping_gets_a_pong_and_is_neither_published_nor_refused(node: Node) -> None:
    before = node.stats()

    async def run() -> tuple[list[bytes], bytes, list[bytes]]:
        watch = await Raw.open(node.urls[WATCH])  # a reader: sees what is published
        await asyncio.sleep(0.3)
        raw = await Raw.open(node.urls[SENSOR])  # a raw TCP client pings twice in one write
        raw.writer.write(_ping("ANDROID-raw-ping") + b"\n" + _ping("ANDROID-raw-ping"))
        await raw.writer.drain()
        pongs: list[bytes] = []
        while len(pongs) < 2:
            data = await asyncio.wait_for(raw.reader.read(65536), 20)
            assert data, "the node closed the connection"
            pongs += [f for f in raw.framer.feed(data) if isinstance(f, bytes)]
        conf = config(node.urls[SENSOR])  # PyTAK: its TX worker pings, its RX worker reads
        reader, writer = await pytak.protocol_factory(conf)
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        queue.put_nowait(_ping("pytak-ping"))
        await pytak.TXWorker(queue, conf, writer).run_once()
        pong = await asyncio.wait_for(pytak.RXWorker(asyncio.Queue(), conf, reader).readcot(), 20)
        seen: list[bytes] = []  # whatever the reader got meanwhile: the current picture only
        with contextlib.suppress(TimeoutError):
            while data := await asyncio.wait_for(watch.reader.read(65536), 0.5):
                seen += [f for f in watch.framer.feed(data) if isinstance(f, bytes)]
        for w in (raw.writer, writer, watch.writer):
            w.close()
        return pongs, pong, seen

    pongs, pong, seen = asyncio.run(run())
    for data in [*pongs, pong]:
        event = ET.fromstring(data)
        assert (event.get("type"), event.get("uid")) == ("t-x-c-t-r", "takPong")
    assert not any(b"t-x-c-t" in frame for frame in seen)  # neither ping nor pong published
    after = node.stats()
    assert after["refused"] == before["refused"]  # a ping is no refusal
    assert (after["accepted"], after["published"]) == (before["accepted"], before["published"])


async def _ws_session(url: str, token: str, frames: list[str | bytes]) -> list[Any]:
    """Send each frame; the answer to each text frame; wait for the close a binary one makes."""
    answers: list[Any] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with websockets.connect(url, additional_headers=headers) as ws:
        for frame in frames:
            await ws.send(frame)
            if isinstance(frame, str):
                answers.append(json.loads(await asyncio.wait_for(ws.recv(), 20)))
        with contextlib.suppress(websockets.ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 20)
        answers.append(ws.close_code)
    return answers


def test_a_sensor_streams_json_over_a_websocket_and_a_client_receives_it(node: Node) -> None:
    """``WS /v1/tracks/ws`` (issue 5 §2) on the real node process (uvicorn + websockets): one
    body per text frame, one result per answer frame; a malformed frame is answered with a
    problem and the stream goes on; a binary frame closes it (1003); a reader's token is
    refused (1008, ``NODE_FORBIDDEN``); refusals counted and audited."""
    kor = node.cluster.nodes["KOR"]
    url = kor.api_url.replace("http://", "ws://") + "/v1/tracks/ws"
    sent = launch(seed=17, count=6)
    before = node.stats()["refused"]
    frames: list[str | bytes] = [
        json.dumps({"messages": [to_dict(m) for m in sent[:3]]}),
        '{"messages": [',
        json.dumps({"messages": [*(to_dict(m) for m in sent[3:]), to_dict(sent[0])]}),
        b"\x00binary",
    ]

    async def run() -> tuple[list[TrackMessage], list[Any]]:
        watch = await Raw.open(node.urls[WATCH])
        await asyncio.sleep(0.3)
        answers = await _ws_session(url, kor.tokens[SENSOR], frames)
        got = await watch.events(len(sent), track=sent[0].track_id)
        watch.writer.close()
        return got, answers

    got, answers = asyncio.run(run())
    assert [m.seq for m in got] == [m.seq for m in sent]  # in order at a CoT client
    assert [a.get("accepted") if isinstance(a, dict) else a for a in answers] == [3, None, 3, 1003]
    assert answers[1]["code"] == "TRACK_JSON_MALFORMED"
    assert answers[2]["results"][-1]["code"] == "TRACK_ORDER_INVALID"  # a second launch
    refused = node.stats()["refused"]
    for code in ("TRACK_JSON_MALFORMED", "TRACK_ORDER_INVALID"):
        assert refused.get(code, 0) > before.get(code, 0), (code, refused)

    async def forbidden() -> int | None:
        try:
            return (await _ws_session(url, kor.tokens[WATCH], []))[-1]
        except websockets.InvalidStatus as exc:  # refused before the upgrade
            return exc.response.status_code

    assert asyncio.run(forbidden()) in (1008, 403)

    def audited() -> bool:
        records = node.cluster.tally("KOR").records
        return any(r.actor == WATCH and r.reasons == ("NODE_FORBIDDEN",) for r in records)

    wait(audited)
