"""The OpenAPI document: every route, with its problem responses typed by a Problem schema."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from gsomia.api.routes import ROUTERS
from tests.unit.api.helpers import PROBLEM, Bench

ROUTES = {
    ("get", "/v1/health"),
    ("get", "/v1/whoami"),
    ("get", "/v1/agreements"),
    ("get", "/v1/agreements/{agreement_id}/status"),
    ("post", "/v1/items"),
    ("post", "/v1/items/batch"),
    ("get", "/v1/items"),
    ("get", "/v1/items/{item_id}"),
    ("get", "/v1/items/{item_id}/content"),
    ("get", "/v1/items/{item_id}/receipts"),
    ("get", "/v1/outbox"),
    ("get", "/v1/officials"),
    ("post", "/v1/officials"),
    ("post", "/v1/officials/{official_id}/tokens"),
    ("get", "/v1/audit/head"),
    ("get", "/v1/audit/checkpoint"),
    # the cases (Arts. 6, 8, 13, 17, 21): tests/unit/api/test_cases_*.py
    ("post", "/v1/items/{item_id}/consent-requests"),
    ("get", "/v1/consent-requests"),
    ("post", "/v1/consent-requests/{request_id}/decision"),
    ("post", "/v1/consents/{consent_id}/revoke"),
    ("post", "/v1/items/{item_id}/forward"),
    ("post", "/v1/breaches"),
    ("get", "/v1/breaches"),
    ("patch", "/v1/breaches/{breach_id}"),
    ("post", "/v1/items/{item_id}/reclassify"),
    ("post", "/v1/items/{item_id}/disposal-requests"),
    ("post", "/v1/disposals/{disposal_id}/execute"),
    ("post", "/v1/items/{item_id}/destroy"),
    ("get", "/v1/disposals"),
    ("post", "/v1/visits"),
    ("post", "/v1/visits/{visit_id}/decision"),
    ("get", "/v1/visits"),
    ("post", "/v1/agreements/{agreement_id}/events"),
    ("get", "/v1/agreements/{agreement_id}/events"),
    # issue 5: JSON track ingest (tests/unit/streaming/test_json_ingest.py)
    ("post", "/v1/tracks"),
    ("get", "/v1/tracks/stats"),
}


def _document(api: Bench) -> dict[str, Any]:
    response = api.kor.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def test_the_document_lists_every_route(api: Bench) -> None:
    document = _document(api)
    assert document["openapi"].startswith("3.")
    assert set(_operations(document)) == ROUTES
    served = {
        (method.lower(), route.path)
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert served == ROUTES


def test_every_operation_declares_its_problems(api: Bench) -> None:
    document = _document(api)
    schemas = document["components"]["schemas"]
    assert {"type", "title", "status", "detail", "code"} <= set(schemas["Problem"]["required"])
    assert "errors" in schemas["ValidationProblem"]["properties"]
    assert "HTTPValidationError" not in schemas
    for (method, path), operation in _operations(document).items():
        responses = operation["responses"]
        expected = {"413", "500", "503"}
        if path != "/v1/health":
            expected |= {"401", "403"}
            assert operation["security"] == [{"bearer": []}]
        if "{" in path:
            expected |= {"400", "404", "422"}
        if method == "post" and path in {"/v1/items", "/v1/officials"}:
            expected |= {"400", "415", "422"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert list(response["content"]) == [PROBLEM], (method, path, status)
                ref = response["content"][PROBLEM]["schema"]["$ref"]
                assert ref.rsplit("/", 1)[-1] in schemas
        if "401" in responses:
            assert "WWW-Authenticate" in responses["401"]["headers"]


def test_release_documents_its_refusal_and_label(api: Bench) -> None:
    document = _document(api)
    post = document["paths"]["/v1/items"]["post"]
    ref = post["responses"]["403"]["content"][PROBLEM]["schema"]["$ref"]
    assert ref.endswith("/ReleaseRefusedProblem")
    schemas = document["components"]["schemas"]
    assert {"reasons", "decisions"} <= set(schemas["ReleaseRefusedProblem"]["properties"])
    label = schemas["ReleaseIn"]["properties"]["label"]
    assert label["additionalProperties"] is False
    assert "classification" in label["required"]
    content = document["paths"]["/v1/items/{item_id}/content"]["get"]["responses"]["200"]
    assert "application/octet-stream" in content["content"]


def test_bearer_scheme_is_declared(api: Bench) -> None:
    scheme = _document(api)["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
