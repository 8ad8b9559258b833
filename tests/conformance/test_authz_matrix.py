"""The authorisation matrix (issue 8 §3): every API route × every caller × own/partner/unknown.

One table, :data:`MATRIX`, declares for each route and target what each caller gets: the status
and the problem code.  Columns: KOR's security officer (``so``), release officer (``rel``),
reader (``read``) and sensor feed (``sensor``); ``anon`` is every caller that must never get in
(:data:`ANON`: no token, a token never issued, a revoked token, an inactive official's token, a
JPN official's token, JPN's node signing as on the channel), which must be ``401
NODE_UNAUTHENTICATED`` everywhere but the health check.  Targets: ``own`` (a record of KOR: an
item it originated, a consent request it received, a breach reported here, …), ``partner`` (a
record of JPN's held or known here), ``unknown`` (an id naming nothing), ``-`` (the route takes
none).

Each cell is a real request through the ASGI app of a KOR node on a real SQLite store, copied
from one seeded template (:mod:`.matrix`).  Every refusal must leave every table but the audit
log as it was, and grow the audit log with a record naming its code (or, for a 401, naming
``NODE_UNAUTHENTICATED``) — except 404 on read routes, which the node does not audit by design
(listing is not audited; :mod:`gsomia.api.refusals`).  The routes are enumerated from the app and
its OpenAPI document: a route without a row fails :func:`test_every_route_has_a_row`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest
from fastapi.routing import APIRoute

from gsomia.api.routes import ROUTERS
from gsomia.labels import json_codec
from tests.conformance.matrix import (
    CALLERS,
    Fresh,
    Template,
    audit_since,
    fresh,
    table_contents,
    template,
)
from tests.conftest import make_label

ROLES: Final = ("security_officer", "release_officer", "reader", "sensor_feed")
ANON: Final = tuple(c for c in CALLERS if c not in ROLES)
UNAUTH: Final = "401 NODE_UNAUTHENTICATED"
FORBIDDEN: Final = "403 NODE_FORBIDDEN"

F: Final = FORBIDDEN
U: Final = UNAUTH

# fmt: off
MATRIX: Final[tuple[tuple[str, str, str, str, str, str, str], ...]] = (
    # route                                              target     so, rel, read, sensor, anon
    ("GET /v1/health",                                  "-",       "200", "200", "200", "200", "200"),
    ("GET /v1/whoami",                                  "-",       "200", "200", "200", "200", U),
    ("GET /v1/agreements",                              "-",       "200", "200", "200", "200", U),
    ("GET /v1/agreements/{agreement_id}/status",        "own",     "200", "200", "200", "200", U),
    ("GET /v1/agreements/{agreement_id}/status",        "partner", "200", "200", "200", "200", U),
    ("GET /v1/agreements/{agreement_id}/status",        "unknown", "404 AGREEMENT_NOT_FOUND", "404 AGREEMENT_NOT_FOUND", "404 AGREEMENT_NOT_FOUND", "404 AGREEMENT_NOT_FOUND", U),
    ("POST /v1/agreements/{agreement_id}/events",       "own",     "201", F, F, F, U),
    ("POST /v1/agreements/{agreement_id}/events",       "partner", "403 NODE_NOT_A_PARTY", F, F, F, U),
    ("POST /v1/agreements/{agreement_id}/events",       "unknown", "404 NODE_AGREEMENT_NOT_FOUND", F, F, F, U),
    ("GET /v1/agreements/{agreement_id}/events",        "own",     "200", "200", F, F, U),
    ("GET /v1/agreements/{agreement_id}/events",        "partner", "200", "200", F, F, U),
    ("GET /v1/agreements/{agreement_id}/events",        "unknown", "404 AGREEMENT_NOT_FOUND", "404 AGREEMENT_NOT_FOUND", F, F, U),
    ("POST /v1/items",                                  "partner", F, "201", F, F, U),
    ("POST /v1/items",                                  "unknown", F, "403 RELEASE_REFUSED", F, F, U),
    ("POST /v1/items/batch",                            "partner", F, "200", F, F, U),
    ("POST /v1/items/batch",                            "unknown", F, "200", F, F, U),
    ("GET /v1/items",                                   "-",       "200", "200", "200", F, U),
    ("GET /v1/items/{item_id}",                         "own",     "200", "200", "200", F, U),
    ("GET /v1/items/{item_id}",                         "partner", "200", "200", "200", F, U),
    ("GET /v1/items/{item_id}",                         "unknown", "404 NODE_ITEM_NOT_FOUND", "404 NODE_ITEM_NOT_FOUND", "404 NODE_ITEM_NOT_FOUND", F, U),
    ("GET /v1/items/{item_id}/content",                 "own",     F, "200", "200", F, U),
    ("GET /v1/items/{item_id}/content",                 "partner", F, "200", "200", F, U),
    ("GET /v1/items/{item_id}/content",                 "unknown", F, "404 NODE_ITEM_NOT_FOUND", "404 NODE_ITEM_NOT_FOUND", F, U),
    ("GET /v1/items/{item_id}/receipts",                "own",     "200", "200", F, F, U),
    ("GET /v1/items/{item_id}/receipts",                "partner", "200", "200", F, F, U),
    ("GET /v1/items/{item_id}/receipts",                "unknown", "404 NODE_ITEM_NOT_FOUND", "404 NODE_ITEM_NOT_FOUND", F, F, U),
    ("GET /v1/outbox",                                  "-",       "200", "200", F, F, U),
    ("GET /v1/officials",                               "-",       "200", F, F, F, U),
    ("POST /v1/officials",                              "own",     "201", F, F, F, U),
    ("POST /v1/officials",                              "partner", "400 NODE_OFFICIAL_FOREIGN", F, F, F, U),
    ("POST /v1/officials/{official_id}/tokens",         "own",     "201", F, F, F, U),
    ("POST /v1/officials/{official_id}/tokens",         "partner", "404 OFFICIAL_NOT_FOUND", F, F, F, U),
    ("POST /v1/officials/{official_id}/tokens",         "unknown", "404 OFFICIAL_NOT_FOUND", F, F, F, U),
    ("GET /v1/audit/head",                              "-",       "200", "200", "200", "200", U),
    ("GET /v1/audit/checkpoint",                        "-",       "200", "200", "200", "200", U),
    ("POST /v1/items/{item_id}/consent-requests",       "own",     "400 NODE_INPUT_INVALID", "400 NODE_INPUT_INVALID", F, F, U),
    ("POST /v1/items/{item_id}/consent-requests",       "partner", "201", "201", F, F, U),
    ("POST /v1/items/{item_id}/consent-requests",       "unknown", "404 NODE_ITEM_NOT_FOUND", "404 NODE_ITEM_NOT_FOUND", F, F, U),
    ("GET /v1/consent-requests",                        "-",       "200", "200", F, F, U),
    ("POST /v1/consent-requests/{request_id}/decision", "own",     "200", F, F, F, U),
    ("POST /v1/consent-requests/{request_id}/decision", "partner", "404 NODE_CONSENT_NOT_FOUND", F, F, F, U),
    ("POST /v1/consent-requests/{request_id}/decision", "unknown", "404 NODE_CONSENT_NOT_FOUND", F, F, F, U),
    ("POST /v1/consents/{consent_id}/revoke",           "own",     "200", F, F, F, U),
    ("POST /v1/consents/{consent_id}/revoke",           "partner", "404 NODE_CONSENT_NOT_FOUND", F, F, F, U),
    ("POST /v1/consents/{consent_id}/revoke",           "unknown", "404 NODE_CONSENT_NOT_FOUND", F, F, F, U),
    ("POST /v1/items/{item_id}/forward",                "own",     F, "403 FORWARD_REFUSED", F, F, U),
    ("POST /v1/items/{item_id}/forward",                "partner", F, "403 FORWARD_REFUSED", F, F, U),
    ("POST /v1/items/{item_id}/forward",                "unknown", F, "404 NODE_ITEM_NOT_FOUND", F, F, U),
    ("POST /v1/breaches",                               "own",     "201", "201", "201", "201", U),
    ("POST /v1/breaches",                               "partner", "201", "201", "201", "201", U),
    ("POST /v1/breaches",                               "unknown", "404 NODE_ITEM_NOT_FOUND", "404 NODE_ITEM_NOT_FOUND", "404 NODE_ITEM_NOT_FOUND", "404 NODE_ITEM_NOT_FOUND", U),
    ("GET /v1/breaches",                                "-",       "200", F, F, F, U),
    ("PATCH /v1/breaches/{breach_id}",                  "own",     "200", F, F, F, U),
    ("PATCH /v1/breaches/{breach_id}",                  "partner", "403 NODE_NOT_REPORTER", F, F, F, U),
    ("PATCH /v1/breaches/{breach_id}",                  "unknown", "404 NODE_BREACH_NOT_FOUND", F, F, F, U),
    ("POST /v1/items/{item_id}/reclassify",             "own",     "200", "200", F, F, U),
    ("POST /v1/items/{item_id}/reclassify",             "partner", "403 NODE_NOT_ORIGINATOR", "403 NODE_NOT_ORIGINATOR", F, F, U),
    ("POST /v1/items/{item_id}/reclassify",             "unknown", "404 NODE_ITEM_NOT_FOUND", "404 NODE_ITEM_NOT_FOUND", F, F, U),
    ("POST /v1/items/{item_id}/disposal-requests",      "own",     "409 NODE_DISPOSAL_PENDING", "409 NODE_DISPOSAL_PENDING", F, F, U),
    ("POST /v1/items/{item_id}/disposal-requests",      "partner", "403 NODE_NOT_ORIGINATOR", "403 NODE_NOT_ORIGINATOR", F, F, U),
    ("POST /v1/items/{item_id}/disposal-requests",      "unknown", "404 NODE_ITEM_NOT_FOUND", "404 NODE_ITEM_NOT_FOUND", F, F, U),
    ("POST /v1/disposals/{disposal_id}/execute",        "own",     "200", F, F, F, U),
    ("POST /v1/disposals/{disposal_id}/execute",        "partner", "403 NODE_NOT_HOLDER", F, F, F, U),
    ("POST /v1/disposals/{disposal_id}/execute",        "unknown", "404 NODE_DISPOSAL_NOT_FOUND", F, F, F, U),
    ("POST /v1/items/{item_id}/destroy",                "own",     "400 NODE_OWN_ITEM", F, F, F, U),
    ("POST /v1/items/{item_id}/destroy",                "partner", "409 NODE_DISPOSAL_PENDING", F, F, F, U),
    ("POST /v1/items/{item_id}/destroy",                "unknown", "404 NODE_ITEM_NOT_FOUND", F, F, F, U),
    ("GET /v1/disposals",                               "-",       "200", "200", F, F, U),
    ("POST /v1/visits",                                 "own",     "403 NODE_POLICY_DENIED", F, F, F, U),
    ("POST /v1/visits",                                 "partner", "201", F, F, F, U),
    ("POST /v1/visits",                                 "unknown", "403 NODE_POLICY_DENIED", F, F, F, U),
    ("POST /v1/visits/{visit_id}/decision",             "own",     "403 NODE_NOT_HOST", F, F, F, U),
    ("POST /v1/visits/{visit_id}/decision",             "partner", "200", F, F, F, U),
    ("POST /v1/visits/{visit_id}/decision",             "unknown", "404 NODE_VISIT_NOT_FOUND", F, F, F, U),
    ("GET /v1/visits",                                  "-",       "200", F, F, F, U),
    ("POST /v1/tracks",                                 "-",       F, F, F, "200", U),
    ("GET /v1/tracks/stats",                            "-",       "200", F, F, F, U),
)
# fmt: on
"""Every route × target: what the security officer, release officer, reader, sensor feed and
every caller of :data:`ANON` get: ``"<status>"`` for a success, ``"<status> <code>"`` else."""

PURPOSE: Final = "early warning of NK missile launches"
_AGREEMENT: Final = {"own": "kor-jpn-gsomia-2016", "partner": "usa-jpn-gsomia-2007",
                     "unknown": "xyz-gsomia-2099"}  # fmt: skip
_OFFICIAL: Final = {"own": "kor-reader-1", "partner": "jpn-security-1", "unknown": "kor-nobody-9"}
_ITEM: Final = {"own": "own_item", "partner": "partner_item"}
_UNKNOWN: Final = "00000000-0000-4000-8000-000000000000"


def _label(originator: str = "KOR") -> dict[str, Any]:
    return json_codec.to_dict(make_label(created="2026-11-23T11:00:00+09:00",
                                         originator=originator))  # fmt: skip


def _release(party: str) -> dict[str, Any]:
    return {"label": _label(), "text": "matrix", "topic": "NK-MISSILE", "purpose": PURPOSE,
            "recipients": [party]}  # fmt: skip


def _official(nationality: str) -> dict[str, Any]:
    return {"id": "kor-new-1", "nationality": nationality, "in_register": True,
            "clearance": "군사III급비밀" if nationality == "KOR" else "秘",
            "duties": ["NK-MISSILE"], "roles": ["reader"]}  # fmt: skip


def _visit(host: str) -> dict[str, Any]:
    return {"visitor": {"name": "KIM Min-jun", "nationality": "KOR", "clearance": "군사II급비밀"},
            "host": host, "purpose": "missile warning procedures",
            "start": "2026-12-20T09:00:00+09:00", "end": "2026-12-22T18:00:00+09:00"}  # fmt: skip


Request = tuple[str, dict[str, Any] | None]
Build = Callable[[str, Callable[[str], str]], Request]


def _by(kinds: dict[str, str]) -> Callable[[str, Callable[[str], str]], str]:
    """The id of the record a target names: ``kinds[target]`` looked up, or an unknown id."""
    return lambda target, ids: ids(kinds[target]) if target in kinds else _UNKNOWN


_item = _by(_ITEM)
_request = _by({"own": "received_request", "partner": "sent_request"})
_consent = _by({"own": "granted_consent", "partner": "sent_request"})
_breach = _by({"own": "breach_here", "partner": "breach_there"})
_disposal = _by({"own": "received_disposal", "partner": "sent_disposal"})
_visit_id = _by({"own": "visit_to_partner", "partner": "visit_from_partner"})
_HOST: Final = {"own": "KOR", "partner": "JPN", "unknown": "XYZ"}
_RECIPIENT: Final = {"own": "KOR", "partner": "JPN", "unknown": "XYZ"}

REQUESTS: Final[dict[str, Build]] = {
    "GET /v1/health": lambda t, ids: ("/v1/health", None),
    "GET /v1/whoami": lambda t, ids: ("/v1/whoami", None),
    "GET /v1/agreements": lambda t, ids: ("/v1/agreements", None),
    "GET /v1/agreements/{agreement_id}/status":
        lambda t, ids: (f"/v1/agreements/{_AGREEMENT[t]}/status", None),
    "POST /v1/agreements/{agreement_id}/events": lambda t, ids: (
        f"/v1/agreements/{_AGREEMENT[t]}/events",
        {"kind": "notice_given", "at": "2026-11-23T11:00:00+09:00", "by": "KOR"},
    ),
    "GET /v1/agreements/{agreement_id}/events":
        lambda t, ids: (f"/v1/agreements/{_AGREEMENT[t]}/events", None),
    "POST /v1/items": lambda t, ids: ("/v1/items", _release(_RECIPIENT[t])),
    "POST /v1/items/batch": lambda t, ids: ("/v1/items/batch",
                                            {"items": [_release(_RECIPIENT[t])]}),
    "GET /v1/items": lambda t, ids: ("/v1/items", None),
    "GET /v1/items/{item_id}": lambda t, ids: (f"/v1/items/{_item(t, ids)}", None),
    "GET /v1/items/{item_id}/content":
        lambda t, ids: (f"/v1/items/{_item(t, ids)}/content", None),
    "GET /v1/items/{item_id}/receipts":
        lambda t, ids: (f"/v1/items/{_item(t, ids)}/receipts", None),
    "GET /v1/outbox": lambda t, ids: ("/v1/outbox", None),
    "GET /v1/officials": lambda t, ids: ("/v1/officials", None),
    "POST /v1/officials":
        lambda t, ids: ("/v1/officials", _official({"own": "KOR", "partner": "JPN"}[t])),
    "POST /v1/officials/{official_id}/tokens":
        lambda t, ids: (f"/v1/officials/{_OFFICIAL[t]}/tokens", None),
    "GET /v1/audit/head": lambda t, ids: ("/v1/audit/head", None),
    "GET /v1/audit/checkpoint": lambda t, ids: ("/v1/audit/checkpoint", None),
    "POST /v1/items/{item_id}/consent-requests": lambda t, ids: (
        f"/v1/items/{_item(t, ids)}/consent-requests",
        {"third_party": "USA", "purpose": "joint assessment"},
    ),
    "GET /v1/consent-requests": lambda t, ids: ("/v1/consent-requests", None),
    "POST /v1/consent-requests/{request_id}/decision":
        lambda t, ids: (f"/v1/consent-requests/{_request(t, ids)}/decision", {"approve": True}),
    "POST /v1/consents/{consent_id}/revoke":
        lambda t, ids: (f"/v1/consents/{_consent(t, ids)}/revoke", None),
    "POST /v1/items/{item_id}/forward": lambda t, ids: (
        f"/v1/items/{_item(t, ids)}/forward", {"third_party": "USA", "purpose": PURPOSE}
    ),
    "POST /v1/breaches": lambda t, ids: ("/v1/breaches", {
        "item_id": _item(t, ids), "kind": "possible", "description": "left unattended"}),
    "GET /v1/breaches": lambda t, ids: ("/v1/breaches", None),
    "PATCH /v1/breaches/{breach_id}": lambda t, ids: (
        f"/v1/breaches/{_breach(t, ids)}", {"status": "investigating", "investigation": "begun"}
    ),
    "POST /v1/items/{item_id}/reclassify":
        lambda t, ids: (f"/v1/items/{_item(t, ids)}/reclassify", {"level": "군사III급비밀"}),
    "POST /v1/items/{item_id}/disposal-requests": lambda t, ids: (
        f"/v1/items/{_item(t, ids)}/disposal-requests",
        {"holder": "JPN", "action": "destroy", "reason": "no longer needed"},
    ),
    "POST /v1/disposals/{disposal_id}/execute":
        lambda t, ids: (f"/v1/disposals/{_disposal(t, ids)}/execute", None),
    "POST /v1/items/{item_id}/destroy":
        lambda t, ids: (f"/v1/items/{_item(t, ids)}/destroy", {"reason": "no longer needed"}),
    "GET /v1/disposals": lambda t, ids: ("/v1/disposals", None),
    "POST /v1/visits": lambda t, ids: ("/v1/visits", _visit(_HOST[t])),
    "POST /v1/visits/{visit_id}/decision": lambda t, ids: (
        f"/v1/visits/{_visit_id(t, ids)}/decision", {"approve": True, "level": "군사II급비밀"}
    ),
    "GET /v1/visits": lambda t, ids: ("/v1/visits", None),
    "POST /v1/tracks": lambda t, ids: ("/v1/tracks", {"messages": [{"kind": "not-a-track"}]}),
    "GET /v1/tracks/stats": lambda t, ids: ("/v1/tracks/stats", None),
}  # fmt: skip
"""How to ask each route about each target."""


def _send(cell: Fresh, caller: str, route: str, target: str, ids: dict[str, str]) -> Any:
    method, _ = route.split(" ", 1)
    path, body = REQUESTS[route](target, ids.__getitem__)
    raw = b"" if body is None else json.dumps(body).encode()
    headers = cell.headers(caller, method, path, raw)
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    return cell.client.request(method, path, content=raw or None, headers=headers)


def _outcome(response: Any) -> str:
    if response.status_code < 300:
        return str(response.status_code)
    return f"{response.status_code} {response.json()['code']}"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Template, Path]:
    """KOR's seeded store, once per module (each cell works on a copy)."""
    workdir = tmp_path_factory.mktemp("authz-matrix")
    return template(workdir), workdir


def _expected(row: tuple[str, ...]) -> dict[str, str]:
    cells = row[2:]  # after route and target: so, rel, read, sensor, anon
    return {**dict(zip(ROLES, cells[:4], strict=True)), **dict.fromkeys(ANON, cells[4])}


def _served() -> set[str]:
    return {
        f"{method} {route.path}"
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }


def test_every_route_has_a_row(seeded: tuple[Template, Path]) -> None:
    """The matrix covers exactly what the app serves and documents, each target of each."""
    tpl, workdir = seeded
    cell = fresh(tpl, workdir)
    document = cell.client.get("/openapi.json").json()
    documented = {f"{m.upper()} {p}" for p, ops in document["paths"].items() for m in ops}
    routes = {row[0] for row in MATRIX}
    assert routes == _served() == documented == set(REQUESTS)
    for route in routes:
        targets = sorted(row[1] for row in MATRIX if row[0] == route)
        assert len(targets) == len(set(targets)), route
        if "{" in route:  # a route that takes an id: own, partner and unknown
            assert targets == ["own", "partner", "unknown"], route


def _check_denial(cell: Fresh, response: Any, caller: str, before: Any, size: int) -> None:
    """A refusal: a problem, no state left behind, and an audit record naming its code."""
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert {"type", "title", "status", "detail", "code"} <= set(problem)
    assert table_contents(cell.path) == before, f"{caller}: the refusal left state behind"
    records = audit_since(cell.store, size)
    if response.status_code == 404 and response.request.method == "GET":
        return  # reads of unknown ids are not audited (gsomia.api.refusals)
    named = {problem["code"], *problem.get("reasons", ())}  # a policy refusal: its reasons
    assert any(named & set(r.reasons) and r.decision == "deny" for r in records), (
        f"{caller}: no audit record of {problem['code']} ({named}): {records}"
    )


@pytest.mark.parametrize("row", MATRIX, ids=[f"{r[0]} [{r[1]}]" for r in MATRIX])
def test_matrix_row(seeded: tuple[Template, Path], row: tuple[str, ...]) -> None:
    """Every caller gets exactly its cell; refusals are audited and leave no state."""
    tpl, workdir = seeded
    route, target = row[0], row[1]
    expected = _expected(row)
    shared = fresh(tpl, workdir)  # refusals leave no state (checked), so they share one copy
    got: dict[str, str] = {}
    try:
        for caller in CALLERS:
            denial = expected[caller][:1] != "2"
            cell = shared if denial else fresh(tpl, workdir)
            before = table_contents(cell.path)
            with cell.store.read() as reader:
                size = reader.audit_size()
            response = _send(cell, caller, route, target, tpl.ids)
            got[caller] = _outcome(response)
            if response.status_code >= 400:
                _check_denial(cell, response, caller, before, size)
            if cell is not shared:
                cell.store.close()
    finally:
        shared.store.close()
    assert got == expected
