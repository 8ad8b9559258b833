"""The directory through the API: list, add, issue tokens (security officers only; issue 4 §1)."""

from __future__ import annotations

from typing import Any

from gsomia.audit.records import AuditKind
from gsomia.ports import token_hash
from tests.unit.api.helpers import KOR_READER, KOR_SO, RELEASER, Bench, auth


def _official(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "kor-analyst-9",
        "nationality": "KOR",
        "clearance": "군사III급비밀",
        "duties": ["NK-MISSILE"],
        "in_register": True,
        "rank": "major",
        "post": "J2",
        "roles": ["reader"],
        "active": True,
    }
    body.update(overrides)
    return body


def test_list_officials_paginated(api: Bench) -> None:
    first = api.kor.get("/v1/officials?limit=2", headers=auth(KOR_SO)).json()
    assert [o["id"] for o in first["items"]] == [KOR_READER, RELEASER]
    rest = api.kor.get(
        "/v1/officials", params={"after": first["next"]}, headers=auth(KOR_SO)
    ).json()
    assert [o["id"] for o in rest["items"]] == [KOR_SO]
    assert rest["next"] is None
    assert rest["items"][0]["roles"] == ["security_officer"]


def test_add_official_then_issue_a_token_that_works(api: Bench) -> None:
    added = api.kor.post("/v1/officials", json=_official(), headers=auth(KOR_SO))
    assert added.status_code == 201, added.text
    assert added.json()["clearance"] == "군사III급비밀"
    issued = api.kor.post("/v1/officials/kor-analyst-9/tokens", headers=auth(KOR_SO))
    assert issued.status_code == 201
    token = issued.json()["token"]
    assert issued.json()["official_id"] == "kor-analyst-9"
    me = api.kor.get("/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert (me.status_code, me.json()["id"], me.json()["rank"]) == (200, "kor-analyst-9", "major")
    log = api.audit("KOR")
    assert token not in repr(log)
    assert token_hash(token).hex()[:12] in repr(log[-2:])
    assert [(r.kind, r.decision) for r in log[-2:]] == [
        (AuditKind.OFFICIAL_EVENT, "enrol"),
        (AuditKind.OFFICIAL_EVENT, "token"),
    ]


def test_only_a_security_officer_manages_the_directory(api: Bench) -> None:
    before, audit_before = api.stored("KOR"), len(api.audit("KOR"))
    for response in (
        api.kor.get("/v1/officials", headers=auth(RELEASER)),
        api.kor.post("/v1/officials", json=_official(), headers=auth(RELEASER)),
        api.kor.post(f"/v1/officials/{KOR_READER}/tokens", headers=auth(KOR_READER)),
    ):
        assert (response.status_code, response.json()["code"]) == (403, "NODE_FORBIDDEN")
    assert api.stored("KOR") == before
    assert [r.reasons for r in api.audit("KOR")[audit_before:]] == [("NODE_FORBIDDEN",)] * 3


def test_malformed_officials_are_refused_and_nothing_stored(api: Bench) -> None:
    before = api.stored("KOR")
    cases = [
        (_official(roles=["admiral"]), 422, "REQUEST_INVALID"),
        (_official(in_register="yes"), 422, "REQUEST_INVALID"),
        (_official(id="has space"), 422, "REQUEST_INVALID"),
        (_official(duties=["not a topic"]), 400, "STORE_RECORD_INVALID"),
        (_official(nationality="JPN"), 400, "NODE_OFFICIAL_FOREIGN"),
        (_official(clearance="TOP SECRET-ish"), 400, "UNKNOWN_LEVEL"),
    ]
    for body, status, code in cases:
        response = api.kor.post("/v1/officials", json=body, headers=auth(KOR_SO))
        assert (response.status_code, response.json()["code"]) == (status, code), body
    assert api.stored("KOR") == before


def test_a_token_for_an_unknown_official_is_404(api: Bench) -> None:
    before = api.stored("KOR")
    response = api.kor.post("/v1/officials/nobody-here/tokens", headers=auth(KOR_SO))
    assert (response.status_code, response.json()["code"]) == (404, "OFFICIAL_NOT_FOUND")
    assert api.stored("KOR") == before
