"""Group commit: the writes of concurrent callers share one unit of work, and one fsync.

Each unit of work ends with a durable ``COMMIT`` (``synchronous=FULL``: the WAL is fsynced), so
a node that commits once per release spends its time waiting for the disk, one caller after the
other.  :meth:`GroupCommit.run` takes a caller's *write* (a function of a unit of work that only
writes to it: everything costly, deciding and sealing, was done before) and runs it together
with the writes other threads handed in meanwhile, in ONE unit of work.

Theory of operation (leader and followers)
------------------------------------------
A caller queues its write.  If no unit is being committed, it becomes the *leader*: it takes
every queued write, runs them in order in one unit of work and commits; otherwise it waits.  When
the leader is done it wakes the waiting callers: those whose write was in its unit return its
result (or raise its error), and the first of the others becomes the next leader with what has
queued since.  No caller returns before the commit that holds its write is on disk.

If the shared unit fails, nothing of it was stored, and each of its writes is run again in a
unit of its own, so one write that fails (a conflict, say) fails alone and never takes the
others with it.  A write must therefore be safe to run twice against a unit that was rolled
back: it only writes to the unit it is given.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from gsomia.ports import Store, UnitOfWork

__all__ = ["GroupCommit"]

T = TypeVar("T")


class _Job(Generic[T]):
    __slots__ = ("done", "error", "result", "write")

    def __init__(self, write: Callable[[UnitOfWork], T]) -> None:
        self.write = write
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]  # set by the unit that ran it


class GroupCommit:
    """Runs concurrent writes in shared units of work of one store (see the module docstring)."""

    __slots__ = ("_busy", "_cond", "_queue")

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: list[_Job[object]] = []
        self._busy = False

    def run(self, store: Store, write: Callable[[UnitOfWork], T]) -> T:
        """Run ``write`` in a unit of work of ``store``, shared with concurrent callers; its
        result once that unit committed, or the error it raised in a unit of its own."""
        job: _Job[T] = _Job(write)
        with self._cond:
            self._queue.append(job)  # type: ignore[arg-type]
            while self._busy and not job.done:
                self._cond.wait()
            if job.done:
                return job.outcome()
            self._busy = True
            batch, self._queue = self._queue, []
        try:
            _commit(store, batch)
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()
        return job.outcome()


def _commit(store: Store, batch: list[_Job[object]]) -> None:
    try:
        try:
            with store.unit_of_work() as uow:
                results = [job.write(uow) for job in batch]
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            for job in batch:  # one by one: a write that fails fails alone
                try:
                    with store.unit_of_work() as uow:
                        job.result = job.write(uow)
                except Exception as single:
                    job.error = single
            return
        for job, result in zip(batch, results, strict=True):
            job.result = result
    except BaseException as exc:  # an interrupt: every caller of this unit learns of it
        for job in batch:
            if job.error is None and not job.done:
                job.error = exc
        raise
    finally:
        for job in batch:
            job.done = True
