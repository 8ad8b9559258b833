"""``POST /v1/items``: a release, its refusals, and each malformed body, with nothing stored."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from gsomia.audit.records import AuditKind
from tests.unit.api.helpers import (
    KOR_READER,
    PAYLOAD,
    RELEASER,
    Bench,
    auth,
    bench,
    label_json,
    release_body,
)


def _nothing_stored(api: Bench, response: Any, before: tuple[int, int, int]) -> None:
    assert api.stored("KOR") == before, response.text


def test_release_is_201_with_each_decision(api: Bench) -> None:
    response = api.kor.post("/v1/items", json=release_body(), headers=auth(RELEASER))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["released"] is True
    decision = body["decisions"]["JPN"]
    assert decision["allowed"] is True
    assert decision["codes"] == ["RELEASE_ALLOWED"]
    assert decision["path"] == ["KOR", "JPN"]
    assert decision["agreement"] == "kor-jpn-gsomia-2016"
    assert decision["markings"][-1]["party"] == "JPN"
    assert api.stored("KOR")[:2] == (1, 1)
    releases = [r for r in api.audit("KOR") if r.kind is AuditKind.RELEASE]
    assert [(r.subject, r.decision) for r in releases] == [(body["item_id"], "allow")]


def test_release_of_base64_content(api: Bench) -> None:
    raw = b"\x00\x01binary\xff"
    body = release_body(text=None, payload_b64=base64.b64encode(raw).decode())
    response = api.kor.post("/v1/items", json=body, headers=auth(RELEASER))
    assert response.status_code == 201, response.text


def test_unknown_party_is_refused_with_reasons_audited_and_nothing_stored(api: Bench) -> None:
    before, audit_before = api.stored("KOR"), len(api.audit("KOR"))
    body = release_body(recipients=["JPN", "XYZ"])
    response = api.kor.post("/v1/items", json=body, headers=auth(RELEASER))
    assert response.status_code == 403
    problem = response.json()
    assert problem["code"] == "RELEASE_REFUSED"
    assert "UNKNOWN_PARTY" in problem["reasons"]
    assert problem["decisions"]["XYZ"]["allowed"] is False
    assert "UNKNOWN_PARTY" in problem["decisions"]["XYZ"]["codes"]
    assert problem["decisions"]["JPN"]["allowed"] is True  # withheld: all or nothing
    _nothing_stored(api, response, before)
    denials = api.audit("KOR")[audit_before:]
    assert {(r.kind, r.decision) for r in denials} == {(AuditKind.RELEASE, "deny")}
    assert {r.subject for r in denials} == {problem["item_id"]}


def test_wrong_role_is_403_from_the_node_audited(api: Bench) -> None:
    before, audit_before = api.stored("KOR"), len(api.audit("KOR"))
    response = api.kor.post("/v1/items", json=release_body(), headers=auth(KOR_READER))
    assert (response.status_code, response.json()["code"]) == (403, "NODE_FORBIDDEN")
    _nothing_stored(api, response, before)
    last = api.audit("KOR")[audit_before:]
    assert [(r.kind, r.actor, r.reasons) for r in last] == [
        (AuditKind.RELEASE, KOR_READER, ("NODE_FORBIDDEN",))
    ]


def test_no_token_is_401_even_with_a_good_body(api: Bench) -> None:
    before = api.stored("KOR")
    response = api.kor.post("/v1/items", json=release_body())
    assert response.status_code == 401
    _nothing_stored(api, response, before)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"label": ',
        b"[1, 2",
        b'{"topic": "A", "topic": "B"}',
        b'{"n": NaN}',
        b'{"n": 123456789012345678901}',
        b"\xef\xbb\xbf{}",
        b"[" * 40 + b"]" * 40,
        b"\xff\xfe",
    ],
    ids=["truncated", "unclosed", "duplicate", "nan", "big-int", "bom", "deep", "not-utf8"],
)
def test_malformed_json_is_400(api: Bench, raw: bytes) -> None:
    before = api.stored("KOR")
    response = api.kor.post(
        "/v1/items",
        content=raw,
        headers={**auth(RELEASER), "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()["code"]) == (400, "JSON_INVALID")
    _nothing_stored(api, response, before)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"text": None}, "body"),  # neither content
        ({"payload_b64": "QUJD"}, "body"),  # both
        ({"text": None, "payload_b64": "not base64!"}, "payload_b64"),
        ({"recipients": []}, "recipients"),
        ({"recipients": "JPN"}, "recipients"),
        ({"topic": 7}, "topic"),
        ({"extra": True}, "extra"),
        ({"label": "KOR SECRET"}, "label"),
    ],
)
def test_a_body_that_fails_its_schema_is_422(
    api: Bench, overrides: dict[str, Any], field: str
) -> None:
    before = api.stored("KOR")
    response = api.kor.post("/v1/items", json=release_body(**overrides), headers=auth(RELEASER))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "REQUEST_INVALID"
    assert any(field in e["loc"] for e in problem["errors"]), problem
    assert all(set(e) == {"loc", "msg", "type"} for e in problem["errors"])  # never the input
    assert PAYLOAD.decode() not in response.text
    _nothing_stored(api, response, before)


def test_an_ill_formed_label_is_422_with_the_label_code(api: Bench) -> None:
    before = api.stored("KOR")
    label = label_json()
    label["originator"] = "korea"
    response = api.kor.post("/v1/items", json=release_body(label=label), headers=auth(RELEASER))
    assert response.status_code == 422
    assert response.json()["code"].startswith("LABEL_")
    del label["originator"]
    missing = api.kor.post("/v1/items", json=release_body(label=label), headers=auth(RELEASER))
    assert missing.json()["code"] == "LABEL_FIELD_MISSING"
    _nothing_stored(api, response, before)


def test_empty_content_is_the_nodes_400_and_audited(api: Bench) -> None:
    before, audit_before = api.stored("KOR"), len(api.audit("KOR"))
    response = api.kor.post("/v1/items", json=release_body(text=""), headers=auth(RELEASER))
    assert (response.status_code, response.json()["code"]) == (400, "NODE_INPUT_INVALID")
    _nothing_stored(api, response, before)
    assert api.audit("KOR")[-1].reasons == ("NODE_INPUT_INVALID",)
    assert len(api.audit("KOR")) == audit_before + 1


def test_a_body_that_is_not_json_is_415(api: Bench) -> None:
    response = api.kor.post(
        "/v1/items",
        content=json.dumps(release_body()).encode(),
        headers={**auth(RELEASER), "Content-Type": "text/plain"},
    )
    assert (response.status_code, response.json()["code"]) == (415, "MEDIA_TYPE_UNSUPPORTED")


def test_an_empty_body_is_422(api: Bench) -> None:
    response = api.kor.post(
        "/v1/items", headers={**auth(RELEASER), "Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()["code"]) == (422, "REQUEST_INVALID")


def test_oversized_body_with_content_length_is_413(api: Bench) -> None:
    small = bench(max_body=1024)
    before, audit_before = small.stored("KOR"), len(small.audit("KOR"))
    body = release_body(text="x" * 2048)
    response = small.kor.post("/v1/items", json=body, headers=auth(RELEASER))
    assert response.status_code == 413
    assert response.json()["code"] == "BODY_TOO_LARGE"
    assert response.json()["max_body"] == 1024
    assert small.stored("KOR") == before
    refused = small.audit("KOR")[audit_before:]  # refused before the node decided: audited
    assert [(r.kind, r.reasons, r.detail["route"]) for r in refused] == [
        (AuditKind.REJECT, ("BODY_TOO_LARGE",), "POST /v1/items")
    ]


def test_oversized_streamed_body_without_content_length_is_413(api: Bench) -> None:
    small = bench(max_body=1024)
    before = small.stored("KOR")
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        raw = json.dumps(release_body(text="y" * 4096)).encode()
        for i in range(0, len(raw), 256):
            sent.append(i)
            yield raw[i : i + 256]

    response = small.kor.post(
        "/v1/items",
        content=chunks(),
        headers={**auth(RELEASER), "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert (response.status_code, response.json()["code"]) == (413, "BODY_TOO_LARGE")
    assert small.stored("KOR") == before


def test_a_streamed_body_within_the_limit_is_accepted(api: Bench) -> None:
    raw = json.dumps(release_body()).encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(raw), 100):
            yield raw[i : i + 100]

    response = api.kor.post(
        "/v1/items",
        content=chunks(),
        headers={**auth(RELEASER), "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


def test_payload_is_released_byte_for_byte(api: Bench) -> None:
    response = api.kor.post("/v1/items", json=release_body(), headers=auth(RELEASER))
    item_id = response.json()["item_id"]
    content = api.kor.get(f"/v1/items/{item_id}/content", headers=auth(RELEASER))
    assert content.status_code == 200
    assert content.content == PAYLOAD
