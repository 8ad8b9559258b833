"""Attacks on a node's REST API (boundary: API; actors: outsider, insider official, operator
error, a partner's official with its own node's token).

Every refusal is an RFC 9457 problem with its stable code (the bench's client checks the shape),
stores nothing, and is audited at the node: by the node for what it decides, by the API's edge
for what it refuses before calling the node (docs/api.md, "Errors").
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from gsomia.audit.records import AuditKind
from tests.adversarial.harness import Watch
from tests.unit.api.helpers import (
    JPN_NO_DUTY,
    JPN_READER,
    KOR_READER,
    RELEASER,
    Bench,
    auth,
    bench,
    release_body,
)

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def api() -> Bench:
    return bench(max_body=64 * 1024)


def _refused(
    api: Bench,
    response: object,
    status: int,
    code: str,
    *,
    watch: Watch,
    kind: AuditKind = AuditKind.REJECT,
) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.json()["code"] == code  # type: ignore[attr-defined]
    watch.rejected(code, kind=kind)


def test_token_of_another_node(api: Bench) -> None:
    """JPN's reader presents its JPN token to KOR's API."""
    watch = Watch(api.store("KOR"))
    response = api.kor.get("/v1/items", headers=auth(JPN_READER))
    _refused(api, response, 401, "NODE_UNAUTHENTICATED", watch=watch)


def test_guessed_token(api: Bench) -> None:
    watch = Watch(api.store("KOR"))
    response = api.kor.post(
        "/v1/items", json=release_body(), headers={"Authorization": "Bearer gsomia_kor_guess"}
    )
    _refused(api, response, 401, "NODE_UNAUTHENTICATED", watch=watch)
    assert "gsomia_kor_guess" not in repr(watch.new_records())


def test_release_by_a_reader(api: Bench) -> None:
    watch = Watch(api.store("KOR"))
    response = api.kor.post("/v1/items", json=release_body(), headers=auth(KOR_READER))
    _refused(api, response, 403, "NODE_FORBIDDEN", watch=watch, kind=AuditKind.RELEASE)


def test_read_without_the_duty_through_the_api(api: Bench) -> None:
    created = api.kor.post("/v1/items", json=release_body(), headers=auth(RELEASER))
    assert created.status_code == 201
    api.cluster.pump()
    item_id = created.json()["item_id"]
    watch = Watch(api.store("JPN"))
    response = api.jpn.get(f"/v1/items/{item_id}/content", headers=auth(JPN_NO_DUTY))
    # the problem's code is NODE_ACCESS_DENIED; the audit record names the Art. 7 reason
    assert (response.status_code, response.json()["code"]) == (403, "NODE_ACCESS_DENIED")
    assert response.json()["reasons"] == ["NO_DUTY"]
    watch.rejected("NO_DUTY", kind=AuditKind.READ)
    assert "북한" not in response.text
    hidden = api.jpn.get(f"/v1/items/{item_id}", headers=auth(JPN_NO_DUTY))
    assert (hidden.status_code, hidden.json()["code"]) == (404, "NODE_ITEM_NOT_FOUND")  # no oracle


def test_release_to_an_unknown_party_through_the_api(api: Bench) -> None:
    watch = Watch(api.store("KOR"))
    response = api.kor.post(
        "/v1/items", json=release_body(recipients=["JPN", "XYZ"]), headers=auth(RELEASER)
    )
    assert (response.status_code, response.json()["code"]) == (403, "RELEASE_REFUSED")
    assert "UNKNOWN_PARTY" in response.json()["reasons"]
    watch.rejected("UNKNOWN_PARTY", kind=AuditKind.RELEASE)


def _post_raw(api: Bench, raw: bytes, *, actor: str = RELEASER) -> object:
    return api.kor.post("/v1/items", content=raw, headers={**auth(actor), **JSON})


@pytest.mark.parametrize(
    "raw",
    [
        b'{"label": {',
        b'{"recipients": ["JPN"], "recipients": ["USA"]}',  # member smuggling
        b'{"n": 123456789012345678901234567890}',
        b'{"n": NaN}',
        b"\xef\xbb\xbf{}",
        b"\xff\xfe{}",
        b'{"a": "\\ud800"}',  # a lone surrogate
    ],
    ids=["truncated", "duplicate-member", "huge-int", "nan", "bom", "not-utf8", "lone-surrogate"],
)
def test_malformed_json(api: Bench, raw: bytes) -> None:
    watch = Watch(api.store("KOR"))
    response = _post_raw(api, raw)
    assert response.status_code in (400, 422), response.text  # type: ignore[attr-defined]
    code = response.json()["code"]  # type: ignore[attr-defined]
    assert code in ("JSON_INVALID", "REQUEST_INVALID")
    watch.rejected(code, kind=AuditKind.REJECT)


@pytest.mark.parametrize("depth", [33, 1000, 30_000])
def test_deeply_nested_json(api: Bench, depth: int) -> None:
    """Nesting beyond 32 levels, up to what fits in the body limit, never reaches a recursive
    parser (a RecursionError would be a 500)."""
    watch = Watch(api.store("KOR"))
    body = b'{"label":' + b"[" * depth + b"]" * depth + b"}"
    response = _post_raw(api, body)
    _refused(api, response, 400, "JSON_INVALID", watch=watch)


def test_oversized_body(api: Bench) -> None:
    watch = Watch(api.store("KOR"))
    body = release_body(text="x" * (64 * 1024))
    response = api.kor.post(
        "/v1/items", content=json.dumps(body), headers={**auth(RELEASER), **JSON}
    )
    _refused(api, response, 413, "BODY_TOO_LARGE", watch=watch)


def test_oversized_streamed_body(api: Bench) -> None:
    """No Content-Length: the edge counts while reading and stops past the limit."""
    watch = Watch(api.store("KOR"))

    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = api.kor.post("/v1/items", content=chunks(), headers={**auth(RELEASER), **JSON})
    _refused(api, response, 413, "BODY_TOO_LARGE", watch=watch)


def test_ill_formed_content_length(api: Bench) -> None:
    watch = Watch(api.store("KOR"))
    response = api.kor.post(
        "/v1/items",
        content=b"{}",
        headers={**auth(RELEASER), **JSON, "Content-Length": "2, 2000"},
    )
    _refused(api, response, 400, "CONTENT_LENGTH_INVALID", watch=watch)


def test_wrong_media_type(api: Bench) -> None:
    watch = Watch(api.store("KOR"))
    response = api.kor.post(
        "/v1/items",
        content=json.dumps(release_body()),
        headers={**auth(RELEASER), "Content-Type": "application/xml"},
    )
    _refused(api, response, 415, "MEDIA_TYPE_UNSUPPORTED", watch=watch)


def test_label_with_a_smuggled_member(api: Bench) -> None:
    body = release_body()
    body["label"]["downgrade_to"] = "군사III급비밀"
    watch = Watch(api.store("KOR"))
    response = api.kor.post("/v1/items", json=body, headers=auth(RELEASER))
    _refused(api, response, 422, "LABEL_FIELD_UNKNOWN", watch=watch)


def test_too_many_recipients(api: Bench) -> None:
    watch = Watch(api.store("KOR"))
    body = release_body(recipients=["JPN"] * 33)
    response = api.kor.post("/v1/items", json=body, headers=auth(RELEASER))
    _refused(api, response, 422, "REQUEST_INVALID", watch=watch)


@pytest.mark.parametrize("item_id", ["..%2F..%2Fnode.sqlite", "a%0Ab", "x" * 300])
def test_hostile_item_ids(api: Bench, item_id: str) -> None:
    """Ids that are no id: the same 404 as any unknown item, nothing stored."""
    watch = Watch(api.store("KOR"))
    response = api.kor.get(f"/v1/items/{item_id}/content", headers=auth(KOR_READER))
    assert response.status_code in (404, 422), response.text
    assert watch.changed() == set()
