"""A CoT load generator for bench/tracks.py: one sensor connection, N receiving clients.

The same bytes go to every server measured (taky or a gsomia node), so the figures compare like
with like.  Messages are made by the project's own simulator and CoT encoder
(:func:`gsomia.tracks.encode_event`): labeled KOR missile tracks, Releasable To KOR, JPN, USA,
spread round robin over :data:`TRACKS` tracks with per-track sequence numbers, and encoded before
the clock starts.  A delivery is recognised by its ``uid`` and the ``seq`` of its
``gsomia:message`` detail (taky keeps the detail, though not the ``access`` attribute).

Two measurements:

- :func:`paced`: the sensor sends ``rate`` messages per second for ``seconds``; each client's
  latency per message is the time from the sensor's write to the client's read of the end of
  that event (one clock: sender and clients run in this process's event loop).
- :func:`flood`: the sensor writes as fast as the server reads; deliveries per second are the
  clients' events ÷ (last event read − first event written).

``lost`` counts deliveries expected and not seen after a drain; ``reordered`` counts per-client
per-track sequence numbers that went backwards.  A :class:`Target` says where to connect and
what (if anything) a connection must send first.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from gsomia.catalog import builtin_registry
from gsomia.tracks import encode_event
from gsomia.tracks.model import Kind, TrackMessage
from gsomia.tracks.simulate import Scenario, simulate

TRACKS = 8
_EVENT_END = b"</event>"
_KEY = re.compile(rb'uid="([^"]+)".*?seq="(\d+)"', re.S)

Opener = Callable[[], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


@dataclass
class Target:
    """Where a load run connects: the sensor's side and the clients' side."""

    name: str
    sensor: Opener
    client: Opener
    settle_s: float = 1.0  # after the clients connect, before the sensor starts


def plain(host: str, port: int, hello: bytes = b"") -> Opener:
    """A plain TCP opener that sends ``hello`` (maybe empty) first."""

    async def open_() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 22)
        if hello:
            writer.write(hello)
            await writer.drain()
        return reader, writer

    return open_


def messages(count: int, *, stale_s: float = 900.0) -> list[tuple[bytes, bytes, int]]:
    """``count`` encoded events ``(data, uid, seq)``, time now, stale ``stale_s`` from now."""
    now = datetime.now(UTC)
    schemes = builtin_registry().schemes
    base = [
        m
        for m in simulate(Scenario(start=now - timedelta(seconds=30), rate_hz=1.0))
        if m.kind is Kind.UPDATE and m.sensor.startswith("KOR")
    ]
    out: list[tuple[bytes, bytes, int]] = []
    stale = now + timedelta(seconds=stale_s)
    for i in range(count):
        track, seq = i % TRACKS, i // TRACKS + 1
        m: TrackMessage = replace(
            base[i % len(base)],
            track_id=f"BENCH-{now:%H%M%S}-{track}",
            seq=seq,
            time=now,
            stale=stale,
        )
        uid = m.track_id.encode()
        out.append((encode_event(m, schemes), uid, seq))
    return out


@dataclass
class _Client:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    seen: dict[tuple[bytes, int], float] = field(default_factory=dict)
    last_seq: dict[bytes, int] = field(default_factory=dict)
    reordered: int = 0
    duplicated: int = 0

    async def run(self) -> None:
        buf = b""
        while True:
            chunk = await self.reader.read(1 << 20)
            if not chunk:
                return
            now = time.perf_counter()
            buf += chunk
            end = buf.rfind(_EVENT_END)
            if end < 0:
                continue
            whole, buf = buf[: end + len(_EVENT_END)], buf[end + len(_EVENT_END) :]
            for match in _KEY.finditer(whole):
                uid, seq = match.group(1), int(match.group(2))
                key = (uid, seq)
                if key in self.seen:
                    self.duplicated += 1
                    continue
                self.seen[key] = now
                if seq < self.last_seq.get(uid, 0):
                    self.reordered += 1
                self.last_seq[uid] = max(seq, self.last_seq.get(uid, 0))


async def _connect(target: Target, clients: int) -> tuple[list[_Client], list[asyncio.Task[None]]]:
    conns = [_Client(*(await target.client())) for _ in range(clients)]
    tasks = [asyncio.create_task(c.run()) for c in conns]
    await asyncio.sleep(target.settle_s)
    return conns, tasks


async def _drain(
    conns: Sequence[_Client], sent: dict[tuple[bytes, int], float], timeout: float
) -> None:
    """Wait until every client has every message sent (not the backlog a server sends a late
    joiner: taky's persisted events, a node's current picture), or ``timeout``."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if all(sum(1 for key in c.seen if key in sent) >= len(sent) for c in conns):
            return
        await asyncio.sleep(0.05)


async def _close(conns: Sequence[_Client], tasks: Sequence[asyncio.Task[None]]) -> None:
    for c in conns:
        c.writer.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _summary(
    conns: Sequence[_Client], sent: dict[tuple[bytes, int], float], extra: dict[str, Any]
) -> dict[str, Any]:
    latencies = sorted(
        (at - sent[key]) * 1000 for c in conns for key, at in c.seen.items() if key in sent
    )
    expected = len(sent) * len(conns)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        **extra,
        "sent": len(sent),
        "clients": len(conns),
        "deliveries": len(latencies),
        "p50_ms": round(q[49], 3),
        "p99_ms": round(q[98], 3),
        "max_ms": round(latencies[-1], 3) if latencies else None,
        "lost": expected - len(latencies),
        "duplicated": sum(c.duplicated for c in conns),
        "reordered": sum(c.reordered for c in conns),
    }


async def paced(
    target: Target, events: Sequence[tuple[bytes, bytes, int]], clients: int, rate: float
) -> dict[str, Any]:
    """Send ``events`` at ``rate`` per second; latency per delivery (module docstring)."""
    conns, tasks = await _connect(target, clients)
    _, sensor = await target.sensor()
    sent: dict[tuple[bytes, int], float] = {}
    start = time.perf_counter()
    for i, (data, uid, seq) in enumerate(events):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[(uid, seq)] = time.perf_counter()
        sensor.write(data)
        await sensor.drain()
    await _drain(conns, sent, timeout=5.0)
    sensor.close()
    await _close(conns, tasks)
    return _summary(conns, sent, {"rate": rate})


async def flood(
    target: Target, events: Sequence[tuple[bytes, bytes, int]], clients: int
) -> dict[str, Any]:
    """Send ``events`` as fast as the server takes them; deliveries per second."""
    conns, tasks = await _connect(target, clients)
    _, sensor = await target.sensor()
    sent: dict[tuple[bytes, int], float] = {}
    start = time.perf_counter()
    for data, uid, seq in events:
        sent[(uid, seq)] = time.perf_counter()
        sensor.write(data)
        if sensor.transport.get_write_buffer_size() > 1 << 20:
            await sensor.drain()
    await sensor.drain()
    await _drain(conns, sent, timeout=15.0)
    last = max((at for c in conns for k, at in c.seen.items() if k in sent), default=start)
    sensor.close()
    await _close(conns, tasks)
    result = _summary(conns, sent, {})
    span = last - start
    result["deliveries_per_s"] = round(result["deliveries"] / span) if span > 0 else None
    return result
