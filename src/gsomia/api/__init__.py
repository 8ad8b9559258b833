"""The REST API face of a national node (issue 4 §3): FastAPI over :class:`gsomia.node.Node`.

:func:`create_app` returns the ASGI application of one node; a node process serves it with
uvicorn.  The API parses, calls the node, and renders: authentication (per-official bearer
tokens, hashed at rest), authorisation by role, every policy decision and every audit record are
the node's (issue 4 §1).  What the API adds is HTTP: an OpenAPI document (``/openapi.json``),
RFC 9457 problem details for every error, pagination of every list, and request size limits.

Modules
-------
:mod:`~gsomia.api.app` (``create_app``), :mod:`~gsomia.api.routing` (routers, the node and
caller dependencies, strict JSON bodies), :mod:`~gsomia.api.middleware` (body limit, guard),
:mod:`~gsomia.api.problems` and :mod:`~gsomia.api.errors` (problem details),
:mod:`~gsomia.api.pagination`, :mod:`~gsomia.api.models` and :mod:`~gsomia.api.models_cases`
(pydantic, at this edge only), :mod:`~gsomia.api.views` and :mod:`~gsomia.api.views_cases`
(records to models), :mod:`~gsomia.api.refusals` (the API's own refusals, audited at the node),
:mod:`~gsomia.api.openapi`, and :mod:`gsomia.api.routes`: one module per use case.

Adding a use case
-----------------
Write one module under ``gsomia/api/routes/`` with a ``router = new_router("<tag>")`` and plain
``def`` handlers (``node: NodeDep, caller: Caller``) that call one node method, then list the
router in :data:`gsomia.api.routes.ROUTERS`.  Errors need no handling: raise or let the node
raise a :class:`~gsomia.errors.GsomiaError`.  See :mod:`gsomia.api.routes` for the checklist.

The API never imports adapters, the in-memory fakes or a database driver (an import-linter
contract holds it to that).
"""

from gsomia.api.app import DEFAULT_MAX_BODY, create_app

__all__ = ["DEFAULT_MAX_BODY", "create_app"]
