"""Schemathesis against the OpenAPI document of a running node (issue 8 §3: API conformance).

:func:`run` loads ``/openapi.json`` from the node's address (``schemathesis.openapi.from_url``)
and, for every operation in it, generates requests with Hypothesis from the operation's own
schema, sends them over HTTP to the real process, and holds every answer to:

* ``not_a_server_error``: no 5xx, ever;
* ``status_code_conformance``: the status is one the document lists for the operation;
* ``content_type_conformance`` and ``response_schema_conformance``: the body is of a media type
  the document lists for that status, and matches its schema (``Problem`` for errors);
* ``response_headers_conformance``: documented headers (``WWW-Authenticate`` on 401) are there;
* :func:`problem_details` (ours): every answer of 400 or above is RFC 9457 problem details,
  ``application/problem+json`` with ``type`` (``urn:gsomia:problem:…``), ``title``,
  ``status`` equal to the status on the wire, ``detail`` and a stable ``code``; a 401 carries a
  Bearer challenge (RFC 6750 §3); every answer carries ``Cache-Control: no-store``;
* :func:`token_required` (ours), for callers without a valid token: 401 on every operation
  but ``GET /v1/health``.

Each operation is run as each identity (:data:`IDENTITIES`: the four roles, no token, a token
the node never issued), in positive mode (valid requests) and negative mode (requests that break
the schema), first with generated path parameters (mostly unknown ids) and then with the ids of
records the node holds (:attr:`Running.ids`), so the deep paths are reached too.  Generation is
derandomised (``derandomize=True``, no example database): the same code makes the same cases.
Failures are collected, not raised, so one run reports every defect; the test asserts none.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import schemathesis
from schemathesis import GenerationMode
from tests.conformance.running import Running

__all__ = ["IDENTITIES", "Failure", "Tally", "problem_details", "run", "token_required"]

PROBLEM: Final = "application/problem+json"
IDENTITIES: Final = (
    "security_officer",
    "release_officer",
    "reader",
    "sensor_feed",
    "no_token",
    "garbage_token",
)
_UNAUTHENTICATED: Final = frozenset({"no_token", "garbage_token"})
_PATH_PARAM: Final = re.compile(r"\{([a-z_]+)\}")


def problem_details(ctx: CheckContext, response: schemathesis.Response, case: Any) -> bool:
    """Every error is RFC 9457 problem details with a stable code (issue 4 §3)."""
    assert response.headers.get("cache-control") == ["no-store"], "Cache-Control: no-store"
    status = response.status_code
    media = (response.headers.get("content-type") or [""])[0].split(";")[0].strip()
    if status < 400:
        assert media != PROBLEM, f"a {status} answer typed as a problem"
        return True
    assert media == PROBLEM, f"a {status} answer typed {media!r}, not {PROBLEM}"
    problem = response.json()
    assert isinstance(problem, dict), "a problem is a JSON object"
    for member in ("type", "title", "status", "detail", "code"):
        assert member in problem, f"the problem has no {member!r}: {problem}"
    assert problem["status"] == status, f"status {problem['status']} in a {status} answer"
    assert str(problem["type"]).startswith("urn:gsomia:problem:"), problem["type"]
    assert re.fullmatch(r"[A-Z][A-Z0-9_]+", str(problem["code"])), problem["code"]
    if status == 401:
        assert (response.headers.get("www-authenticate") or [""])[0].startswith("Bearer ")
    return True


def token_required(ctx: CheckContext, response: schemathesis.Response, case: Any) -> bool:
    """Without a valid token, every operation but the health check is 401 (deny by default)."""
    if case.operation.path == "/v1/health":
        return True
    status = response.status_code
    assert status in (400, 401, 413, 415, 422), f"{status} without a valid token"
    if status == 401:
        assert response.json()["code"] == "NODE_UNAUTHENTICATED", response.json()
    return True


CHECKS: Final = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    problem_details,
]


@dataclass(frozen=True)
class Failure:
    """A case that broke a check: where, as whom, which checks, and a curl to replay it."""

    operation: str
    identity: str
    mode: str
    checks: tuple[str, ...]
    reproduce: str

    def __str__(self) -> str:
        return f"{self.operation} as {self.identity} ({self.mode}): {'; '.join(self.checks)}\n" \
               f"    {self.reproduce}"  # fmt: skip


@dataclass
class Tally:
    """What a run did: operations, cases sent, statuses answered, failures found."""

    operations: int = 0
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    by_identity: dict[str, Counter[int]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """The figures of the run, for the report and docs/security.md."""
        return {
            "operations": self.operations,
            "cases": self.cases,
            "failures": len(self.failures),
            "statuses": dict(sorted(self.statuses.items())),
            "by_identity": {i: dict(sorted(c.items())) for i, c in self.by_identity.items()},
        }


def _headers(running: Running, identity: str) -> dict[str, str]:
    if identity == "no_token":
        return {}
    if identity == "garbage_token":
        return {"Authorization": "Bearer not-a-token-of-this-node"}
    return {"Authorization": f"Bearer {running.tokens[identity]}"}


def _id_sets(path: str, ids: dict[str, str]) -> Iterator[tuple[str, dict[str, str] | None]]:
    """Generated path parameters first, then each set of ids of records the node holds."""
    yield "generated", None
    names = _PATH_PARAM.findall(path)
    if not names:
        return
    if "item_id" in names:
        for which in ("own_item", "held_item"):
            yield which, {n: ids[which] if n == "item_id" else ids[n] for n in names}
    else:
        yield "known", {n: ids[n] for n in names}


def _titles(exc: BaseException) -> tuple[str, ...]:
    if isinstance(exc, BaseExceptionGroup):
        return tuple(t for e in exc.exceptions for t in _titles(e))
    title = getattr(exc, "title", None) or type(exc).__name__
    return (f"{title}: {str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ''}",)


def _has_inputs(document: dict[str, Any], method: str, path: str) -> bool:
    operation = document["paths"][path][method.lower()]
    return bool(operation.get("parameters") or operation.get("requestBody"))


def run(running: Running, *, examples: int, identities: tuple[str, ...] = IDENTITIES) -> Tally:
    """Run every operation as each identity; ``examples`` cases per operation, mode and ids."""
    schema = schemathesis.openapi.from_url(f"{running.api_url}/openapi.json", timeout=30)
    document = requests.get(f"{running.api_url}/openapi.json", timeout=30).json()
    tally = Tally()
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        tally.operations += 1
        inputs = _has_inputs(document, operation.method, operation.path)
        for identity in identities:
            unauthenticated = identity in _UNAUTHENTICATED
            checks = [*CHECKS, token_required] if unauthenticated else CHECKS
            modes = [GenerationMode.POSITIVE]
            if inputs and not unauthenticated:
                modes.append(GenerationMode.NEGATIVE)
            for mode in modes:
                for ids_name, path_ids in _id_sets(operation.path, running.ids):
                    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_ids)
                    label = f"{mode.value}, {ids_name} ids"
                    _run_one(tally, session, running, identity, label, strategy, checks, examples)
    return tally


def _run_one(
    tally: Tally,
    session: requests.Session,
    running: Running,
    identity: str,
    label: str,
    strategy: Any,
    checks: list[Any],
    examples: int,
) -> None:
    headers = _headers(running, identity)

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(strategy)
    def send(case: Any) -> None:
        tally.cases += 1
        if not headers:  # no token at all: not even the one the generator made up
            case.headers = {k: v for k, v in (case.headers or {}).items() if k != "Authorization"}
        try:
            response = case.call(session=session, headers=headers, timeout=30)
            tally.statuses[response.status_code] += 1
            tally.by_identity.setdefault(identity, Counter())[response.status_code] += 1
            case.validate_response(response, checks=checks, headers=headers)
        except (AssertionError, BaseExceptionGroup, requests.RequestException) as exc:
            shown = dict.fromkeys(headers, "Bearer <token>")  # never a real token in a report
            curl = case.as_curl_command(headers=shown)
            failure = Failure(case.operation.label, identity, label, _titles(exc), curl)
            tally.failures.append(failure)

    try:
        send()
    except Unsatisfiable:  # nothing of this mode to generate (no parameter to break)
        return
