"""Scale-out: releases/s with 1, 2 and 4 worker processes on PostgreSQL + JetStream (issue 7 §3).

Runs, in one go, the embedded default (bench/exchange.py: SQLite + HTTP, one process per node)
and the scale-out deployment: one private PostgreSQL (tests/private_postgres.py) and one private
NATS JetStream server (tests/private_nats.py, one account per nation, ADR 0010).  For each N in
``--workers`` (default 1, 2, 4) KOR runs one ``gsomia node serve --config`` process over NATS and
JPN runs N worker processes sharing one PostgreSQL schema (ADR 0008: the audit log's writer lock
is the single sequencer) and one JetStream durable consumer (JetStream hands each message to one
worker), as docs/operations.md "several workers per node" describes.  ``--items`` items of
1 KiB are released KOR → JPN through KOR's REST API from ``--clients`` clients in batches of
``--batch``; each is decided, sealed, committed with its audit record, delivered over JetStream,
verified, accepted, stored, audited and receipted by one JPN worker, and the receipt verified and
audited at KOR.

Figures per run, computed as bench/exchange.py does, from the nodes' own audit records (KOR's
SQLite log, JPN's PostgreSQL log): ``items_per_s`` (receipts ÷ first release → last receipt),
``p50_ms``/``p99_ms`` (release committed → receipt recorded at KOR), ``lost`` (released, never
accepted by JPN), ``duplicated`` (accepted more than once), ``audit_verified`` (both logs).
Track deliveries/s over the workers are not measured here (bench/tracks.py covers one process).

Usage::

    .venv/bin/python bench/scale.py [--items 1000] [--workers 1,2,4] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
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

from tests.integration.test_nats_serve import ConfigCluster, serve_file
from tests.integration.test_nats_workers import postgres_node, spawn_worker
from tests.private_nats import PrivateNats, free_port
from tests.private_postgres import PrivatePostgres

import exchange  # bench/exchange.py: the embedded default and the release clients
from gsomia.adapters.postgres_store import PostgresStore
from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.runtime.scenario import OFFICIALS


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


def scaleout(
    nats: PrivateNats, postgres: PrivatePostgres, workers: int, items: int, clients: int, batch: int
) -> dict[str, Any]:
    """One run: KOR on SQLite + NATS, JPN as ``workers`` processes on PostgreSQL + JetStream."""
    dsn = postgres.new_database(f"scale{workers}")
    with tempfile.TemporaryDirectory(prefix="gsomia-scale-") as tmp:
        cluster = ConfigCluster(Path(tmp), ("KOR", "JPN"))
        cluster.create(datetime.now(UTC) - timedelta(days=1))
        for party, node in cluster.nodes.items():
            serve_file(node.data, nats, party)
        passphrase = cluster.passphrase_file.read_bytes().strip()
        cluster.nodes["JPN"].tokens["officer"] = postgres_node(
            cluster.nodes["JPN"].data, dsn, passphrase
        )
        cluster.start()
        extra = []
        try:
            cluster.enrol({p: OFFICIALS[p] for p in ("KOR", "JPN")})
            extra = [spawn_worker(cluster, "JPN", free_port()) for _ in range(workers - 1)]
            bodies = exchange._bodies(items)
            errors: list[str] = []
            threads = [
                threading.Thread(
                    target=exchange._release, args=(cluster, bodies[i::clients], batch, errors)
                )
                for i in range(clients)
            ]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            settled = cluster.wait_settled("KOR", timeout=600)
            wall = time.perf_counter() - started
        finally:
            for process in extra:
                process.terminate()
            for process in extra:
                process.wait(timeout=30)
            cluster.stop()
        kor = cluster.tally("KOR")
    store = PostgresStore(dsn, schema="gsomia_jpn")
    try:
        with store.read() as reader:
            jpn = [reader.audit_entry(i) for i in range(reader.audit_size())]
        jpn_ok = store.verify_audit().ok
    finally:
        store.close()
    result = figures(kor.records, jpn, items, wall)
    result.update(
        workers=workers,
        refused_calls=len(errors),
        settled=settled,
        audit_verified={"KOR": kor.audit_ok, "JPN": jpn_ok},
    )
    return result


def run(items: int, workers: list[int], clients: int, batch: int) -> dict[str, Any]:
    embedded = exchange.run(items, clients, batch)
    nats = PrivateNats.start()
    try:
        postgres = PrivatePostgres.start()
        try:
            runs = {str(n): scaleout(nats, postgres, n, items, clients, batch) for n in workers}
        finally:
            postgres.stop()
    finally:
        nats.stop()
    return {"items": items, "clients": clients, "batch": batch, "embedded": embedded,
            "scaleout": runs}  # fmt: skip


def _ok(result: dict[str, Any]) -> bool:
    return (
        result["lost"] == 0
        and result["duplicated"] == 0
        and bool(result["settled"])
        and all(result["audit_verified"].values())
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4", help="JPN worker counts, comma-separated")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=50, help="items per API call")
    parser.add_argument("--quick", action="store_true", help="300 items (under a minute)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    items = 300 if args.quick else args.items
    workers = [int(n) for n in args.workers.split(",")]
    result = run(items, workers, args.clients, args.batch)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, r in [("embedded", result["embedded"])] + [
            (f"{n} worker(s)", r) for n, r in result["scaleout"].items()
        ]:
            print(
                f"{name}: {r['released']} items KOR → JPN, {r['items_per_s']} items/s, "
                f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, lost {r['lost']}, "
                f"duplicated {r['duplicated']}"
            )
    runs = [result["embedded"], *result["scaleout"].values()]
    return 0 if all(_ok(r) for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
