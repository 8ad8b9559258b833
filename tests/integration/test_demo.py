"""The README's main command, end to end: three real node processes replay the ROK–JPN history."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_headless_demo_keeps_every_invariant(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "gsomia.cli.main", "demo", "--headless", "--json",
         "--dir", str(tmp_path / "demo")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    summary = json.loads(run.stdout)
    assert run.returncode == 0, (summary, run.stderr[-2000:])
    assert summary["ok"] is True
    assert summary["lost"] == 0
    assert summary["duplicated"] == 0
    assert summary["audit_verified"] == {"KOR": True, "JPN": True, "USA": True}
    assert summary["released"] >= 6
    assert summary["delivered"] >= summary["released"]
    assert summary["receipts"] >= summary["delivered"]
    refused = {r["step"]: r["codes"] for r in summary["refused"]}
    assert "LEVEL_NOT_COVERED" in refused["top-secret-2026"]
    assert refused["forward-refused"] == ["CONSENT_MISSING"]
    steps = {s["step"]: s for s in summary["steps"]}
    assert all(s["ok"] for s in steps.values()), steps
    assert steps["read-no-duty"]["read"] is False
    assert steps["consent-forward"]["forwarded"] is True
    assert steps["breach-report"]["notified"] is True


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me", encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "gsomia.cli.main", "demo", "--headless", "--json",
         "--dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 9
    assert json.loads(run.stdout)["error"]["code"] == "DEMO_FAILED"
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]
