"""Art. 17 over the API: any official reports, the originator's node is notified at once, the
reporter's security officer investigates; status visible to both; refusals audited."""

from __future__ import annotations

from typing import Any

import pytest

from gsomia.audit.records import AuditKind
from tests.unit.api.casekit import (
    JPN_READER,
    JPN_SECURITY,
    KOR_READER,
    KOR_SECURITY,
    CaseBench,
    auth,
    body_of,
    case_bench,
    denied,
)

LOST = "a printed copy of the item is missing from the J2 safe"


@pytest.fixture
def api() -> CaseBench:
    return case_bench()


def _reported(api: CaseBench) -> tuple[str, dict[str, Any]]:
    item_id = api.held_at_jpn()
    body = {"item_id": item_id, "kind": "possible", "description": LOST}
    return item_id, body_of(api.jpn.post("/v1/breaches", json=body, headers=auth(JPN_READER)), 201)


def test_a_report_by_any_official_reaches_the_originator(api: CaseBench) -> None:
    item_id, breach = _reported(api)
    assert (breach["item_id"], breach["kind"], breach["status"]) == (
        item_id,
        "possible",
        "reported",
    )
    assert (breach["reporter"], breach["reported_by"], breach["originator"]) == (
        "JPN",
        JPN_READER,
        "KOR",
    )
    assert breach["version"] == 1
    assert breach["token"] is not None  # the signed BREACH_REPORT notice
    api.pump()
    seen = body_of(
        api.kor.get("/v1/breaches", params={"item_id": item_id}, headers=auth(KOR_SECURITY)), 200
    )
    assert [(b["breach_id"], b["reporter"]) for b in seen["items"]] == [
        (breach["breach_id"], "JPN")
    ]
    none = body_of(
        api.kor.get("/v1/breaches", params={"item_id": "other"}, headers=auth(KOR_SECURITY)), 200
    )
    assert none == {"items": [], "next": None}


def test_the_investigation_is_recorded_and_sent_until_closed(api: CaseBench) -> None:
    _, breach = _reported(api)
    url = f"/v1/breaches/{breach['breach_id']}"
    step = {"status": "investigating", "investigation": "the safe log is being checked"}
    updated = body_of(api.jpn.patch(url, json=step, headers=auth(JPN_SECURITY)), 200)
    assert (updated["status"], updated["version"]) == ("investigating", 2)
    done = {"status": "closed", "results": "found misfiled", "measures": "two-person rule"}
    closed = body_of(api.jpn.patch(url, json=done, headers=auth(JPN_SECURITY)), 200)
    assert (closed["status"], closed["version"], closed["measures"]) == (
        "closed",
        3,
        "two-person rule",
    )
    assert closed["investigation"] == "the safe log is being checked"  # kept
    api.pump()
    (at_kor,) = body_of(api.kor.get("/v1/breaches", headers=auth(KOR_SECURITY)), 200)["items"]
    assert (at_kor["status"], at_kor["version"], at_kor["results"]) == (
        "closed",
        3,
        "found misfiled",
    )
    problem, added = api.refused("JPN", "PATCH", url, JPN_SECURITY, json={"status": "closed"})
    assert (problem["status"], problem["code"]) == (409, "NODE_BREACH_CLOSED")
    assert denied(added, AuditKind.BREACH, "NODE_BREACH_CLOSED")
    problem, added = api.refused("KOR", "PATCH", url, KOR_SECURITY, json={"status": "closed"})
    assert (problem["status"], problem["code"]) == (403, "NODE_NOT_REPORTER")
    assert denied(added, AuditKind.BREACH, "NODE_NOT_REPORTER")


@pytest.mark.parametrize(
    ("who", "body", "status", "code", "kind"),
    [
        (None, {"kind": "actual", "description": LOST}, 401, "NODE_UNAUTHENTICATED",
         AuditKind.REJECT),
        (JPN_READER, {"kind": "lost", "description": LOST}, 422, "REQUEST_INVALID",
         AuditKind.REJECT),
        (JPN_READER, {"kind": "actual"}, 422, "REQUEST_INVALID", AuditKind.REJECT),
        (JPN_READER, {"kind": "actual", "description": "x" * 2001}, 400, "NODE_INPUT_INVALID",
         AuditKind.BREACH),
        (JPN_READER, {"item_id": "no-such-item", "kind": "actual", "description": LOST}, 404,
         "NODE_ITEM_NOT_FOUND", AuditKind.BREACH),
    ],
    ids=["no-token", "unknown-kind", "no-description", "too-long", "unknown-item"],
)  # fmt: skip
def test_a_refused_report_is_audited_and_stores_nothing(
    api: CaseBench,
    who: str | None,
    body: dict[str, Any],
    status: int,
    code: str,
    kind: AuditKind,
) -> None:
    item_id = api.held_at_jpn()
    problem, added = api.refused(
        "JPN", "POST", "/v1/breaches", who, json={"item_id": item_id, **body}
    )
    assert (problem["status"], problem["code"]) == (status, code)
    assert denied(added, kind, code)
    assert LOST not in repr(problem)  # a 422 never echoes the input


def test_updates_and_listing_refused(api: CaseBench) -> None:
    _, breach = _reported(api)
    url = f"/v1/breaches/{breach['breach_id']}"
    problem, added = api.refused("JPN", "PATCH", url, JPN_READER, json={"status": "closed"})
    assert (problem["status"], problem["code"]) == (403, "NODE_FORBIDDEN")
    assert denied(added, AuditKind.BREACH, "NODE_FORBIDDEN")
    problem, added = api.refused(
        "JPN", "PATCH", "/v1/breaches/nope", JPN_SECURITY, json={"status": "closed"}
    )
    assert (problem["status"], problem["code"]) == (404, "NODE_BREACH_NOT_FOUND")
    assert denied(added, AuditKind.BREACH, "NODE_BREACH_NOT_FOUND")
    problem, added = api.refused("JPN", "PATCH", url, JPN_SECURITY, json={"status": "open"})
    assert (problem["status"], problem["code"]) == (422, "REQUEST_INVALID")
    assert denied(added, AuditKind.REJECT, "REQUEST_INVALID")
    problem, added = api.refused("KOR", "GET", "/v1/breaches", KOR_READER)
    assert (problem["status"], problem["code"]) == (403, "NODE_FORBIDDEN")
    assert denied(added, AuditKind.BREACH, "NODE_FORBIDDEN")


def test_the_list_pages(api: CaseBench) -> None:
    item_id = api.held_at_jpn()
    for _ in range(3):
        body = {"item_id": item_id, "kind": "actual", "description": LOST}
        body_of(api.jpn.post("/v1/breaches", json=body, headers=auth(JPN_READER)), 201)
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 2} if after is None else {"limit": 2, "after": after}
        page = body_of(api.jpn.get("/v1/breaches", params=params, headers=auth(JPN_SECURITY)), 200)
        seen += [b["breach_id"] for b in page["items"]]
        after = page["next"]
        if after is None:
            break
    assert len(seen) == 3
    assert seen == sorted(seen)
