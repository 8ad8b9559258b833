"""``GET /v1/audit/head`` and ``GET /v1/audit/checkpoint``: the tamper-evident log (Art. 17).

Partners and auditors compare heads and verify the signed checkpoint note
(c2sp.org/tlog-checkpoint, RFC 9162 root); any authenticated official may read them.
"""

from __future__ import annotations

from fastapi.responses import PlainTextResponse

from gsomia.api.models import AuditHead
from gsomia.api.routing import Caller, NodeDep, new_router

router = new_router("audit")


@router.get("/audit/head", response_model=AuditHead, summary="Size and root of the audit log")
def audit_head(node: NodeDep, caller: Caller) -> AuditHead:
    """The number of entries and the RFC 9162 Merkle root, in hex."""
    size, root = node.audit_head()
    return AuditHead(size=size, root=root.hex())


@router.get(
    "/audit/checkpoint",
    response_class=PlainTextResponse,
    summary="The signed checkpoint note",
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def audit_checkpoint(node: NodeDep, caller: Caller) -> PlainTextResponse:
    """The node's checkpoint, signed as a C2SP note (text/plain; charset=utf-8)."""
    return PlainTextResponse(node.checkpoint().decode("utf-8"))
