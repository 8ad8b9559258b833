"""An asyncio event loop in a thread of its own, and the one way the adapters connect to NATS.

nats-py is asyncio only; the node calls its channel synchronously from its pump threads
(:mod:`gsomia.runtime.host`).  :class:`LoopThread` runs one event loop in a daemon thread and
lets any other thread run a coroutine on it and wait for the result, with a time limit.
:func:`connect` opens a client connection as both NATS adapters want it (the channel, ADR 0010,
and the track stream, ADR 0013): reconnecting for ever, errors logged, never raised.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

import nats
from nats.aio.client import Client

T = TypeVar("T")

__all__ = ["LoopThread", "connect", "why"]

log = logging.getLogger("gsomia.nats")


def why(exc: BaseException) -> str:
    """What went wrong, for a message: the exception's text, else its type."""
    return str(exc) or type(exc).__name__


async def connect(
    servers: list[str], name: str, auth: Mapping[str, str | None], timeout: float
) -> Client:
    """A NATS client connection that reconnects for ever (0.25 s apart), errors logged."""

    async def on_error(exc: Exception) -> None:
        log.warning("%s: NATS: %s", name, why(exc))

    return await nats.connect(
        servers=servers,
        name=name,
        connect_timeout=max(1, int(timeout)),
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.25,
        error_cb=on_error,
        **{k: v for k, v in auth.items() if v is not None},
    )


class LoopThread:
    """One event loop, running in a daemon thread until :meth:`stop`."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        """Run ``coro`` on the loop and wait at most ``timeout`` s for its result.

        On time-out the coroutine is cancelled and :class:`TimeoutError` raised; its own
        exceptions propagate unchanged.
        """
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError("the operation did not finish in time") from None

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        """Start ``coro`` on the loop without waiting for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    @property
    def alive(self) -> bool:
        """Whether the loop's thread still runs."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop the loop, join its thread and close it (pending tasks are cancelled first)."""
        if not self._thread.is_alive():
            return

        async def _cancel_all() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(TimeoutError):  # a task that ignores cancellation
            self.call(_cancel_all(), 5.0)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5.0)
        if not self._thread.is_alive():
            self.loop.close()
