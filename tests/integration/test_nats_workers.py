"""Two worker processes of one node on PostgreSQL and NATS JetStream, one killed mid-stream (issue 7).

JPN runs two ``gsomia node serve --config`` processes sharing one PostgreSQL schema (ADR 0008:
the writer lock is the audit log's single sequencer) and one JetStream durable consumer (ADR
0010: JetStream hands each message to one worker); KOR runs one process on SQLite.  A third of
the way through a stream of releases one JPN worker is ``kill -9``-ed and not restarted: what it
had taken but not committed is redelivered to the other.  Every item KOR committed is accepted
exactly once by JPN, every delivery is receipted, and both audit logs verify.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gsomia.adapters.clock import SystemClock
from gsomia.adapters.keystore_files import load_keys
from gsomia.adapters.postgres_store import PostgresStore
from gsomia.audit.records import AuditKind
from gsomia.catalog import builtin_registry
from gsomia.envelope import TrustStore
from gsomia.node import Node
from gsomia.runtime.cluster import LocalCluster
from gsomia.runtime.config import KEYS_DIR, RUN_FILE
from gsomia.runtime.scenario import OFFICIALS
from gsomia.runtime.setup import default_officer
from gsomia.testing import InMemoryNetwork
from tests.integration.test_nats_serve import STREAM, ConfigCluster, _stream, serve_file
from tests.private_nats import PrivateNats
from tests.private_postgres import PrivatePostgres

pytestmark = pytest.mark.integration


@pytest.fixture
def server() -> Iterator[PrivateNats]:
    deployment = PrivateNats.start()
    yield deployment
    deployment.stop()


def postgres_node(data: Path, dsn: str, passphrase: bytes) -> str:
    """Point JPN's serve file at PostgreSQL and enrol its first officer there; the token."""
    path = data / "serve.toml"
    path.write_text(path.read_text(encoding="utf-8") + f'\n[store]\nkind = "postgres"\n'
                    f'dsn = "{dsn}"\nschema = "gsomia_jpn"\n', encoding="utf-8")  # fmt: skip
    keys = load_keys(data / KEYS_DIR, passphrase)
    store = PostgresStore(dsn, schema="gsomia_jpn")
    try:
        node = Node("JPN", builtin_registry(), store, InMemoryNetwork().channel("JPN"), keys,
                    TrustStore(), SystemClock())  # fmt: skip
        return node.bootstrap(default_officer("JPN"))
    finally:
        store.close()


def spawn_worker(cluster: LocalCluster, party: str, api_port: int) -> subprocess.Popen[bytes]:
    """One more ``node serve --config`` process of ``party``, its API on ``api_port``."""
    node = cluster.nodes[party]
    env = {**os.environ, "GSOMIA_API_PORT": str(api_port)}
    with open(node.data / f"worker-{api_port}.log", "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gsomia.cli.main", "node", "serve", "--config",
             str(node.data / "serve.toml"), "--passphrase-file", str(cluster.passphrase_file)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, (node.data / f"worker-{api_port}.log").read_text()
        with contextlib.suppress(OSError, ValueError):
            if json.loads((node.data / RUN_FILE).read_text(encoding="utf-8"))["pid"] == process.pid:
                return process
        time.sleep(0.05)
    raise AssertionError("the second worker did not start")


def test_two_workers_share_the_node_and_one_dies_without_loss(
    tmp_path: Path, server: PrivateNats, postgres: PrivatePostgres
) -> None:
    dsn = postgres.new_database("workers")
    cluster = ConfigCluster(tmp_path / "nodes", ("KOR", "JPN"))
    cluster.create(datetime.now(UTC) - timedelta(days=1))
    for party, node in cluster.nodes.items():
        serve_file(node.data, server, party)
    passphrase = cluster.passphrase_file.read_bytes().strip()
    cluster.nodes["JPN"].tokens["officer"] = postgres_node(
        cluster.nodes["JPN"].data, dsn, passphrase
    )
    cluster.start()
    second: subprocess.Popen[bytes] | None = None
    try:
        cluster.enrol({p: OFFICIALS[p] for p in ("KOR", "JPN")})
        from tests.private_nats import free_port  # noqa: PLC0415

        second = spawn_worker(cluster, "JPN", free_port())
        progress = [0]
        sender = threading.Thread(target=_stream, args=(cluster, STREAM, progress))
        sender.start()
        while progress[0] < STREAM // 3 and sender.is_alive():
            time.sleep(0.01)
        second.send_signal(signal.SIGKILL)  # kill -9 one worker; the first carries on alone
        second.wait()
        sender.join(timeout=300)
        assert not sender.is_alive()
        assert cluster.wait_settled("KOR", timeout=120)
    finally:
        if second is not None and second.poll() is None:
            second.kill()
            second.wait()
        cluster.stop()
    kor = cluster.tally("KOR")
    store = PostgresStore(dsn, schema="gsomia_jpn")
    try:
        with store.read() as reader:
            records = [reader.audit_entry(i) for i in range(reader.audit_size())]
        verified = store.verify_audit()
    finally:
        store.close()
    accepted = Counter(r.subject for r in records if r.kind is AuditKind.ACCEPT)
    released = {
        r.subject for r in kor.records if r.kind is AuditKind.RELEASE and r.decision == "allow"
    }
    assert len(released) >= STREAM // 2
    assert {item: accepted[item] for item in released} == dict.fromkeys(released, 1)
    assert set(accepted) == released
    assert {r.subject for r in kor.records if r.kind is AuditKind.RECEIPT} == released
    assert kor.audit_ok
    assert verified.ok, verified.problems
