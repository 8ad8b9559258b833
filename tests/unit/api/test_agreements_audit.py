"""Agreements (Art. 21) and the audit log's head and checkpoint through the API."""

from __future__ import annotations

from gsomia.agreements import status_at, status_to_dict, summary_to_dict
from gsomia.instants import parse_instant
from tests.unit.api.helpers import KOR_READER, Bench, auth


def test_agreements_list_is_the_clis_rows(api: Bench) -> None:
    response = api.kor.get("/v1/agreements", headers=auth(KOR_READER))
    assert response.status_code == 200
    body = response.json()
    registry = api.cluster.nodes["KOR"].registry
    now = api.cluster.clock.now()
    expected = [
        summary_to_dict(registry.agreement(i), status_at(registry.timeline(i), now))
        for i in sorted(registry.agreements)
    ]
    assert body["items"] == expected
    assert body["next"] is None
    assert body["at"] == "2026-11-23T03:00:00Z"
    paged = api.kor.get("/v1/agreements?limit=1", headers=auth(KOR_READER)).json()
    assert [a["id"] for a in paged["items"]] == [expected[0]["id"]]
    second = api.kor.get(
        "/v1/agreements", params={"limit": 1, "after": paged["next"]}, headers=auth(KOR_READER)
    ).json()
    assert [a["id"] for a in second["items"]] == [expected[1]["id"]]


def test_agreement_status_at_an_instant(api: Bench) -> None:
    at = "2019-11-22T18:00:00+09:00"
    response = api.kor.get(
        "/v1/agreements/kor-jpn-gsomia-2016/status", params={"at": at}, headers=auth(KOR_READER)
    )
    assert response.status_code == 200
    registry = api.cluster.nodes["KOR"].registry
    agreement = registry.agreement("kor-jpn-gsomia-2016")
    expected = status_to_dict(
        status_at(registry.timeline(agreement.id), parse_instant(at)), agreement.tz
    )
    assert response.json() == expected
    assert response.json()["state"] == "notice_suspended"


def test_agreement_status_defaults_to_now(api: Bench) -> None:
    body = api.kor.get("/v1/agreements/kor-jpn-gsomia-2016/status", headers=auth(KOR_READER)).json()
    assert body["at"] == "2026-11-23T12:00:00+09:00"
    assert (body["state"], body["exchange_allowed"]) == ("in_force", True)


def test_agreement_errors(api: Bench) -> None:
    unknown = api.kor.get("/v1/agreements/no-such-agreement/status", headers=auth(KOR_READER))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "AGREEMENT_NOT_FOUND")
    naive = api.kor.get(
        "/v1/agreements/kor-jpn-gsomia-2016/status",
        params={"at": "2019-11-22T18:00:00"},
        headers=auth(KOR_READER),
    )
    assert (naive.status_code, naive.json()["code"]) == (400, "INSTANT_NO_OFFSET")
    bad = api.kor.get(
        "/v1/agreements/kor-jpn-gsomia-2016/status", params={"at": "soon"}, headers=auth(KOR_READER)
    )
    assert bad.status_code == 400
    assert bad.json()["code"].startswith("INSTANT_")
    assert api.kor.get("/v1/agreements").status_code == 401


def test_audit_head_and_checkpoint(api: Bench) -> None:
    api.kor.get("/v1/whoami")  # one audited refusal, so the log is not empty
    head = api.kor.get("/v1/audit/head", headers=auth(KOR_READER))
    assert head.status_code == 200
    size, root = api.cluster.nodes["KOR"].audit_head()
    assert head.json() == {"size": size, "root": root.hex()}
    assert size >= 1
    note = api.kor.get("/v1/audit/checkpoint", headers=auth(KOR_READER))
    assert note.status_code == 200
    assert note.headers["content-type"].startswith("text/plain")
    lines = note.text.splitlines()
    assert lines[0] == "gsomia/kor/audit"
    assert lines[1] == str(size)
    assert "\u2014 " in note.text  # the signature line of a C2SP signed note
