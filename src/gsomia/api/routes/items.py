"""Held items: list, one item's metadata, its content (Art. 7 read) and its receipts.

Who sees what is the node's rule (:mod:`gsomia.node.directory`): officers see every item's
metadata, a reader only the items Art. 7 lets them read; an item one may not see is 404, so the
API is no oracle.  Reading content is an Art. 7 decision at read time, audited either way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from fastapi.responses import Response

from gsomia.api.models import ItemOut, ItemPage, ReceiptList
from gsomia.api.pagination import After, Limit, decode_cursor, fetch_size, split_page
from gsomia.api.routing import Caller, NodeDep, new_router
from gsomia.api.views import item_view, receipt_view
from gsomia.ports import ItemState

router = new_router("items")

ItemId = Annotated[str, Path(max_length=64, description="an item id")]
OCTETS = "application/octet-stream"


@router.get("/items", response_model=ItemPage, summary="Held items the caller may see")
def list_items(
    node: NodeDep,
    caller: Caller,
    state: ItemState | None = None,
    after: After = None,
    limit: Limit = 100,
) -> ItemPage:
    """Items by id, with the originator's marking and this node's equivalent (Art. 4)."""
    found = node.items(
        caller, after=decode_cursor("item", after), limit=fetch_size(limit), state=state
    )
    page, cursor = split_page(found, limit, "item", lambda i: i.item_id)
    return ItemPage(items=[item_view(i, node.party) for i in page], next=cursor)


@router.get("/items/{item_id}", response_model=ItemOut, summary="One held item's metadata")
def get_item(item_id: ItemId, node: NodeDep, caller: Caller) -> ItemOut:
    """The item's topic, state, provenance and markings; never its content."""
    return item_view(node.item(caller, item_id), node.party)


@router.get(
    "/items/{item_id}/content",
    response_class=Response,
    summary="Read an item's content (Art. 7; audited)",
    responses={200: {"content": {OCTETS: {"schema": {"type": "string", "format": "binary"}}}}},
)
def read_item(item_id: ItemId, node: NodeDep, caller: Caller) -> Response:
    """The plaintext, if the caller is cleared and on duty for the item's topic now (Art. 7)."""
    return Response(content=node.read(caller, item_id), media_type=OCTETS)


@router.get(
    "/items/{item_id}/receipts",
    response_model=ReceiptList,
    summary="Signed receipts of an item",
)
def item_receipts(item_id: ItemId, node: NodeDep, caller: Caller) -> ReceiptList:
    """Receipts received from recipients and issued to senders (security and release officers)."""
    return ReceiptList(items=[receipt_view(r) for r in node.receipts(caller, item_id)])
