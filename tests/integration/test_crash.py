"""Crash tests (issue 4 §4): ``kill -9`` the recipient, or the sender, in a stream of 1,000.

After the killed node restarts, every item the sender committed is accepted exactly once by the
recipient, every delivery is receipted, and both audit logs verify.  The stream is released one
item per call (each item signed alone, wire suite 1) or 50 per call (``POST /v1/items/batch``:
one signature per batch, suite 2, ADR 0019; the restarted recipient's cache starts empty).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gsomia.audit.records import AuditKind
from gsomia.runtime.client import ApiError
from gsomia.runtime.cluster import LocalCluster
from gsomia.runtime.scenario import OFFICIALS, missile_label

pytestmark = pytest.mark.integration

STREAM = 1000


def _cluster(tmp: Path) -> LocalCluster:
    cluster = LocalCluster(tmp / "nodes", ("KOR", "JPN"))
    cluster.create(datetime.now(UTC) - timedelta(days=1))
    cluster.start()
    cluster.enrol({p: OFFICIALS[p] for p in ("KOR", "JPN")})
    return cluster


def _stream(cluster: LocalCluster, n: int, batch: int, progress: list[int]) -> None:
    """Release ``n`` items KOR → JPN, ``batch`` per call; a call refused or unanswered is not
    retried."""
    for start in range(0, n, batch):
        bodies = [
            {
                "label": missile_label("KOR", "군사II급비밀", datetime.now(UTC)),
                "text": f"track report {i:04d} " + "x" * 1000,
                "topic": "NK-MISSILE",
                "purpose": "early warning of North Korean missile launches",
                "recipients": ["JPN"],
            }
            for i in range(start, min(n, start + batch))
        ]
        client = cluster.nodes["KOR"].client("kor-release-1")
        try:
            if batch == 1:
                client.json("POST", "/v1/items", body=bodies[0])
            else:
                client.json("POST", "/v1/items/batch", body={"items": bodies})
        except ApiError:  # the sender is down: the items may or may not have been committed
            time.sleep(min(1.0, 0.05 * batch))  # as long per item as one by one, at most 1 s
        progress[0] = start + len(bodies)


def _run_with_crash(tmp: Path, victim: str, batch: int) -> None:
    cluster = _cluster(tmp)
    try:
        progress = [0]
        sender = threading.Thread(target=_stream, args=(cluster, STREAM, batch, progress))
        sender.start()
        while progress[0] < STREAM // 3:
            time.sleep(0.01)
        cluster.kill(victim)
        time.sleep(0.5)
        cluster.start([victim])
        sender.join(timeout=600)
        assert not sender.is_alive()
        assert cluster.wait_settled("KOR", timeout=120)
    finally:
        cluster.stop()
    kor, jpn = cluster.tally("KOR"), cluster.tally("JPN")
    released = {
        r.subject for r in kor.records if r.kind is AuditKind.RELEASE and r.decision == "allow"
    }
    assert len(released) >= STREAM // 2
    assert {item: jpn.accepted[item] for item in released} == dict.fromkeys(released, 1)
    assert set(jpn.accepted) == released  # nothing accepted that was not released
    receipted = {r.subject for r in kor.records if r.kind is AuditKind.RECEIPT}
    assert receipted == released
    assert kor.audit_ok
    assert jpn.audit_ok


@pytest.mark.parametrize("batch", [1, 50], ids=["single", "batches"])
def test_kill_the_recipient_mid_stream(tmp_path: Path, batch: int) -> None:
    _run_with_crash(tmp_path, "JPN", batch)


@pytest.mark.parametrize("batch", [1, 50], ids=["single", "batches"])
def test_kill_the_sender_mid_stream(tmp_path: Path, batch: int) -> None:
    _run_with_crash(tmp_path, "KOR", batch)
