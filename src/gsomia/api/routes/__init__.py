"""The API's routes: one small module per use case, each with its own ``router``.

To add a use case (consent, forward, relay, breach, visit, reclassification, …):

1. write ``gsomia/api/routes/<use_case>.py`` with ``router = new_router("<tag>")`` from
   :mod:`gsomia.api.routing`, and plain ``def`` handlers taking ``node: NodeDep`` and
   ``caller: Caller``; call one :class:`~gsomia.node.Node` method and return a model from
   :mod:`gsomia.api.models` built by a function of :mod:`gsomia.api.views`;
2. add its ``router`` to :data:`ROUTERS` below;
3. let errors propagate: every :class:`~gsomia.errors.GsomiaError` becomes a problem under its
   own status, and the OpenAPI document gets the usual problem responses by itself
   (:mod:`gsomia.api.openapi`); declare others with ``responses={…: problem_doc(…)}``;
4. add its tests under ``tests/unit/api/`` and a section to ``docs/api.md``.

The API decides nothing: authentication, roles, policy and audit are the node's.
"""

from __future__ import annotations

from fastapi import APIRouter

from gsomia.api.routes import (
    agreement_events,
    agreements,
    audit,
    breach,
    consent,
    disposal,
    health,
    items,
    officials,
    outbox,
    release,
    tracks,
    visits,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    agreements.router,
    release.router,
    items.router,
    outbox.router,
    officials.router,
    audit.router,
    *(agreement_events.router, consent.router, breach.router, disposal.router, visits.router),
    tracks.router,  # issue 5: JSON track ingest
)
"""Every router the app serves, in the order of the OpenAPI document."""
