"""Art. 6 and Art. 13 over the API: reclassification re-marked by the holder, return or
destruction requested and executed with a certificate, a holder's own destruction; refusals
audited, nothing else stored."""

from __future__ import annotations

from typing import Any

import pytest

from gsomia.audit.records import AuditKind
from tests.unit.api.casekit import (
    JPN_READER,
    JPN_RELEASER,
    JPN_SECURITY,
    KOR_READER,
    KOR_SECURITY,
    RELEASER,
    CaseBench,
    auth,
    body_of,
    case_bench,
    denied,
)

WHY = "no longer needed"


@pytest.fixture
def api() -> CaseBench:
    return case_bench()


def test_reclassification_is_re_marked_by_the_holder(api: CaseBench) -> None:
    item_id = api.held_at_jpn()
    url = f"/v1/items/{item_id}/reclassify"
    item = body_of(api.kor.post(url, json={"level": "군사III급비밀"}, headers=auth(RELEASER)), 200)
    assert item["markings"]["originator"]["classification"] == "군사III급비밀"
    api.pump()
    held = body_of(api.jpn.get(f"/v1/items/{item_id}", headers=auth(JPN_READER)), 200)
    assert held["markings"]["originator"]["classification"] == "군사III급비밀"
    assert held["markings"]["ours"]["classification"] == "秘"  # Art. 4: JPN's equivalent


@pytest.mark.parametrize(
    ("party", "who", "item", "body", "status", "code", "kind"),
    [
        ("KOR", KOR_READER, "ITEM", {"level": "군사III급비밀"}, 403, "NODE_FORBIDDEN",
         AuditKind.RECLASSIFY),
        ("KOR", RELEASER, "no-such-item", {"level": "군사III급비밀"}, 404, "NODE_ITEM_NOT_FOUND",
         AuditKind.RECLASSIFY),
        ("KOR", RELEASER, "ITEM", {"level": "극비"}, 400, "NODE_UNKNOWN_LEVEL",
         AuditKind.RECLASSIFY),
        ("KOR", RELEASER, "ITEM", {"level": "군사II급비밀"}, 400, "NODE_SAME_LEVEL",
         AuditKind.RECLASSIFY),
        ("JPN", JPN_RELEASER, "ITEM", {"level": "秘"}, 403, "NODE_NOT_ORIGINATOR",
         AuditKind.RECLASSIFY),
        ("KOR", RELEASER, "ITEM", {}, 422, "REQUEST_INVALID", AuditKind.REJECT),
    ],
    ids=["reader", "unknown-item", "unknown-level", "same-level", "not-originator", "no-level"],
)  # fmt: skip
def test_a_refused_reclassification_is_audited_and_stores_nothing(
    api: CaseBench,
    party: str,
    who: str,
    item: str,
    body: dict[str, Any],
    status: int,
    code: str,
    kind: AuditKind,
) -> None:
    item_id = api.held_at_jpn() if item == "ITEM" else item
    problem, added = api.refused(party, "POST", f"/v1/items/{item_id}/reclassify", who, json=body)
    assert (problem["status"], problem["code"]) == (status, code)
    assert denied(added, kind, code)


def test_a_destruction_is_requested_executed_and_certified(api: CaseBench) -> None:
    item_id = api.held_at_jpn()
    url = f"/v1/items/{item_id}/disposal-requests"
    body = {"holder": "JPN", "action": "destroy", "reason": WHY}
    asked = body_of(api.kor.post(url, json=body, headers=auth(RELEASER)), 201)
    assert (asked["state"], asked["holder"], asked["action"]) == ("requested", "JPN", "destroy")
    assert asked["request"] is not None
    assert asked["certificate"] is None
    problem, added = api.refused("KOR", "POST", url, RELEASER, json=body)
    assert (problem["status"], problem["code"]) == (409, "NODE_DISPOSAL_PENDING")
    assert denied(added, AuditKind.DESTROY, "NODE_DISPOSAL_PENDING")
    api.pump()
    (pending,) = body_of(api.jpn.get("/v1/disposals", headers=auth(JPN_SECURITY)), 200)["items"]
    assert pending["disposal_id"] == asked["disposal_id"]
    problem, added = api.refused(
        "JPN", "POST", f"/v1/disposals/{asked['disposal_id']}/execute", JPN_READER
    )
    assert (problem["status"], problem["code"]) == (403, "NODE_FORBIDDEN")
    done = body_of(
        api.jpn.post(f"/v1/disposals/{asked['disposal_id']}/execute", headers=auth(JPN_SECURITY)),
        200,
    )
    assert (done["state"], done["certificate"] is not None) == ("completed", True)
    read = api.jpn.get(f"/v1/items/{item_id}/content", headers=auth(JPN_READER))
    assert (read.status_code, read.json()["code"]) == (403, "NODE_ITEM_NOT_HELD")
    problem, added = api.refused(
        "JPN", "POST", f"/v1/disposals/{asked['disposal_id']}/execute", JPN_SECURITY
    )
    assert (problem["status"], problem["code"]) == (409, "NODE_DISPOSAL_DONE")
    assert denied(added, AuditKind.DESTROY, "NODE_DISPOSAL_DONE")
    api.pump()
    (certified,) = body_of(
        api.kor.get("/v1/disposals", params={"item_id": item_id}, headers=auth(KOR_SECURITY)), 200
    )["items"]
    assert (certified["state"], certified["completed"]) == ("completed", done["completed"])


@pytest.mark.parametrize(
    ("body", "status", "code", "kind"),
    [
        ({"holder": "USA", "action": "return", "reason": WHY}, 400, "NODE_NOT_A_HOLDER",
         AuditKind.DESTROY),
        ({"holder": "XYZ", "action": "return", "reason": WHY}, 400, "NODE_INPUT_INVALID",
         AuditKind.DESTROY),
        ({"holder": "JPN", "action": "burn", "reason": WHY}, 422, "REQUEST_INVALID",
         AuditKind.REJECT),
        ({"holder": "JPN", "action": "return"}, 422, "REQUEST_INVALID", AuditKind.REJECT),
    ],
    ids=["not-a-holder", "unknown-party", "unknown-action", "no-reason"],
)  # fmt: skip
def test_a_refused_disposal_request_is_audited_and_stores_nothing(
    api: CaseBench, body: dict[str, Any], status: int, code: str, kind: AuditKind
) -> None:
    item_id = api.held_at_jpn()
    url = f"/v1/items/{item_id}/disposal-requests"
    problem, added = api.refused("KOR", "POST", url, RELEASER, json=body)
    assert (problem["status"], problem["code"]) == (status, code)
    assert denied(added, kind, code)


def test_a_holder_destroys_a_copy_no_longer_needed(api: CaseBench) -> None:
    item_id = api.held_at_jpn()
    url = f"/v1/items/{item_id}/destroy"
    problem, added = api.refused("JPN", "POST", url, JPN_RELEASER, json={"reason": WHY})
    assert (problem["status"], problem["code"]) == (403, "NODE_FORBIDDEN")
    assert denied(added, AuditKind.DESTROY, "NODE_FORBIDDEN")
    problem, added = api.refused("KOR", "POST", url, KOR_SECURITY, json={"reason": WHY})
    assert (problem["status"], problem["code"]) == (400, "NODE_OWN_ITEM")
    done = body_of(api.jpn.post(url, json={"reason": WHY}, headers=auth(JPN_SECURITY)), 201)
    assert (done["state"], done["action"], done["requested"]) == ("completed", "destroy", None)
    problem, added = api.refused("JPN", "POST", url, JPN_SECURITY, json={"reason": WHY})
    assert (problem["status"], problem["code"]) == (409, "NODE_ITEM_NOT_HELD")
    assert denied(added, AuditKind.DESTROY, "NODE_ITEM_NOT_HELD")
    problem, added = api.refused("JPN", "POST", "/v1/items/nope/destroy", JPN_SECURITY,
                                 json={"reason": WHY})  # fmt: skip
    assert (problem["status"], problem["code"]) == (404, "NODE_ITEM_NOT_FOUND")
    api.pump()
    (certified,) = body_of(api.kor.get("/v1/disposals", headers=auth(RELEASER)), 200)["items"]
    assert (certified["holder"], certified["state"]) == ("JPN", "completed")


def test_listing_disposals_needs_an_officer(api: CaseBench) -> None:
    problem, added = api.refused("JPN", "GET", "/v1/disposals", JPN_READER)
    assert (problem["status"], problem["code"]) == (403, "NODE_FORBIDDEN")
    assert denied(added, AuditKind.DESTROY, "NODE_FORBIDDEN")
    problem, added = api.refused("JPN", "POST", "/v1/disposals/nope/execute", JPN_SECURITY)
    assert (problem["status"], problem["code"]) == (404, "NODE_DISPOSAL_NOT_FOUND")
