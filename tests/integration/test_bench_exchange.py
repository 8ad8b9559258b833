"""Smoke run of bench/exchange.py (issue 4 §4): two node processes, nothing lost or duplicated.

No wall-clock thresholds: the run must settle, lose and duplicate nothing, and leave both audit
logs verifiable, whether the items go one per call or in batches, through the serving process's
API or an API worker's (ADR 0021).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.integration

BENCH = Path(__file__).resolve().parents[2] / "bench" / "exchange.py"


def _exchange() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_exchange", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("items", "clients", "batch", "api_workers"), [(200, 2, 50, 1), (60, 2, 1, 0)]
)
def test_exchange_bench_loses_and_duplicates_nothing(
    items: int, clients: int, batch: int, api_workers: int
) -> None:
    result: dict[str, Any] = _exchange().run(items, clients, batch, api_workers)
    assert result["settled"] is True
    assert result["released"] == items
    assert result["refused_calls"] == 0
    assert result["lost"] == 0
    assert result["duplicated"] == 0
    assert result["audit_verified"] == {"KOR": True, "JPN": True}
    assert result["items_per_s"] is not None
    assert result["items_per_s"] > 0
