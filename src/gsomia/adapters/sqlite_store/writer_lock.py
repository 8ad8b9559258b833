"""The node processes' turn to write one store file: a ``flock`` beside it (ADR 0022).

SQLite lets one connection write at a time, and a connection that finds the file locked waits in
its *busy handler*, which sleeps 1, 2, 5, 10, … up to 100 ms between tries and is told nothing
when the lock is freed.  With two processes writing one file, a serving node and its API worker
(ADR 0021), each spent a fifth to a third of its time asleep there while the file was free, and
the cores sat idle: ``bench/exchange.py`` measured 1.4 s of waiting in ``BEGIN IMMEDIATE`` per
8,000 items in the serving process and 1.0 s in the worker.

So the processes of one node take turns on an advisory lock of their own first:
``flock(LOCK_EX)`` on ``<store file>-lock`` (mode 0600), held from before ``BEGIN IMMEDIATE`` to
after ``COMMIT`` or ``ROLLBACK``.  A process that finds it taken asks again after 50 µs, doubling
up to 1 ms: a freed turn is taken within about a millisecond, never after 100 ms.  ``flock``
belongs to the open file, not to the process, so two store objects on one file in one process
exclude each other too, and the kernel frees the lock of a process that dies (``kill -9``
included).  After ``timeout`` seconds without a turn, :class:`~gsomia.errors.StoreError`
``STORE_UNAVAILABLE``, as SQLite's own timeout would say.  SQLite's write lock stays the
authority: a writer that does not take this lock (the ``sqlite3`` shell) is still excluded by
it, and waited for by the busy handler, as before.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from gsomia.errors import StoreError

__all__ = ["LOCK_SUFFIX", "WriterLock"]

LOCK_SUFFIX: Final = "-lock"
_FIRST_PAUSE: Final = 50e-6
_LONGEST_PAUSE: Final = 1e-3


class WriterLock:
    """The advisory write turn on the store file ``path`` (``path + "-lock"``)."""

    __slots__ = ("_fd", "_path", "_timeout")

    def __init__(self, path: str, timeout: float) -> None:
        self._path = path + LOCK_SUFFIX
        self._timeout = timeout
        try:
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StoreError(
                f"cannot open the store's lock file {self._path}: {exc.strerror}",
                detail={"path": self._path},
            ) from exc

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the turn for the block (released however it ends)."""
        self._acquire()
        try:
            yield
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _acquire(self) -> None:
        deadline: float | None = None
        pause = _FIRST_PAUSE
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self._timeout
                elif now >= deadline:
                    raise StoreError(
                        f"the node store is being written by another process for over "
                        f"{self._timeout:g} s",
                        detail={"operation": "begin", "path": self._path},
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE)

    def close(self) -> None:
        """Close the lock file (a turn held is freed)."""
        os.close(self._fd)
