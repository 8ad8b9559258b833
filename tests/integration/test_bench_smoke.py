"""Smoke runs of bench/envelope.py and bench/audit.py: they run and print their documented shape.

No wall-clock thresholds: only the shape of the JSON and the correctness flags are checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run_bench(name: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(BENCH / name), "--json", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_envelope_bench_smoke() -> None:
    result = run_bench("envelope.py", "--n", "30", "--peer-n", "3", "--passes", "1")
    for key in ("seal_p50_ms", "open_p50_ms", "seal_open_p50_ms", "seal_open_p50_ms_signed_batch"):
        assert result["ours"][key] > 0
    assert "seal_p50_ms" in result["otdf"] or "error" in result["otdf"]


def test_audit_bench_smoke(tmp_path) -> None:
    result = run_bench("audit.py", "--entries", "5000", "--batch", "500", "--peer-entries", "500")
    ours = result["ours"]
    assert ours["entries"] == 5000
    assert ours["durable_appends_per_s"] > 0
    assert ours["inclusion_proof_p50_us"] > 0
    assert result["pymerkle"]["appends_per_s"] > 0


def test_tracks_bench_smoke() -> None:
    """bench/tracks.py against our node only (taky is installed by the full bench run)."""
    result = run_bench("tracks.py", "--no-taky", "--no-cross-node", "--seconds", "1", "--flood",
                       "500")  # fmt: skip
    ours = result["ours"]
    assert ours["lost"] == 0
    assert ours["flood_deliveries_per_s"] > 0
    assert ours["p99_ms_10x100"] >= ours["p50_ms_10x100"] > 0
    for run in result["runs"]["ours"].values():
        assert run["duplicated"] == 0
        assert run["reordered"] == 0


def test_tracks_cross_node_bench_smoke() -> None:
    """bench/tracks.py cross-node: KOR sensor → JPN clients directly and through the USA hub."""
    result = run_bench("tracks.py", "--cross-node-only", "--seconds", "1")
    cross = result["cross_node"]
    assert cross["direct_p99_ms"] > 0
    assert cross["hub_p99_ms"] > 0
    assert cross["lost"] == 0
    for run in result["runs"]["cross_node"].values():
        assert run["duplicated"] == 0
        assert run["reordered"] == 0


def test_store_queries_bench_smoke() -> None:
    """bench/store_queries.py fills through the store, doubles in SQL and times every query."""
    result = run_bench(
        "store_queries.py", "--items", "3000", "--base", "1000", "--queries", "20", "--store",
        "sqlite",
    )  # fmt: skip
    queries = result["sqlite"]["queries"]
    assert result["sqlite"]["items"] == 3000
    assert {"inbox_page", "ledger_page", "ledger_pending", "due", "receipts"} <= set(queries)


def test_scale_bench_smoke() -> None:
    """bench/scale.py --quick: embedded and 2 workers per node on PostgreSQL + JetStream,
    releases and track deliveries (the full run does 1, 2 and 4)."""
    result = run_bench("scale.py", "--quick", "--workers", "2")
    assert set(result["scaleout"]) == {"2"}
    for run in [result["embedded"], *result["scaleout"].values()]:
        assert {"items_per_s", "p99_ms", "lost", "duplicated"} <= set(run)
        assert run["released"] == result["items"]
        assert run["lost"] == 0
        assert run["duplicated"] == 0
        assert all(run["audit_verified"].values())
        assert run["track_deliveries_per_s"] > 0
        assert run["track_lost"] == run["track_duplicated"] == run["track_reordered"] == 0
    assert result["scaleout"]["2"]["profile"]["releases"]["cpu_s"]["KOR workers"] > 0
