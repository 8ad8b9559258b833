"""Several national nodes on one machine, each its own ``gsomia node serve`` process.

:class:`LocalCluster` is what the demo, the integration tests and ``bench/exchange.py`` share:
it creates the nodes' data directories (:func:`gsomia.runtime.setup.init_node`), has every node
trust every other's keys (fingerprints checked, as an officer would after reading them out of
band), starts, stops, kills (``SIGKILL``, for crash tests) and restarts node processes, enrols
officials through each node's REST API, and reads what a node stored once it is stopped.
Nothing here is a fake: the processes, sockets, SQLite files and keys are the real ones.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from gsomia.adapters.clock import set_scenario_instant
from gsomia.adapters.keystore_files import export_public
from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.envelope import PublicKeyBundle
from gsomia.errors import GsomiaError
from gsomia.runtime.client import ApiClient
from gsomia.runtime.config import KEYS_DIR, RUN_FILE, load_config, save_config
from gsomia.runtime.setup import add_peer, init_node
from gsomia.streaming.link_settings import LinkPartner, LinkSettings
from gsomia.streaming.settings import CotListener

__all__ = ["ClusterError", "LocalCluster", "NodeProcess", "NodeTally"]

READY_TIMEOUT: Final = 60.0


class ClusterError(GsomiaError):
    """A node process would not start, or stopped."""

    code = "NODE_PROCESS_FAILED"
    exit_code = 9
    title = "Node process failed"


@dataclass
class NodeProcess:
    """One node: its data directory, process, API address and officials' tokens."""

    party: str
    data: Path
    process: subprocess.Popen[bytes] | None = None
    api_url: str = ""
    tokens: dict[str, str] = field(default_factory=dict)
    api_worker_urls: list[str] = field(default_factory=list)

    def client(self, official: str = "officer", *, worker: int | None = None) -> ApiClient:
        """An API client acting as ``official`` (``officer``: the first security officer), on
        the node's main API or, given ``worker``, on that API worker's (ADR 0021)."""
        url = self.api_url if worker is None else self.api_worker_urls[worker]
        return ApiClient(url, self.tokens[official])


@dataclass(frozen=True)
class NodeTally:
    """What a stopped node's store says: acceptances per item, receipts, audit verified."""

    accepted: Counter[str]
    receipts: int
    audit_size: int
    audit_ok: bool
    records: tuple[AuditRecord, ...]


class LocalCluster:
    """Nodes of ``parties`` under ``workdir``; ``clock_file`` makes them read a scenario clock."""

    def __init__(
        self,
        workdir: Path,
        parties: Sequence[str],
        *,
        clock_file: Path | None = None,
        say: Callable[[str], None] = lambda _: None,
        api_workers: int = 0,
    ) -> None:
        self.workdir = Path(workdir)
        self.api_workers = api_workers  # per node (ADR 0021)
        self.parties = tuple(parties)
        self.clock_file = clock_file
        self.say = say
        self.nodes: dict[str, NodeProcess] = {}
        self.passphrase_file = self.workdir / "passphrase"

    def create(self, keys_from: datetime, *, log2_n: int = 14) -> None:
        """Create every node (keys valid from ``keys_from``) and exchange their keys."""
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.passphrase_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(24) + "\n")
        passphrase = self.passphrase_file.read_bytes().strip()
        if self.clock_file is not None:
            set_scenario_instant(self.clock_file, keys_from)
        for party in self.parties:
            data = self.workdir / party
            result = init_node(data, party, passphrase, keys_from, log2_n=log2_n)
            self.nodes[party] = NodeProcess(party, data, tokens={"officer": result.token})
            self.say(f"{party} node created: API {result.config.api_url}, "
                     f"channel {result.config.channel_url}")  # fmt: skip
        for party, node in self.nodes.items():
            bundle = export_public(node.data / KEYS_DIR)
            fingerprint = PublicKeyBundle.from_json(bundle).fingerprint  # read out of band
            channel = load_config(node.data).channel_url
            for other, peer in self.nodes.items():
                if other != party:
                    add_peer(peer.data, party, channel, bundle, fingerprint)
        self.say("keys exchanged: each node trusts the others' after checking fingerprints")

    # ------------------------------------------------------------- tracks (issue 5, ADR 0012)

    def wire_tracks(self, via: Mapping[tuple[str, str], str] | None = None) -> None:
        """Give every node a track-link listener on a free loopback port and every other node
        as a partner dialed there; ``via[(a, b)] = hub`` sends ``a``'s tracks to ``b`` only
        through ``hub`` (TISA).  Call before :meth:`start`."""
        ports = {party: _free_port() for party in self.nodes}
        for party, node in self.nodes.items():
            config = load_config(node.data)
            partners = tuple(
                LinkPartner(other, f"127.0.0.1:{ports[other]}", (via or {}).get((party, other)))
                for other in self.nodes
                if other != party
            )
            links = LinkSettings(("127.0.0.1", ports[party]), partners)
            save_config(node.data, replace(config, tracks=links))

    def listen_cot(self, party: str, *officials: str) -> None:
        """Add a plain loopback CoT listener (port chosen at start) for each of ``officials``
        of ``party``'s node (as ``gsomia node cot listen`` does).  Call before :meth:`start`."""
        data = self.nodes[party].data
        config = load_config(data)
        cot = config.cot
        for official in officials:
            cot = cot.with_listener(CotListener(port=0, official=official))
        save_config(data, replace(config, cot=cot))

    def run_info(self, party: str) -> dict[str, Any]:
        """``party``'s ``run/node.json`` (the node serves)."""
        return dict(json.loads((self.nodes[party].data / RUN_FILE).read_text(encoding="utf-8")))

    # ----------------------------------------------------------------------------- processes

    def start(self, parties: Iterable[str] | None = None) -> None:
        """Start the nodes of ``parties`` (default all) and wait until each serves."""
        chosen = list(parties or self.parties)
        try:
            for party in chosen:
                self._spawn(self.nodes[party])
            for party in chosen:
                self._wait_ready(self.nodes[party])
        except BaseException:
            self.stop(chosen)  # never leave the others running behind a failed start
            raise

    def _spawn(self, node: NodeProcess) -> None:
        with contextlib.suppress(OSError):
            (node.data / RUN_FILE).unlink()
        command = [sys.executable, "-m", "gsomia.cli.main", "node", "serve",
                   "--data", str(node.data), "--passphrase-file", str(self.passphrase_file)]  # fmt: skip
        if self.clock_file is not None:
            command += ["--scenario-clock", str(self.clock_file)]
        if self.api_workers:
            command += ["--api-workers", str(self.api_workers)]
        with open(node.data / "node.log", "ab") as log:
            node.process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def _wait_ready(self, node: NodeProcess) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        run = node.data / RUN_FILE
        assert node.process is not None
        while time.monotonic() < deadline:
            if node.process.poll() is not None:
                log = (node.data / "node.log").read_text(encoding="utf-8", errors="replace")
                raise ClusterError(
                    f"the {node.party} node stopped; the end of {node.data}/node.log:\n"
                    + "\n".join(log.splitlines()[-15:])
                )
            with contextlib.suppress(OSError, ValueError):
                info = json.loads(run.read_text(encoding="utf-8"))
                if info.get("pid") == node.process.pid:
                    node.api_url = info["api"]
                    node.api_worker_urls = list(info.get("api_workers", []))
                    self.say(f"{node.party} node serving (pid {node.process.pid})")
                    return
            time.sleep(0.05)
        raise ClusterError(f"the {node.party} node did not start in {READY_TIMEOUT:.0f} s")

    def kill(self, party: str) -> None:
        """``kill -9`` the node of ``party``: no clean shutdown of any kind."""
        process = self.nodes[party].process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()

    def stop(self, parties: Iterable[str] | None = None) -> None:
        """Stop nodes cleanly (SIGTERM; SIGKILL after 10 s)."""
        chosen = [self.nodes[p] for p in (parties or self.nodes)]
        for node in chosen:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in chosen:
            if node.process is None:
                continue
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()

    # -------------------------------------------------------------------------------- officials

    def enrol(self, officials: dict[str, list[dict[str, Any]]]) -> None:
        """Add each party's officials through its API, with an API token each."""
        for party, records in officials.items():
            node = self.nodes[party]
            officer = node.client()
            for official in records:
                officer.json("POST", "/v1/officials", body=official)
                answer = officer.json("POST", f"/v1/officials/{official['id']}/tokens")
                node.tokens[official["id"]] = answer["token"]
            self.say(f"{party}: {len(records)} officials enrolled with API tokens")

    def wait_settled(self, party: str, subject: str | None = None, timeout: float = 60.0) -> bool:
        """Wait until ``party``'s outbox has nothing pending (about ``subject``, if given)."""
        client = self.nodes[party].client()
        deadline = time.monotonic() + timeout
        limit = 1 if subject is None else 1000  # any pending message will do: a cheap read
        while time.monotonic() < deadline:
            page = client.json("GET", "/v1/outbox", params={"state": "pending", "limit": limit})
            if not any(subject is None or e.get("subject") == subject for e in page["items"]):
                return True
            time.sleep(0.05)
        return False

    # ---------------------------------------------------------------------------- afterwards

    def tally(self, party: str) -> NodeTally:
        """Read ``party``'s store (the node may be serving: SQLite allows a second reader)."""
        path = self.nodes[party].data / "node.sqlite"
        store = SqliteStore(path)
        try:
            with store.read() as reader:
                records = tuple(reader.audit_entry(i) for i in range(reader.audit_size()))
        finally:
            store.close()
        with SqliteAuditLog(path) as log:
            ok = log.verify().ok
        return NodeTally(
            Counter(r.subject for r in records if r.kind is AuditKind.ACCEPT),
            sum(1 for r in records if r.kind is AuditKind.RECEIPT),
            len(records),
            ok,
            records,
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
