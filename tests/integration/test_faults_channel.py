"""The channel between two nodes cut for a while, then healed (issue 7 §2; ADR 0005, ADR 0010).

KOR releases a stream of items to JPN through ``gsomia node serve`` processes.  A third of the way
through, the channel is cut for a few seconds:

* HTTP (ADR 0005): each node sends to its partner through a TCP relay of the test's own
  (:class:`Relay`), which the test cuts (it drops every open connection and stops listening, so
  connections are refused) and then heals (it listens on the same port again);
* NATS JetStream (ADR 0010): the nats-server is stopped and started again on the same port and
  store directory (JetStream's file storage keeps the streams and consumers).

During the cut KOR keeps accepting releases (they wait in its outbox, retried with backoff).
After healing every item arrives exactly once, every delivery is receipted, both audit logs
verify and KOR's copies of JPN's checkpoints are checkpoints of JPN's log; and the outbox
really retried (messages with more than one attempt), whatever the timing.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.audit.records import AuditKind
from gsomia.runtime.cluster import LocalCluster
from gsomia.runtime.config import load_config, save_config
from gsomia.runtime.scenario import OFFICIALS
from tests.integration.test_faults_postgres import (
    OUTAGE,
    STREAM,
    assert_exactly_once,
    quoted_sizes,
    read_log,
    sqlite_view,
)
from tests.integration.test_nats_serve import ConfigCluster, _stream, serve_file
from tests.private_nats import PrivateNats, free_port

pytestmark = pytest.mark.integration


class Relay:
    """A TCP relay from a local port to ``target``, which can be cut and healed.

    Cut: every relayed connection is closed and the port stops listening (a partner's node
    gets "connection refused").  Healed: it listens on the same port again.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self.heal()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def heal(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        thread.start()
        self._threads.append(thread)

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = self._open, []
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    upstream.close()
                    return
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def outbox_attempts(cluster: LocalCluster, party: str, recipient: str) -> list[int]:
    """The attempts of each item message in ``party``'s outbox to ``recipient``."""
    store = SqliteStore(cluster.nodes[party].data / "node.sqlite")
    try:
        with store.read() as reader:
            items = [r.subject for r in (reader.audit_entry(i) for i in range(reader.audit_size()))
                     if r.kind is AuditKind.RELEASE and r.decision == "allow"]  # fmt: skip
            entries = [reader.outbox_entry(f"{item}:{recipient}") for item in items]
    finally:
        store.close()
    return [e.attempts for e in entries if e is not None]


def stream_with_cut(
    cluster: LocalCluster, cut: Callable[[], None], heal: Callable[[], None]
) -> int:
    """Stream releases KOR → JPN, cutting the channel a third of the way through for
    :data:`OUTAGE` seconds; the number of releases KOR took during the cut."""
    progress = [0]
    sender = threading.Thread(target=_stream, args=(cluster, STREAM, progress))
    sender.start()
    while progress[0] < STREAM // 3 and sender.is_alive():
        time.sleep(0.01)
    cut()
    during = progress[0]
    time.sleep(OUTAGE)
    during = progress[0] - during
    heal()
    sender.join(timeout=120)
    assert not sender.is_alive()
    assert cluster.wait_settled("KOR", timeout=60)
    return during


def assert_healed(cluster: LocalCluster, during: int) -> None:
    assert during > 0  # KOR kept accepting releases while the channel was cut
    attempts = outbox_attempts(cluster, "KOR", "JPN")
    assert len(attempts) >= STREAM // 2
    assert max(attempts) > 1  # retried with backoff, not delivered at the first try
    kor = sqlite_view(cluster, "KOR")
    jpn_store = SqliteStore(cluster.nodes["JPN"].data / "node.sqlite")
    try:
        jpn = read_log(jpn_store, sqlite_view(cluster, "JPN").verified, quoted_sizes(kor.records))
    finally:
        jpn_store.close()
    assert_exactly_once(kor, jpn, at_least=STREAM // 2)


def test_an_http_channel_cut_and_healed_loses_nothing(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path / "nodes", ("KOR", "JPN"))
    cluster.create(datetime.now(UTC) - timedelta(days=1))
    relays = {}
    for party, other in (("KOR", "JPN"), ("JPN", "KOR")):  # both directions, through a relay
        relays[other] = Relay(load_config(cluster.nodes[other].data).channel)
        data = cluster.nodes[party].data
        save_config(data, load_config(data).with_peer(other, relays[other].url))
    cluster.start()
    try:
        cluster.enrol({p: OFFICIALS[p] for p in ("KOR", "JPN")})

        def cut() -> None:
            for relay in relays.values():
                relay.cut()

        def heal() -> None:
            for relay in relays.values():
                relay.heal()

        during = stream_with_cut(cluster, cut, heal)
    finally:
        cluster.stop()
        for relay in relays.values():
            relay.cut()
    assert_healed(cluster, during)


@pytest.fixture
def nats() -> Iterator[PrivateNats]:
    deployment = PrivateNats.start()
    yield deployment
    deployment.stop()


def test_a_nats_server_stopped_and_started_again_loses_nothing(
    tmp_path: Path, nats: PrivateNats
) -> None:
    cluster = ConfigCluster(tmp_path / "nodes", ("KOR", "JPN"))
    cluster.create(datetime.now(UTC) - timedelta(days=1))
    for party, node in cluster.nodes.items():
        serve_file(node.data, nats, party)
    cluster.start()
    server = nats.servers[0]
    try:
        cluster.enrol({p: OFFICIALS[p] for p in ("KOR", "JPN")})
        during = stream_with_cut(cluster, server.stop, server.start)
    finally:
        cluster.stop()
    assert_healed(cluster, during)
