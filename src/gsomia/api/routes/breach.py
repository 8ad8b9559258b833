"""Art. 17: breaches.  Any official reports an actual or possible loss or compromise of a held
item (``POST /v1/breaches``); the originator's node is notified at once.  The reporting node's
security officer records the investigation, results and measures (``PATCH
/v1/breaches/{breach_id}``), each sent to the originator; security officers of both nodes see
the status (``GET /v1/breaches``).  The rules are :mod:`gsomia.node.breach`'s.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from gsomia.api.models_cases import BreachIn, BreachOut, BreachPage, BreachUpdateIn
from gsomia.api.openapi import problem_doc
from gsomia.api.pagination import After, Limit, decode_cursor, fetch_size, split_page
from gsomia.api.problems import Problem
from gsomia.api.routing import Caller, NodeDep, new_router
from gsomia.api.views_cases import breach_view

router = new_router("breaches")

BreachId = Annotated[str, Path(max_length=128, description="a breach id")]
ItemFilter = Annotated[str | None, Query(max_length=128, description="only this item's")]


@router.post(
    "/breaches",
    response_model=BreachOut,
    status_code=201,
    summary="Report an actual or possible loss or compromise (any official)",
    responses={404: problem_doc(Problem, "NODE_ITEM_NOT_FOUND: this node holds no such item")},
)
def report_breach(body: BreachIn, node: NodeDep, caller: Caller) -> BreachOut:
    """Recorded, audited and notified to the originator's node immediately (Art. 17)."""
    record = node.report_breach(caller, body.item_id, str(body.kind), body.description)
    return breach_view(record)


@router.get("/breaches", response_model=BreachPage, summary="Breaches and their status")
def list_breaches(
    node: NodeDep,
    caller: Caller,
    item_id: ItemFilter = None,
    after: After = None,
    limit: Limit = 100,
) -> BreachPage:
    """Reported here or notified to this node, by id (security officers)."""
    found = node.breaches(
        caller, item_id=item_id, after=decode_cursor("breach", after), limit=fetch_size(limit)
    )
    page, cursor = split_page(found, limit, "breach", lambda b: b.breach_id)
    return BreachPage(items=[breach_view(b) for b in page], next=cursor)


@router.patch(
    "/breaches/{breach_id}",
    response_model=BreachOut,
    summary="Record the investigation, results and measures (reporting node)",
    responses={409: problem_doc(Problem, "NODE_BREACH_CLOSED or NODE_CONFLICT: not from here")},
)
def update_breach(
    breach_id: BreachId, body: BreachUpdateIn, node: NodeDep, caller: Caller
) -> BreachOut:
    """The next version, sent to the originator; closed is final (security officers)."""
    record = node.update_breach(
        caller,
        breach_id,
        status=str(body.status),
        investigation=body.investigation,
        results=body.results,
        measures=body.measures,
    )
    return breach_view(record)
