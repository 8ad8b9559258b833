"""API worker processes: more of the node's REST API beside the serving process (ADR 0021).

``gsomia node serve --api-workers N`` starts N worker processes next to the serving one.  Each
worker opens the node's store and keys and serves the node's REST API on its own address; the
serving process keeps everything else: the channel to partners and the two pumps (delivery,
receiving), the CoT listeners, the dashboard and the API's track ingest (their hub lives in the
serving process).  A release through a worker is committed by the worker, in its own unit of
work, to the same store; the serving process's sender delivers it.

Theory of operation
-------------------
One Python process runs Python on one core at a time.  A node's releases (decide, seal, commit)
and its delivery and settlement then share one core, however many cores the machine has; a
worker gives the releases a core of their own.  Measured on two cores (docs/benchmarks.md):
with every client on one worker, 1,354-1,724 items/s against 1,065-1,405 in one process, at the
same CPU per item.  Workers share the store the way several processes of a node always could:
SQLite orders their units of work with its write lock and each catches up with the audit
entries the others appended (:func:`gsomia.adapters.audit_tables.catch_up`); PostgreSQL with its
writer lock (ADR 0008).

- **Addresses.** The serving process opens each worker's listening socket (loopback or the API
  host, an ephemeral port) before starting it and hands the socket down, so it knows the
  addresses at once and lists them in ``run/node.json`` (``api_workers``).
- **Keys.** The passphrase goes to the worker on its standard input, never in its arguments or
  environment.
- **Wake-up.** A commit that queues an outbox message wakes the sender of its own process
  (``on_enqueue``).  A worker has no sender: it writes one byte to a pipe the serving process
  reads, which wakes the serving process's sender.  A byte lost (the pipe full) costs at most
  the sender's idle wait (:data:`gsomia.runtime.host.IDLE_WAIT`), never an item.
- **Lifetime.** The serving process stops its workers when it stops.  A worker asks the kernel
  to end it when its parent dies (Linux ``PR_SET_PDEATHSIG``), so ``kill -9`` of the serving
  process leaves no worker behind serving a node whose sender is gone; it also looks for its
  parent every second, where that signal is not available.
- **What a worker refuses.** Track ingest (``POST /v1/tracks``, ``/v1/tracks/ws``,
  ``GET /v1/tracks/stats``) answers 503 ``NODE_API_WORKER``; the dashboard is not served.  A
  notice a worker would send at once (Art. 17 breach reports) is queued and delivered by the
  serving process's sender, which the worker wakes.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

import uvicorn

from gsomia.adapters.clock import SystemClock
from gsomia.adapters.keystore_files import load_keys, load_trust
from gsomia.adapters.store_handle import StoreHandle
from gsomia.api import create_app
from gsomia.catalog import builtin_registry
from gsomia.node import Node
from gsomia.ports import Clock
from gsomia.runtime import heap
from gsomia.runtime.channels import OfflineChannel, open_store
from gsomia.runtime.config import KEYS_DIR, load_config

__all__ = ["MAX_API_WORKERS", "serve_api_worker"]

MAX_API_WORKERS: Final = 16
_PR_SET_PDEATHSIG: Final = 1
_NO_CHANNEL: Final = "an API worker does not talk to partners; the node's serving process delivers"
log = logging.getLogger("gsomia.node")


def _die_with_parent(parent: int) -> None:
    """End this process when ``parent`` ends: the kernel's signal on Linux, and a look at the
    parent every second everywhere (a backstop where the signal is not available)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request above took effect
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="gsomia-parent-watch", daemon=True).start()


def _waker(fd: int) -> Callable[[], None]:
    """``on_enqueue`` for the store: one byte on the serving process's wake-up pipe."""
    os.set_blocking(fd, False)

    def wake() -> None:
        with contextlib.suppress(OSError):  # full (a wake-up is pending anyway) or closed
            os.write(fd, b"\x01")

    return wake


def serve_api_worker(
    data: Path,
    passphrase: bytes,
    *,
    listen_fd: int,
    wake_fd: int,
    parent: int,
    clock: Clock | None = None,
    config_file: Path | None = None,
) -> None:
    """Serve the node's REST API on the inherited listening socket until SIGTERM or SIGINT."""
    _die_with_parent(parent)
    config = load_config(data, file=config_file, environ=os.environ)
    keys = load_keys(data / KEYS_DIR, passphrase)
    trust = load_trust(data / KEYS_DIR)
    store = open_store(config, data)
    try:
        if isinstance(store, StoreHandle):
            store.on_enqueue = _waker(wake_fd)
        node = Node(
            config.party,
            builtin_registry(),
            store,
            OfflineChannel(config.party, _NO_CHANNEL),
            keys,
            trust,
            clock or SystemClock(),
        )
        listener = socket.socket(fileno=listen_fd)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(node, worker=True),
                log_level="warning",
                access_log=False,
                lifespan="off",
            )
        )
        log.info("%s API worker serving on %s", config.party, listener.getsockname())
        heap.settle()  # the worker process is loaded: out of the collector's way (ADR 0023)
        server.run(sockets=[listener])  # uvicorn stops on SIGTERM and SIGINT
    finally:
        store.close()
