"""The life cycle both SQL node stores share: one unit of work or read at a time, then close.

:class:`StoreHandle` is the base of :class:`~gsomia.adapters.sqlite_store.SqliteStore` and
:class:`~gsomia.adapters.postgres_store.PostgresStore`: each has one connection, used by one unit
of work or read at a time under a lock (ADR 0004 §2: neither nests, and nothing is used once the
store is closed, ``STORE_MISUSE``).  Pure: it holds a lock and two flags, and leaves the
connection to the subclass (:meth:`StoreHandle._release`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

from gsomia.ports import misuse

__all__ = ["StoreHandle"]


class StoreHandle:
    """One connection's turns: :meth:`_turn` around each unit of work or read; :meth:`close`."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._busy = False
        self._closed = False
        self.on_enqueue: Callable[[], None] | None = None
        """Called after each commit that queued an outbox message (the serving node wakes its
        sender with it, instead of polling: :mod:`gsomia.runtime.host`)."""

    def _committed(self, enqueued: bool) -> None:
        """After a ``COMMIT``: tell the listener if the unit queued an outbox message."""
        listener = self.on_enqueue
        if enqueued and listener is not None:
            with contextlib.suppress(Exception):  # the commit stands whatever the listener does
                listener()

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """Hold the lock for one unit of work or read; refuse nesting and use after close."""
        with self._lock:
            if self._closed:
                raise misuse("the store is closed")
            if self._busy:
                raise misuse("units of work and reads do not nest")
            self._busy = True
            try:
                yield
            finally:
                self._busy = False

    def _release(self) -> None:
        """Close the connection (the subclass's)."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection; further use raises ``STORE_MISUSE``."""
        with self._lock:
            if self._closed:
                return
            if self._busy:
                raise misuse("close() inside a unit of work or read")
            self._closed = True
            self._release()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
