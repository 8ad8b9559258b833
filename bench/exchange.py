"""Durable releases node to node, audited on both sides (issue 4 §4; PRODUCT.md §7).

Starts a KOR and a JPN node as real processes (SQLite, HTTP channel, REST API) in a temporary
directory, releases ``--items`` items of 1 KiB from KOR to JPN through KOR's REST API from
``--clients`` concurrent clients, and waits until every delivery is receipted.  Each item is
decided, sealed, committed with its audit record, delivered, verified, accepted, re-marked,
stored, audited and receipted, and the receipt verified and audited at KOR.

Figures, from the nodes' own audit logs once both are stopped:

- ``items_per_s``: items released ÷ (last receipt recorded at KOR − first release committed);
- ``p50_ms``, ``p99_ms``: per item, release committed → its receipt recorded at KOR;
- ``lost``: released but never accepted by JPN; ``duplicated``: accepted more than once;
- ``resent``: deliveries JPN recognised as duplicates (a retry that crossed the receipt), refused
  and audited, never stored twice: they cost time, not correctness;
- ``audit_verified``: both audit logs verify (RFC 9162 roots recomputed);
- ``cpu_ms_per_item``: CPU time (user + system, ``/proc``) each node process used from the first
  release to settlement, per item: where the time goes, and which node bounds the throughput
  (2,000 items/s on two cores leaves 1 ms for both together); ``clients`` is this benchmark's
  own process (the client threads building requests and reading answers, and the settlement
  poll), which shares the same two cores.

``--batch N`` releases N items per call of ``POST /v1/items/batch`` (one commit holds them all);
``--batch 1`` one per call of ``POST /v1/items``.  ``--api-workers N`` (default 1) runs KOR with N
API worker processes (``gsomia node serve --api-workers``, ADR 0021) and spreads the clients over
them; ``0`` sends them to the serving process itself.  KOR's CPU figure adds its workers'.  Defaults: 2,000 items from 4 clients in
batches of 100.  Target (PRODUCT.md §7): ≥ 2,000 items/s on this 2-core machine, nothing lost.
Usage::

    .venv/bin/python bench/exchange.py [--items 2000] [--clients 4] [--batch 100]
                                       [--api-workers 1] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/: _profile, as tracks.py does

from _profile import CpuMeter
from gsomia.audit.records import AuditKind
from gsomia.runtime.client import ApiError
from gsomia.runtime.cluster import LocalCluster
from gsomia.runtime.scenario import OFFICIALS, missile_label

PAYLOAD = "x" * 1024
POLL = 0.25


def _bodies(n: int) -> list[dict[str, Any]]:
    label = missile_label("KOR", "군사II급비밀", datetime.now(UTC))
    return [
        {
            "label": label,
            "text": f"{i:06d}" + PAYLOAD[6:],
            "topic": "NK-MISSILE",
            "purpose": "early warning of North Korean missile launches",
            "recipients": ["JPN"],
        }
        for i in range(n)
    ]


def _release(
    cluster: LocalCluster,
    bodies: list[dict[str, Any]],
    batch: int,
    errors: list[str],
    worker: int | None,
) -> None:
    client = cluster.nodes["KOR"].client("kor-release-1", worker=worker)
    for start in range(0, len(bodies), batch):
        chunk = bodies[start : start + batch]
        try:
            if batch == 1:
                client.json("POST", "/v1/items", body=chunk[0])
            else:
                client.json("POST", "/v1/items/batch", body={"items": chunk})
        except ApiError as err:
            errors.append(err.code)


def _wait_settled(cluster: LocalCluster, timeout: float) -> bool:
    """Wait until KOR's outbox has nothing pending, asking every :data:`POLL` s: the figures come
    from the audit logs, so a slower poll only spares the node under test the polling's load."""
    client = cluster.nodes["KOR"].client()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = client.json("GET", "/v1/outbox", params={"state": "pending", "limit": 1})
        if not page["items"]:
            return True
        time.sleep(POLL)
    return False


def _worker_pids(parent: int) -> list[int]:
    """The API worker processes of a serving node: its children (``/proc``)."""
    children = Path(f"/proc/{parent}/task/{parent}/children")
    with contextlib.suppress(OSError):
        return [int(pid) for pid in children.read_text().split()]
    return []


def _pid(cluster: LocalCluster, party: str) -> int:
    process = cluster.nodes[party].process
    assert process is not None, f"{party} is not running"
    return process.pid


def run(items: int, clients: int, batch: int, api_workers: int = 1) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gsomia-bench-") as tmp:
        cluster = LocalCluster(Path(tmp), ("KOR", "JPN"), api_workers=api_workers)
        cluster.create(datetime.now(UTC) - timedelta(days=1))
        cluster.start()
        try:
            cluster.enrol({p: OFFICIALS[p] for p in ("KOR", "JPN")})
            bodies = _bodies(items)
            errors: list[str] = []
            shares = [bodies[i::clients] for i in range(clients)]
            threads = [  # the clients spread over KOR's API workers, if any (ADR 0021)
                threading.Thread(
                    target=_release,
                    args=(cluster, share, batch, errors, i % api_workers if api_workers else None),
                )
                for i, share in enumerate(shares)
            ]
            groups = {p: [_pid(cluster, p)] for p in ("KOR", "JPN")}
            groups["KOR"] += _worker_pids(_pid(cluster, "KOR"))
            meter = CpuMeter(groups, None)
            meter.start()
            started = time.perf_counter()
            own = time.process_time()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            settled = _wait_settled(cluster, timeout=600)
            wall = time.perf_counter() - started
            cpu = meter.stop()["cpu_s"]
            cpu["clients"] = time.process_time() - own
        finally:
            cluster.stop()
        kor, jpn = cluster.tally("KOR"), cluster.tally("JPN")
    released_at = {
        r.subject: r.at
        for r in kor.records
        if r.kind is AuditKind.RELEASE and r.decision == "allow"
    }
    receipted_at = {r.subject: r.at for r in kor.records if r.kind is AuditKind.RECEIPT}
    latencies = sorted(
        (receipted_at[i] - t).total_seconds() * 1000
        for i, t in released_at.items()
        if i in receipted_at
    )
    span = (max(receipted_at.values()) - min(released_at.values())).total_seconds()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "items": items,
        "clients": clients,
        "batch": batch,
        "api_workers": api_workers,
        "released": len(released_at),
        "items_per_s": round(len(receipted_at) / span, 1) if span > 0 else None,
        "wall_s": round(wall, 2),
        "p50_ms": round(q[49], 2),
        "p99_ms": round(q[98], 2),
        "lost": sum(1 for i in released_at if jpn.accepted[i] == 0),
        "duplicated": sum(n - 1 for n in jpn.accepted.values() if n > 1),
        "resent": sum(1 for r in jpn.records if r.decision == "duplicate"),
        "refused_calls": len(errors),
        "settled": settled,
        "audit_verified": {"KOR": kor.audit_ok, "JPN": jpn.audit_ok},
        "cpu_ms_per_item": {p: round(cpu[p] * 1000 / items, 3) for p in ("KOR", "JPN", "clients")},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=100, help="items per API call (1: one by one)")
    parser.add_argument(
        "--api-workers",
        type=int,
        default=1,
        help="KOR's API worker processes, the clients spread over them (0: the serving process "
        "takes the releases itself; default 1, ADR 0021)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.items, args.clients, args.batch, args.api_workers)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['released']} items KOR → JPN: {result['items_per_s']} items/s, "
            f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, lost {result['lost']}, "
            f"duplicated {result['duplicated']}, audit verified {result['audit_verified']}"
        )
    ok = (
        result["lost"] == 0 and result["duplicated"] == 0 and all(result["audit_verified"].values())
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
