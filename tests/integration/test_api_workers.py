"""API worker processes (ADR 0021): ``gsomia node serve --api-workers N``, real processes.

A node serving with two API workers lists their addresses in ``run/node.json``; releases through
either worker are delivered by the serving process, accepted once by the partner and receipted;
track ingest and the dashboard stay with the serving process; a worker that dies is replaced;
``kill -9`` of the serving process, or its clean stop, leaves no worker behind.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gsomia.audit.records import AuditKind
from gsomia.runtime.client import ApiError
from gsomia.runtime.cluster import LocalCluster
from gsomia.runtime.scenario import OFFICIALS, missile_label

pytestmark = pytest.mark.integration

WORKERS = 2


def _body(i: int) -> dict[str, object]:
    return {
        "label": missile_label("KOR", "군사II급비밀", datetime.now(UTC)),
        "text": f"track report {i:04d}",
        "topic": "NK-MISSILE",
        "purpose": "early warning of North Korean missile launches",
        "recipients": ["JPN"],
    }


def _workers_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _gone(pid: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie (not yet reaped by its parent) is gone as far as serving goes
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except OSError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    cluster = LocalCluster(tmp_path / "nodes", ("KOR", "JPN"), api_workers=WORKERS)
    cluster.create(datetime.now(UTC) - timedelta(days=1))
    cluster.start()
    try:
        cluster.enrol({p: OFFICIALS[p] for p in ("KOR", "JPN")})
        yield cluster
    finally:
        cluster.stop()


def test_releases_through_each_worker_are_delivered_once(cluster: LocalCluster) -> None:
    kor = cluster.nodes["KOR"]
    assert len(kor.api_worker_urls) == WORKERS
    assert cluster.run_info("KOR")["api_workers"] == kor.api_worker_urls
    batch = kor.client("kor-release-1", worker=0).json(
        "POST", "/v1/items/batch", body={"items": [_body(i) for i in range(20)]}
    )
    single = kor.client("kor-release-1", worker=1).json("POST", "/v1/items", body=_body(20))
    released = {r["item_id"] for r in batch["results"] if r["released"]} | {single["item_id"]}
    assert len(released) == 21
    # the serving process delivers what the workers committed, and settles the receipts
    assert cluster.wait_settled("KOR", timeout=60)
    seen = kor.client().json("GET", f"/v1/items/{single['item_id']}")  # the main API sees it
    assert seen["id"] == single["item_id"]
    cluster.stop()
    jpn, kor_tally = cluster.tally("JPN"), cluster.tally("KOR")
    assert {i: jpn.accepted[i] for i in released} == dict.fromkeys(released, 1)
    assert {r.subject for r in kor_tally.records if r.kind is AuditKind.RECEIPT} == released
    assert kor_tally.audit_ok
    assert jpn.audit_ok


def test_a_worker_leaves_tracks_and_the_dashboard_to_the_serving_process(
    cluster: LocalCluster,
) -> None:
    kor = cluster.nodes["KOR"]
    with pytest.raises(ApiError) as err:
        kor.client(worker=0).json("GET", "/v1/tracks/stats")
    assert (err.value.http_status, err.value.code) == (503, "NODE_API_WORKER")
    assert kor.client().json("GET", "/v1/tracks/stats")["published"] >= 0  # the main API has it
    with pytest.raises(ApiError) as err:
        kor.client(worker=1).call("GET", "/web/")
    assert err.value.http_status == 404


def test_a_dead_worker_is_replaced_on_its_address(cluster: LocalCluster) -> None:
    kor = cluster.nodes["KOR"]
    assert kor.process is not None
    before = _workers_of(kor.process.pid)
    assert len(before) == WORKERS
    os.kill(before[0], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = _workers_of(kor.process.pid)
        if len(now) == WORKERS and before[0] not in now:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the dead worker was not replaced")
    for worker in range(WORKERS):  # both addresses serve, the replaced one too
        health = kor.client(worker=worker)
        deadline = time.monotonic() + 30
        while True:
            try:
                health.json("GET", "/v1/health")
                break
            except ApiError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def test_kill_9_of_the_serving_process_ends_its_workers(cluster: LocalCluster) -> None:
    kor = cluster.nodes["KOR"]
    assert kor.process is not None
    workers = _workers_of(kor.process.pid)
    assert len(workers) == WORKERS
    cluster.kill("KOR")
    assert all(_gone(pid) for pid in workers)
    cluster.start(["KOR"])  # a restarted node starts new ones
    assert kor.process is not None
    assert len(_workers_of(kor.process.pid)) == WORKERS


def test_a_clean_stop_ends_the_workers(cluster: LocalCluster) -> None:
    kor = cluster.nodes["KOR"]
    assert kor.process is not None
    workers = _workers_of(kor.process.pid)
    cluster.stop(["KOR"])
    assert all(_gone(pid) for pid in workers)
