"""``POST /v1/items``: release an item this node originates (Art. 6: case by case).

The label is the STANAG 4774 originator label in gsomia's canonical JSON form, parsed by
:func:`gsomia.labels.json_codec.from_dict` (422 ``LABEL_*`` if ill-formed).  The node decides
each recipient against the agreements in force now (Art. 21), all or nothing, and audits the
decision; a refusal is 403 ``RELEASE_REFUSED`` with the reason codes and every recipient's
decision, and nothing but the audit record is stored.

``POST /v1/items/batch`` releases up to 500 items in one call (the same objects ``POST /v1/items``
takes, under ``items``): each is decided and sealed on its own, and all are committed in one unit
of work before the answer (:meth:`gsomia.node.Node.release_many`).  A refused item does not stop
the others: the answer (200) has one result per item, in order.  A request that is malformed as a
whole (a field, or any item's label: 422 with the item's ``index``) releases nothing.
"""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from gsomia.api.errors import ReleaseRefusedError
from gsomia.api.models import DecisionOut, ReleaseIn, ReleaseOut, ReleaseRefusedProblem
from gsomia.api.openapi import problem_doc
from gsomia.api.routing import Caller, NodeDep, new_router
from gsomia.api.views import decisions_view
from gsomia.errors import LabelError
from gsomia.labels import OriginatorLabel, json_codec
from gsomia.node import MAX_RELEASE_BATCH, ReleaseRequest, ReleaseResult

router = new_router("items")
_LABELS_KEPT = 8  # distinct labels of one batch remembered while decoding it


@router.post(
    "/items",
    response_model=ReleaseOut,
    status_code=201,
    summary="Release an item to partners",
    responses={
        403: problem_doc(
            ReleaseRefusedProblem,
            "RELEASE_REFUSED (reasons and decisions), or NODE_FORBIDDEN",
        )
    },
)
def release(body: ReleaseIn, node: NodeDep, caller: Caller) -> ReleaseOut:
    """Seal the item for each recipient and queue it for delivery, or say why not."""
    label = json_codec.from_dict(body.label, OriginatorLabel)  # 422 LABEL_*
    result = node.release(caller, body.payload(), label, body.recipients, body.topic, body.purpose)
    decisions = decisions_view(result.decisions)
    if not result.released:
        raise ReleaseRefusedError(
            f"the release of item {result.item_id} was refused: {', '.join(result.reasons)}",
            detail={
                "item_id": result.item_id,
                "reasons": list(result.reasons),
                "decisions": {p: d.model_dump() for p, d in decisions.items()},
            },
        )
    return ReleaseOut(item_id=result.item_id, released=True, decisions=decisions)


class ReleaseBatchIn(BaseModel):
    """Up to 500 releases, each the body of ``POST /v1/items``."""

    model_config = ConfigDict(extra="forbid")

    items: list[ReleaseIn] = Field(min_length=1, max_length=MAX_RELEASE_BATCH)


class ReleaseResultOut(BaseModel):
    """The outcome of one item of a batch: released to every recipient, or refused and why."""

    item_id: str
    released: bool
    decisions: dict[str, DecisionOut]
    reasons: list[str] = Field(description="the reason codes of a refusal; empty if released")
    problem: str | None = Field(None, description="why the request could not be an item at all")


class ReleaseBatchOut(BaseModel):
    """One result per item, in the order of the request."""

    results: list[ReleaseResultOut]


@router.post(
    "/items/batch",
    response_model=ReleaseBatchOut,
    status_code=200,
    summary="Release many items in one call (one durable commit)",
)
def release_batch(body: ReleaseBatchIn, node: NodeDep, caller: Caller) -> Response:
    """Decide, seal and queue each item on its own; commit them all before answering."""
    # Items of one batch often share their label: a label equal (as parsed JSON) to one already
    # decoded is not decoded again.  A valid label's members are text and lists of text only, so
    # equality here is equality of the JSON (no 1 == true == 1.0 between an accepted label and
    # another); the last few distinct labels are kept, the rest decoded as they come.
    seen: list[tuple[object, OriginatorLabel]] = []
    requests = []
    for index, item in enumerate(body.items):
        label = next((decoded for raw, decoded in seen if raw == item.label), None)
        if label is None:
            try:
                label = json_codec.from_dict(item.label, OriginatorLabel)  # 422 LABEL_*
            except LabelError as exc:
                exc.detail["index"] = index
                raise
            seen = [(item.label, label), *seen[: _LABELS_KEPT - 1]]
        requests.append(
            ReleaseRequest(item.payload(), label, item.recipients, item.topic, item.purpose)
        )
    results = node.release_many(caller, requests)
    views: dict[object, dict[str, DecisionOut]] = {}  # one view per distinct set of decisions
    out = ReleaseBatchOut(
        results=[
            ReleaseResultOut(
                item_id=r.item_id,
                released=r.released,
                decisions=_decisions(r, views),
                reasons=list(r.reasons),
                problem=r.problem,
            )
            for r in results
        ]
    )
    # Serialised here, once: the model was built from the node's values just now.
    return Response(out.model_dump_json(), media_type="application/json")


def _decisions(
    result: ReleaseResult, views: dict[object, dict[str, DecisionOut]]
) -> dict[str, DecisionOut]:
    """The view of a result's decisions, shared by results whose decisions are equal (values:
    the same recipients, codes, reasons, agreement, path and markings)."""
    key = tuple(result.decisions.items())
    found = views.get(key)
    if found is None:
        found = views[key] = decisions_view(result.decisions)
    return found
