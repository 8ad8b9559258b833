"""The Audit page (issue 6): the full verification of the node's log through the store port
(:mod:`gsomia.node.audit_view`), its progress over Server-Sent Events, the last verification,
and the partners' checkpoints quoted by their signed receipts, consistent or not."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.audit.records import AuditKind
from gsomia.node import audit_view
from tests.unit.api.helpers import token
from tests.unit.node.cluster import (
    JPN_NO_DUTY,
    KOR_READER,
    NOW,
    Cluster,
    build,
    release_to_japan,
)
from tests.unit.web.test_cases_pages import browser, cluster, csrf_of


def run_verify(web: TestClient) -> list[dict[str, Any]]:
    """Press "verify now" and follow the job's events to the end; every event's data."""
    answer = web.post("/web/audit/verify", data={"csrf": csrf_of(web, "/web/audit")})
    assert answer.status_code == 303
    job = answer.headers["location"].split("job=")[1]
    with web.stream("GET", f"/web/audit/jobs/{job}/events") as events:
        text = "".join(events.iter_text())
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


def test_verify_now_rehashes_every_entry_and_checks_the_partners() -> None:
    c = cluster()
    for _ in range(3):
        release_to_japan(c)
    c.pump()
    web = browser(c, "KOR", KOR_READER)  # every official may verify
    assert "No verification since this node started." in web.get("/web/audit").text
    events = run_verify(web)
    result = events[-1]
    size = c.nodes["KOR"].audit_head()[0]
    assert result["finished"]
    assert result["ok"]
    assert result["done"] == result["total"] >= size - 1  # the verify's own audit is not counted
    assert "entries re-hashed" in str(result["detail"])
    assert result["started_by"] == KOR_READER
    (partner,) = result["partners"]
    assert partner["party"] == "JPN"
    assert partner["receipts"] == 3
    assert partner["consistent"]
    page = web.get("/web/audit").text
    assert 'id="last-verification"><span class="yes">Verified</span>' in page
    assert f"started by {KOR_READER}" in page


def test_the_page_lists_partner_checkpoints_for_every_official() -> None:
    c = cluster()
    release_to_japan(c)
    c.pump()
    web = browser(c, "KOR", KOR_READER)
    page = web.get("/web/audit").text
    assert 'data-partner="JPN" data-consistent="yes"' in page
    assert "gsomia/jpn/audit" in page
    no_duty = browser(c, "JPN", JPN_NO_DUTY)  # JPN has no receipt: nothing to show, no error
    assert "No partner receipt in these entries." in no_duty.get("/web/audit").text


def receipt(c: Cluster, party: str, index: int, size: int, root: str) -> None:
    """Audit a partner receipt quoting ``(index, size, root)`` of JPN's log, as the node does."""
    ctx = audit_view.context_of(c.nodes[party])
    with c.stores[party].unit_of_work() as uow:
        ctx.audit(uow, AuditKind.RECEIPT, NOW, "JPN", f"item-{index}", "received",
                  ("RECEIPT_VERIFIED",),
                  detail={"log_origin": "gsomia/jpn/audit", "log_index": index,
                          "log_size": size, "log_root": root})  # fmt: skip


def test_inconsistent_partner_checkpoints_are_shown_as_such() -> None:
    for quotes, problem in (
        ([(0, 1, "aa"), (1, 2, "bb")], ""),
        ([(0, 2, "aa"), (1, 2, "bb")], "two different roots at size 2 (a fork)"),
        ([(0, 5, "aa"), (1, 3, "bb")], "entry 1 came with size 3, after size 5 (the log shrank)"),
        ([(4, 3, "aa")], "entry 4 is outside the checkpoint of size 3"),
    ):
        c = cluster()
        for q in quotes:
            receipt(c, "KOR", *q)
        (log,) = audit_view.partner_logs(
            audit_view.AuditIndex(audit_view.context_of(c.nodes["KOR"]))
        )
        assert (log.consistent, log.problem) == (not problem, problem)
        assert log.size == max(s for _, s, _ in quotes)
        page = browser(c, "KOR", KOR_READER).get("/web/audit").text
        assert f'data-consistent="{"no" if problem else "yes"}"' in page
        if problem:
            assert problem in page


def test_a_log_longer_than_a_chunk_is_checked_against_the_stores_roots() -> None:
    c = build()
    node = c.nodes["KOR"]
    for _ in range(audit_view.CHUNK + 100):
        node.audit_refused_request("GET /web/audit", "WEB_FORM_INVALID")
    steps: list[tuple[int, int]] = []
    check = audit_view.verify(audit_view.context_of(node), lambda d, t: steps.append((d, t)))
    assert check.ok, check.problems
    assert check.size == audit_view.CHUNK + 100
    assert check.checkpoints == 2  # the store's root at 1,024 and the signed checkpoint
    assert steps == [(audit_view.CHUNK, check.size), (check.size, check.size)]
    assert check.root == node.audit_head()[1]


def test_an_altered_entry_is_found_by_the_full_verification(tmp_path: Path) -> None:
    c = build(lambda p: SqliteStore.in_data_dir(tmp_path / p))
    release_to_japan(c)
    c.pump()
    path = c.stores["KOR"].path  # type: ignore[attr-defined]
    ctx = audit_view.context_of(c.nodes["KOR"])
    assert audit_view.verify(ctx).ok
    db = sqlite3.connect(path)
    try:
        db.execute("DROP TRIGGER audit_entries_no_update")
        (entry,) = db.execute("SELECT entry FROM audit_entries WHERE idx = 0").fetchone()
        assert b"kor-release-1" in entry
        db.execute("UPDATE audit_entries SET entry = ? WHERE idx = 0",
                   (entry.replace(b"kor-release-1", b"kor-release-9"),))  # fmt: skip
        db.commit()
    finally:
        db.close()
    check = audit_view.verify(ctx)
    assert not check.ok
    assert [p.code for p in check.problems] == ["AUDIT_CHECKPOINT_MISMATCH"]
    assert "problem" in check.detail
    # the same recomputation, fed by SQL rows, names the altered entry itself
    with SqliteAuditLog(path) as log:
        verified = log.verify()
    assert "AUDIT_LEAF_MISMATCH" in [p.code for p in verified.problems]
    for store in c.stores.values():
        store.close()


def test_jobs_start_and_end_in_the_nodes_time() -> None:
    c = cluster()
    c.clock.advance(timedelta(minutes=5))
    web = browser(c, "KOR", KOR_READER)
    result = run_verify(web)[-1]
    assert result["started"] == result["ended"] == "2026-11-23T03:05:00Z"
    assert token(KOR_READER) not in web.get("/web/audit").text


def test_the_audit_index_follows_the_log_from_a_bounded_distance() -> None:
    c = cluster()
    release_to_japan(c)
    c.pump()
    ctx = audit_view.context_of(c.nodes["KOR"])
    far = audit_view.AuditIndex(ctx)
    near = audit_view.AuditIndex(ctx, back=1)  # the receipt is not the last entry any more
    for _ in range(3):
        c.nodes["KOR"].audit_refused_request("GET /web/audit", "WEB_FORM_INVALID")
    assert [p.receipts for p in audit_view.partner_logs(far)] == [1]
    assert audit_view.partner_logs(near) == []
    size = c.nodes["KOR"].audit_head()[0]
    assert (far.start, far.end, near.start, near.end) == (0, size, size - 1, size)
    release_to_japan(c)
    c.pump()
    assert [p.receipts for p in audit_view.partner_logs(near)] == [1]  # only the new entries
    assert [p.receipts for p in audit_view.partner_logs(far)] == [2]
    assert far.end == near.end == c.nodes["KOR"].audit_head()[0]
