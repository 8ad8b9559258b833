"""The directory (issue 4 §1; Art. 7): list and add officials, issue API tokens.

Security officers only; the node checks the role, audits each change and each refusal.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from gsomia.api.models import OfficialIn, OfficialOut, OfficialPage, TokenOut
from gsomia.api.pagination import After, Limit, decode_cursor, fetch_size, split_page
from gsomia.api.routing import Caller, NodeDep, new_router
from gsomia.api.views import official_view, record_from

router = new_router("officials")

OfficialId = Annotated[str, Path(max_length=128, description="an official's id")]


@router.get("/officials", response_model=OfficialPage, summary="The directory, by id")
def list_officials(
    node: NodeDep, caller: Caller, after: After = None, limit: Limit = 100
) -> OfficialPage:
    """Officials with clearance, duties, register membership and roles (security officers)."""
    found = node.officials(caller, after=decode_cursor("official", after), limit=fetch_size(limit))
    page, cursor = split_page(found, limit, "official", lambda r: r.official.id)
    return OfficialPage(items=[official_view(r) for r in page], next=cursor)


@router.post(
    "/officials",
    response_model=OfficialOut,
    status_code=201,
    summary="Add or replace an official",
)
def add_official(body: OfficialIn, node: NodeDep, caller: Caller) -> OfficialOut:
    """Enrol an official of this node's nationality, or replace its record (audited)."""
    record = record_from(body)  # 400 STORE_RECORD_INVALID
    node.add_official(caller, record)
    return official_view(record)


@router.post(
    "/officials/{official_id}/tokens",
    response_model=TokenOut,
    status_code=201,
    summary="Issue an API token (shown once)",
)
def issue_token(official_id: OfficialId, node: NodeDep, caller: Caller) -> TokenOut:
    """A new bearer token for the official; the node keeps only its SHA-256 (audited)."""
    return TokenOut(official_id=official_id, token=node.issue_token(caller, official_id))
