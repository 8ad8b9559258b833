"""The OpenAPI document (``GET /openapi.json``), with the problem responses of every route.

The framework documents successes; this module adds, to each operation, the RFC 9457 problems
it can answer, typed ``application/problem+json`` with the ``Problem`` schema (``ValidationProblem``
for 422), so that a conformance run (schemathesis) can hold every response to the document:

=====================  ====================================================================
every operation        413 ``BODY_TOO_LARGE``, 500 ``INTERNAL``, 503 ``STORE_UNAVAILABLE``
with a bearer token    401 ``NODE_UNAUTHENTICATED`` (``WWW-Authenticate``), 403
with parameters/body   400 (``JSON_INVALID``, ``CURSOR_INVALID``, the node's input checks),
                       422 ``REQUEST_INVALID``
with path parameters   404 (unknown item, official, agreement)
with a request body    415 ``MEDIA_TYPE_UNSUPPORTED``
=====================  ====================================================================

A route may declare more, or a richer schema for one status (``RELEASE_REFUSED``), with
``responses={403: problem_doc(ReleaseRefusedProblem, "…")}``; what a route declares is kept.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gsomia.api.problems import PROBLEM_JSON, Problem, ValidationProblem

__all__ = ["install", "problem_doc"]

_REF: Final = "#/components/schemas/{model}"
_DESCRIPTIONS: Final = {
    "400": "Malformed request: JSON_INVALID, CURSOR_INVALID, or the node's input checks",
    "401": "NODE_UNAUTHENTICATED: no valid API token of this node",
    "403": "Forbidden by role (NODE_FORBIDDEN) or by policy (NODE_ACCESS_DENIED, …)",
    "404": "Unknown item, official or agreement (or one the caller may not see)",
    "413": "BODY_TOO_LARGE: the request body exceeds the node's limit",
    "415": "MEDIA_TYPE_UNSUPPORTED: send the body as application/json",
    "422": "REQUEST_INVALID: fields failed their checks (see errors)",
    "500": "INTERNAL: a defect of the node; nothing more is said",
    "503": "STORE_UNAVAILABLE: the node's store cannot be used now",
}


def problem_doc(model: type[Problem], description: str) -> dict[str, Any]:
    """A ``responses`` entry for a route decorator: ``model`` as a problem document."""
    return {"model": model, "description": description}


def _statuses(operation: dict[str, Any]) -> list[str]:
    params = operation.get("parameters", [])
    body = "requestBody" in operation
    out = ["413", "500", "503"]
    if operation.get("security"):
        out += ["401", "403"]
    if params or body:
        out += ["400", "422"]
    if any(p.get("in") == "path" for p in params):
        out.append("404")
    if body:
        out.append("415")
    return sorted(out)


def _problem_content(schema: str) -> dict[str, Any]:
    return {PROBLEM_JSON: {"schema": {"$ref": _REF.format(model=schema)}}}


def _complete(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, response in responses.items():  # what a route declared is a problem document
        content = response.get("content", {})
        if status[:1] in "45" and "application/json" in content:
            content[PROBLEM_JSON] = content.pop("application/json")
    for status in _statuses(operation):
        schema = "ValidationProblem" if status == "422" else "Problem"
        declared = responses.get(status)
        if declared is None or "HTTPValidationError" in repr(declared):
            responses[status] = {
                "description": _DESCRIPTIONS[status],
                "content": _problem_content(schema),
            }
        if status == "401":
            responses[status].setdefault(
                "headers",
                {
                    "WWW-Authenticate": {
                        "description": "Bearer challenge (RFC 6750 §3)",
                        "schema": {"type": "string"},
                    }
                },
            )
    operation["responses"] = dict(sorted(responses.items()))


def _uses(document: dict[str, Any], name: str) -> bool:
    ref = _REF.format(model=name)
    paths = document.get("paths", {})
    return ref in repr(paths) or any(
        ref in repr(schema)
        for key, schema in document.get("components", {}).get("schemas", {}).items()
        if key != name
    )


def build(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of ``app``, with problem responses on every operation."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    models: list[tuple[type[BaseModel], Any]] = [
        (Problem, "validation"),
        (ValidationProblem, "validation"),
    ]
    _, defs = models_json_schema(models, ref_template=_REF)
    schemas.update(defs.get("$defs", {}))
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            _complete(operation)
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in schemas and not _uses(document, unused):
            del schemas[unused]
    return document


def install(app: FastAPI) -> None:
    """Serve :func:`build`'s document, computed once, as ``app.openapi()``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
