"""Art. 8 over the API: a visit requested, approved by the host with the highest level that may
be disclosed, known to both nodes; refusals audited, nothing else stored."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from gsomia.audit.records import AuditKind
from gsomia.instants import format_instant
from tests.unit.api.casekit import (
    JPN_SECURITY,
    KOR_READER,
    KOR_SECURITY,
    NOW,
    CaseBench,
    auth,
    body_of,
    case_bench,
    denied,
)

START, END = NOW + timedelta(days=7), NOW + timedelta(days=9)
KIM = {"name": "KIM Min-jun", "nationality": "KOR", "clearance": "군사II급비밀", "post": "J2"}


def visit(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "visitor": KIM,
        "host": "JPN",
        "purpose": "missile warning data exchange procedures",
        "start": format_instant(START),
        "end": format_instant(END),
    }
    body.update(overrides)
    return body


@pytest.fixture
def api() -> CaseBench:
    return case_bench()


def _requested(api: CaseBench) -> dict[str, Any]:
    return body_of(api.kor.post("/v1/visits", json=visit(), headers=auth(KOR_SECURITY)), 201)


def test_a_visit_is_requested_approved_and_known_to_both(api: CaseBench) -> None:
    asked = _requested(api)
    assert (asked["state"], asked["requester"], asked["host"]) == ("requested", "KOR", "JPN")
    assert asked["visitor"] == KIM
    assert asked["start"] == format_instant(START)
    api.pump()
    (at_host,) = body_of(api.jpn.get("/v1/visits", headers=auth(JPN_SECURITY)), 200)["items"]
    assert at_host["visit_id"] == asked["visit_id"]
    url = f"/v1/visits/{asked['visit_id']}/decision"
    decision = {"approve": True, "level": "極秘", "note": "escorted at all times"}
    approved = body_of(api.jpn.post(url, json=decision, headers=auth(JPN_SECURITY)), 200)
    assert (approved["state"], approved["level"], approved["note"]) == (
        "approved",
        "極秘",
        "escorted at all times",
    )
    problem, added = api.refused("JPN", "POST", url, JPN_SECURITY, json={"approve": False})
    assert (problem["status"], problem["code"]) == (409, "NODE_VISIT_DECIDED")
    assert denied(added, AuditKind.VISIT, "NODE_VISIT_DECIDED")
    api.pump()
    (mine,) = body_of(api.kor.get("/v1/visits", headers=auth(KOR_SECURITY)), 200)["items"]
    assert (mine["state"], mine["level"]) == ("approved", "極秘")


@pytest.mark.parametrize(
    ("who", "body", "status", "code", "kind"),
    [
        (KOR_READER, visit(), 403, "NODE_FORBIDDEN", AuditKind.VISIT),
        (KOR_SECURITY, visit(visitor={**KIM, "nationality": "JPN"}), 400, "NODE_INPUT_INVALID",
         AuditKind.VISIT),
        (KOR_SECURITY, visit(end=format_instant(START - timedelta(days=1))), 400,
         "NODE_INPUT_INVALID", AuditKind.VISIT),
        (KOR_SECURITY, visit(host="XYZ"), 403, "NODE_POLICY_DENIED", AuditKind.VISIT),
        (KOR_SECURITY, visit(start="2026-12-01T09:00:00"), 422, "REQUEST_INVALID",
         AuditKind.REJECT),
        (KOR_SECURITY, visit(visitor={**KIM, "name": "KIM\nMin-jun"}), 422, "REQUEST_INVALID",
         AuditKind.REJECT),
        (KOR_SECURITY, {"host": "JPN"}, 422, "REQUEST_INVALID", AuditKind.REJECT),
    ],
    ids=["reader", "foreign-visitor", "ends-before-start", "unknown-host", "naive-start",
         "control-character", "no-visitor"],
)  # fmt: skip
def test_a_refused_visit_request_is_audited_and_stores_nothing(
    api: CaseBench,
    who: str,
    body: dict[str, Any],
    status: int,
    code: str,
    kind: AuditKind,
) -> None:
    problem, added = api.refused("KOR", "POST", "/v1/visits", who, json=body)
    assert (problem["status"], problem["code"]) == (status, code)
    assert [(r.kind, r.decision) for r in added] == [(kind, "deny")]
    if code == "NODE_POLICY_DENIED":
        assert problem["reasons"]
    else:
        assert added[0].reasons == (code,)


def test_decisions_refused(api: CaseBench) -> None:
    asked = _requested(api)
    api.pump()
    url = f"/v1/visits/{asked['visit_id']}/decision"
    problem, added = api.refused("JPN", "POST", url, JPN_SECURITY, json={"approve": True})
    assert (problem["status"], problem["code"]) == (400, "NODE_INPUT_INVALID")  # no level
    assert denied(added, AuditKind.VISIT, "NODE_INPUT_INVALID")
    problem, added = api.refused(
        "JPN", "POST", "/v1/visits/nope/decision", JPN_SECURITY, json={"approve": False}
    )
    assert (problem["status"], problem["code"]) == (404, "NODE_VISIT_NOT_FOUND")
    problem, added = api.refused("KOR", "POST", url, KOR_SECURITY, json={"approve": False})
    assert (problem["status"], problem["code"]) == (403, "NODE_NOT_HOST")
    assert denied(added, AuditKind.VISIT, "NODE_NOT_HOST")
    problem, added = api.refused(
        "JPN", "POST", url, JPN_SECURITY, json={"approve": True, "level": "秘", "x": 1}
    )
    assert (problem["status"], problem["code"]) == (422, "REQUEST_INVALID")
    assert denied(added, AuditKind.REJECT, "REQUEST_INVALID")
    problem, added = api.refused("KOR", "GET", "/v1/visits", KOR_READER)
    assert (problem["status"], problem["code"]) == (403, "NODE_FORBIDDEN")
