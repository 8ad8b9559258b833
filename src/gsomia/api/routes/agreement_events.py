"""Art. 21: agreement events recorded by a security officer; each takes effect on the very next
decision (PRODUCT.md §4: an agreement's status is a pure function of its events).

``POST /v1/agreements/{agreement_id}/events`` takes one event in the fields of the agreement
data's ``[[events]]`` (``kind``, ``at``, ``by``, ``note``, ``source``, ``condition``,
``disputed_by``, ``effective``, ``table_version``), as JSON, parsed by the same
:func:`gsomia.catalog.parse_event` as the built-in data; an ill-formed event is 422
``REQUEST_INVALID``.  The node refuses, audited, an event that makes the history impossible
(409 ``EVENT_SEQUENCE_INVALID``), one dated in the future, or an agreement it is not party to.
``GET /v1/agreements/{agreement_id}/events`` lists what this node recorded, by ``seq``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from gsomia.api.errors import CursorInvalidError
from gsomia.api.models_cases import AgreementEventIn, AgreementEventOut, AgreementEventPage
from gsomia.api.openapi import problem_doc
from gsomia.api.pagination import After, Limit, decode_cursor, fetch_size, split_page
from gsomia.api.problems import Problem
from gsomia.api.routing import Caller, NodeDep, new_router
from gsomia.api.views_cases import agreement_event_view

router = new_router("agreements")

AgreementId = Annotated[
    str, Path(max_length=128, description="an agreement id", examples=["kor-jpn-gsomia-2016"])
]


@router.post(
    "/agreements/{agreement_id}/events",
    response_model=AgreementEventOut,
    status_code=201,
    summary="Record an agreement event; the next decision applies it (Art. 21)",
    responses={409: problem_doc(Problem, "EVENT_SEQUENCE_INVALID: an impossible history")},
)
def record_event(
    agreement_id: AgreementId, body: AgreementEventIn, node: NodeDep, caller: Caller
) -> AgreementEventOut:
    """Recorded and audited with the agreement's state after it (security officers of a party
    to the agreement)."""
    record = node.record_agreement_event(caller, agreement_id, body.event())
    return agreement_event_view(record, node.registry.agreement(agreement_id).tz)


@router.get(
    "/agreements/{agreement_id}/events",
    response_model=AgreementEventPage,
    summary="The agreement events recorded at this node",
)
def list_events(
    agreement_id: AgreementId,
    node: NodeDep,
    caller: Caller,
    after: After = None,
    limit: Limit = 100,
) -> AgreementEventPage:
    """By ``seq``, instants in the agreement's zone (security and release officers)."""
    key = decode_cursor("agreement-event", after)
    if key is not None and not (key.isdigit() and len(key) < 19):
        raise CursorInvalidError("the cursor is not one of the agreement-event list")
    found = node.agreement_events(
        caller, agreement_id=agreement_id, after=int(key or 0), limit=fetch_size(limit)
    )
    tz = node.registry.agreement(agreement_id).tz  # 404 AGREEMENT_NOT_FOUND
    page, cursor = split_page(found, limit, "agreement-event", lambda r: str(r.seq))
    return AgreementEventPage(items=[agreement_event_view(r, tz) for r in page], next=cursor)
