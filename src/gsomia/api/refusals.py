"""Audit of the requests the API refuses itself, before the node is called (PRODUCT.md §8).

The node audits every refusal it decides (a missing role, an unknown item, a policy denial, an
invalid token).  Some requests never reach it: the body is too large (413) or its
``Content-Length`` ill-formed, it is not JSON (415) or not strict JSON (400 ``JSON_INVALID``), a
field fails its checks (422 ``REQUEST_INVALID``), a cursor, a label or an instant does not parse
(``CURSOR_INVALID``, ``LABEL_*``, ``INSTANT_*``), the method is not the route's (405).  Each of
those is a rejected input too, and is recorded by :meth:`gsomia.node.Node.audit_refused_request`:
one ``reject`` record with the refusal's code and the route (method and path *template*, never
the raw path), under the official whose token was verified if it was (the token is checked after
the body's syntax and before its fields), else ``unknown-official``.  Nothing else is stored.

Which refusals are the API's own is decided by the error's class (:func:`at_edge`): the node's
errors, and the policy refusals the API renders (``RELEASE_REFUSED``, ``FORWARD_REFUSED``), were
audited by the node already.  A path no route answers (404 ``ROUTE_NOT_FOUND``) names no use
case and is not audited; lookups of unknown ids on read routes are not audited either (listing is
not, see :mod:`gsomia.node.directory`).

The node's store is synchronous: the audit runs in the thread pool, never on the event loop.
If it cannot be written, the refusal is answered with the store's error instead (503): a
rejected input is never left unaudited without saying so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match

from gsomia.api.errors import (
    BodyTooLargeError,
    CursorInvalidError,
    HttpError,
    JsonInvalidError,
    MediaTypeError,
    MethodNotAllowedError,
    RequestInvalidError,
)
from gsomia.api.routing import actor_of, node_of
from gsomia.errors import GsomiaError, InstantError, LabelError

__all__ = ["EDGE_ERRORS", "at_edge", "audit_refusal", "remember_routes", "route_of"]

_STATE_ROUTES: Final = "gsomia_routes"

EDGE_ERRORS: Final = (
    BodyTooLargeError,
    CursorInvalidError,
    HttpError,
    InstantError,
    JsonInvalidError,
    LabelError,
    MediaTypeError,
    MethodNotAllowedError,
    RequestInvalidError,
)
"""The refusals only the API answers: the HTTP edge's own, and its parsers' (labels, instants)."""
_EDGE_CODES: Final = frozenset({"CONTENT_LENGTH_INVALID", "STORE_RECORD_INVALID"})
"""Refusals of the edge raised as plain input errors: the body limit's, and a directory record
the API could not build from a request (``record_from``)."""


def at_edge(err: GsomiaError) -> bool:
    """Whether ``err`` is a 4xx refusal the API answered without the node deciding it."""
    return 400 <= err.status < 500 and (isinstance(err, EDGE_ERRORS) or err.code in _EDGE_CODES)


def remember_routes(app: Any, routers: Iterable[APIRouter]) -> None:
    """Keep the app's routes where :func:`route_of` finds them for a request not yet routed."""
    routes = tuple(r for router in routers for r in router.routes if isinstance(r, APIRoute))
    setattr(app.state, _STATE_ROUTES, routes)


def route_of(scope: Mapping[str, Any]) -> str:
    """``METHOD /path/{template}`` of the route a request addressed (``unmatched`` if none)."""
    method = str(scope.get("method", "?"))
    path = getattr(scope.get("route"), "path", None)
    if path is None:  # refused before routing (the body limit): match as the router would
        routes = getattr(getattr(scope.get("app"), "state", None), _STATE_ROUTES, ())
        matches = [(r.matches(scope)[0], r.path) for r in routes]
        found = [p for m, p in matches if m is Match.FULL] + [
            p for m, p in matches if m is Match.PARTIAL
        ]
        path = found[0] if found else None
    return f"{method} {path if isinstance(path, str) else 'unmatched'}"


async def audit_refusal(scope: Mapping[str, Any], code: str) -> GsomiaError | None:
    """Audit the refusal ``code`` of this request at the node the app serves.

    Returns the store's error if the audit could not be written (answer it instead), else None.
    An app without a node (a bare middleware under test) audits nothing.
    """
    served = node_of(scope.get("app"))
    if served is None:
        return None
    try:
        await run_in_threadpool(
            served.audit_refused_request, route_of(scope), code, actor_of(scope)
        )
    except GsomiaError as exc:
        return exc
    return None
