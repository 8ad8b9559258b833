"""The originator's continuing rights (Art. 6): reclassification, and return or destruction
(Arts. 6, 13).

* ``POST /v1/items/{item_id}/reclassify``: the originator changes the level of an item it
  originated; every holder re-marks it at its own equivalent (Art. 4).
* ``POST /v1/items/{item_id}/disposal-requests``: the originator asks a holder to return or
  destroy its copy; ``POST /v1/disposals/{disposal_id}/execute``: the holder's security officer
  does so; a signed certificate goes back.
* ``POST /v1/items/{item_id}/destroy``: the holder destroys a copy no longer needed, certified
  all the same.  ``GET /v1/disposals`` lists requests and certificates.

Who may do what, and every refusal's audit, are :mod:`gsomia.node.disposal`'s.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from gsomia.api.models import ItemOut
from gsomia.api.models_cases import (
    DestroyIn,
    DisposalOut,
    DisposalPage,
    DisposalRequestIn,
    ReclassifyIn,
)
from gsomia.api.openapi import problem_doc
from gsomia.api.pagination import After, Limit, decode_cursor, fetch_size, split_page
from gsomia.api.problems import Problem
from gsomia.api.routing import Caller, NodeDep, new_router
from gsomia.api.views import item_view
from gsomia.api.views_cases import disposal_view

router = new_router("disposal")

ItemId = Annotated[str, Path(max_length=128, description="an item id")]
DisposalId = Annotated[str, Path(max_length=128, description="a disposal id")]
ItemFilter = Annotated[str | None, Query(max_length=128, description="only this item's")]
_NOT_HELD = problem_doc(Problem, "NODE_ITEM_NOT_HELD: the item was returned or destroyed")
_PENDING = problem_doc(Problem, "NODE_DISPOSAL_PENDING, NODE_DISPOSAL_DONE or NODE_ITEM_NOT_HELD")


@router.post(
    "/items/{item_id}/reclassify",
    response_model=ItemOut,
    summary="Change the level of an item this node originated (Art. 6)",
    responses={409: _NOT_HELD},
)
def reclassify(item_id: ItemId, body: ReclassifyIn, node: NodeDep, caller: Caller) -> ItemOut:
    """Relabelled here; a signed notice to every holder, which re-marks it (security and
    release officers).  Refused (403 ``NODE_POLICY_DENIED``) if a holder has no equivalent."""
    return item_view(node.reclassify(caller, item_id, body.level), node.party)


@router.post(
    "/items/{item_id}/disposal-requests",
    response_model=DisposalOut,
    status_code=201,
    summary="Ask a holder to return or destroy its copy (Art. 6)",
    responses={409: _PENDING},
)
def request_disposal(
    item_id: ItemId, body: DisposalRequestIn, node: NodeDep, caller: Caller
) -> DisposalOut:
    """A signed request to a party this node gave the item to (security and release officers)."""
    record = node.request_disposal(caller, item_id, body.holder, str(body.action), body.reason)
    return disposal_view(record)


@router.post(
    "/disposals/{disposal_id}/execute",
    response_model=DisposalOut,
    summary="Return or destroy a copy as the originator asked (holder)",
    responses={409: problem_doc(Problem, "NODE_DISPOSAL_DONE: executed already")},
)
def execute_disposal(disposal_id: DisposalId, node: NodeDep, caller: Caller) -> DisposalOut:
    """The copy is erased, reads answer ``NODE_ITEM_NOT_HELD``, a signed certificate goes to
    the originator (security officers; Art. 13)."""
    return disposal_view(node.execute_disposal(caller, disposal_id))


@router.post(
    "/items/{item_id}/destroy",
    response_model=DisposalOut,
    status_code=201,
    summary="Destroy a copy no longer needed (holder; Arts. 6, 13)",
    responses={409: _PENDING},
)
def destroy(item_id: ItemId, body: DestroyIn, node: NodeDep, caller: Caller) -> DisposalOut:
    """Erased here and certified to the originator (security officers)."""
    return disposal_view(node.destroy(caller, item_id, body.reason))


@router.get("/disposals", response_model=DisposalPage, summary="Returns and destructions")
def list_disposals(
    node: NodeDep,
    caller: Caller,
    item_id: ItemFilter = None,
    after: After = None,
    limit: Limit = 100,
) -> DisposalPage:
    """Requested, executed or certified here, by id (security and release officers)."""
    found = node.disposals(
        caller, item_id=item_id, after=decode_cursor("disposal", after), limit=fetch_size(limit)
    )
    page, cursor = split_page(found, limit, "disposal", lambda d: d.disposal_id)
    return DisposalPage(items=[disposal_view(d) for d in page], next=cursor)
