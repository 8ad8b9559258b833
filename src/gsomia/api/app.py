"""The API application: :func:`create_app` wires a :class:`~gsomia.node.Node` to its routes.

Layers of one request, outermost first: the framework's last-resort error middleware (which
never sees an exception: the guard catches them),
:class:`~gsomia.api.middleware.GuardMiddleware` (security headers; any escaped exception becomes
a bare 500), :class:`~gsomia.api.middleware.BodyLimitMiddleware` (413 before reading), the
framework's exception handlers (:mod:`gsomia.api.problems`: every error as RFC 9457 problem
details), then the route (:mod:`gsomia.api.routes`), which authenticates the caller and calls
the node.

Routes are plain ``def`` functions: the node and its store are synchronous, so the framework runs
each call in its thread pool and the event loop never blocks on the store.
"""

from __future__ import annotations

from fastapi import FastAPI

from gsomia import __version__
from gsomia.api import openapi, problems, refusals
from gsomia.api.middleware import BodyLimitMiddleware, GuardMiddleware
from gsomia.api.routes import ROUTERS
from gsomia.api.routes.tracks import bind_tracks
from gsomia.api.routing import bind
from gsomia.node import Node
from gsomia.streaming import TrackHub, TrackIngest
from gsomia.web import create_router as web_router

__all__ = ["DEFAULT_MAX_BODY", "create_app"]

DEFAULT_MAX_BODY = 16 * 1024 * 1024

_DESCRIPTION = """\
The REST API of one gsomia national node (issue 4 §3).

Every call but `GET /v1/health` carries `Authorization: Bearer <token>`, a per-official API token
that the node holds only as its SHA-256; the node authorises each act by the official's roles.
Every error is RFC 9457 problem details (`application/problem+json`) with a stable `code`.
Lists are paginated: `limit` 1..1000 and the opaque `after` cursor a page gives as `next`.
"""


def create_app(
    node: Node,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    tracks: TrackIngest | None = None,
    worker: bool = False,
) -> FastAPI:
    """The API of ``node``: request bodies above ``max_body`` bytes are refused with 413.

    ``tracks`` is the serving node's track ingest and hub (a new one by default).  ``worker``:
    the API of an API worker process (ADR 0021), without track ingest (503 ``NODE_API_WORKER``)
    and without the dashboard, which the serving process keeps.
    """
    app = FastAPI(
        title=f"gsomia node API ({node.party})",
        version=__version__,
        description=_DESCRIPTION,
        docs_url=None,  # no page that loads scripts from elsewhere: the document is enough
        redoc_url=None,
    )
    bind(app.state, node)
    if not worker:
        tracks = tracks or TrackIngest(node, TrackHub())
        bind_tracks(app.state, tracks)
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router)
    refusals.remember_routes(app, ROUTERS)
    if tracks is not None and not worker:  # the dashboard (gsomia.web, issue 6)
        app.include_router(web_router(node, buffer=tracks.hub))
    app.add_middleware(BodyLimitMiddleware, max_body=max_body)
    app.add_middleware(GuardMiddleware)
    openapi.install(app)
    return app
