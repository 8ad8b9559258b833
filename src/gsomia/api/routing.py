"""What every route module shares: its router, the node, the authenticated caller, strict JSON.

* :func:`new_router` gives a route module its ``APIRouter`` under ``/v1``, with
  :class:`StrictJsonRoute` as its route class.
* :data:`NodeDep` is the :class:`~gsomia.node.Node` the app serves; :data:`Caller` the official
  who holds the bearer token (issue 4 §1: every call authenticated by a per-official API token).
  The node authenticates (the token's SHA-256 is looked up; a failure is audited and raises 401
  ``NODE_UNAUTHENTICATED``) and authorises each act by role (403 ``NODE_FORBIDDEN``): the API
  never decides who may do what.
* :class:`StrictJsonRoute` reads a JSON body with :func:`gsomia.strictjson.loads` before the
  framework does: duplicate members, ``NaN``, integers beyond 2**53 - 1, a byte order mark or
  nesting deeper than 32 are refused as 400 ``JSON_INVALID``, as malformed JSON is; a body sent
  as anything but ``application/json`` (or ``+json``) is 415 ``MEDIA_TYPE_UNSUPPORTED``.

Order of checks on a request: size (413), media type (415), JSON syntax (400), then the bearer
token (401), then the fields (422), then the node's own checks and role (400/403/404).
:data:`Caller` notes the verified official's id in the request's state (:func:`actor_of`), so a
refusal the API answers itself after the token check is audited under that official's name
(:mod:`gsomia.api.refusals`).
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any, Final, cast

from fastapi import APIRouter, Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import Response

from gsomia import strictjson
from gsomia.api.errors import JsonInvalidError, MediaTypeError
from gsomia.node import Node
from gsomia.ports import OfficialRecord

__all__ = [
    "API_PREFIX",
    "Caller",
    "NodeDep",
    "StrictJsonRoute",
    "actor_of",
    "bind",
    "caller",
    "new_router",
    "node",
    "node_of",
]

API_PREFIX: Final = "/v1"
MAX_JSON_DEPTH: Final = 32
_STATE_NODE: Final = "gsomia_node"
_STATE_ACTOR: Final = "gsomia_actor"


async def node(request: Request) -> Node:
    """The node this app serves (set by :func:`gsomia.api.create_app`)."""
    return cast(Node, getattr(request.app.state, _STATE_NODE))


NodeDep = Annotated[Node, Depends(node)]

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="A per-official API token: `Authorization: Bearer <token>` (issue 4 §1).",
)


def caller(
    request: Request,
    served: NodeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> OfficialRecord:
    """The official holding the bearer token; the node audits and refuses any other (401)."""
    token = "" if credentials is None else credentials.credentials
    record = served.authenticate(token)
    setattr(request.state, _STATE_ACTOR, record.official.id)
    return record


def actor_of(scope: Mapping[str, Any]) -> str | None:
    """The id of the official whose token this request carried, once :func:`caller` verified it."""
    state = scope.get("state")
    actor = state.get(_STATE_ACTOR) if isinstance(state, Mapping) else None
    return actor if isinstance(actor, str) else None


def node_of(app: object) -> Node | None:
    """The node an app serves (None for an app :func:`bind` did not set up)."""
    found = getattr(getattr(app, "state", None), _STATE_NODE, None)
    return found if isinstance(found, Node) else None


Caller = Annotated[OfficialRecord, Depends(caller)]


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is parsed strictly first (:mod:`gsomia.strictjson`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The framework's handler, behind the media type and strict JSON checks."""
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict_handler(request: Request) -> Response:
            body = await request.body()  # cached: the framework reads it again from memory
            if body:
                if not _is_json(request.headers.get("content-type")):
                    raise MediaTypeError("send the request body as application/json")
                try:  # the size was bounded by BodyLimitMiddleware
                    parsed = strictjson.loads(
                        body,
                        max_bytes=len(body),
                        max_depth=MAX_JSON_DEPTH,
                        allow_float=True,
                        require_object=False,
                    )
                except strictjson.JsonProblem as exc:
                    raise JsonInvalidError(
                        f"the request body is not acceptable JSON: {exc.message}",
                        detail={"problem": str(exc.kind)},
                    ) from None
                # Starlette's Request.json() returns what it finds here instead of parsing the
                # body a second time: the framework validates exactly the value checked above.
                request._json = parsed
            return await handler(request)

        return strict_handler


def new_router(tag: str) -> APIRouter:
    """The router of one route module: under ``/v1``, tagged, with strict JSON bodies."""
    return APIRouter(prefix=API_PREFIX, tags=[tag], route_class=StrictJsonRoute)


def bind(app_state: Any, served: Node) -> None:
    """Attach ``served`` to the app's state, where :func:`node` finds it."""
    setattr(app_state, _STATE_NODE, served)
