"""Live missile-warning tracks at one node: a small buffer, who may see what, a simulated feed.

The dashboard's map and the track stream (Server-Sent Events) read from a :class:`TrackBuffer`
(PRODUCT.md §5).  In this slice the buffer is fed by simulated launches
(:func:`gsomia.tracks.simulate.simulate`, replayed at a chosen speed); the node's real sensor
ingest and partner links (issue 5) will publish into the same interface.

The buffer's interface (kept small on purpose)
----------------------------------------------
``publish(message)``
    Append one :class:`~gsomia.tracks.TrackMessage` and hand it to every subscriber.  Safe to
    call from any thread (an ingest thread, the event loop); never blocks on a slow client.
``subscribe()``
    From the event loop: a :class:`Subscription` whose ``backlog`` holds the messages still in
    the buffer and whose ``next()`` yields every later one, in publication order, with no gap
    and no repeat between the two.  A subscriber that falls :data:`QUEUE_LIMIT` messages behind
    is cut off (``overflowed``): its client reconnects and starts again from the backlog.
``snapshot()``
    The messages in the buffer now (the last :data:`RING_SIZE`).

What an official may see (:class:`TrackLens`): the same decisions as for a held item.  A
message from one of our sensors is held under its own label; a partner sensor's message is held
only if :func:`gsomia.policy.accept` lets this node take it from that partner at this instant,
under our equivalent marking beside the originator's (Art. 4).  The official then needs the
reader role and :func:`gsomia.policy.access` (Art. 7: clearance at or above our marking, a duty
covering the topic, in the register).  Anything else is not sent: the stream carries no trace
of a message the official may not see.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from gsomia.labels import AlternativeLabel, LabelSet, OriginatorLabel
from gsomia.node import Node
from gsomia.node.directory import may
from gsomia.policy import accept, access
from gsomia.ports import OfficialRecord, Role
from gsomia.tracks import TrackMessage
from gsomia.tracks.json_codec import to_dict

__all__ = [
    "QUEUE_LIMIT",
    "RING_SIZE",
    "Subscription",
    "TrackBuffer",
    "TrackLens",
    "marking_view",
]

RING_SIZE: Final = 8192
QUEUE_LIMIT: Final = 4096
_DECISION_TTL_S: Final = 60.0


@dataclass(eq=False)
class Subscription:
    """One subscriber's view of a :class:`TrackBuffer` (see the module docstring)."""

    backlog: list[TrackMessage]
    _buffer: TrackBuffer
    _loop: asyncio.AbstractEventLoop
    _queue: asyncio.Queue[TrackMessage] = field(default_factory=asyncio.Queue)
    overflowed: bool = False

    def _offer(self, message: TrackMessage) -> None:  # on the subscriber's loop
        if self._queue.qsize() >= QUEUE_LIMIT:
            self.overflowed = True
            self._buffer.unsubscribe(self)
            return
        self._queue.put_nowait(message)

    async def next(self, timeout: float) -> TrackMessage | None:
        """The next message, or None after ``timeout`` seconds (or once cut off)."""
        if self.overflowed:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        """Stop receiving."""
        self._buffer.unsubscribe(self)


class TrackBuffer:
    """The last :data:`RING_SIZE` track messages of a node, fanned out to subscribers."""

    def __init__(self, size: int = RING_SIZE) -> None:
        self._ring: deque[TrackMessage] = deque(maxlen=size)
        self._subs: set[Subscription] = set()
        self._lock = threading.Lock()

    def publish(self, message: TrackMessage) -> None:
        """Add ``message`` and offer it to every subscriber (any thread)."""
        if not isinstance(message, TrackMessage):
            raise TypeError("publish takes a TrackMessage")
        with self._lock:
            self._ring.append(message)
            subs = list(self._subs)
        for sub in subs:
            try:
                sub._loop.call_soon_threadsafe(sub._offer, message)
            except RuntimeError:  # the subscriber's loop is closed
                self.unsubscribe(sub)

    def subscribe(self) -> Subscription:
        """A subscription: the backlog now, then every later message (call on the event loop)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            sub = Subscription(list(self._ring), self, loop)
            self._subs.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop offering messages to ``sub``."""
        with self._lock:
            self._subs.discard(sub)

    def snapshot(self) -> list[TrackMessage]:
        """The messages in the buffer, oldest first."""
        with self._lock:
            return list(self._ring)

    @property
    def subscribers(self) -> int:
        """How many subscribers are connected."""
        with self._lock:
            return len(self._subs)


def marking_view(node: Node, party: str, policy_id: str, level: str) -> dict[str, str]:
    """A marking as a page shows it: the party that applied it, its native text, the English
    name of the level (Art. 4) and the language of the text (for fonts and screen readers)."""
    scheme = next((s for s in node.registry.schemes.values() if s.id == policy_id), None)
    found = None if scheme is None else scheme.find(level)
    return {
        "party": party,
        "level": level,
        "english": "" if found is None else found.english,
        "lang": _LANG.get(policy_id, "en"),
    }


_LANG: Final = {"KOR": "ko", "JPN": "ja"}


class TrackLens:
    """What one official may see of the track messages at ``node`` (module docstring)."""

    def __init__(self, node: Node, record: OfficialRecord) -> None:
        self.node = node
        self.record = record
        self._held: dict[tuple[Any, ...], tuple[float, LabelSet | None]] = {}

    @property
    def reader(self) -> bool:
        """Whether the official holds the reader role here (needed to see any content)."""
        return may(self.record, self.node.party, Role.READER)

    def _labels(self, label: OriginatorLabel, topic: str, now: datetime) -> LabelSet | None:
        """The label set under which this node holds a message with ``label``, or None."""
        party = self.node.party
        if label.originator == party:
            return LabelSet(label)
        key = (label.policy_id, label.classification, label.originator, label.releasable_to,
               label.topics, topic)  # fmt: skip
        cached = self._held.get(key)
        stamp = now.timestamp()
        if cached is not None and abs(stamp - cached[0]) < _DECISION_TTL_S:
            return cached[1]
        registry = self.node.registry
        decision = accept(
            registry, LabelSet(label), item_id="live-track", item_digest=None,
            sender=label.originator, receiver=party, topic=topic, at=now,
        )  # fmt: skip
        held: LabelSet | None = None
        if decision.allowed and decision.agreement is not None and decision.table_version:
            held = LabelSet(label).with_alternative(
                AlternativeLabel(
                    policy_id=registry.schemes[party].id,
                    classification=decision.markings[-1].level,
                    originator=label.originator,
                    applied_by=party,
                    agreement=decision.agreement,
                    table_version=decision.table_version,
                    applied=now,
                )
            )
        self._held[key] = (stamp, held)
        return held

    def view(self, message: TrackMessage, now: datetime) -> dict[str, Any] | None:
        """The message as the stream sends it to this official, or None if they may not see it."""
        if not self.reader:
            return None
        label = message.label
        topic = min(label.topics) if len(label.topics) == 1 else ""
        if not topic:
            return None  # deny by default: a message must name exactly one topic
        labels = self._labels(label, topic, now)
        if labels is None:
            return None
        party = self.node.party
        if not access(self.node.registry, self.record.official, labels, party, topic).allowed:
            return None
        ours = labels.marking_for(party)
        out = to_dict(message)
        out["markings"] = {
            "originator": marking_view(
                self.node, label.originator, label.policy_id, label.classification
            ),
            "ours": None if ours is None else marking_view(self.node, party, ours[0], ours[1]),
        }
        return out

    def visible(self, messages: list[TrackMessage], now: datetime) -> Iterator[dict[str, Any]]:
        """The views of ``messages`` this official may see, in order."""
        for message in messages:
            seen = self.view(message, now)
            if seen is not None:
                yield seen
