"""``POST /v1/items``: release an item this node originates (Art. 6: case by case).

The label is the STANAG 4774 originator label in gsomia's canonical JSON form, parsed by
:func:`gsomia.labels.json_codec.from_dict` (422 ``LABEL_*`` if ill-formed).  The node decides
each recipient against the agreements in force now (Art. 21), all or nothing, and audits the
decision; a refusal is 403 ``RELEASE_REFUSED`` with the reason codes and every recipient's
decision, and nothing but the audit record is stored.
"""

from __future__ import annotations

from gsomia.api.errors import ReleaseRefusedError
from gsomia.api.models import ReleaseIn, ReleaseOut, ReleaseRefusedProblem
from gsomia.api.openapi import problem_doc
from gsomia.api.routing import Caller, NodeDep, new_router
from gsomia.api.views import decisions_view
from gsomia.labels import OriginatorLabel, json_codec

router = new_router("items")


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
