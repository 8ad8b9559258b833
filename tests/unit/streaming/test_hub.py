"""The node's track hub (issue 5 §2): per-track order, the current picture, fan-out, forms."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from gsomia.errors import TrackError
from gsomia.streaming import Delivery, TrackHub
from gsomia.tracks import Kind
from gsomia.tracks.cot import event_uid
from tests.unit.streaming.helpers import NOW, kor_messages


@dataclass(eq=False)
class Collector:
    """A sink that keeps what it is offered, on the running loop."""

    loop: asyncio.AbstractEventLoop
    got: list[Delivery] = field(default_factory=list)

    def offer(self, delivery: Delivery) -> None:
        self.got.append(delivery)


async def _settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def test_per_track_order_is_kept_and_a_message_out_of_order_is_refused() -> None:
    hub = TrackHub()
    messages = kor_messages()[:5]
    for m in messages[:3]:
        hub.publish(m)
    with pytest.raises(TrackError) as caught:
        hub.publish(messages[1])  # a replay
    assert caught.value.code == "TRACK_SEQ_NOT_MONOTONIC"
    with pytest.raises(TrackError) as caught:
        hub.publish(messages[0])  # a second launch
    assert caught.value.code in {"TRACK_ORDER_INVALID", "TRACK_SEQ_NOT_MONOTONIC"}
    hub.publish(messages[4])  # a gap is fine: a sensor may skip numbers
    assert [m.seq for m in hub.snapshot()] == [m.seq for m in (*messages[:3], messages[4])]
    assert hub.published == 4


def test_nothing_after_the_end_of_a_track() -> None:
    hub = TrackHub()
    messages = kor_messages(rate_hz=0.2)
    end = next(m for m in messages if m.kind is Kind.END)
    hub.publish(messages[0])
    hub.publish(end)
    later = messages[1]
    with pytest.raises(TrackError):
        hub.publish(later)


def test_every_sink_gets_every_later_message_in_order_and_the_picture_first() -> None:
    hub = TrackHub()
    messages = kor_messages()[:40]

    async def run() -> tuple[list[int], list[int], list[str]]:
        for m in messages[:20]:
            hub.publish(m)
        late = Collector(asyncio.get_running_loop())
        picture = hub.attach(late)
        early = Collector(asyncio.get_running_loop())
        hub.attach(early)
        for m in messages[20:]:
            hub.publish(m)
        await _settle()
        hub.detach(late)
        hub.detach(early)
        assert hub.subscribers == 0
        return (
            [d.message.seq for d in late.got],
            [d.message.seq for d in early.got],
            [event_uid(d.message) for d in picture],
        )

    late, early, picture = asyncio.run(run())
    assert late == early == [m.seq for m in messages[20:]]
    # the late joiner's picture: one message per CoT uid (launch point, the moving symbol,
    # the impact prediction), each the latest of its kind
    assert len(picture) == len(set(picture))
    latest = {event_uid(m): m.seq for m in messages[:20]}
    assert set(picture) == set(latest)


def test_the_current_picture_leaves_out_what_is_stale() -> None:
    hub = TrackHub()
    messages = kor_messages()[:30]
    for m in messages:
        hub.publish(m)
    now = messages[-1].time
    current = hub.current(now)
    assert current
    assert all(not m.is_stale(now) for m in current)
    much_later = max(m.stale for m in messages) + timedelta(seconds=1)
    assert hub.current(much_later) == []


def test_a_form_is_made_once_per_message_whatever_the_number_of_sinks() -> None:
    hub = TrackHub()
    calls: list[int] = []

    def encode(m: object) -> bytes:
        calls.append(1)
        return b"x"

    @dataclass(eq=False)
    class Encoding:
        loop: asyncio.AbstractEventLoop
        out: list[bytes] = field(default_factory=list)

        def offer(self, delivery: Delivery) -> None:
            self.out.append(delivery.form("cot", encode))

    async def run() -> list[list[bytes]]:
        sinks = [Encoding(asyncio.get_running_loop()) for _ in range(10)]
        for s in sinks:
            hub.attach(s)
        for m in kor_messages()[:7]:
            hub.publish(m)
        await _settle()
        return [s.out for s in sinks]

    outs = asyncio.run(run())
    assert all(len(o) == 7 for o in outs)
    assert len(calls) == 7


def test_a_broken_sink_does_not_stop_the_others() -> None:
    hub = TrackHub()

    @dataclass(eq=False)
    class Broken:
        loop: asyncio.AbstractEventLoop

        def offer(self, delivery: Delivery) -> None:
            raise RuntimeError("boom")

    async def run() -> int:
        loop = asyncio.get_running_loop()
        hub.attach(Broken(loop))
        good = Collector(loop)
        hub.attach(good)
        for m in kor_messages()[:3]:
            hub.publish(m)
        await _settle()
        return len(good.got)

    assert asyncio.run(run()) == 3


def test_a_subscriber_that_falls_behind_is_cut_off() -> None:
    hub = TrackHub()
    messages = kor_messages(rate_hz=10.0)

    async def run() -> tuple[bool, object]:
        sub = hub.subscribe()
        for m in messages[:5000]:
            hub.publish(m)
        await _settle()
        return sub.overflowed, await sub.next(0.01)

    overflowed, nxt = asyncio.run(run())
    assert overflowed
    assert nxt is None
    assert hub.subscribers == 0


def test_publishing_from_threads_keeps_the_hub_order_on_the_loop() -> None:
    hub = TrackHub()
    tracks = [kor_messages(seed=s)[:50] for s in (1, 2, 3, 4)]

    async def run() -> list[Delivery]:
        sink = Collector(asyncio.get_running_loop())
        hub.attach(sink)
        threads = [
            threading.Thread(target=lambda ms=ms: [hub.publish(m) for m in ms]) for ms in tracks
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for _ in range(50):
            await asyncio.sleep(0.001)
        return sink.got

    got = asyncio.run(run())
    assert [d.number for d in got] == sorted(d.number for d in got)
    for ms in tracks:
        seqs = [d.message.seq for d in got if d.message.track_id == ms[0].track_id]
        assert seqs == [m.seq for m in ms]


def test_publish_takes_only_track_messages() -> None:
    with pytest.raises(TypeError):
        TrackHub().publish("nope")  # type: ignore[arg-type]
    assert NOW.tzinfo is not None
