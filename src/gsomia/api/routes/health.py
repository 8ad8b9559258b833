"""``GET /v1/health`` (no token) and ``GET /v1/whoami`` (the caller's directory record)."""

from __future__ import annotations

from gsomia.api.models import Health, OfficialOut
from gsomia.api.routing import Caller, NodeDep, new_router
from gsomia.api.views import official_view

router = new_router("node")


@router.get("/health", response_model=Health, summary="The node answers (no token needed)")
def health(node: NodeDep) -> Health:
    """This node's party and ``"ok"``: for load balancers and the demo's start-up wait."""
    return Health(party=node.party, status="ok")


@router.get("/whoami", response_model=OfficialOut, summary="The caller's directory record")
def whoami(caller: Caller) -> OfficialOut:
    """The official the bearer token belongs to: nationality, clearance, duties, roles (Art. 7)."""
    return official_view(caller)
