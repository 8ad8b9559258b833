"""The web dashboard face of a national node (issue 6): server-rendered pages, a light script layer.

Each node serves its own dashboard, for its own officials, beside its REST API:
:func:`create_router` gives the routes that :func:`gsomia.api.create_app` includes.  Like the
API, the dashboard parses, calls the node and renders: it signs an official in with their API
token (kept on the server; the browser holds only a session cookie), and every page shows what
the node decides that official may see (:mod:`gsomia.node.directory`, Art. 7).  Pages are Jinja2
templates rendered on the server; a few plain ES modules (no build step) add the countdowns, the
audit progress and the live map.  Every asset is in the package: nothing is fetched from
elsewhere (docs/adr/0009-dashboard.md, docs/dashboard.md).

Modules
-------
:mod:`~gsomia.web.router` (``create_router``, sign-in, static files),
:mod:`~gsomia.web.core` (the viewer, rendering, CSRF, security headers),
:mod:`~gsomia.web.sessions` (server-side sessions), :mod:`~gsomia.web.live` (the track
buffer and what an official may see of it), :mod:`~gsomia.web.sse` (Server-Sent Events),
:mod:`~gsomia.web.timeline` (the agreement's life as SVG shapes), and one module per page group:
:mod:`~gsomia.web.pages_agreements`, :mod:`~gsomia.web.pages_exchanges`,
:mod:`~gsomia.web.pages_cases` (consent, hub approvals, breaches), :mod:`~gsomia.web.pages_visits`,
:mod:`~gsomia.web.pages_audit`, :mod:`~gsomia.web.pages_live`.

The dashboard never imports adapters, the in-memory fakes, a database driver or the API's
modules (import-linter contracts hold it to that).
"""

from gsomia.web.live import TrackBuffer
from gsomia.web.router import create_router

__all__ = ["TrackBuffer", "create_router"]
