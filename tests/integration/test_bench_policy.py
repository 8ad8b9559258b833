"""Smoke test of bench/policy.py: it runs, every engine agrees with ours, the JSON has its shape.

No wall-clock thresholds: the figures depend on the machine; only their shape is checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "policy.py"
ENGINES = ("ours", "cedar", "casbin", "rego")


def test_bench_policy_json_smoke() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--json", "--n", "60", "--passes", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)  # exactly one JSON object on stdout
    assert result["agree"] is True
    assert result["inputs"] == 60
    assert 0 < result["allowed"] < 60  # both outcomes are exercised
    for engine in ENGINES:
        figures = result[engine]
        for key in ("p50_us", "p99_us"):
            assert isinstance(figures[key], int | float)
            assert figures[key] > 0
        assert figures["p99_us"] >= figures["p50_us"]
        assert figures["n"] >= 60
    machine = result["machine"]
    assert isinstance(machine["cpu_count"], int)
    assert machine["python"] == ".".join(map(str, sys.version_info[:3]))
