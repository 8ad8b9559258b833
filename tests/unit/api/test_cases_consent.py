"""Art. 6 over the API: consent requested by the holder, decided and revoked by the originator,
and the forward that carries it; each refusal a problem, audited, nothing else stored."""

from __future__ import annotations

from typing import Any

import pytest

from gsomia.audit.records import AuditKind
from tests.unit.api.casekit import (
    JPN_READER,
    JPN_RELEASER,
    KOR_SECURITY,
    PAYLOAD,
    RELEASER,
    USA_READER,
    CaseBench,
    auth,
    body_of,
    case_bench,
    denied,
)

WHY = "joint assessment of NK missile launches"


@pytest.fixture
def api() -> CaseBench:
    return case_bench()


def _ask(api: CaseBench, item_id: str, **body: Any) -> dict[str, Any]:
    payload = {"third_party": "USA", "purpose": WHY, **body}
    response = api.jpn.post(
        f"/v1/items/{item_id}/consent-requests", json=payload, headers=auth(JPN_RELEASER)
    )
    return body_of(response, 201)


def _granted(api: CaseBench) -> tuple[str, str]:
    """JPN holds a KOR item, asks, KOR grants; ``(item id, request id)``."""
    item_id = api.held_at_jpn()
    request_id = _ask(api, item_id)["request_id"]
    api.pump()
    decision = {"approve": True, "conditions": ["no further release"]}
    url = f"/v1/consent-requests/{request_id}/decision"
    body_of(api.kor.post(url, json=decision, headers=auth(KOR_SECURITY)), 200)
    api.pump()
    return item_id, request_id


def test_request_decision_forward_and_the_third_party_reads(api: CaseBench) -> None:
    item_id = api.held_at_jpn()
    asked = _ask(api, item_id, expires="2026-12-23T00:00:00+09:00")
    assert (asked["direction"], asked["state"], asked["originator"]) == ("sent", "pending", "KOR")
    assert (asked["third_party"], asked["requested_by"]) == ("USA", JPN_RELEASER)
    assert asked["expires"] == "2026-12-22T15:00:00Z"
    api.pump()
    pending = body_of(
        api.kor.get(
            "/v1/consent-requests",
            params={"direction": "received", "state": "pending"},
            headers=auth(KOR_SECURITY),
        ),
        200,
    )
    assert [r["request_id"] for r in pending["items"]] == [asked["request_id"]]
    assert pending["next"] is None
    decided = body_of(
        api.kor.post(
            f"/v1/consent-requests/{asked['request_id']}/decision",
            json={"approve": True, "conditions": ["no further release"], "expires": None},
            headers=auth(KOR_SECURITY),
        ),
        200,
    )
    assert (decided["state"], decided["decided_by"]) == ("approved", KOR_SECURITY)
    assert decided["decision"].startswith("{")  # the signed consent, RFC 8785 JSON
    api.pump()
    mine = body_of(api.jpn.get("/v1/consent-requests", headers=auth(JPN_RELEASER)), 200)
    assert [r["state"] for r in mine["items"]] == ["approved"]

    sent = body_of(
        api.jpn.post(
            f"/v1/items/{item_id}/forward",
            json={"third_party": "USA", "purpose": WHY},
            headers=auth(JPN_RELEASER),
        ),
        201,
    )
    assert (sent["forwarded"], sent["consent_id"]) == (True, asked["request_id"])
    assert sent["decision"]["allowed"] is True
    assert sent["decision"]["path"] == ["JPN", "USA"]
    api.pump()
    read = api.usa.get(f"/v1/items/{item_id}/content", headers=auth(USA_READER))
    assert (read.status_code, read.content) == (200, PAYLOAD)


def test_a_forward_without_consent_is_refused_with_reasons_audited(api: CaseBench) -> None:
    item_id = api.held_at_jpn()
    problem, added = api.refused(
        "JPN",
        "POST",
        f"/v1/items/{item_id}/forward",
        JPN_RELEASER,
        json={"third_party": "USA", "purpose": WHY},
    )
    assert (problem["status"], problem["code"]) == (403, "FORWARD_REFUSED")
    assert "CONSENT_MISSING" in problem["reasons"]
    assert (problem["item_id"], problem["third_party"]) == (item_id, "USA")
    assert problem["decision"]["allowed"] is False
    assert "CONSENT_MISSING" in problem["decision"]["codes"]
    assert [(r.kind, r.decision) for r in added] == [(AuditKind.FORWARD, "deny")]


def test_a_second_forward_is_409_already_sent(api: CaseBench) -> None:
    item_id, _ = _granted(api)
    url, body = f"/v1/items/{item_id}/forward", {"third_party": "USA", "purpose": WHY}
    body_of(api.jpn.post(url, json=body, headers=auth(JPN_RELEASER)), 201)
    problem, added = api.refused("JPN", "POST", url, JPN_RELEASER, json=body)
    assert (problem["status"], problem["code"]) == (409, "NODE_ALREADY_SENT")
    assert denied(added, AuditKind.FORWARD, "NODE_ALREADY_SENT")


@pytest.mark.parametrize(
    ("who", "item", "body", "status", "code", "kind"),
    [
        (None, "ITEM", {"third_party": "USA", "purpose": WHY}, 401, "NODE_UNAUTHENTICATED",
         AuditKind.REJECT),
        (JPN_READER, "ITEM", {"third_party": "USA", "purpose": WHY}, 403, "NODE_FORBIDDEN",
         AuditKind.CONSENT),
        (JPN_RELEASER, "no-such-item", {"third_party": "USA", "purpose": WHY}, 404,
         "NODE_ITEM_NOT_FOUND", AuditKind.CONSENT),
        (JPN_RELEASER, "ITEM", {"third_party": "XYZ", "purpose": WHY}, 400,
         "NODE_INPUT_INVALID", AuditKind.CONSENT),
        (JPN_RELEASER, "ITEM", {"third_party": "USA"}, 422, "REQUEST_INVALID", AuditKind.REJECT),
        (JPN_RELEASER, "ITEM", {"third_party": "USA", "purpose": WHY,
                                "expires": "2026-12-23T00:00:00"}, 422, "REQUEST_INVALID",
         AuditKind.REJECT),
        (JPN_RELEASER, "ITEM", {"third_party": "USA", "purpose": WHY, "to": "USA"}, 422,
         "REQUEST_INVALID", AuditKind.REJECT),
    ],
    ids=["no-token", "reader", "unknown-item", "unknown-party", "no-purpose", "naive-expiry",
         "unknown-member"],
)  # fmt: skip
def test_a_refused_consent_request_is_audited_and_stores_nothing(
    api: CaseBench,
    who: str | None,
    item: str,
    body: dict[str, Any],
    status: int,
    code: str,
    kind: AuditKind,
) -> None:
    item_id = api.held_at_jpn() if item == "ITEM" else item
    url = f"/v1/items/{item_id}/consent-requests"
    problem, added = api.refused("JPN", "POST", url, who, json=body)
    assert (problem["status"], problem["code"]) == (status, code)
    assert denied(added, kind, code)
    if status == 422:
        assert added[0].actor == JPN_RELEASER  # the token was checked before the fields
        assert added[0].detail["route"] == "POST /v1/items/{item_id}/consent-requests"


def test_decisions_refused_by_role_id_state_and_shape(api: CaseBench) -> None:
    _, request_id = _granted(api)
    url = f"/v1/consent-requests/{request_id}/decision"
    problem, added = api.refused("KOR", "POST", url, RELEASER, json={"approve": True})
    assert (problem["status"], problem["code"]) == (403, "NODE_FORBIDDEN")
    assert denied(added, AuditKind.CONSENT, "NODE_FORBIDDEN")
    problem, added = api.refused(
        "KOR", "POST", "/v1/consent-requests/no-such/decision", KOR_SECURITY, json={"approve": 1}
    )
    assert (problem["status"], problem["code"]) == (422, "REQUEST_INVALID")  # StrictBool
    assert denied(added, AuditKind.REJECT, "REQUEST_INVALID")
    problem, added = api.refused(
        "KOR", "POST", "/v1/consent-requests/no-such/decision", KOR_SECURITY, json={"approve": True}
    )
    assert (problem["status"], problem["code"]) == (404, "NODE_CONSENT_NOT_FOUND")
    assert denied(added, AuditKind.CONSENT, "NODE_CONSENT_NOT_FOUND")
    problem, added = api.refused("KOR", "POST", url, KOR_SECURITY, json={"approve": False})
    assert (problem["status"], problem["code"]) == (409, "NODE_CONSENT_DECIDED")
    assert denied(added, AuditKind.CONSENT, "NODE_CONSENT_DECIDED")


def test_a_refusal_is_recorded_at_both_nodes(api: CaseBench) -> None:
    item_id = api.held_at_jpn()
    request_id = _ask(api, item_id)["request_id"]
    api.pump()
    url = f"/v1/consent-requests/{request_id}/decision"
    refused = body_of(api.kor.post(url, json={"approve": False}, headers=auth(KOR_SECURITY)), 200)
    assert refused["state"] == "refused"
    api.pump()
    (mine,) = body_of(api.jpn.get("/v1/consent-requests", headers=auth(JPN_RELEASER)), 200)["items"]
    assert mine["state"] == "refused"


def test_revoking_a_consent_and_its_refusals(api: CaseBench) -> None:
    item_id, consent_id = _granted(api)
    url = f"/v1/consents/{consent_id}/revoke"
    problem, added = api.refused("KOR", "POST", url, RELEASER)
    assert (problem["status"], problem["code"]) == (403, "NODE_FORBIDDEN")
    assert denied(added, AuditKind.CONSENT, "NODE_FORBIDDEN")
    problem, added = api.refused("KOR", "POST", "/v1/consents/nope/revoke", KOR_SECURITY)
    assert (problem["status"], problem["code"]) == (404, "NODE_CONSENT_NOT_FOUND")
    revoked = body_of(api.kor.post(url, headers=auth(KOR_SECURITY)), 200)
    assert (revoked["consent_id"], revoked["item_id"]) == (consent_id, item_id)
    assert (revoked["holder"], revoked["third_party"], revoked["kind"]) == (
        "JPN",
        "USA",
        "forward_consent",
    )
    assert revoked["conditions"] == ["no further release"]
    assert revoked["revoked_at"] is not None
    assert revoked["revocation"] is not None
    again = body_of(api.kor.post(url, headers=auth(KOR_SECURITY)), 200)
    assert again["revoked_at"] == revoked["revoked_at"]  # the first revocation stands
    api.pump()
    problem, _ = api.refused(
        "JPN",
        "POST",
        f"/v1/items/{item_id}/forward",
        JPN_RELEASER,
        json={"third_party": "USA", "purpose": WHY},
    )
    assert problem["code"] == "FORWARD_REFUSED"
    assert "CONSENT_REVOKED" in problem["reasons"]


def test_the_list_pages_and_refuses_foreign_cursors(api: CaseBench) -> None:
    item_id = api.held_at_jpn()
    asked = [_ask(api, item_id)["request_id"], _ask(api, item_id, third_party="USA")["request_id"]]
    first = body_of(
        api.jpn.get("/v1/consent-requests", params={"limit": 1}, headers=auth(JPN_RELEASER)), 200
    )
    assert first["next"] is not None
    second = body_of(
        api.jpn.get(
            "/v1/consent-requests",
            params={"limit": 1, "after": first["next"]},
            headers=auth(JPN_RELEASER),
        ),
        200,
    )
    assert [first["items"][0]["request_id"], second["items"][0]["request_id"]] == sorted(asked)
    assert second["next"] is None or second["next"] != first["next"]
    problem, added = api.refused(
        "JPN", "GET", "/v1/consent-requests", JPN_RELEASER, params={"after": "aXRlbTp4"}
    )  # "item:x": a cursor of the item list
    assert (problem["status"], problem["code"]) == (400, "CURSOR_INVALID")
    assert denied(added, AuditKind.REJECT, "CURSOR_INVALID")
    problem, added = api.refused(
        "JPN", "GET", "/v1/consent-requests", JPN_READER, params={"state": "pending"}
    )
    assert (problem["status"], problem["code"]) == (403, "NODE_FORBIDDEN")
    assert denied(added, AuditKind.CONSENT, "NODE_FORBIDDEN")
