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
import http.client
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Final

import uvicorn

from gsomia.adapters.clock import SystemClock
from gsomia.adapters.keystore_files import load_keys, load_trust
from gsomia.adapters.store_handle import StoreHandle
from gsomia.api import create_app
from gsomia.catalog import builtin_registry
from gsomia.errors import GsomiaError, InputError
from gsomia.node import Node
from gsomia.ports import Clock
from gsomia.registry import Registry
from gsomia.runtime.api_worker import MAX_API_WORKERS
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
        api_workers: int = 0,
        worker_arguments: Sequence[str] = (),
    ) -> None:
        if isinstance(api_workers, bool) or not 0 <= api_workers <= MAX_API_WORKERS:
            raise InputError(f"api workers: 0 to {MAX_API_WORKERS}", code="CONFIG_INVALID")
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
        # API worker processes (ADR 0021, gsomia.runtime.api_worker): their listening sockets,
        # processes and addresses; the pipe on which their commits wake our sender.
        self._api_workers = api_workers
        self._worker_arguments = tuple(worker_arguments)
        self._passphrase = passphrase if api_workers else b""
        self._listeners: list[socket.socket] = []
        self._workers: list[subprocess.Popen[bytes]] = []
        self.api_worker_urls: list[str] = []
        self._wake: tuple[int, int] | None = None

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
        if self._api_workers:
            self._start_workers()
        self._write_run_file()

    def stop(self) -> None:
        """Stop the API workers and both threads, then close the channel and the store."""
        self._stop.set()
        self._stop_workers()
        self._api.should_exit = True
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=10)
        self._close_worker_ends()
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
                self._restart_dead_workers()
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

    # ------------------------------------------------------------------------- API workers

    def _start_workers(self) -> None:
        """Open a listening socket per worker, start the workers on them (ADR 0021)."""
        self._wake = os.pipe()
        waker = threading.Thread(target=self._wake_loop, name="gsomia-wake", daemon=True)
        self._threads.append(waker)
        waker.start()
        host = self.config.api[0]
        for _ in range(self._api_workers):
            listener = socket.create_server((host, 0), backlog=256)
            self._listeners.append(listener)
            port = listener.getsockname()[1]
            self.api_worker_urls.append(f"http://{host}:{port}")
            self._workers.append(self._spawn_worker(listener, self.api_worker_urls[-1]))
        for worker, url in zip(self._workers, self.api_worker_urls, strict=True):
            self._wait_worker(worker, url)

    def _wait_worker(self, worker: subprocess.Popen[bytes], url: str) -> None:
        """Return once the worker answers ``GET /v1/health`` (the node is ready only then)."""
        host, port = url.removeprefix("http://").rsplit(":", 1)
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if worker.poll() is not None:
                break
            connection = http.client.HTTPConnection(host, int(port), timeout=1.0)
            try:
                connection.request("GET", "/v1/health")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.05)
        self.stop()
        raise GsomiaError(f"the API worker at {url} did not start", code="NODE_START_FAILED")

    def _spawn_worker(self, listener: socket.socket, url: str) -> subprocess.Popen[bytes]:
        assert self._wake is not None
        wake = self._wake[1]
        command = [
            sys.executable, "-m", "gsomia.cli.main", "node", "api-worker",
            "--data", str(self.data), "--listen-fd", str(listener.fileno()),
            "--wake-fd", str(wake), "--parent", str(os.getpid()), *self._worker_arguments,
        ]  # fmt: skip
        worker = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            command, stdin=subprocess.PIPE, pass_fds=(listener.fileno(), wake)
        )
        assert worker.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            worker.stdin.write(self._passphrase)  # never in arguments or the environment
        worker.stdin.close()
        log.info("API worker %d serving %s", worker.pid, url)
        return worker

    def _restart_dead_workers(self) -> None:
        """Replace a worker that exited, on the same listening socket (so the same address)."""
        for i, worker in enumerate(self._workers):
            if worker.poll() is not None and not self._stop.is_set():
                log.error("API worker %d exited (%s); starting another", worker.pid,
                          worker.returncode)  # fmt: skip
                try:
                    self._workers[i] = self._spawn_worker(
                        self._listeners[i], self.api_worker_urls[i]
                    )
                except OSError as exc:  # e.g. out of processes: try again in half a second
                    log.error("API worker could not start: %s", exc)

    def _wake_loop(self) -> None:
        """Wake the sender when a worker's commit queued an outbox message."""
        assert self._wake is not None
        readable = self._wake[0]
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([readable], [], [], IDLE_WAIT)
                if ready:
                    os.read(readable, 4096)
            except (OSError, ValueError):  # closed at shutdown
                return
            if ready:
                self._kick.set()

    def _stop_workers(self) -> None:
        for worker in self._workers:
            if worker.poll() is None:
                worker.terminate()
        for worker in self._workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        self._workers = []

    def _close_worker_ends(self) -> None:
        for listener in self._listeners:
            listener.close()
        self._listeners = []
        if self._wake is not None:
            for fd in self._wake:
                with contextlib.suppress(OSError):
                    os.close(fd)
            self._wake = None

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
            "api_workers": list(self.api_worker_urls),  # more of the REST API (ADR 0021)
        }
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(info) + "\n", encoding="utf-8")
        os.replace(temporary, path)
