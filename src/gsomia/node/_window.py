"""Flow control of delivery: the messages partners took that no receipt has settled yet.

A partner node that takes messages faster than it handles them queues them in memory; once an
item waits there longer than its first retry delay (:class:`~gsomia.ports.Backoff`, about a
second), the outbox sends it again and the partner spends its time on duplicates.  So the node
keeps a bounded number of messages *in flight* (taken by the channel, not yet settled, retry
instant not yet reached) and claims no more until receipts come back, as a transport window
does.

The window follows the rate at which receipts settle messages: it holds what settles in
:data:`TARGET` (a fraction of the first retry delay), within :data:`MIN_WINDOW` ..
:data:`MAX_WINDOW`.  While receipts come back faster than the window fills, it grows; once the
partner's queue makes a round trip last :data:`TARGET`, it stops growing, so an item waits at the
partner well under its retry delay.  The window is a hint held in memory, never a record: after
a restart it is empty, and a message whose retry instant has passed leaves it whether or not its
receipt came (the outbox sends it again anyway), so it can delay a message, never lose one.
"""

from __future__ import annotations

import heapq
import threading
from collections import deque
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from gsomia.ports import OutboxEntry

__all__ = ["MAX_WINDOW", "MIN_WINDOW", "TARGET", "InFlight"]

MIN_WINDOW: Final = 256
"""At least one receiving round of a partner (a serving node takes 256 messages per unit of work,
:data:`gsomia.runtime.host.BATCH`): a smaller window leaves the partner idle between rounds."""
MAX_WINDOW: Final = 4096
TARGET: Final = timedelta(milliseconds=600)
"""How long the messages in flight should take to settle, at the rate receipts come back: below
the first retry delay less its jitter (``Backoff``: 1 s less up to 25 %), and above a round trip
of full rounds (a partner's round of 256 items, its receipt, our settlement: about 0.3 s on two
cores), else the window never grows past the rate it measures.  ``bench/exchange.py`` on two
cores: 400 ms and 128 gave 621-811 items/s, 600 ms and 256 905-1,111, nothing resent."""
_SPAN: Final = timedelta(seconds=2)  # the settlements the rate is measured over


class InFlight:
    """Outbox keys the channel took, each until its retry instant or its settlement."""

    __slots__ = ("_expiry", "_lock", "_settled", "_until")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, datetime] = {}
        self._expiry: list[tuple[datetime, str]] = []  # a heap of (retry instant, key)
        self._settled: deque[tuple[datetime, int]] = deque()  # (instant, messages settled)

    def window(self, now: datetime) -> int:
        """Messages that may be in flight now: what settles in :data:`TARGET` at the recent
        rate, within :data:`MIN_WINDOW` .. :data:`MAX_WINDOW`."""
        with self._lock:
            return self._window(now)

    def _window(self, now: datetime) -> int:
        while self._settled and self._settled[0][0] < now - _SPAN:
            self._settled.popleft()
        if not self._settled:
            return MIN_WINDOW
        count = sum(n for _, n in self._settled)
        span = max(now - self._settled[0][0], TARGET)
        return max(MIN_WINDOW, min(MAX_WINDOW, count * TARGET // span))

    def room(self, now: datetime) -> int:
        """How many more messages may be sent now (the window less those in flight)."""
        with self._lock:
            expiry, until = self._expiry, self._until
            while expiry and expiry[0][0] <= now:
                when, key = heapq.heappop(expiry)
                if until.get(key) == when:  # not settled, nor taken again since
                    del until[key]
            return max(0, self._window(now) - len(until))

    def took(self, entries: Iterable[OutboxEntry]) -> None:
        """The channel took ``entries``: in flight until their retry instant."""
        with self._lock:
            for entry in entries:
                self._until[entry.key] = entry.next_attempt
                heapq.heappush(self._expiry, (entry.next_attempt, entry.key))

    def settled(self, keys: Iterable[str], now: datetime) -> None:
        """These messages are settled (acknowledged) at ``now``: no longer in flight."""
        with self._lock:
            count = 0
            for key in keys:
                count += self._until.pop(key, None) is not None
            if count:
                self._settled.append((now, count))
