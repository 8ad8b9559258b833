"""Track fan-out, side by side with taky in the same run (issue 5 §4; PRODUCT.md §7).

Starts taky 0.10 (a Python TAK server; it pins Flask 2, so it lives in its own virtual
environment, ``.venv-taky``, made on first use) and a gsomia node on loopback, and drives both with
the same load generator (bench/_cotload.py): one sensor connection and N tactical clients over CoT
TCP (TAK protocol version 0).  Ours runs with its checks on: each event is decoded with the strict
codec under its 4774 label, ingest is by an authenticated ``sensor_feed`` connection, and every
delivery passes the per-client label and Art. 7 decision (cached per client and label).  taky
checks nothing and broadcasts to every client.

Runs: 3 clients x 200 msg/s, 10 clients x 100 msg/s (p50, p99, max, lost) and a flood with 10
clients (deliveries per second, lost).  ``--quick`` shortens each run.

Cross-node (issue 5 §4; ADR 0012): KOR, JPN and USA node processes with partner track links; a
KOR sensor feeds the KOR node over CoT and 3 JPN clients (CoT, ``reader``) receive at the JPN
node, 100 msg/s: ``direct`` over the KOR → JPN link, ``hub`` with KOR configured to send JPN its
tracks through the USA (KOR → USA → JPN, TISA), each hop deciding release, relay and accept, over
the signed-handshake AES-GCM links.  Latency is end to end, sensor write to JPN client read.

Usage::

    .venv/bin/python bench/tracks.py [--quick] [--json] [--no-taky] [--no-cross-node]
                                     [--cross-node-only]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cotload import Target, flood, messages, paced, plain

ROOT = Path(__file__).resolve().parents[1]
TAKY_VENV = ROOT / ".venv-taky"
TAKY_VERSION = "0.10"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


def taky_binary() -> Path:
    """taky's entry point in its own venv, installed from PyPI on first use."""
    exe = TAKY_VENV / "bin" / "taky"
    if not exe.exists():
        print(f"==> installing taky {TAKY_VERSION} into {TAKY_VENV}", file=sys.stderr)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", str(TAKY_VENV)], check=True)
        subprocess.run(
            [str(TAKY_VENV / "bin" / "pip"), "install", "-q", f"taky=={TAKY_VERSION}"],
            check=True,
        )
    return exe


SENSOR, WATCH = "kor-radar-bench", "kor-watch-bench"
JPN_WATCH = "jpn-watch-bench"
CROSS_RATE, CROSS_CLIENTS = 100.0, 3


@contextlib.contextmanager
def our_node() -> Iterator[Target]:
    """A KOR node process with two plain CoT listeners: the sensor's and the watch officers'."""
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from gsomia.runtime.cluster import LocalCluster  # noqa: PLC0415
    from gsomia.runtime.config import RUN_FILE  # noqa: PLC0415
    from gsomia.runtime.scenario import _official  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="gsomia-bench-tracks-") as tmp:
        cluster = LocalCluster(Path(tmp), ("KOR",))
        cluster.create(datetime.now(UTC) - timedelta(days=1))
        data = cluster.nodes["KOR"].data
        for official in (SENSOR, WATCH):
            subprocess.run(
                [sys.executable, "-m", "gsomia.cli.main", "node", "cot", "listen", "--data",
                 str(data), "--port", "0", "--official", official, "--json"],
                check=True, capture_output=True,
            )  # fmt: skip
        cluster.start()
        try:
            cluster.enrol(
                {
                    "KOR": [
                        _official(SENSOR, "KOR", "군사II급비밀", ("NK-MISSILE",), "sensor_feed"),
                        _official(WATCH, "KOR", "군사II급비밀", ("NK-MISSILE",), "reader"),
                    ]
                }
            )
            run = json.loads((data / RUN_FILE).read_text(encoding="utf-8"))
            ports = {c["official"]: int(c["url"].rsplit(":", 1)[1]) for c in run["cot"]}
            yield Target(
                "ours",
                sensor=plain("127.0.0.1", ports[SENSOR]),
                client=plain("127.0.0.1", ports[WATCH]),
            )
        finally:
            cluster.stop()


@contextlib.contextmanager
def partner_nodes(via_hub: bool) -> Iterator[Target]:
    """KOR, JPN and USA node processes with track links; the KOR sensor's and JPN's CoT."""
    from datetime import UTC, datetime, timedelta  # noqa: PLC0415

    from gsomia.runtime.cluster import LocalCluster  # noqa: PLC0415
    from gsomia.runtime.scenario import _official  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="gsomia-bench-links-") as tmp:
        cluster = LocalCluster(Path(tmp), ("KOR", "JPN", "USA"))
        cluster.create(datetime.now(UTC) - timedelta(days=1))
        cluster.wire_tracks({("KOR", "JPN"): "USA"} if via_hub else None)
        cluster.listen_cot("KOR", SENSOR)
        cluster.listen_cot("JPN", JPN_WATCH)
        cluster.start()
        try:
            cluster.enrol(
                {
                    "KOR": [
                        _official(SENSOR, "KOR", "군사II급비밀", ("NK-MISSILE",), "sensor_feed")
                    ],
                    "JPN": [_official(JPN_WATCH, "JPN", "極秘", ("NK-MISSILE",), "reader")],
                }
            )
            ports = {
                p: int(cluster.run_info(p)["cot"][0]["url"].rsplit(":", 1)[1])
                for p in ("KOR", "JPN")
            }
            yield Target(
                "hub" if via_hub else "direct",
                sensor=plain("127.0.0.1", ports["KOR"]),
                client=plain("127.0.0.1", ports["JPN"]),
            )
        finally:
            cluster.stop()


def cross_node(seconds: float) -> dict[str, Any]:
    """KOR sensor → JPN clients, directly and through the USA hub (module docstring)."""
    runs: dict[str, Any] = {}
    for via_hub in (False, True):
        with partner_nodes(via_hub) as target:
            events = messages(int(CROSS_RATE * seconds))
            runs[target.name] = asyncio.run(paced(target, events, CROSS_CLIENTS, CROSS_RATE))
    return runs


@contextlib.contextmanager
def taky_server() -> Iterator[Target]:
    """taky's COT server on a free loopback port (no TLS, in-memory persistence)."""
    exe = taky_binary()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="gsomia-taky-") as tmp:
        conf = Path(tmp) / "taky.conf"
        conf.write_text(
            "[taky]\nhostname = localhost\nnode_id = BENCH\nbind_ip = 127.0.0.1\n"
            f"root_dir = {tmp}\n\n[cot_server]\nport = {port}\n\n[ssl]\nenabled = false\n"
        )
        proc = subprocess.Popen(
            [str(exe), "-c", str(conf), "-l", "error"],
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_port(port)
            opener = plain("127.0.0.1", port)
            yield Target("taky", sensor=opener, client=opener)
        finally:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            if proc.poll() is None:
                proc.kill()


def measure(target: Target, seconds: float, flood_n: int) -> dict[str, Any]:
    """The three runs of the module docstring against ``target``."""
    out: dict[str, Any] = {}
    for clients, rate in ((3, 200.0), (10, 100.0)):
        events = messages(int(rate * seconds))
        out[f"{clients}x{int(rate)}"] = asyncio.run(paced(target, events, clients, rate))
    out["flood_10"] = asyncio.run(flood(target, messages(flood_n), 10))
    return out


def headline(runs: dict[str, Any]) -> dict[str, Any]:
    """The keys the issue asks for, from the runs of :func:`measure`."""
    return {
        "p99_ms_10x100": runs["10x100"]["p99_ms"],
        "p50_ms_10x100": runs["10x100"]["p50_ms"],
        "flood_deliveries_per_s": runs["flood_10"]["deliveries_per_s"],
        "lost": sum(r["lost"] for r in runs.values()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (seconds, not minutes)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-taky", action="store_true", help="measure ours only")
    parser.add_argument("--no-cross-node", action="store_true", help="skip the partner links")
    parser.add_argument(
        "--cross-node-only", action="store_true", help="measure the partner links only"
    )
    parser.add_argument(
        "--seconds", type=float, help="length of each paced run (default 15, quick 3)"
    )
    parser.add_argument(
        "--flood", type=int, help="events in the flood (default 30,000, quick 5,000)"
    )
    args = parser.parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 15.0)
    flood_n = args.flood or (5_000 if args.quick else 30_000)
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count()}}
    runs: dict[str, Any] = {}
    if not args.cross_node_only:
        with our_node() as target:
            runs["ours"] = measure(target, seconds, flood_n)
        result["ours"] = headline(runs["ours"])
    if not args.no_taky and not args.cross_node_only:
        with taky_server() as target:
            runs["taky"] = measure(target, seconds, flood_n)
        result["taky"] = headline(runs["taky"])
    if not args.no_cross_node:
        runs["cross_node"] = cross_node(seconds)
        result["cross_node"] = {
            "direct_p99_ms": runs["cross_node"]["direct"]["p99_ms"],
            "hub_p99_ms": runs["cross_node"]["hub"]["p99_ms"],
            "direct_p50_ms": runs["cross_node"]["direct"]["p50_ms"],
            "hub_p50_ms": runs["cross_node"]["hub"]["p50_ms"],
            "lost": sum(r["lost"] for r in runs["cross_node"].values()),
        }
    result["runs"] = runs
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, r in runs.items():
            for run, fig in r.items():
                print(f"{name:5} {run:8} {json.dumps(fig)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
