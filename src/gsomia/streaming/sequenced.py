"""A track hub whose publications pass through the node's track sequencer first (issue 7 §1).

When a node runs several worker processes, each has its own :class:`~gsomia.streaming.TrackHub`.
:class:`SequencedHub` is the hub of such a worker (ADR 0013): what the worker's ingest accepts is
not put into the local hub directly but handed to the node's :class:`TrackSequencer` (JetStream:
:class:`gsomia.adapters.nats_tracks.NatsTrackStream`), and every worker's hub is fed by the
sequencer's consumer through :meth:`SequencedHub.deliver`.  All clients of all workers therefore
see every message in the sequencer's one order; per-track order holds because

1. :meth:`SequencedHub.publish` checks the message against this worker's cursor of the track —
   the later of what it sequenced itself and what its hub delivered — and hands messages to the
   sequencer under one lock, so one worker's messages of a track reach the stream in order
   (``TRACK_SEQ_NOT_MONOTONIC``, ``TRACK_TIME_NOT_MONOTONIC``, ``TRACK_ORDER_INVALID`` refuse it
   before it is sequenced, as the plain hub would);
2. :meth:`SequencedHub.deliver` goes through the plain hub's cursor, which refuses a repeat or a
   message that cannot follow (a second sensor feeding the same track through another worker,
   say): such a message is counted (``refused``), never delivered, at every worker alike.

The sink and subscription interface (``attach``, ``subscribe``, ``current``) is the plain hub's.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Final, Protocol

from gsomia.errors import TrackError
from gsomia.streaming.hub import RING_SIZE, Delivery, TrackHub
from gsomia.tracks import TrackCursor, TrackMessage

__all__ = ["SequencedHub", "TrackSequencer", "TrackStream"]

_SWEEP_EVERY: Final = 4096


class TrackSequencer(Protocol):
    """Where a node's workers put the track messages they accepted, in one order for all."""

    def publish(self, message: TrackMessage) -> concurrent.futures.Future[int]:
        """Queue ``message`` (never blocks); a future of its position in the sequence.
        Raises :class:`~gsomia.errors.TrackError` if the sequencer cannot take it now."""
        ...


class TrackStream(TrackSequencer, Protocol):
    """A sequencer the runtime starts and stops (JetStream: ADR 0013)."""

    def start(self, deliver: Callable[[TrackMessage], object]) -> None:
        """Begin delivering the current picture, then every later message, to ``deliver``."""
        ...

    def close(self) -> None:
        """Stop delivering and disconnect."""
        ...

    def stats(self) -> dict[str, int]:
        """Counts since start (published, acknowledged, failed, delivered, dropped)."""
        ...


class SequencedHub(TrackHub):
    """A worker's hub, fed by the node's sequencer (module docstring)."""

    def __init__(self, sequencer: TrackSequencer, size: int = RING_SIZE) -> None:
        super().__init__(size)
        self._sequencer = sequencer
        self._sent: dict[tuple[str, str], TrackCursor] = {}
        self._order = threading.Lock()
        self._sequenced = 0
        self._refused = 0

    def publish(self, message: TrackMessage) -> Delivery:
        """Check ``message`` against this worker's cursor of its track and sequence it.

        The returned delivery is numbered 0: the message reaches this hub's sinks when the
        sequencer delivers it back (:meth:`deliver`).  :class:`TrackError` if it cannot follow
        its track or the sequencer is not available; nothing is sequenced then.
        """
        if not isinstance(message, TrackMessage):
            raise TypeError("publish takes a TrackMessage")
        key = (message.originator, message.track_id)
        with self._order:
            cursor = self._later(self._sent.get(key), self._delivered(key))
            advanced = TrackCursor.start(message) if cursor is None else cursor.advance(message)
            self._sequencer.publish(message)  # TrackError: nothing sequenced
            self._sent[key] = advanced
            self._sequenced += 1
            if self._sequenced % _SWEEP_EVERY == 0:
                self._forget_delivered()
        return Delivery(message, 0)

    def deliver(self, message: TrackMessage) -> Delivery | None:
        """Put a message the sequencer delivered into this hub; None if its track's cursor
        refuses it (a repeat, or a message that cannot follow)."""
        try:
            return super().publish(message)
        except TrackError:
            with self._order:
                self._refused += 1
            return None

    @property
    def refused(self) -> int:
        """Messages from the sequencer this hub's cursors refused since start."""
        with self._order:
            return self._refused

    @staticmethod
    def _later(a: TrackCursor | None, b: TrackCursor | None) -> TrackCursor | None:
        if a is None or b is None:
            return a or b
        return a if (a.last_seq, a.ended) >= (b.last_seq, b.ended) else b

    def _delivered(self, key: tuple[str, str]) -> TrackCursor | None:
        with self._lock:
            state = self._tracks.get(key)
            return None if state is None else state.cursor

    def _forget_delivered(self) -> None:
        """Drop the cursors the hub has caught up with (they add nothing): bounded memory."""
        with self._lock:
            caught_up = [
                k
                for k, c in self._sent.items()
                if (s := self._tracks.get(k)) is not None and s.cursor.last_seq >= c.last_seq
            ]
        for key in caught_up:
            del self._sent[key]
