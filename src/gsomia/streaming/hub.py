"""The node's track hub: every track message in, per-track order kept, fanned out to subscribers.

One :class:`TrackHub` per node process (PRODUCT.md §5), owned by the serving node (the runtime
creates it and hands it to the CoT listeners, the API's JSON ingest and the dashboard).  Sensors
publish into it (:class:`~gsomia.streaming.ingest.TrackIngest` does the checks first); every
subscriber receives what it may see, decided by its own lens at delivery.

Interface
---------
``publish(message)``
    From any thread.  Refuses (:class:`~gsomia.errors.TrackError`) a message that cannot follow
    its track (:class:`~gsomia.tracks.TrackCursor`: ``TRACK_SEQ_NOT_MONOTONIC``,
    ``TRACK_TIME_NOT_MONOTONIC``, ``TRACK_ORDER_INVALID``, ``TRACK_MISMATCH``), so per-track
    order holds for every subscriber.  Never blocks on a subscriber.
``attach(sink)`` / ``detach(sink)``
    The low-level subscription (CoT clients, and later a partner link: see below).  A sink has a
    ``loop`` and an ``offer(delivery)`` method, called on that loop for every later message, in
    publication order; ``attach`` returns the *current picture*: for each CoT uid (a track's
    moving symbol, its launch point, its impact prediction) the latest message, in publication
    order, so that a late joiner starts from the current tracks.  The sink filters what it may see
    and what is stale at its ``now``.
``subscribe()``
    A queue-backed :class:`Subscription` for pull-style consumers (the SSE stream): ``backlog``
    holds the last :data:`RING_SIZE` messages, ``next()`` every later one, with no gap and no
    repeat; a consumer that falls :data:`QUEUE_LIMIT` messages behind is cut off (``overflowed``).
``snapshot()`` / ``current(now)``
    The ring; the current picture without what is stale at ``now``.

Fan-out.  A message is wrapped once in a :class:`Delivery`, which caches each output form (the
CoT bytes, the JSON view) the first time a sink asks for it, so a message is encoded once per
form, not once per client.  Publication schedules ONE callback per event loop that has sinks
(``call_soon_threadsafe``, or plain ``call_soon`` on the publisher's own running loop, which
needs no wake-up through its self-pipe; while holding the hub's lock, so every loop sees messages
in the hub's order); the callback offers the delivery to that loop's sinks in turn.

Partner links (issue 5 §2, :mod:`gsomia.streaming.link`, ADR 0012).  A partner egress is one
more sink: its ``offer`` decides with :func:`gsomia.policy.release` for the partner at that
instant and sends; a partner ingest is one more publisher: it decides
:func:`gsomia.policy.accept` on each message from that partner, then calls ``publish`` (the
lenses add our marking at delivery, Art. 4).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol, TypeVar

from gsomia.tracks import TrackCursor, TrackMessage
from gsomia.tracks.cot import event_uid
from gsomia.tracks.model import MAX_STALE_AFTER

__all__ = [
    "QUEUE_LIMIT",
    "RING_SIZE",
    "Delivery",
    "Sink",
    "Subscription",
    "TrackHub",
]

RING_SIZE: Final = 8192
QUEUE_LIMIT: Final = 4096
#: Tracks remembered for ordering; beyond this the hub forgets tracks whose last message is
#: older than a day past its stale time (any replay of them is then refused as stale).
MAX_TRACKS: Final = 65_536
_SWEEP_EVERY: Final = 1024
T = TypeVar("T")


class Delivery:
    """One published message and its output forms, each made once (module docstring)."""

    __slots__ = ("_forms", "message", "number")

    def __init__(self, message: TrackMessage, number: int) -> None:
        self.message = message
        self.number = number
        self._forms: dict[str, Any] = {}

    def form(self, name: str, make: Callable[[TrackMessage], T]) -> T:
        """The ``name`` form of the message, made by ``make`` the first time it is asked for."""
        try:
            found: T = self._forms[name]
        except KeyError:
            found = self._forms[name] = make(self.message)
        return found


class Sink(Protocol):
    """A subscriber the hub pushes to: ``offer`` runs on ``loop`` and must not block."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop ``offer`` is called on."""
        ...

    def offer(self, delivery: Delivery) -> None:
        """Take one message (decide, encode, write or queue); never raise, never block."""
        ...


@dataclass(eq=False)
class Subscription:
    """A queue-backed subscriber of a :class:`TrackHub` (see the module docstring)."""

    backlog: list[TrackMessage]
    _hub: TrackHub
    loop: asyncio.AbstractEventLoop
    _queue: asyncio.Queue[Delivery] = field(default_factory=asyncio.Queue)
    overflowed: bool = False

    def offer(self, delivery: Delivery) -> None:
        """Queue the message (on the subscriber's loop); cut the subscriber off when full."""
        if self.overflowed:
            return
        if self._queue.qsize() >= QUEUE_LIMIT:
            self.overflowed = True
            self._hub.detach(self)
            return
        self._queue.put_nowait(delivery)

    async def next_delivery(self, timeout: float) -> Delivery | None:
        """The next delivery, or None after ``timeout`` seconds (or once cut off)."""
        if self.overflowed:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def next(self, timeout: float) -> TrackMessage | None:
        """The next message, or None after ``timeout`` seconds (or once cut off)."""
        delivery = await self.next_delivery(timeout)
        return None if delivery is None else delivery.message

    def close(self) -> None:
        """Stop receiving."""
        self._hub.detach(self)


def _dispatch(sinks: tuple[Sink, ...], delivery: Delivery) -> None:
    for sink in sinks:
        try:
            sink.offer(delivery)
        except Exception:  # noqa: S112 (a broken sink must not stop the others)
            continue


@dataclass
class _TrackState:
    cursor: TrackCursor
    stale: datetime


class TrackHub:
    """The track messages of one node, in order per track, fanned out (module docstring)."""

    def __init__(self, size: int = RING_SIZE) -> None:
        self._ring: deque[Delivery] = deque(maxlen=size)
        self._current: dict[str, Delivery] = {}
        self._tracks: dict[tuple[str, str], _TrackState] = {}
        self._loops: dict[asyncio.AbstractEventLoop, tuple[Sink, ...]] = {}
        self._lock = threading.Lock()
        self._published = 0

    # ------------------------------------------------------------------------------ publish

    def publish(self, message: TrackMessage) -> Delivery:
        """Add ``message`` after the last of its track and offer it to every sink (any thread).

        Raises :class:`~gsomia.errors.TrackError` if it cannot follow its track; nothing is
        delivered then.
        """
        if not isinstance(message, TrackMessage):
            raise TypeError("publish takes a TrackMessage")
        key = (message.originator, message.track_id)
        with self._lock:
            state = self._tracks.get(key)
            if state is None:
                state = _TrackState(TrackCursor.start(message), message.stale)
                self._tracks[key] = state
            else:
                state.cursor = state.cursor.advance(message)  # TrackError: nothing changed
                state.stale = max(state.stale, message.stale)
            self._published += 1
            delivery = Delivery(message, self._published)
            self._ring.append(delivery)
            uid = event_uid(message)
            self._current.pop(uid, None)  # keep the picture in publication order
            self._current[uid] = delivery
            running = asyncio._get_running_loop()  # the publisher's own loop needs no wake-up
            for loop, sinks in list(self._loops.items()):
                try:
                    if loop is running:
                        loop.call_soon(_dispatch, sinks, delivery)
                    else:
                        loop.call_soon_threadsafe(_dispatch, sinks, delivery)
                except RuntimeError:  # that loop is closed: its sinks are gone
                    del self._loops[loop]
            if self._published % _SWEEP_EVERY == 0:
                self._sweep(message.time)
        return delivery

    def _sweep(self, now: datetime) -> None:
        for uid in [u for u, d in self._current.items() if d.message.is_stale(now)]:
            del self._current[uid]
        if len(self._tracks) > MAX_TRACKS:
            horizon = now - MAX_STALE_AFTER - timedelta(hours=1)
            for key in [k for k, s in self._tracks.items() if s.stale < horizon]:
                del self._tracks[key]

    # ---------------------------------------------------------------------------- subscribe

    def attach(self, sink: Sink) -> list[Delivery]:
        """Offer every later message to ``sink``; the current picture, oldest first."""
        with self._lock:
            self._loops[sink.loop] = (*self._loops.get(sink.loop, ()), sink)
            return list(self._current.values())

    def detach(self, sink: Sink) -> None:
        """Stop offering messages to ``sink`` (idempotent)."""
        with self._lock:
            sinks = self._loops.get(sink.loop, ())
            left = tuple(s for s in sinks if s is not sink)
            if left:
                self._loops[sink.loop] = left
            else:
                self._loops.pop(sink.loop, None)

    def subscribe(self) -> Subscription:
        """A queue-backed subscription: the ring now, then every later message (on a loop)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            sub = Subscription([d.message for d in self._ring], self, loop)
            self._loops[loop] = (*self._loops.get(loop, ()), sub)
        return sub

    # alias kept for the dashboard's first slice (TrackBuffer API)
    def unsubscribe(self, sub: Sink) -> None:
        """Same as :meth:`detach`."""
        self.detach(sub)

    # -------------------------------------------------------------------------------- reads

    def snapshot(self) -> list[TrackMessage]:
        """The last :data:`RING_SIZE` messages, oldest first."""
        with self._lock:
            return [d.message for d in self._ring]

    def current(self, now: datetime) -> list[TrackMessage]:
        """The current picture at ``now``: the latest non-stale message of each CoT uid."""
        with self._lock:
            stale = [uid for uid, d in self._current.items() if d.message.is_stale(now)]
            for uid in stale:
                del self._current[uid]
            return [d.message for d in self._current.values()]

    @property
    def subscribers(self) -> int:
        """How many sinks are attached."""
        with self._lock:
            return sum(len(s) for s in self._loops.values())

    @property
    def published(self) -> int:
        """How many messages were published since start."""
        with self._lock:
            return self._published
