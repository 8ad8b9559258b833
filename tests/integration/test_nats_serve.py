"""``gsomia node serve --config FILE`` over NATS JetStream, and a node killed mid-stream (issue 7).

Each node process reads a configuration file naming its data directory, ``transport = "nats"``
and its NATS user (password in a file of its own), as docs/operations.md shows; the recipient is
``kill -9``-ed a third of the way through a stream of releases and started again.  Every item
the sender committed is accepted exactly once, every delivery receipted, both audit logs verify.
The settings themselves (file, environment overrides, refusals) are checked first.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gsomia.audit.records import AuditKind
from gsomia.errors import InputError
from gsomia.runtime.client import ApiError
from gsomia.runtime.cluster import LocalCluster, NodeProcess
from gsomia.runtime.config import RUN_FILE, data_dir_of, load_config, save_config
from gsomia.runtime.scenario import OFFICIALS, missile_label
from tests.private_nats import PrivateNats

pytestmark = pytest.mark.integration

STREAM = 150


def serve_file(data: Path, server: PrivateNats, party: str) -> Path:
    """The node's ``node.toml`` made a ``--config`` file: data directory, NATS, its user."""
    user, password = server.user(party)
    secret = data / "nats.password"
    secret.write_text(password + "\n", encoding="utf-8")
    secret.chmod(0o600)
    text = (data / "node.toml").read_text(encoding="utf-8")
    text = text.replace("[channel]\n", '[channel]\ntransport = "nats"\n', 1)
    servers = ", ".join(f'"{u}"' for u in server.urls)
    path = data / "serve.toml"
    path.write_text(
        f'data = "{data}"\n{text}\n[nats]\nservers = [{servers}]\nuser = "{user}"\n'
        f'password_file = "{secret}"\n',
        encoding="utf-8",
    )
    return path


class ConfigCluster(LocalCluster):
    """A LocalCluster whose nodes start with ``node serve --config serve.toml`` (no --data)."""

    def _spawn(self, node: NodeProcess) -> None:
        with contextlib.suppress(OSError):
            (node.data / RUN_FILE).unlink()
        command = [sys.executable, "-m", "gsomia.cli.main", "node", "serve", "--config",
                   str(node.data / "serve.toml"), "--passphrase-file", str(self.passphrase_file)]  # fmt: skip
        with open(node.data / "node.log", "ab") as log:
            node.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )


@pytest.fixture
def server() -> Iterator[PrivateNats]:
    deployment = PrivateNats.start()
    yield deployment
    deployment.stop()


def test_the_settings_come_from_the_file_and_the_environment(
    tmp_path: Path, server: PrivateNats
) -> None:
    cluster = LocalCluster(tmp_path / "nodes", ("KOR", "JPN"))
    cluster.create(datetime.now(UTC) - timedelta(days=1))
    data = cluster.nodes["KOR"].data
    path = serve_file(data, server, "KOR")
    assert data_dir_of(path) == data
    config = load_config(Path("/nonexistent"), file=path, environ={})
    assert (config.transport, config.nats.servers, config.nats.user) == (
        "nats", tuple(server.urls), "kor-node",
    )  # fmt: skip
    assert config.nats.password is None  # read from its file at start, never kept in the file
    env = {"GSOMIA_STORE": "postgres", "GSOMIA_POSTGRES_DSN": "host=/run/pg dbname=g",
           "GSOMIA_CHANNEL": "http", "GSOMIA_NATS_SERVERS": "nats://10.0.0.1:4222,nats://10.0.0.2:4222",
           "GSOMIA_NATS_REPLICAS": "3"}  # fmt: skip
    overridden = load_config(data, file=path, environ=env)
    assert overridden.transport == "http"
    assert (overridden.store.kind, overridden.store.dsn) == ("postgres", "host=/run/pg dbname=g")
    assert overridden.nats.servers == ("nats://10.0.0.1:4222", "nats://10.0.0.2:4222")
    assert overridden.nats.replicas == 3
    saved = tmp_path / "saved"
    saved.mkdir()
    save_config(saved, config)  # what node peer add does: the file's settings survive it
    assert load_config(saved, environ={}) == config
    for bad in ({"GSOMIA_CHANNEL": "smoke-signals"}, {"GSOMIA_STORE": "csv"},
                {"GSOMIA_NATS_REPLICAS": "9"}, {"GSOMIA_NATS_SERVERS": "http://x:1"}):  # fmt: skip
        with pytest.raises(InputError) as err:
            load_config(data, file=path, environ=bad)
        assert err.value.code == "CONFIG_INVALID"
    broken = tmp_path / "broken.toml"
    broken.write_text(path.read_text(encoding="utf-8") + "\n[store]\nkind = 'sqlite'\ndsn = 'x'\n")
    with pytest.raises(InputError) as err:
        load_config(data, file=broken)
    assert err.value.code == "CONFIG_INVALID"


def _stream(cluster: LocalCluster, n: int, progress: list[int]) -> None:
    """Release ``n`` items KOR → JPN one by one; a call refused or unanswered is not retried."""
    for i in range(n):
        body = {
            "label": missile_label("KOR", "군사II급비밀", datetime.now(UTC)),
            "text": f"track report {i:04d} " + "x" * 500,
            "topic": "NK-MISSILE",
            "purpose": "early warning of North Korean missile launches",
            "recipients": ["JPN"],
        }
        try:
            cluster.nodes["KOR"].client("kor-release-1").json("POST", "/v1/items", body=body)
        except ApiError:
            time.sleep(0.05)
        progress[0] = i + 1


def test_nodes_served_over_nats_lose_nothing_when_the_recipient_is_killed(
    tmp_path: Path, server: PrivateNats
) -> None:
    cluster = ConfigCluster(tmp_path / "nodes", ("KOR", "JPN"))
    cluster.create(datetime.now(UTC) - timedelta(days=1))
    for party, node in cluster.nodes.items():
        serve_file(node.data, server, party)
    cluster.start()
    try:
        run = (cluster.nodes["JPN"].data / RUN_FILE).read_text(encoding="utf-8")
        assert server.urls[0] in run  # the node says which channel it serves on
        cluster.enrol({p: OFFICIALS[p] for p in ("KOR", "JPN")})
        progress = [0]
        sender = threading.Thread(target=_stream, args=(cluster, STREAM, progress))
        sender.start()
        while progress[0] < STREAM // 3 and sender.is_alive():
            time.sleep(0.01)
        cluster.kill("JPN")  # kill -9 mid-stream: what it took but did not commit is not acked
        cluster.start(["JPN"])
        sender.join(timeout=300)
        assert not sender.is_alive()
        assert cluster.wait_settled("KOR", timeout=120)
    finally:
        cluster.stop()
    kor, jpn = cluster.tally("KOR"), cluster.tally("JPN")
    released = {
        r.subject for r in kor.records if r.kind is AuditKind.RELEASE and r.decision == "allow"
    }
    assert len(released) >= STREAM // 2
    assert {item: jpn.accepted[item] for item in released} == dict.fromkeys(released, 1)
    assert set(jpn.accepted) == released
    assert {r.subject for r in kor.records if r.kind is AuditKind.RECEIPT} == released
    assert kor.audit_ok
    assert jpn.audit_ok
