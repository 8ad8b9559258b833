"""Where the time goes during a bench/scale.py run: CPU per process, PostgreSQL wait events.

Two cheap samplers that need no privilege, and py-spy where it is installed:

- :class:`CpuMeter`: CPU seconds (user + system, from ``/proc/<pid>/stat``) each group of
  processes used between :meth:`CpuMeter.start` and :meth:`CpuMeter.stop` — the node workers of
  each nation, the nats-server, the PostgreSQL server (its postmaster and children, exited
  children included) — beside the wall time and the number of cores: a group near
  ``wall × cores`` is the bottleneck.
- :class:`PgWaits`: a thread sampling ``pg_stat_activity`` every 50 ms; for the backends of the
  given databases, how often each was running (``CPU``), waiting on a lock (``Lock:advisory``,
  ``Lock:transactionid``…), on the WAL (``IO:WALSync``…) or on its client (``Client:ClientRead``:
  the worker, not the database, is busy).
- :class:`Spy` (``bench/scale.py --py-spy DIR``; ``pip install py-spy``, which needs ptrace):
  the functions and modules the sampled workers spent their CPU in.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int, children: bool = False) -> float:
    """CPU seconds of ``pid`` (with its reaped children's, if asked); 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / _TICK


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent:
            found.append(int(entry.name))
    return found


def postmaster_pid(pgdata: str | Path) -> int | None:
    try:
        return int(Path(pgdata, "postmaster.pid").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None


class CpuMeter:
    """CPU seconds per named group of processes over an interval (module docstring)."""

    def __init__(self, groups: dict[str, Iterable[int]], postmaster: int | None) -> None:
        self.groups = {name: list(pids) for name, pids in groups.items()}
        self.postmaster = postmaster
        self._start: dict[str, float] = {}
        self._wall = 0.0

    def _read(self) -> dict[str, float]:
        out = {name: sum(_cpu(p) for p in pids) for name, pids in self.groups.items()}
        if self.postmaster is not None:
            pm = self.postmaster
            out["postgres"] = _cpu(pm, children=True) + sum(_cpu(c) for c in _children(pm))
        return out

    def start(self) -> None:
        self._start = self._read()
        self._wall = time.perf_counter()

    def stop(self) -> dict[str, Any]:
        end = self._read()
        wall = time.perf_counter() - self._wall
        used = {k: round(end[k] - self._start.get(k, 0.0), 2) for k in end}
        return {"wall_s": round(wall, 2), "cores": os.cpu_count(), "cpu_s": used,
                "cpu_share": {k: round(v / (wall * (os.cpu_count() or 1)), 2)
                              for k, v in used.items()}}  # fmt: skip


class PgWaits(threading.Thread):
    """Samples of what the backends of ``databases`` were doing (module docstring)."""

    def __init__(self, dsn: str, databases: Iterable[str], every: float = 0.05) -> None:
        super().__init__(name="pg-waits", daemon=True)
        self.dsn = dsn
        self.databases = list(databases)
        self.every = every
        self.samples = 0
        self.states: Counter[str] = Counter()
        self._halt = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self._halt.wait(self.every):
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = ANY(%s) AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'",
                    (self.databases,),
                ).fetchall()
                self.samples += 1
                for state, kind, event in rows:
                    if state == "idle":
                        self.states["idle"] += 1
                    elif kind is None:
                        self.states["CPU"] += 1
                    else:
                        self.states[f"{kind}:{event}"] += 1

    def stop(self) -> dict[str, Any]:
        self._halt.set()
        self.join(timeout=5)
        busy = sum(n for k, n in self.states.items() if k != "idle")
        return {
            "samples": self.samples,
            "busy_backends_avg": round(busy / self.samples, 2) if self.samples else 0.0,
            "top": dict(self.states.most_common(8)),
        }


def py_spy() -> str | None:
    """The py-spy binary beside this Python, or on PATH (``pip install py-spy``), or None."""

    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


class Spy:
    """py-spy sampling the given processes (on-CPU stacks, 100 Hz) until :meth:`stop`; then the
    functions they spent their CPU in (self time, as a share of each process's samples)."""

    def __init__(self, binary: str, out: Path, pids: dict[str, int]) -> None:

        out.mkdir(parents=True, exist_ok=True)
        self.files = {name: out / f"{name.replace(' ', '-')}.txt" for name in pids}
        self.procs = [
            subprocess.Popen(
                [
                    binary,
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    "100",
                    "--format",
                    "raw",
                    "--nonblocking",
                    "-o",
                    str(self.files[name]),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, pid in pids.items()
        ]

    def stop(self, top: int = 12) -> dict[str, Any]:

        for proc in self.procs:
            proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        return {name: _hot(path, top) for name, path in self.files.items()}


def _hot(path: Path, top: int) -> dict[str, Any]:
    """Self time per function and time per module (inclusive) from py-spy's raw output."""
    leaf: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {"error": "no py-spy output"}
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        leaf[frames[-1]] += n
        for module in {_module(f) for f in frames}:
            inclusive[module] += n
    if not total:
        return {"samples": 0}
    return {
        "samples": total,
        "self": {f: round(n / total, 3) for f, n in leaf.most_common(top)},
        "modules": {m: round(n / total, 3) for m, n in inclusive.most_common(top) if m},
    }


def _module(frame: str) -> str:
    """``gsomia/streaming``, ``psycopg`` or ``asyncio`` of a py-spy frame ``fn (path:line)``
    (py-spy names files relative to their ``sys.path`` entry)."""
    path = frame.rpartition("(")[2].rpartition(":")[0]
    parts = path.split("/")
    if parts[0] == "gsomia" and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0].removesuffix(".py") if len(parts) > 1 or path.endswith(".py") else ""
