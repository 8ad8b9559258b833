"""Every error as RFC 9457 problem details (``application/problem+json``), issue 4 §3.

One rendering for every path: :func:`problem_response` takes a :class:`~gsomia.errors.GsomiaError`
(the node's, the core's or the API's own, :mod:`gsomia.api.errors`) and answers with
``err.to_problem(instance=<request path>)`` under the error's HTTP status.  The exception
handlers installed by :func:`install` route the framework's own failures through it too:

* :class:`~fastapi.exceptions.RequestValidationError` → 422 ``REQUEST_INVALID`` with the field
  errors in ``errors`` (location, message, type; never the offending input, which may be
  classified), or 400 ``JSON_INVALID`` when the body did not parse;
* Starlette's ``HTTPException`` → 404 ``ROUTE_NOT_FOUND``, 405 ``METHOD_NOT_ALLOWED`` (with its
  ``Allow`` header), or ``HTTP_<status>``;
* a 401 carries ``WWW-Authenticate: Bearer`` (RFC 6750 §3, ``error="invalid_token"`` when a
  token was presented).

A 4xx refusal the API answers itself, before the node is called (a body or field that fails its
checks, ``JSON_INVALID``, 415, 405, …), is audited at the node first (:mod:`gsomia.api.refusals`;
PRODUCT.md §8).

A 5xx problem keeps its code and says no more (``detail`` is generic, extension members are
dropped): a store's message may name a file or a driver.  The message goes to the ``gsomia.api``
log.  Unexpected exceptions are answered by :class:`gsomia.api.middleware.GuardMiddleware` with a
bare 500 ``INTERNAL``: no message, type or traceback of ours reaches the client.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from gsomia.api import refusals
from gsomia.api.errors import JsonInvalidError, RequestInvalidError, http_error
from gsomia.errors import GsomiaError

__all__ = [
    "PROBLEM_JSON",
    "FieldError",
    "Problem",
    "ProblemResponse",
    "ValidationProblem",
    "install",
    "problem_response",
    "refusal_members",
]

PROBLEM_JSON: Final = "application/problem+json"
_PROBLEM_MEMBERS: Final = ("type", "title", "status", "detail", "code")
_MAX_FIELD_ERRORS: Final = 50
_MAX_MESSAGE: Final = 300
_SERVER_DETAIL: Final = "the node could not complete this request"
log = logging.getLogger("gsomia.api")


class FieldError(BaseModel):
    """One failed check of a request field: where, what, and the check's type."""

    loc: list[str | int] = Field(description="path to the field: body, query, path or header")
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details, with gsomia's stable ``code`` (STYLE.md practice 6).

    Extension members (``reasons``, ``decisions``, ``errors``, …) depend on the code.
    """

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="urn:gsomia:problem:<code in kebab case>")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str = Field(description="stable error code, e.g. NODE_FORBIDDEN")
    instance: str | None = Field(None, description="the request path")


def refusal_members(code: str) -> Callable[[dict[str, Any]], None]:
    """The ``json_schema_extra`` of a richer problem that one ``code`` carries.

    The status of a richer problem (403 ``RELEASE_REFUSED``) is shared with plain ones (403
    ``NODE_FORBIDDEN``), so the schema under that status must take both: the Problem members
    are always required; the richer members (reasons, decisions, …) are required when, and
    only when, ``code`` is the richer one (JSON Schema 2020-12 §10.2.2 ``if``/``then``).
    """

    def extra(schema: dict[str, Any]) -> None:
        required = list(schema.get("required", ()))
        schema["required"] = [name for name in required if name in _PROBLEM_MEMBERS]
        schema["if"] = {"properties": {"code": {"const": code}}, "required": ["code"]}
        schema["then"] = {"required": [n for n in required if n not in _PROBLEM_MEMBERS]}

    return extra


class ValidationProblem(Problem):
    """``REQUEST_INVALID``: the fields that failed their checks."""

    errors: list[FieldError] = Field(default_factory=list)


class ProblemResponse(JSONResponse):
    """A JSON response typed ``application/problem+json``; UTF-8 text kept as is."""

    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        """Compact JSON; anything the encoder does not know becomes its text."""
        return json.dumps(
            content, ensure_ascii=False, separators=(",", ":"), default=str, allow_nan=False
        ).encode("utf-8")


def problem_response(
    err: GsomiaError,
    instance: str,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The problem response for ``err`` at ``instance`` (the request path)."""
    body = err.to_problem(instance=instance)
    if status is not None:
        body["status"] = status
    code: int = body["status"]
    if code >= 500:  # our fault or our store's: the message may name files or drivers
        body = {k: body[k] for k in ("type", "title", "status", "code", "instance") if k in body}
        body["detail"] = _SERVER_DETAIL
    out = dict(headers or {})
    if code == 401:
        out.setdefault("WWW-Authenticate", 'Bearer realm="gsomia"')
    return ProblemResponse(body, status_code=code, headers=out)


def _bearer_challenge(request: Request) -> dict[str, str]:
    if "authorization" in request.headers:  # RFC 6750 §3.1: a token was given and refused
        return {"WWW-Authenticate": 'Bearer realm="gsomia", error="invalid_token"'}
    return {"WWW-Authenticate": 'Bearer realm="gsomia"'}


async def _audited(request: Request, err: GsomiaError) -> GsomiaError:
    """``err`` once its refusal is audited at the node; the store's error if that failed."""
    failure = await refusals.audit_refusal(request.scope, err.code)
    if failure is not None:
        log.error("%s on %s %s: the refusal %s could not be audited: %s", failure.code,
                  request.method, request.url.path, err.code, failure.message)  # fmt: skip
        return failure
    return err


async def _on_gsomia_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GsomiaError)
    if refusals.at_edge(exc):
        exc = await _audited(request, exc)
    if exc.status >= 500:
        log.error("%s on %s %s: %s", exc.code, request.method, request.url.path, exc.message)
    headers = _bearer_challenge(request) if exc.status == 401 else None
    return problem_response(exc, request.url.path, headers=headers)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for error in exc.errors()[:_MAX_FIELD_ERRORS]:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        out.append(
            {
                "loc": loc,
                "msg": str(error.get("msg", ""))[:_MAX_MESSAGE],
                "type": str(error.get("type", "")),
            }
        )
    return out


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc)
    err: GsomiaError
    if any(e["type"] == "json_invalid" for e in errors):
        err = JsonInvalidError("the request body is not JSON (RFC 8259)")
    else:
        err = RequestInvalidError(
            f"{len(errors)} field(s) of the request failed their checks",
            detail={"errors": errors},
        )
    return problem_response(await _audited(request, err), request.url.path)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    err = http_error(exc.status_code, str(exc.detail))
    headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() == "allow"}
    if exc.status_code == 401:
        headers.update(_bearer_challenge(request))
    status: int | None = exc.status_code
    if 400 <= exc.status_code < 500 and refusals.at_edge(err):  # not ROUTE_NOT_FOUND
        audited = await _audited(request, err)
        if audited is not err:
            err, status, headers = audited, None, {}
    return problem_response(err, request.url.path, status=status, headers=headers)


def install(app: FastAPI) -> None:
    """Route every error the app raises on purpose through :func:`problem_response`."""
    app.add_exception_handler(GsomiaError, _on_gsomia_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
