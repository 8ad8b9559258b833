"""Items, content, receipts and the outbox: KOR releases through its API, JPN reads through its own."""

from __future__ import annotations

from gsomia.audit.records import AuditKind
from tests.unit.api.helpers import (
    JPN_NO_DUTY,
    JPN_READER,
    JPN_SO,
    KOR_READER,
    KOR_SO,
    PAYLOAD,
    RELEASER,
    Bench,
    auth,
    release_body,
)


def _release(api: Bench) -> str:
    response = api.kor.post("/v1/items", json=release_body(), headers=auth(RELEASER))
    assert response.status_code == 201, response.text
    item_id: str = response.json()["item_id"]
    return item_id


def test_release_pump_then_the_jpn_reader_reads_through_the_jpn_api(api: Bench) -> None:
    item_id = _release(api)
    api.cluster.pump()
    item = api.jpn.get(f"/v1/items/{item_id}", headers=auth(JPN_READER))
    assert item.status_code == 200, item.text
    body = item.json()
    assert (body["id"], body["originator"], body["received_from"]) == (item_id, "KOR", "KOR")
    assert body["state"] == "held"
    assert body["agreement"] == "kor-jpn-gsomia-2016"
    assert body["markings"]["originator"] == {
        "party": "KOR",
        "policy_id": "KOR",
        "classification": "군사II급비밀",
        "applied_by": "KOR",
    }
    ours = body["markings"]["ours"]
    assert (ours["party"], ours["classification"], ours["applied_by"]) == ("JPN", "極秘", "JPN")
    assert body["labels"]["originator"]["classification"] == "군사II급비밀"
    content = api.jpn.get(f"/v1/items/{item_id}/content", headers=auth(JPN_READER))
    assert content.status_code == 200
    assert content.headers["content-type"] == "application/octet-stream"
    assert content.content == PAYLOAD
    reads = [r for r in api.audit("JPN") if r.kind is AuditKind.READ]
    assert [(r.actor, r.decision) for r in reads] == [(JPN_READER, "allow")]


def test_a_jpn_official_without_the_duty_gets_403_audited(api: Bench) -> None:
    item_id = _release(api)
    api.cluster.pump()
    before = api.stored("JPN")
    response = api.jpn.get(f"/v1/items/{item_id}/content", headers=auth(JPN_NO_DUTY))
    assert response.status_code == 403
    problem = response.json()
    assert problem["code"] == "NODE_ACCESS_DENIED"
    assert "NO_DUTY" in problem["reasons"]
    assert PAYLOAD.decode() not in response.text
    assert api.stored("JPN") == before
    last = api.audit("JPN")[-1]
    assert (last.kind, last.actor, last.decision) == (AuditKind.READ, JPN_NO_DUTY, "deny")
    # and the item's metadata is not there for them either: no oracle
    meta = api.jpn.get(f"/v1/items/{item_id}", headers=auth(JPN_NO_DUTY))
    assert (meta.status_code, meta.json()["code"]) == (404, "NODE_ITEM_NOT_FOUND")
    listed = api.jpn.get("/v1/items", headers=auth(JPN_NO_DUTY))
    assert listed.json() == {"items": [], "next": None}


def test_unknown_item_is_404_and_stores_nothing(api: Bench) -> None:
    before = api.stored("KOR")
    for path in ("/v1/items/no-such-item", "/v1/items/no-such-item/receipts"):
        response = api.kor.get(path, headers=auth(KOR_SO))
        assert (response.status_code, response.json()["code"]) == (404, "NODE_ITEM_NOT_FOUND")
    read = api.kor.get("/v1/items/no-such-item/content", headers=auth(KOR_READER))
    assert (read.status_code, read.json()["code"]) == (404, "NODE_ITEM_NOT_FOUND")
    assert api.stored("KOR") == before
    assert api.audit("KOR")[-1].reasons == ("NODE_ITEM_NOT_FOUND",)  # the read was audited


def test_items_are_paginated_with_an_opaque_cursor(api: Bench) -> None:
    released = sorted(_release(api) for _ in range(5))
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if after is not None:
            params["after"] = after
        page = api.kor.get("/v1/items", params=params, headers=auth(KOR_SO)).json()
        seen += [i["id"] for i in page["items"]]
        pages += 1
        after = page["next"]
        if after is None:
            break
        assert after not in released  # opaque
    assert seen == released
    assert pages == 3
    held = api.kor.get("/v1/items?state=held", headers=auth(KOR_SO)).json()
    assert len(held["items"]) == 5
    gone = api.kor.get("/v1/items?state=destroyed", headers=auth(KOR_SO)).json()
    assert gone == {"items": [], "next": None}


def test_a_foreign_or_forged_cursor_is_400(api: Bench) -> None:
    _release(api)
    page = api.kor.get("/v1/outbox?limit=1", headers=auth(KOR_SO)).json()
    assert page["next"] is None
    officials = api.kor.get("/v1/officials?limit=1", headers=auth(KOR_SO)).json()
    for cursor in (officials["next"], "!!!", "aXRlbQ"):
        response = api.kor.get("/v1/items", params={"after": cursor}, headers=auth(KOR_SO))
        assert (response.status_code, response.json()["code"]) == (400, "CURSOR_INVALID")


def test_receipts_after_delivery(api: Bench) -> None:
    item_id = _release(api)
    api.cluster.pump()
    response = api.kor.get(f"/v1/items/{item_id}/receipts", headers=auth(RELEASER))
    assert response.status_code == 200
    receipts = response.json()["items"]
    assert [(r["party"], r["direction"]) for r in receipts] == [("JPN", "received")]
    assert receipts[0]["token"].startswith("gsomia-receipts/1\n")  # its extract (ADR 0011)
    assert item_id in receipts[0]["token"]
    issued = api.jpn.get(f"/v1/items/{item_id}/receipts", headers=auth(JPN_SO)).json()
    assert [(r["party"], r["direction"]) for r in issued["items"]] == [("KOR", "issued")]


def test_receipts_need_an_officer(api: Bench) -> None:
    item_id = _release(api)
    response = api.kor.get(f"/v1/items/{item_id}/receipts", headers=auth(KOR_READER))
    assert (response.status_code, response.json()["code"]) == (403, "NODE_FORBIDDEN")


def test_outbox_shows_pending_then_acknowledged(api: Bench) -> None:
    item_id = _release(api)
    pending = api.kor.get("/v1/outbox?state=pending", headers=auth(RELEASER)).json()
    (entry,) = pending["items"]
    assert (entry["key"], entry["recipient"], entry["kind"]) == (f"{item_id}:JPN", "JPN", "item")
    assert (entry["state"], entry["attempts"], entry["settled"]) == ("pending", 0, None)
    assert "payload" not in entry
    api.cluster.pump()
    done = api.kor.get("/v1/outbox", headers=auth(RELEASER)).json()["items"]
    assert [(e["state"], e["attempts"]) for e in done] == [("acknowledged", 1)]
    assert done[0]["settled"] is not None


def test_outbox_pagination_and_role(api: Bench) -> None:
    for _ in range(3):
        _release(api)
    first = api.kor.get("/v1/outbox?limit=2", headers=auth(KOR_SO)).json()
    assert len(first["items"]) == 2
    rest = api.kor.get(
        "/v1/outbox", params={"limit": 2, "after": first["next"]}, headers=auth(KOR_SO)
    ).json()
    assert len(rest["items"]) == 1
    assert rest["next"] is None
    assert rest["items"][0]["seq"] > first["items"][-1]["seq"]
    reader = api.kor.get("/v1/outbox", headers=auth(KOR_READER))
    assert (reader.status_code, reader.json()["code"]) == (403, "NODE_FORBIDDEN")
