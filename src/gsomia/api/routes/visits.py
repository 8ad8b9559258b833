"""Art. 8: visits by one party's personnel to the other.  A security officer requests a visit
(``POST /v1/visits``: the visitor, the host, the official purpose, the dates); the host's security
officer approves, naming the highest level that may be disclosed in the host's scheme, or denies
(``POST /v1/visits/{visit_id}/decision``); both nodes list the visit and its decision
(``GET /v1/visits``).  The rules are :mod:`gsomia.node.visits`'s.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from gsomia.api.models_cases import VisitDecisionIn, VisitIn, VisitOut, VisitPage
from gsomia.api.openapi import problem_doc
from gsomia.api.pagination import After, Limit, decode_cursor, fetch_size, split_page
from gsomia.api.problems import Problem
from gsomia.api.routing import Caller, NodeDep, new_router
from gsomia.api.views_cases import visit_view

router = new_router("visits")

VisitId = Annotated[str, Path(max_length=128, description="a visit id")]


@router.post(
    "/visits",
    response_model=VisitOut,
    status_code=201,
    summary="Ask a partner to host one of our officials (Art. 8)",
)
def request_visit(body: VisitIn, node: NodeDep, caller: Caller) -> VisitOut:
    """Decided by the core first (an agreement in force with the host, a known clearance; 403
    ``NODE_POLICY_DENIED`` otherwise), then sent signed to the host (security officers)."""
    record = node.request_visit(
        caller, body.visitor.value(), body.host, body.purpose, body.start, body.end
    )
    return visit_view(record)


@router.post(
    "/visits/{visit_id}/decision",
    response_model=VisitOut,
    summary="Approve, with the highest level that may be disclosed, or deny (host)",
    responses={409: problem_doc(Problem, "NODE_VISIT_DECIDED: the visit was decided already")},
)
def decide_visit(
    visit_id: VisitId, body: VisitDecisionIn, node: NodeDep, caller: Caller
) -> VisitOut:
    """Final, signed and sent to the requesting node (security officers of the host)."""
    record = node.decide_visit(
        caller, visit_id, approve=body.approve, level=body.level, note=body.note
    )
    return visit_view(record)


@router.get("/visits", response_model=VisitPage, summary="Visits requested by or to this node")
def list_visits(
    node: NodeDep, caller: Caller, after: After = None, limit: Limit = 100
) -> VisitPage:
    """By id, with their decisions (security officers)."""
    found = node.visits(caller, after=decode_cursor("visit", after), limit=fetch_size(limit))
    page, cursor = split_page(found, limit, "visit", lambda v: v.visit_id)
    return VisitPage(items=[visit_view(v) for v in page], next=cursor)
