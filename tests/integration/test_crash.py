"""Crash tests (issue 4 §4): ``kill -9`` the recipient, or the sender, in a stream of 1,000.

After the killed node restarts, every item the sender committed is accepted exactly once by the
recipient, every delivery is receipted, and both audit logs verify.
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


def _stream(cluster: LocalCluster, n: int, progress: list[int]) -> None:
    """Release ``n`` items KOR → JPN one by one; a call refused or unanswered is not retried."""
    for i in range(n):
        body = {
            "label": missile_label("KOR", "군사II급비밀", datetime.now(UTC)),
            "text": f"track report {i:04d} " + "x" * 1000,
            "topic": "NK-MISSILE",
            "purpose": "early warning of North Korean missile launches",
            "recipients": ["JPN"],
        }
        try:
            cluster.nodes["KOR"].client("kor-release-1").json("POST", "/v1/items", body=body)
        except ApiError:
            time.sleep(0.05)  # the sender is down: the item may or may not have been committed
        progress[0] = i + 1


def _run_with_crash(tmp: Path, victim: str) -> None:
    cluster = _cluster(tmp)
    try:
        progress = [0]
        sender = threading.Thread(target=_stream, args=(cluster, STREAM, progress))
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


def test_kill_the_recipient_mid_stream(tmp_path: Path) -> None:
    _run_with_crash(tmp_path, "JPN")


def test_kill_the_sender_mid_stream(tmp_path: Path) -> None:
    _run_with_crash(tmp_path, "KOR")
