"""Benchmark the durable audit log against pymerkle, in one run.

    python bench/audit.py [--json] [--entries N] [--batch B] [--peer-entries M]

Ours (``gsomia.adapters.sqlite_audit``, WAL + synchronous=FULL, one transaction per batch):
durable appends per second while filling a log of N entries (default 1,000,000), inclusion proof
p50 against the full tree, time to reopen (rebuild the tree from stored leaf hashes), and time to
verify the whole log from its entries.

Peer (pymerkle, same entries, same SHA-256 RFC 9162 hashing): in-memory appends per second, its
SQLite backend with one commit per entry and with one bulk transaction, and its inclusion proof
p50.  The roots of both are compared as a sanity check.

Targets (PRODUCT.md §7): >= 50,000 durable appends/s batched; verify 1M entries <= 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.audit.merkle import MerkleTree, verify_inclusion
from gsomia.audit.records import AuditKind, AuditRecord

_PROOFS = 2000


def make_entries(count: int) -> list[bytes]:
    """``count`` realistic entries: canonical audit records differing in subject and reason."""
    template = AuditRecord(
        kind=AuditKind.RELEASE,
        at=datetime(2024, 5, 1, 3, 0, tzinfo=UTC),
        actor="KOR-official-0042",
        subject="item-XXXXXXXX",
        decision="allow",
        reasons=("IN_FORCE", "RELEASABLE_TO_PARTY", "CLEARANCE_SUFFICIENT"),
        agreement="ROK-JPN-GSOMIA-2016",
        table_version=3,
        detail={"to": "JPN", "level": "SECRET", "topic": "NK-MISSILE", "bytes": 1024},
    ).to_bytes()
    head, tail = template.split(b"XXXXXXXX")
    return [b"%s%08d%s" % (head, i, tail) for i in range(count)]


def p50_us(samples_ns: list[int]) -> float:
    return round(statistics.median(samples_ns) / 1000, 2)


def time_proofs(prove: Callable[[int], object], size: int, rng: random.Random) -> float:
    samples = []
    for _ in range(_PROOFS):
        index = rng.randrange(size)
        t0 = time.perf_counter_ns()
        prove(index)
        samples.append(time.perf_counter_ns() - t0)
    return p50_us(samples)


def bench_ours(entries: list[bytes], batch: int, workdir: Path) -> dict[str, Any]:
    path = workdir / "ours.db"
    log = SqliteAuditLog(path)
    t0 = time.perf_counter()
    for start in range(0, len(entries), batch):
        log.append_batch(entries[start : start + batch])
    append_s = time.perf_counter() - t0
    size = log.size()
    rng = random.Random(9162)
    proof_p50 = time_proofs(lambda i: log.inclusion_proof(i, size), size, rng)
    # the proofs verify (outside the timing)
    index = rng.randrange(size)
    assert verify_inclusion(
        entries[index], index, size, log.inclusion_proof(index, size), log.root()
    )
    root = log.root()
    log.close()

    t0 = time.perf_counter()
    log = SqliteAuditLog(path)
    open_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = log.verify()
    verify_s = time.perf_counter() - t0
    log.close()
    assert result.ok, result.problems
    assert result.root == root
    return {
        "entries": size,
        "batch_size": batch,
        "entry_bytes": len(entries[0]),
        "durable_appends_per_s": round(size / append_s),
        "inclusion_proof_p50_us": proof_p50,
        "open_s": round(open_s, 3),
        "verify_1m_s": round(verify_s, 3),
        "verify_entries_per_s": round(size / verify_s),
        "root": root.hex(),
        "file_mb": round(path.stat().st_size / 1e6, 1),
    }


def bench_pymerkle(entries: list[bytes], workdir: Path) -> dict[str, Any]:
    import pymerkle  # type: ignore[import-untyped]  # noqa: PLC0415 - optional peer

    out: dict[str, Any] = {"version": pymerkle.__version__, "entries": len(entries)}
    tree = pymerkle.InmemoryTree(algorithm="sha256")
    t0 = time.perf_counter()
    for entry in entries:
        tree.append_entry(entry)
    out["appends_per_s"] = round(len(entries) / (time.perf_counter() - t0))
    size = tree.get_size()
    rng = random.Random(9162)
    out["inclusion_proof_p50_us"] = time_proofs(
        lambda i: tree.prove_inclusion(i + 1, size), size, rng
    )
    out["root"] = tree.get_root().hex()
    out["root_matches_ours"] = out["root"] == MerkleTree.from_entries(entries).root().hex()

    single = min(2000, len(entries))
    with pymerkle.SqliteTree(str(workdir / "pymerkle-single.db")) as db_tree:
        t0 = time.perf_counter()
        for entry in entries[:single]:
            db_tree.append_entry(entry)
        out["sqlite_appends_per_s_one_commit_each"] = round(single / (time.perf_counter() - t0))
    bulk = min(200_000, len(entries))
    with pymerkle.SqliteTree(str(workdir / "pymerkle-bulk.db")) as db_tree:
        t0 = time.perf_counter()
        db_tree.append_entries(entries[:bulk])
        out["sqlite_appends_per_s_one_transaction"] = round(bulk / (time.perf_counter() - t0))
        out["sqlite_bulk_entries"] = bulk
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--entries", type=int, default=1_000_000, help="log size (ours)")
    parser.add_argument("--batch", type=int, default=1000, help="entries per transaction")
    parser.add_argument(
        "--peer-entries", type=int, default=200_000, help="pymerkle in-memory appends"
    )
    parser.add_argument("--no-peer", action="store_true", help="skip pymerkle")
    args = parser.parse_args(argv)

    entries = make_entries(max(args.entries, args.peer_entries))
    with tempfile.TemporaryDirectory(prefix="gsomia-bench-audit-") as tmp:
        report: dict[str, Any] = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "ours": bench_ours(entries[: args.entries], args.batch, Path(tmp)),
        }
        if not args.no_peer:
            report["pymerkle"] = bench_pymerkle(entries[: args.peer_entries], Path(tmp))
    report["targets"] = {
        "durable_appends_per_s": 50_000,
        "verify_1m_s": 10.0,
        "met": report["ours"]["durable_appends_per_s"] >= 50_000
        and report["ours"]["verify_1m_s"] * 1_000_000 / report["ours"]["entries"] <= 10.0,
    }
    if args.json:
        print(json.dumps(report))
    else:
        print_table(report)
    return 0


def print_table(report: dict[str, Any]) -> None:
    ours = report["ours"]
    peer = report.get("pymerkle", {})
    rows = [
        ("entries", ours["entries"], peer.get("entries", "-")),
        ("entry size (bytes)", ours["entry_bytes"], ours["entry_bytes"]),
        (
            f"durable appends/s (batch {ours['batch_size']})",
            ours["durable_appends_per_s"],
            peer.get("sqlite_appends_per_s_one_transaction", "-"),
        ),
        (
            "durable appends/s (1 per commit)",
            "-",
            peer.get("sqlite_appends_per_s_one_commit_each", "-"),
        ),
        ("in-memory appends/s", "-", peer.get("appends_per_s", "-")),
        (
            "inclusion proof p50 (µs)",
            ours["inclusion_proof_p50_us"],
            peer.get("inclusion_proof_p50_us", "-"),
        ),
        ("reopen (s)", ours["open_s"], "-"),
        ("verify whole log (s)", ours["verify_1m_s"], "-"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'audit log':<{width}}  {'gsomia':>14}  {'pymerkle':>14}")
    for name, a, b in rows:
        print(f"{name:<{width}}  {a!s:>14}  {b!s:>14}")
    print(f"targets met: {report['targets']['met']}  (≥ 50,000 appends/s, verify 1M ≤ 10 s)")
    if peer:
        print(f"roots match pymerkle: {peer['root_matches_ours']}")


if __name__ == "__main__":
    sys.exit(main())
