"""A serving node process: the adapters wired to the service, the API and the delivery loop.

:class:`NodeHost` opens a node's data directory (:mod:`gsomia.runtime.config`): the SQLite
store (``node.sqlite``), its keys (decrypted with the passphrase) and trust store, the HTTP
channel listening for partners (ADR 0005) and the REST API for officials (docs/api.md), and runs
two *pump* threads: one delivers the outbox, the other handles what partners sent.

Theory of operation
-------------------
Everything durable is in the store; threads only move it.  The API's request threads and the
pumps share the one store object (units of work are serialised by its lock; SQLite orders them
on disk).  The *sender* loops on ``deliver_due`` (claim due outbox messages in one unit of work,
then send them, several per request), and when nothing was sent waits up to :data:`IDLE_WAIT`,
or less if a commit queued an outbox message (a release through the API, a receipt, a relay:
the store's ``on_enqueue``) or the receiver just handled messages (a receipt frees room in the
delivery window).  The *receiver* loops on ``receive`` (wait up to
:data:`IDLE_WAIT` for the first inbound message, then take up to :data:`BATCH`, each run of items
or receipts in one unit of work).  Two threads rather than one loop, so that a batch waiting on
the partner's answer or on the disk (each commit is fsynced) never holds up the other direction.
A crash or ``kill -9`` at any point loses nothing: a message not yet acknowledged by a receipt is
sent again after restart, and the receiver's inbox makes a second copy harmless (ADR 0004).

``serve_forever`` writes ``run/node.json`` (pid and the addresses actually bound) once both
servers listen, so scripts and tests know when a node is ready, and stops cleanly on SIGINT or
SIGTERM (the file is removed).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Final

import uvicorn

from gsomia.adapters.clock import SystemClock
from gsomia.adapters.keystore_files import load_keys, load_trust
from gsomia.adapters.store_handle import StoreHandle
from gsomia.api import create_app
from gsomia.catalog import builtin_registry
from gsomia.errors import GsomiaError
from gsomia.node import Node
from gsomia.ports import Clock
from gsomia.registry import Registry
from gsomia.runtime.channels import open_channel, open_store, open_track_stream, settler
from gsomia.runtime.config import KEYS_DIR, RUN_FILE, NodeConfig, load_config
from gsomia.runtime.tracks_host import TracksHost

__all__ = ["BATCH", "IDLE_WAIT", "NodeHost"]

IDLE_WAIT: Final = 0.25
"""Seconds a pump waits at most when it had nothing to do.  It is woken at once by what gives it
work: the sender by a commit that queued an outbox message (the store's ``on_enqueue``) or by
the receiver's handling messages; the receiver by an inbound message (the channel's wait).  No
idle polling, so an idle node leaves the CPU (and the GIL) to its CoT and link loops."""
BATCH: Final = 256
"""Messages a pump takes in one round (one unit of work per run of items or receipts)."""
AGREEMENTS_EVERY: Final = 1.0
"""Seconds between two looks for agreement events another process of the node recorded, on
behalf of the track streams (their policy decides in memory, per message); every other use case
looks before it decides (:meth:`gsomia.node.Node.refresh_agreements`)."""
_START_TIMEOUT: Final = 20.0
log = logging.getLogger("gsomia.node")


class NodeHost:
    """One national node serving from its data directory."""

    def __init__(
        self,
        data: Path,
        passphrase: bytes,
        *,
        registry: Registry | None = None,
        clock: Clock | None = None,
        config_file: Path | None = None,
    ) -> None:
        self.data = Path(data)
        self.config: NodeConfig = load_config(self.data, file=config_file, environ=os.environ)
        self.clock = clock or SystemClock()
        keys = load_keys(self.data / KEYS_DIR, passphrase)
        trust = load_trust(self.data / KEYS_DIR)
        self.store = open_store(self.config, self.data)  # issue 7: sqlite | postgres
        try:
            self.channel = open_channel(self.config, keys, trust, self.clock)  # http | nats
            self._settle = settler(self.channel)  # NATS: ack once received items committed
        except BaseException:
            self.store.close()
            raise
        self.node = Node(
            self.config.party,
            registry or builtin_registry(),
            self.store,
            self.channel,
            keys,
            trust,
            self.clock,
        )
        self.tracks = TracksHost(  # issue 5; track streams on JetStream: ADR 0013; links: 0012
            self.node,
            self.store,
            self.config.cot,
            self.data,
            stream=open_track_stream(self.config),
            links=self.config.tracks,
            keys=keys,
            trust=trust,
        )
        api = uvicorn.Config(
            create_app(self.node, tracks=self.tracks.ingest),
            host=self.config.api[0],
            port=self.config.api[1],
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._api = uvicorn.Server(api)
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._threads: list[threading.Thread] = []
        if isinstance(self.store, StoreHandle):  # a release, relay, receipt… wakes the sender
            self.store.on_enqueue = self._kick.set

    # ------------------------------------------------------------------------------ lifecycle

    @property
    def api_url(self) -> str:
        """The REST API's base URL, as bound."""
        servers = getattr(self._api, "servers", [])
        if servers and servers[0].sockets:
            host, port = servers[0].sockets[0].getsockname()[:2]
            return f"http://{host}:{port}"
        return self.config.api_url

    def start(self) -> None:
        """Start the API server and the pump; return once the API listens."""
        api = threading.Thread(target=self._api.run, name="gsomia-api", daemon=True)
        sender = threading.Thread(target=self._send, name="gsomia-send", daemon=True)
        receiver = threading.Thread(target=self._receive, name="gsomia-receive", daemon=True)
        self._threads = [api, sender, receiver]
        api.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._api.started:
            if not api.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise GsomiaError(
                    f"the API could not listen on {self.config.api_url}", code="NODE_START_FAILED"
                )
            time.sleep(0.01)
        sender.start()
        receiver.start()
        self.tracks.start()  # CoT listeners, if configured
        self._write_run_file()

    def stop(self) -> None:
        """Stop both threads, then close the channel and the store."""
        self._stop.set()
        self._api.should_exit = True
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=10)
        with contextlib.suppress(OSError):
            (self.data / RUN_FILE).unlink()
        self.tracks.stop()
        self.channel.close()
        self.store.close()

    def serve_forever(self) -> None:
        """Serve until SIGINT or SIGTERM (issue 4 §3: ``gsomia node serve``)."""

        def _signalled(signum: int, frame: FrameType | None) -> None:
            self._stop.set()

        previous = {s: signal.signal(s, _signalled) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.start()
            log.info("%s node serving: API %s, channel %s", self.node.party, self.api_url,
                     getattr(self.channel, "url", "?"))  # fmt: skip
            while not self._stop.wait(0.5):
                if not all(t.is_alive() for t in self._threads):
                    log.error("a node thread stopped; shutting down")
                    break
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.stop()

    # ---------------------------------------------------------------------------------- pump

    def _send(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.node.deliver_due(limit=BATCH)
            except GsomiaError as exc:  # a store hiccup: wait, retry; nothing is lost
                log.warning("send: %s (%s)", exc.message, exc.code)
                self._stop.wait(0.2)
                continue
            if sent == 0:
                self._kick.wait(IDLE_WAIT)
                self._kick.clear()

    def _receive(self) -> None:
        refreshed = time.monotonic()
        while not self._stop.is_set():
            try:
                summary = self.node.receive(limit=BATCH, timeout=IDLE_WAIT)
                if time.monotonic() - refreshed >= AGREEMENTS_EVERY:
                    self.node.refresh_agreements()  # for the streams, which decide in memory
                    refreshed = time.monotonic()
                self._settle(True)
            except GsomiaError as exc:  # a store hiccup: the partner sends it again
                self._settle(False)
                log.warning("receive: %s (%s)", exc.message, exc.code)
                self._stop.wait(0.2)
                continue
            if summary.messages:
                self._kick.set()  # room in the window, or receipts to send

    def _write_run_file(self) -> None:
        path = self.data / RUN_FILE
        path.parent.mkdir(mode=0o700, exist_ok=True)
        info = {
            "party": self.node.party,
            "pid": os.getpid(),
            "api": self.api_url,
            "channel": getattr(self.channel, "url", None),
            "cot": self.tracks.run_info(),
            "links": self.tracks.link_info(),  # partner track links (ADR 0012)
        }
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(info) + "\n", encoding="utf-8")
        os.replace(temporary, path)
