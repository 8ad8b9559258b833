"""Health, whoami, authentication, unknown routes and methods, internal errors (issue 4 §3)."""

from __future__ import annotations

import pytest

from gsomia.audit.records import AuditKind
from gsomia.errors import StoreError
from tests.unit.api.helpers import JPN_READER, KOR_SO, RELEASER, Bench, auth, token


def test_health_needs_no_token(api: Bench) -> None:
    response = api.kor.get("/v1/health")
    assert response.status_code == 200
    assert response.json() == {"party": "KOR", "status": "ok"}
    assert response.headers["x-content-type-options"] == "nosniff"


def test_whoami_is_the_callers_record(api: Bench) -> None:
    response = api.kor.get("/v1/whoami", headers=auth(RELEASER))
    assert response.status_code == 200
    assert response.json() == {
        "id": RELEASER,
        "nationality": "KOR",
        "clearance": "군사II급비밀",
        "duties": ["NK-MISSILE"],
        "in_register": True,
        "rank": "",
        "post": "",
        "roles": ["reader", "release_officer"],
        "active": True,
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Basic {token(RELEASER)}"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Bearer {token(JPN_READER)}"},  # a token of another node
    ],
    ids=["missing", "unknown", "other-scheme", "empty", "foreign-node"],
)
def test_no_valid_token_is_401_audited_and_stores_nothing(
    api: Bench, headers: dict[str, str]
) -> None:
    before, audit_before = api.stored("KOR"), len(api.audit("KOR"))
    response = api.kor.get("/v1/whoami", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "NODE_UNAUTHENTICATED"
    assert response.json()["instance"] == "/v1/whoami"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="gsomia"')
    assert ('error="invalid_token"' in challenge) == bool(headers)
    assert api.stored("KOR") == before
    log = api.audit("KOR")
    assert len(log) == audit_before + 1
    assert (log[-1].kind, log[-1].decision, log[-1].reasons) == (
        AuditKind.REJECT,
        "deny",
        ("NODE_UNAUTHENTICATED",),
    )


def test_the_token_never_appears_in_a_response_or_the_audit_log(api: Bench) -> None:
    api.kor.get("/v1/whoami", headers={"Authorization": "Bearer guess-1234"})
    assert "guess-1234" not in repr(api.audit("KOR"))


def test_unknown_route_and_method_are_problems(api: Bench) -> None:
    missing = api.kor.get("/v1/nothing-here", headers=auth(KOR_SO))
    assert (missing.status_code, missing.json()["code"]) == (404, "ROUTE_NOT_FOUND")
    wrong = api.kor.delete("/v1/health")
    assert (wrong.status_code, wrong.json()["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert wrong.headers["allow"] == "GET"


def test_an_unexpected_exception_is_a_bare_500(
    api: Bench, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom() -> tuple[int, bytes]:
        raise RuntimeError("secret internals at /srv/keys")

    monkeypatch.setattr(api.cluster.nodes["KOR"], "audit_head", boom)
    response = api.kor.get("/v1/audit/head", headers=auth(KOR_SO))
    assert response.status_code == 500
    assert response.json()["code"] == "INTERNAL"
    assert "secret" not in response.text
    assert "RuntimeError" not in response.text
    assert "secret internals" in caplog.text  # logged for the operator, not sent


def test_a_store_failure_is_503_without_its_message(
    api: Bench, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def down() -> tuple[int, bytes]:
        raise StoreError("/srv/kor/node.sqlite: database is locked", detail={"path": "/srv"})

    monkeypatch.setattr(api.cluster.nodes["KOR"], "audit_head", down)
    response = api.kor.get("/v1/audit/head", headers=auth(KOR_SO))
    assert (response.status_code, response.json()["code"]) == (503, "STORE_UNAVAILABLE")
    assert "/srv" not in response.text
    assert "path" not in response.json()
    assert "database is locked" in caplog.text


def test_validation_of_query_parameters_is_422_with_field_errors(api: Bench) -> None:
    response = api.kor.get("/v1/items?limit=0", headers=auth(KOR_SO))
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "REQUEST_INVALID"
    assert problem["errors"][0]["loc"] == ["query", "limit"]
    over = api.kor.get("/v1/items?limit=1001", headers=auth(KOR_SO))
    assert over.status_code == 422
    state = api.kor.get("/v1/items?state=lost", headers=auth(KOR_SO))
    assert state.status_code == 422
    assert state.json()["errors"][0]["loc"] == ["query", "state"]


def test_validation_comes_after_authentication(api: Bench) -> None:
    response = api.kor.get("/v1/items?limit=0")
    assert response.status_code == 401
