"""Requests the API refuses before the node is called are audited (PRODUCT.md §8): each adds
exactly one ``reject`` record with the route and code, and nothing else; and the case routes
are in the OpenAPI document with their problem responses."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.types import Message

from gsomia.api import create_app
from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.errors import StoreError
from tests.unit.api.casekit import (
    JPN_READER,
    KOR_SECURITY,
    RELEASER,
    CaseBench,
    auth,
    case_bench,
)
from tests.unit.api.helpers import PROBLEM, ProblemClient, label_json, release_body

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def api() -> CaseBench:
    return case_bench()


def _one_reject(added: list[AuditRecord], code: str, route: str, actor: str) -> None:
    assert [(r.kind, r.decision, r.reasons, r.subject, r.actor) for r in added] == [
        (AuditKind.REJECT, "deny", (code,), "api", actor)
    ]
    assert dict(added[0].detail) == {"route": route, "code": code}


@pytest.mark.parametrize(
    ("method", "url", "who", "kwargs", "status", "code", "route", "actor"),
    [
        ("POST", "/v1/breaches", RELEASER, {"content": b"{}", "headers": {"Content-Type": "text/plain"}},
         415, "MEDIA_TYPE_UNSUPPORTED", "POST /v1/breaches", "unknown-official"),
        ("POST", "/v1/breaches", RELEASER, {"content": b'{"kind": ', "headers": JSON},
         400, "JSON_INVALID", "POST /v1/breaches", "unknown-official"),
        ("POST", "/v1/visits", None, {"content": b'{"a": 1, "a": 2}', "headers": JSON},
         400, "JSON_INVALID", "POST /v1/visits", "unknown-official"),
        ("POST", "/v1/breaches", RELEASER, {"json": {"kind": "actual"}},
         422, "REQUEST_INVALID", "POST /v1/breaches", RELEASER),
        ("GET", "/v1/disposals", RELEASER, {"params": {"limit": 0}},
         422, "REQUEST_INVALID", "GET /v1/disposals", RELEASER),
        ("GET", "/v1/visits", KOR_SECURITY, {"params": {"after": "!!"}},
         400, "CURSOR_INVALID", "GET /v1/visits", KOR_SECURITY),
        ("PUT", "/v1/breaches", RELEASER, {"json": {}},
         405, "METHOD_NOT_ALLOWED", "PUT /v1/breaches", "unknown-official"),
        ("GET", "/v1/agreements/kor-jpn-gsomia-2016/status", RELEASER, {"params": {"at": "soon"}},
         400, "INSTANT_INVALID", "GET /v1/agreements/{agreement_id}/status", RELEASER),
        ("POST", "/v1/items", RELEASER, {"json": release_body(label={**label_json(), "originator": "K"})},
         422, "LABEL_PARTY_INVALID", "POST /v1/items", RELEASER),
        ("POST", "/v1/officials", "kor-security-1",
         {"json": {"id": "kor-x", "nationality": "KOR", "clearance": None, "in_register": True,
                  "duties": ["not a topic"]}},
         400, "STORE_RECORD_INVALID", "POST /v1/officials", "kor-security-1"),
    ],
    ids=["415", "json-syntax", "json-duplicate", "422-body", "422-query", "cursor", "405",
         "instant", "label", "record"],
)  # fmt: skip
def test_each_refusal_at_the_edge_adds_one_reject_record_and_nothing_else(
    api: CaseBench,
    method: str,
    url: str,
    who: str | None,
    kwargs: dict[str, Any],
    status: int,
    code: str,
    route: str,
    actor: str,
) -> None:
    problem, added = api.refused("KOR", method, url, who, **kwargs)
    assert (problem["status"], problem["code"]) == (status, code), problem
    _one_reject(added, code, route, actor)


def test_an_oversized_body_is_audited_before_it_is_read(api: CaseBench) -> None:
    small = ProblemClient(create_app(api.cluster.nodes["KOR"], max_body=128))
    before, size = api.snapshot("KOR"), len(api.audit("KOR"))
    url = "/v1/items/some-item/consent-requests"
    body = {"third_party": "USA", "purpose": "x" * 512}
    response = small.post(url, json=body, headers=auth(RELEASER))
    assert (response.status_code, response.json()["code"]) == (413, "BODY_TOO_LARGE")
    assert api.snapshot("KOR") == before
    _one_reject(
        api.audit("KOR")[size:],
        "BODY_TOO_LARGE",
        f"POST {url.replace('some-item', '{item_id}')}",
        "unknown-official",
    )


def test_an_ill_formed_content_length_is_audited(api: CaseBench) -> None:
    app = create_app(api.cluster.nodes["KOR"])
    size = len(api.audit("KOR"))
    sent: list[Message] = []
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/breaches", "raw_path": b"/v1/breaches", "root_path": "",
        "query_string": b"", "headers": [(b"content-length", b"ten")],
        "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }  # fmt: skip

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 400
    _one_reject(
        api.audit("KOR")[size:], "CONTENT_LENGTH_INVALID", "POST /v1/breaches", "unknown-official"
    )


def test_refusals_the_node_decided_are_audited_once_and_no_route_is_not(api: CaseBench) -> None:
    problem, added = api.refused("KOR", "POST", "/v1/breaches", None, json={})
    assert problem["code"] == "NODE_UNAUTHENTICATED"  # the token is checked before the fields
    assert [r.reasons for r in added] == [("NODE_UNAUTHENTICATED",)]
    problem, added = api.refused("JPN", "GET", "/v1/visits", JPN_READER)
    assert [(r.kind, r.reasons) for r in added] == [(AuditKind.VISIT, ("NODE_FORBIDDEN",))]
    problem, added = api.refused("KOR", "GET", "/v1/no-such-route", RELEASER)
    assert (problem["code"], added) == ("ROUTE_NOT_FOUND", [])


def test_a_refusal_that_cannot_be_audited_is_answered_503(
    api: CaseBench, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: object) -> None:
        raise StoreError("database is locked")

    monkeypatch.setattr(api.cluster.nodes["KOR"], "audit_refused_request", down)
    response = api.kor.post("/v1/breaches", json={"kind": "actual"}, headers=auth(RELEASER))
    assert (response.status_code, response.json()["code"]) == (503, "STORE_UNAVAILABLE")
    assert "locked" not in response.text


def test_the_case_routes_document_their_problems(api: CaseBench) -> None:
    document = api.kor.get("/openapi.json").json()
    paths = document["paths"]
    forward = paths["/v1/items/{item_id}/forward"]["post"]["responses"]
    ref = forward["403"]["content"][PROBLEM]["schema"]["$ref"]
    assert ref.endswith("/ForwardRefusedProblem")
    for path, method in [
        ("/v1/items/{item_id}/forward", "post"),
        ("/v1/consent-requests/{request_id}/decision", "post"),
        ("/v1/breaches/{breach_id}", "patch"),
        ("/v1/items/{item_id}/disposal-requests", "post"),
        ("/v1/disposals/{disposal_id}/execute", "post"),
        ("/v1/visits/{visit_id}/decision", "post"),
        ("/v1/agreements/{agreement_id}/events", "post"),
    ]:
        responses = paths[path][method]["responses"]
        assert {"400", "401", "403", "404", "409", "413", "422"} <= set(responses), path
        assert list(responses["409"]["content"]) == [PROBLEM]
    schema = document["components"]["schemas"]["ConsentRequestIn"]["properties"]["expires"]
    assert {"type": "string", "format": "date-time"}.items() <= schema["anyOf"][0].items()
