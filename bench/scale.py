"""Scale-out: releases/s and track deliveries/s with 1, 2 and 4 workers per node (issue 7 §3).

Runs, in one go, the embedded default (bench/exchange.py: SQLite + HTTP, one process per node;
bench/tracks.py's node for the tracks) and the scale-out deployment: one private PostgreSQL
(tests/private_postgres.py) and one private NATS JetStream server (tests/private_nats.py, one
account per nation, ADR 0010).  For each N in ``--workers`` (default 1, 2, 4) KOR and JPN each
run N ``gsomia node serve --config`` worker processes, each nation on a PostgreSQL database of
its own (ADR 0008: the audit log's writer lock is the single sequencer) and on its own JetStream
account (ADR 0010: one durable consumer shared by the nation's workers; ADR 0013: one track
stream they all publish to and all consume), as docs/operations.md "several workers per node"
describes.

*Releases.*  ``--items`` items of 1 KiB are released KOR → JPN from ``--clients`` clients spread
over KOR's workers' REST APIs, in batches of ``--batch``; each is decided, sealed, committed with
its audit record, delivered over JetStream, verified, accepted, stored, audited and receipted by
one JPN worker, and the receipt verified and audited at one KOR worker.  Figures, as
bench/exchange.py computes them, from the nodes' own audit logs: ``items_per_s`` (receipts ÷
first release → last receipt), ``p50_ms``/``p99_ms`` (release committed → receipt recorded),
``lost`` (released, never accepted by JPN), ``duplicated`` (accepted more than once),
``audit_verified`` (both logs).

*Tracks.*  One KOR radar connection feeds KOR's first worker over CoT TCP (bench/_cotload.py: 8
labelled tracks), and ``--track-clients`` watch officers' CoT clients are spread round robin over
KOR's workers, so most deliveries cross JetStream.  ``track_p50_ms``/``track_p99_ms``: sensor
write → client read at ``--track-rate`` messages/s; ``track_deliveries_per_s``: a flood of
``--track-flood`` messages; ``track_lost``/``track_duplicated``/``track_reordered`` over both.

*Profile.*  ``profile`` gives, per phase, the CPU seconds each group of processes used (KOR
workers, JPN workers, nats-server, PostgreSQL) against wall × cores, and what PostgreSQL's
backends were doing (bench/_profile.py: ``pg_stat_activity`` sampled every 50 ms); with
``--py-spy DIR``, where the first workers spent their CPU; after the tracks, each KOR worker's
``GET /v1/tracks/stats`` (accepted, refused by code — ``COT_CLIENT_TOO_SLOW`` is a client cut
off — and published into its hub).

Usage::

    .venv/bin/python bench/scale.py [--items 1000] [--workers 1,2,4] [--quick] [--json]
                                    [--py-spy DIR]   # pip install py-spy: where workers spend CPU
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from psycopg.conninfo import conninfo_to_dict
from tests.integration.test_nats_serve import ConfigCluster, serve_file
from tests.integration.test_nats_workers import spawn_worker
from tests.private_nats import PrivateNats, free_port
from tests.private_postgres import PrivatePostgres

import exchange  # bench/exchange.py: the embedded default and the release clients
import tracks as tracks_bench  # bench/tracks.py: the embedded node for the tracks
from _cotload import Target, flood, messages, paced, plain
from _profile import CpuMeter, PgWaits, Spy, postmaster_pid, py_spy
from gsomia.adapters.clock import SystemClock
from gsomia.adapters.keystore_files import load_keys
from gsomia.adapters.postgres_store import PostgresStore
from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.catalog import builtin_registry
from gsomia.envelope import TrustStore
from gsomia.node import Node
from gsomia.runtime.client import ApiClient, ApiError
from gsomia.runtime.config import KEYS_DIR, RUN_FILE
from gsomia.runtime.scenario import OFFICIALS, _official
from gsomia.runtime.setup import default_officer
from gsomia.testing import InMemoryNetwork

PARTIES = ("KOR", "JPN")
SENSOR, WATCH = "kor-radar-bench", "kor-watch-bench"


def figures(
    kor: list[AuditRecord], jpn: list[AuditRecord], items: int, wall: float
) -> dict[str, Any]:
    """bench/exchange.py's figures from KOR's and JPN's audit records."""
    released_at = {
        r.subject: r.at for r in kor if r.kind is AuditKind.RELEASE and r.decision == "allow"
    }
    receipted_at = {r.subject: r.at for r in kor if r.kind is AuditKind.RECEIPT}
    accepted = Counter(r.subject for r in jpn if r.kind is AuditKind.ACCEPT)
    latencies = sorted(
        (receipted_at[i] - t).total_seconds() * 1000
        for i, t in released_at.items()
        if i in receipted_at
    )
    span = (
        (max(receipted_at.values()) - min(released_at.values())).total_seconds()
        if receipted_at and released_at
        else 0.0
    )
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "items": items,
        "released": len(released_at),
        "items_per_s": round(len(receipted_at) / span, 1) if span > 0 else None,
        "wall_s": round(wall, 2),
        "p50_ms": round(q[49], 2),
        "p99_ms": round(q[98], 2),
        "lost": sum(1 for i in released_at if accepted[i] == 0),
        "duplicated": sum(n - 1 for n in accepted.values() if n > 1),
    }


def _schema(party: str) -> str:
    return f"gsomia_{party.lower()}"


def postgres_node(data: Path, dsn: str, party: str, passphrase: bytes) -> str:
    """Point ``party``'s serve file at its PostgreSQL database and enrol its first officer
    there (tests/integration/test_nats_workers.py's, for either nation); the token."""
    path = data / "serve.toml"
    path.write_text(path.read_text(encoding="utf-8") + f'\n[store]\nkind = "postgres"\n'
                    f'dsn = "{dsn}"\nschema = "{_schema(party)}"\n', encoding="utf-8")  # fmt: skip
    keys = load_keys(data / KEYS_DIR, passphrase)
    store = PostgresStore(dsn, schema=_schema(party))
    try:
        node = Node(party, builtin_registry(), store, InMemoryNetwork().channel(party), keys,
                    TrustStore(), SystemClock())  # fmt: skip
        return node.bootstrap(default_officer(party))
    finally:
        store.close()


def _audit(dsn: str, party: str) -> tuple[list[AuditRecord], bool]:
    store = PostgresStore(dsn, schema=_schema(party))
    try:
        with store.read() as reader:
            records = [reader.audit_entry(i) for i in range(reader.audit_size())]
        return records, store.verify_audit().ok
    finally:
        store.close()


def _run_info(data: Path) -> dict[str, Any]:
    """The ``run/node.json`` of the worker that wrote it last: API URL and CoT ports."""
    info = json.loads((data / RUN_FILE).read_text(encoding="utf-8"))
    info["cot_ports"] = {c["official"]: int(c["port"]) for c in info["cot"]}
    return dict(info)


def _release(url: str, token: str, bodies: list[dict[str, Any]], batch: int,
             errors: list[str]) -> None:  # fmt: skip
    client = ApiClient(url, token)
    for start in range(0, len(bodies), batch):
        chunk = bodies[start : start + batch]
        try:
            client.json("POST", "/v1/items/batch", body={"items": chunk})
        except ApiError as err:
            errors.append(err.code)


def round_robin(ports: list[int]) -> Any:
    """A CoT opener that connects each new client to the next worker in turn."""
    turn = [0]

    async def open_() -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        port = ports[turn[0] % len(ports)]
        turn[0] += 1
        return await plain("127.0.0.1", port)()

    return open_


def track_figures(target: Target, clients: int, count: int, rate: float,
                  flood_n: int) -> dict[str, Any]:  # fmt: skip
    """Paced latency and flood throughput of the CoT fan-out at ``target``."""
    steady = asyncio.run(paced(target, messages(count), clients, rate))
    burst = asyncio.run(flood(target, messages(flood_n), clients))
    return {
        "track_deliveries_per_s": burst["deliveries_per_s"],
        "track_p50_ms": steady["p50_ms"],
        "track_p99_ms": steady["p99_ms"],
        "track_lost": steady["lost"] + burst["lost"],
        "track_duplicated": steady["duplicated"] + burst["duplicated"],
        "track_reordered": steady["reordered"] + burst["reordered"],
        "tracks": {"paced": steady, "flood": burst},
    }


def embedded_tracks(clients: int, count: int, rate: float, flood_n: int) -> dict[str, Any]:
    """The same track measurement on one embedded node (bench/tracks.py's)."""
    with tracks_bench.our_node() as target:
        return track_figures(target, clients, count, rate, flood_n)


def _spy(args: argparse.Namespace, phase: str, pids: dict[str, int]) -> Spy | None:
    binary = py_spy() if args.py_spy else None
    return None if binary is None else Spy(binary, Path(args.py_spy) / phase, pids)


def scaleout(
    nats: PrivateNats, postgres: PrivatePostgres, workers: int, args: argparse.Namespace
) -> dict[str, Any]:
    """One run: KOR and JPN each as ``workers`` processes on PostgreSQL + JetStream."""
    dsns = {p: postgres.new_database(f"scale{p.lower()}{workers}") for p in PARTIES}
    with tempfile.TemporaryDirectory(prefix="gsomia-scale-") as tmp:
        cluster = ConfigCluster(Path(tmp), PARTIES)
        cluster.create(datetime.now(UTC) - timedelta(days=1))
        kor_data = cluster.nodes["KOR"].data
        for official in (SENSOR, WATCH):  # the operator's commands (docs/operations.md)
            subprocess.run(
                [sys.executable, "-m", "gsomia.cli.main", "node", "cot", "listen", "--data",
                 str(kor_data), "--port", "0", "--official", official, "--json"],
                check=True, capture_output=True,
            )  # fmt: skip
        for party, node in cluster.nodes.items():
            serve_file(node.data, nats, party)
        passphrase = cluster.passphrase_file.read_bytes().strip()
        for party, node in cluster.nodes.items():
            node.tokens["officer"] = postgres_node(node.data, dsns[party], party, passphrase)
        cluster.start()
        extra: list[subprocess.Popen[bytes]] = []
        try:
            cluster.enrol({
                "KOR": [*OFFICIALS["KOR"],
                        _official(SENSOR, "KOR", "군사II급비밀", ("NK-MISSILE",), "sensor_feed"),
                        _official(WATCH, "KOR", "군사II급비밀", ("NK-MISSILE",), "reader")],
                "JPN": OFFICIALS["JPN"],
            })  # fmt: skip
            kor = [_run_info(kor_data)]
            pids: dict[str, list[int]] = {
                p: [n.process.pid] for p, n in cluster.nodes.items() if n.process is not None
            }
            for _ in range(workers - 1):
                for party in PARTIES:
                    process = spawn_worker(cluster, party, free_port())
                    extra.append(process)
                    pids[party].append(process.pid)
                    if party == "KOR":
                        kor.append(_run_info(kor_data))
            server = nats.servers[0].process
            groups = {"KOR workers": pids["KOR"], "JPN workers": pids["JPN"],
                      "nats-server": [server.pid] if server is not None else [],
                      "bench (load)": [os.getpid()]}  # fmt: skip
            postmaster = postmaster_pid(postgres.server.pgdata)

            # releases, clients spread over KOR's workers
            token = cluster.nodes["KOR"].tokens["kor-release-1"]
            bodies = exchange._bodies(args.items)
            errors: list[str] = []
            threads = [
                threading.Thread(
                    target=_release,
                    args=(
                        kor[i % len(kor)]["api"],
                        token,
                        bodies[i :: args.clients],
                        args.batch,
                        errors,
                    ),
                )
                for i in range(args.clients)
            ]
            meter = CpuMeter(groups, postmaster)
            waits = PgWaits(postgres.dsn, [conninfo_to_dict(d)["dbname"] for d in dsns.values()])
            spy = _spy(args, f"{workers}w-releases", {"KOR worker 1": pids["KOR"][0],
                                                       "JPN worker 1": pids["JPN"][0]})  # fmt: skip
            meter.start()
            waits.start()
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            settled = cluster.wait_settled("KOR", timeout=600)
            wall = time.perf_counter() - started
            profile = {"releases": {**meter.stop(), "postgres_backends": waits.stop()}}
            if spy is not None:
                profile["releases"]["py_spy"] = spy.stop()

            # tracks: the radar at the first KOR worker, the watch clients over all of them
            target = Target(
                "scale-out",
                sensor=plain("127.0.0.1", kor[0]["cot_ports"][SENSOR]),
                client=round_robin([k["cot_ports"][WATCH] for k in kor]),
            )
            meter = CpuMeter(groups, postmaster)
            spy = _spy(args, f"{workers}w-tracks", {"KOR worker 1 (sensor)": pids["KOR"][0],
                                                     "KOR worker N": pids["KOR"][-1]})  # fmt: skip
            meter.start()
            track = track_figures(target, args.track_clients, args.track_count,
                                  args.track_rate, args.track_flood)  # fmt: skip
            profile["tracks"] = meter.stop()
            officer = cluster.nodes["KOR"].tokens["officer"]
            profile["tracks"]["workers"] = [  # accepted, refused by code, published: per worker
                ApiClient(k["api"], officer).json("GET", "/v1/tracks/stats") for k in kor
            ]
            if spy is not None:
                profile["tracks"]["py_spy"] = spy.stop()
        finally:
            for process in extra:
                process.terminate()
            for process in extra:
                process.wait(timeout=30)
            cluster.stop()
    kor_records, kor_ok = _audit(dsns["KOR"], "KOR")
    jpn_records, jpn_ok = _audit(dsns["JPN"], "JPN")
    result = figures(kor_records, jpn_records, args.items, wall)
    result.update(
        workers=workers,
        refused_calls=len(errors),
        settled=settled,
        audit_verified={"KOR": kor_ok, "JPN": jpn_ok},
        **track,
        profile=profile,
    )
    return result


def run(args: argparse.Namespace, workers: list[int]) -> dict[str, Any]:
    embedded = exchange.run(args.items, args.clients, args.batch)
    embedded.update(embedded_tracks(args.track_clients, args.track_count, args.track_rate,
                                    args.track_flood))  # fmt: skip
    nats = PrivateNats.start()
    try:
        postgres = PrivatePostgres.start()
        try:
            runs = {str(n): scaleout(nats, postgres, n, args) for n in workers}
        finally:
            postgres.stop()
    finally:
        nats.stop()
    return {"items": args.items, "clients": args.clients, "batch": args.batch,
            "track_clients": args.track_clients, "embedded": embedded,
            "scaleout": runs}  # fmt: skip


def _ok(result: dict[str, Any]) -> bool:
    return (
        result["lost"] == 0
        and result["duplicated"] == 0
        and bool(result["settled"])
        and all(result["audit_verified"].values())
        and result["track_lost"] == 0
        and result["track_duplicated"] == 0
        and result["track_reordered"] == 0
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4", help="JPN worker counts, comma-separated")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50, help="items per API call")
    parser.add_argument("--track-clients", type=int, default=8, help="CoT clients, all workers")
    parser.add_argument("--track-rate", type=float, default=200.0, help="paced messages/s")
    parser.add_argument("--track-count", type=int, default=2000, help="paced messages")
    parser.add_argument("--track-flood", type=int, default=10_000, help="flood messages")
    parser.add_argument("--quick", action="store_true",
                        help="300 items, 300 paced and 1,000 flood messages")  # fmt: skip
    parser.add_argument("--py-spy", metavar="DIR", help="sample workers with py-spy, keep in DIR")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.items, args.track_count, args.track_flood = 300, 300, 1000
    workers = [int(n) for n in args.workers.split(",")]
    result = run(args, workers)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, r in [("embedded", result["embedded"])] + [
            (f"{n} worker(s)", r) for n, r in result["scaleout"].items()
        ]:
            print(
                f"{name}: {r['released']} items KOR → JPN, {r['items_per_s']} items/s, "
                f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, lost {r['lost']}, "
                f"duplicated {r['duplicated']}; tracks {r['track_deliveries_per_s']} "
                f"deliveries/s, p99 {r['track_p99_ms']} ms, lost {r['track_lost']}"
            )
    runs = [result["embedded"], *result["scaleout"].values()]
    return 0 if all(_ok(r) for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
