"""Art. 6: the originator's prior written consent, and forwards to a third party under it.

The holder's security or release officer asks the originator for consent
(``POST /v1/items/{item_id}/consent-requests``); the originator's security officer decides
(``POST /v1/consent-requests/{request_id}/decision``) or later revokes
(``POST /v1/consents/{consent_id}/revoke``); the holder's release officer forwards the item
(``POST /v1/items/{item_id}/forward``), which the node decides at that instant against every
consent it recorded.  A refused forward is 403 ``FORWARD_REFUSED`` with the reason codes and the
policy's decision, as a refused release is; the node audited it and queued nothing.  Requests and
decisions travel over the channel (:mod:`gsomia.node.consent`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from gsomia.api.errors import ForwardRefusedError
from gsomia.api.models_cases import (
    ConsentDecisionIn,
    ConsentOut,
    ConsentRequestIn,
    ConsentRequestOut,
    ConsentRequestPage,
    ForwardIn,
    ForwardOut,
    ForwardRefusedProblem,
)
from gsomia.api.openapi import problem_doc
from gsomia.api.pagination import After, Limit, decode_cursor, fetch_size, split_page
from gsomia.api.problems import Problem
from gsomia.api.routing import Caller, NodeDep, new_router
from gsomia.api.views import decision_view
from gsomia.api.views_cases import consent_request_view, consent_view
from gsomia.ports import ConsentRequestDirection, ConsentRequestState

router = new_router("consent")

ItemId = Annotated[str, Path(max_length=128, description="an item id")]
RequestId = Annotated[str, Path(max_length=128, description="a consent request id")]
ConsentId = Annotated[str, Path(max_length=128, description="a consent id (= its request's id)")]
_DECIDED = problem_doc(Problem, "NODE_CONSENT_DECIDED: the request was decided already")
_SENT = problem_doc(Problem, "NODE_ALREADY_SENT: the item went to that party already")


@router.post(
    "/items/{item_id}/consent-requests",
    response_model=ConsentRequestOut,
    status_code=201,
    summary="Ask the originator for consent to forward an item",
)
def request_consent(
    item_id: ItemId, body: ConsentRequestIn, node: NodeDep, caller: Caller
) -> ConsentRequestOut:
    """Sent to the originator's node, retried until it acknowledges (security and release
    officers of the holder; Art. 6)."""
    record = node.request_consent(caller, item_id, body.third_party, body.purpose, body.expires)
    return consent_request_view(record)


@router.get(
    "/consent-requests",
    response_model=ConsentRequestPage,
    summary="Consent requests sent or received",
)
def list_consent_requests(
    node: NodeDep,
    caller: Caller,
    direction: ConsentRequestDirection | None = None,
    state: ConsentRequestState | None = None,
    after: After = None,
    limit: Limit = 100,
) -> ConsentRequestPage:
    """By id; ``direction`` ``sent`` (we hold the item) or ``received`` (we originated it)."""
    found = node.consent_requests(
        caller,
        direction=direction,
        state=state,
        after=decode_cursor("consent-request", after),
        limit=fetch_size(limit),
    )
    page, cursor = split_page(found, limit, "consent-request", lambda r: r.request_id)
    return ConsentRequestPage(items=[consent_request_view(r) for r in page], next=cursor)


@router.post(
    "/consent-requests/{request_id}/decision",
    response_model=ConsentRequestOut,
    summary="Grant or refuse a received consent request (originator)",
    responses={409: _DECIDED},
)
def decide_consent(
    request_id: RequestId, body: ConsentDecisionIn, node: NodeDep, caller: Caller
) -> ConsentRequestOut:
    """Signed by this node and sent to the holder (security officers; Art. 6: in writing)."""
    record = node.decide_consent(
        caller,
        request_id,
        body.approve,
        conditions=tuple(body.conditions),
        expires=body.expires,
    )
    return consent_request_view(record)


@router.post(
    "/consents/{consent_id}/revoke",
    response_model=ConsentOut,
    summary="Withdraw a consent this node gave",
)
def revoke_consent(consent_id: ConsentId, node: NodeDep, caller: Caller) -> ConsentOut:
    """The signed revocation goes to the holder; a second revocation changes nothing."""
    return consent_view(node.revoke_consent(caller, consent_id))


@router.post(
    "/items/{item_id}/forward",
    response_model=ForwardOut,
    status_code=201,
    summary="Forward a held item to a third party under the originator's consent",
    responses={
        403: problem_doc(
            ForwardRefusedProblem,
            "FORWARD_REFUSED (reasons and decision), NODE_ITEM_NOT_HELD or NODE_FORBIDDEN",
        ),
        409: _SENT,
    },
)
def forward(item_id: ItemId, body: ForwardIn, node: NodeDep, caller: Caller) -> ForwardOut:
    """Re-sealed to the third party with the consent token, or refused with the reasons
    (release officers of the holder; PRODUCT.md §8: never without the signed consent)."""
    result = node.forward(caller, item_id, body.third_party, body.purpose)
    decision = decision_view(result.decision)
    if not result.forwarded:
        raise ForwardRefusedError(
            f"the forward of item {result.item_id} to {result.third_party} was refused: "
            f"{', '.join(result.reasons)}",
            detail={
                "item_id": result.item_id,
                "third_party": result.third_party,
                "reasons": list(result.reasons),
                "consent_id": result.consent_id,
                "decision": decision.model_dump(),
            },
        )
    return ForwardOut(
        item_id=result.item_id,
        third_party=result.third_party,
        forwarded=True,
        consent_id=result.consent_id,
        decision=decision,
    )
