"""Art. 21 over the API: an agreement event recorded by a security officer applies to the very
next decision; ill-formed or impossible events are refused, audited, nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from gsomia.audit.records import AuditKind
from tests.unit.api.casekit import (
    JPN_READER,
    KOR_SECURITY,
    RELEASER,
    CaseBench,
    auth,
    body_of,
    case_bench,
    denied,
)

GSOMIA = "kor-jpn-gsomia-2016"
URL = f"/v1/agreements/{GSOMIA}/events"
NOTICE = {
    "kind": "notice_given",
    "at": "2026-11-23T11:00:00+09:00",
    "by": "KOR",
    "note": "written notice through the diplomatic channel (Art. 21)",
}


@pytest.fixture
def api() -> CaseBench:
    return case_bench()


def test_a_recorded_notice_applies_at_once_and_is_listed(api: CaseBench) -> None:
    recorded = body_of(api.kor.post(URL, json=NOTICE, headers=auth(KOR_SECURITY)), 201)
    assert (recorded["seq"], recorded["agreement_id"], recorded["kind"]) == (
        1,
        GSOMIA,
        "notice_given",
    )
    assert recorded["at"] == "2026-11-23T11:00:00+09:00"  # the agreement's zone
    assert (recorded["by"], recorded["recorded_by"]) == ("KOR", KOR_SECURITY)
    status = body_of(api.kor.get(f"/v1/agreements/{GSOMIA}/status", headers=auth(RELEASER)), 200)
    assert status["state"] == "notice_given"
    listed = body_of(api.kor.get(URL, headers=auth(RELEASER)), 200)
    assert [e["seq"] for e in listed["items"]] == [1]
    assert listed["next"] is None
    withdrawal = {"kind": "notice_withdrawn", "at": "2026-11-23T12:00:00+09:00", "by": "KOR"}
    body_of(api.kor.post(URL, json=withdrawal, headers=auth(KOR_SECURITY)), 201)
    status = body_of(api.kor.get(f"/v1/agreements/{GSOMIA}/status", headers=auth(RELEASER)), 200)
    assert status["state"] == "in_force"
    page = body_of(api.kor.get(URL, params={"limit": 1}, headers=auth(RELEASER)), 200)
    assert [e["kind"] for e in page["items"]] == ["notice_given"]
    rest = body_of(api.kor.get(URL, params={"after": page["next"]}, headers=auth(RELEASER)), 200)
    assert ([e["seq"] for e in rest["items"]], rest["next"]) == ([2], None)
    assert api.jpn.get(URL, headers=auth("jpn-security-1")).json()["items"] == []  # its own


@pytest.mark.parametrize(
    ("who", "url", "body", "status", "code", "kind"),
    [
        (RELEASER, URL, NOTICE, 403, "NODE_FORBIDDEN", AuditKind.AGREEMENT_EVENT),
        (KOR_SECURITY, "/v1/agreements/no-such/events", NOTICE, 404, "NODE_AGREEMENT_NOT_FOUND",
         AuditKind.AGREEMENT_EVENT),
        (KOR_SECURITY, "/v1/agreements/usa-jpn-gsomia-2007/events", NOTICE, 403,
         "NODE_NOT_A_PARTY", AuditKind.AGREEMENT_EVENT),
        (KOR_SECURITY, URL, {**NOTICE, "at": "2027-06-01T00:00:00+09:00"}, 400,
         "NODE_INPUT_INVALID", AuditKind.AGREEMENT_EVENT),
        (KOR_SECURITY, URL, {**NOTICE, "kind": "notice_withdrawn"}, 409,
         "EVENT_SEQUENCE_INVALID", AuditKind.AGREEMENT_EVENT),
        (KOR_SECURITY, URL, {**NOTICE, "kind": "abrogated"}, 422, "REQUEST_INVALID",
         AuditKind.REJECT),
        (KOR_SECURITY, URL, {"kind": "notice_given", "at": NOTICE["at"]}, 422,
         "REQUEST_INVALID", AuditKind.REJECT),  # a notice says which party (by)
        (KOR_SECURITY, URL, {**NOTICE, "at": "2026-11-23T11:00:00"}, 422, "REQUEST_INVALID",
         AuditKind.REJECT),
        (KOR_SECURITY, URL, {**NOTICE, "hypothetical": True}, 422, "REQUEST_INVALID",
         AuditKind.REJECT),
    ],
    ids=["release-officer", "unknown-agreement", "not-a-party", "future", "impossible",
         "unknown-kind", "no-by", "naive-at", "unknown-member"],
)  # fmt: skip
def test_a_refused_event_is_audited_and_stores_nothing(
    api: CaseBench,
    who: str,
    url: str,
    body: dict[str, Any],
    status: int,
    code: str,
    kind: AuditKind,
) -> None:
    problem, added = api.refused("KOR", "POST", url, who, json=body)
    assert (problem["status"], problem["code"]) == (status, code)
    assert denied(added, kind, code)
    assert (
        api.kor.get(f"/v1/agreements/{GSOMIA}/status", headers=auth(RELEASER)).json()["state"]
        == "in_force"
    )


def test_listing_refused(api: CaseBench) -> None:
    problem, added = api.refused("JPN", "GET", URL, JPN_READER)
    assert (problem["status"], problem["code"]) == (403, "NODE_FORBIDDEN")
    assert denied(added, AuditKind.AGREEMENT_EVENT, "NODE_FORBIDDEN")
    problem, added = api.refused("KOR", "GET", "/v1/agreements/no-such/events", RELEASER)
    assert (problem["status"], problem["code"]) == (404, "AGREEMENT_NOT_FOUND")
    assert added == []  # a lookup on a read route is not audited
    problem, added = api.refused("KOR", "GET", URL, RELEASER, params={"after": "b3V0Ym94OjE"})
    assert (problem["status"], problem["code"]) == (400, "CURSOR_INVALID")
    assert denied(added, AuditKind.REJECT, "CURSOR_INVALID")
