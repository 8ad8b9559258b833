"""``GET /v1/outbox``: deliveries to partners, their attempts and retries (issue 4 §1).

Security and release officers; the node checks the role.
"""

from __future__ import annotations

from gsomia.api.errors import CursorInvalidError
from gsomia.api.models import OutboxPage
from gsomia.api.pagination import After, Limit, decode_cursor, fetch_size, split_page
from gsomia.api.routing import Caller, NodeDep, new_router
from gsomia.api.views import outbox_view
from gsomia.ports import DeliveryState

router = new_router("outbox")


@router.get("/outbox", response_model=OutboxPage, summary="Messages to partners, in order")
def list_outbox(
    node: NodeDep,
    caller: Caller,
    state: DeliveryState | None = None,
    after: After = None,
    limit: Limit = 100,
) -> OutboxPage:
    """Each message: recipient, state, attempts, next attempt, last error (never the payload)."""
    key = decode_cursor("outbox", after)
    if key is not None and not (key.isdigit() and len(key) < 19):
        raise CursorInvalidError("the cursor is not one of the outbox list")
    found = node.outbox(caller, state=state, after=int(key or 0), limit=fetch_size(limit))
    page, cursor = split_page(found, limit, "outbox", lambda e: str(e.seq))
    return OutboxPage(items=[outbox_view(e) for e in page], next=cursor)
