"""Schemathesis against the OpenAPI document of a running node (issue 8 §3), and the defects
it found, each held by a regression test.

The run (:mod:`.conformance`) is short here: 3 cases per operation, identity, mode and id set,
derandomised, against two real node processes (:mod:`.running`).  ``bench/schemathesis.sh``
runs the same with 50; its figures are in docs/security.md §9.

Defects found and fixed (src/gsomia/api):

* 403 on ``POST /v1/items`` and ``POST /v1/items/{item_id}/forward`` was documented as the
  richer ``RELEASE_REFUSED`` / ``FORWARD_REFUSED`` problem only, so a ``NODE_FORBIDDEN`` answer
  (a caller without the role) broke the document: the richer members are now required only when
  the code is the richer one (:func:`gsomia.api.problems.refusal_members`);
* ``POST /v1/breaches`` answered 404 ``NODE_ITEM_NOT_FOUND`` (an unknown ``item_id`` in the
  body) without documenting 404.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
import requests

from gsomia.api.models import ReleaseRefusedProblem
from gsomia.api.models_cases import ForwardRefusedProblem
from tests.conformance.conformance import IDENTITIES, run
from tests.conformance.running import Running

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


def test_the_running_node_conforms_to_its_document(running: Running) -> None:
    tally = run(running, examples=3)
    summary = tally.summary()
    assert summary["operations"] >= 34
    assert set(summary["by_identity"]) == set(IDENTITIES)
    assert not any(status >= 500 for status in tally.statuses)
    for identity in ("security_officer", "release_officer", "reader", "sensor_feed"):
        assert summary["by_identity"][identity].get(200, 0) > 0, identity  # it got in
    for identity in ("no_token", "garbage_token"):  # only the health check let it in
        # a body that is not strict JSON is refused before the token is read (400, 415)
        assert set(summary["by_identity"][identity]) <= {200, 400, 401, 415}, identity
        assert summary["by_identity"][identity].get(200, 0) <= 3, identity
    assert tally.failures == [], "\n".join(str(f) for f in tally.failures[:20])


def _document(running: Running) -> dict[str, Any]:
    client = running.client()
    document: dict[str, Any] = client.json("GET", "/openapi.json")
    return document


def _schema(document: dict[str, Any], path: str, method: str, status: str) -> Any:
    response = document["paths"][path][method]["responses"][status]
    schema = response["content"][PROBLEM]["schema"]
    return jsonschema_rs.validator_for(
        {**schema, "components": document["components"]},
        validate_formats=False,
    )


@pytest.mark.parametrize(
    ("path", "model", "code"),
    [
        ("/v1/items", ReleaseRefusedProblem, "RELEASE_REFUSED"),
        ("/v1/items/{item_id}/forward", ForwardRefusedProblem, "FORWARD_REFUSED"),
    ],
)
def test_a_403_may_be_a_plain_problem_or_the_richer_refusal(
    running: Running, path: str, model: type, code: str
) -> None:
    """Regression: NODE_FORBIDDEN under a 403 documented as the richer refusal."""
    validator = _schema(_document(running), path, "post", "403")
    plain = {"type": "urn:gsomia:problem:node-forbidden", "title": "Forbidden", "status": 403,
             "detail": "no role", "code": "NODE_FORBIDDEN", "instance": path}  # fmt: skip
    assert validator.is_valid(plain)
    richer_without_members = {**plain, "code": code, "type": "urn:gsomia:problem:x"}
    assert not validator.is_valid(richer_without_members)  # the richer code needs its members
    assert "reasons" in model.model_json_schema()["then"]["required"]


def test_a_forbidden_forward_is_a_documented_403(running: Running) -> None:
    """Regression, end to end: a security officer (no release role) forwards; the answer is
    NODE_FORBIDDEN and matches the operation's documented 403."""
    validator = _schema(_document(running), "/v1/items/{item_id}/forward", "post", "403")
    answer = requests.post(
        f"{running.api_url}/v1/items/{running.ids['held_item']}/forward",
        json={"third_party": "USA", "purpose": "joint assessment"},
        headers={"Authorization": f"Bearer {running.tokens['security_officer']}"},
        timeout=30,
    )
    assert (answer.status_code, answer.json()["code"]) == (403, "NODE_FORBIDDEN")
    assert validator.is_valid(answer.json())


def test_a_breach_of_an_unknown_item_is_a_documented_404(running: Running) -> None:
    """Regression: POST /v1/breaches with an unknown item_id answers a documented 404."""
    document = _document(running)
    assert "404" in document["paths"]["/v1/breaches"]["post"]["responses"]
    validator = _schema(document, "/v1/breaches", "post", "404")
    answer = requests.post(
        f"{running.api_url}/v1/breaches",
        json={"item_id": "no-such-item", "kind": "possible", "description": "lost"},
        headers={"Authorization": f"Bearer {running.tokens['reader']}"},
        timeout=30,
    )
    assert (answer.status_code, answer.json()["code"]) == (404, "NODE_ITEM_NOT_FOUND")
    assert validator.is_valid(answer.json())
