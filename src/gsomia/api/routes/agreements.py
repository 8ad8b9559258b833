"""``GET /v1/agreements`` and ``GET /v1/agreements/{agreement_id}/status`` (Art. 21).

The same computation as ``gsomia agreements list`` and ``gsomia agreement status``:
:func:`gsomia.agreements.status_at` on the node's registry, rendered by
:func:`gsomia.agreements.summary_to_dict` and :func:`gsomia.agreements.status_to_dict`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from gsomia.agreements import status_at, status_to_dict, summary_to_dict
from gsomia.api.models import AgreementOut, AgreementPage, AgreementStatusOut
from gsomia.api.pagination import After, Limit, decode_cursor, split_page
from gsomia.api.routing import Caller, NodeDep, new_router
from gsomia.instants import format_instant, parse_instant

router = new_router("agreements")

At = Annotated[
    str | None,
    Query(
        max_length=64,
        description="an RFC 3339 instant with an offset (default: now)",
        examples=["2019-11-22T18:00:00+09:00"],
    ),
]


@router.get("/agreements", response_model=AgreementPage, summary="Agreements and their state now")
def list_agreements(
    node: NodeDep, caller: Caller, after: After = None, limit: Limit = 100
) -> AgreementPage:
    """Every agreement the node knows, by id, with its state at this instant (Art. 21)."""
    now = node.now()
    start = decode_cursor("agreement", after)
    registry = node.registry
    ids = sorted(a for a in registry.agreements if start is None or a > start)
    rows = [
        AgreementOut(**summary_to_dict(registry.agreement(i), status_at(registry.timeline(i), now)))
        for i in ids[: limit + 1]
    ]
    page, cursor = split_page(rows, limit, "agreement", lambda row: row.id)
    return AgreementPage(at=format_instant(now), items=page, next=cursor)


@router.get(
    "/agreements/{agreement_id}/status",
    response_model=AgreementStatusOut,
    summary="An agreement's status at an instant, and why",
)
def agreement_status(
    agreement_id: str, node: NodeDep, caller: Caller, at: At = None
) -> AgreementStatusOut:
    """State, whether new exchanges are allowed, term, renewal, notice deadline, reasons."""
    registry = node.registry
    agreement = registry.agreement(agreement_id)  # 404 AGREEMENT_NOT_FOUND
    when = node.now() if at is None else parse_instant(at)  # 400 INSTANT_*
    status = status_at(registry.timeline(agreement.id), when)
    return AgreementStatusOut(**status_to_dict(status, agreement.tz))
