"""The node's directory and what its officials may list: tokens, officials, items, outbox, log.

Issue 4 §1: each node keeps its directory of officials (nationality, clearance under the national
scheme, duties as topics, register membership; Art. 6 and Art. 7) with roles (security officer,
release officer, reader, sensor feed).  Every API call is authenticated by a per-official token,
held only as its SHA-256 (:func:`gsomia.ports.records.token_hash`), and authorised by role.

Who may do what (deny by default; every refusal audited, then raised):

=====================  ==========================================================================
act                    who
=====================  ==========================================================================
bootstrap              nobody: only while the directory is empty (``gsomia node init``)
add an official        an active security officer of this node's nationality
issue a token          an active security officer; the token is returned once, stored hashed
list officials         an active security officer
list items / one item  security and release officers see every item's metadata; a reader only
                       the items Art. 7 lets them read (metadata carries labels, which are
                       themselves protected information)
outbox, receipts       security and release officers
=====================  ==========================================================================

Listing is not audited (it reads no content); reading content is (:meth:`Node.read`).

A request a face refused before calling the node (an oversized or malformed body, a field that
failed its checks: PRODUCT.md §8, a rejected input is audited) is recorded by
:func:`refused_request`: one ``reject`` record naming the route and the refusal's code, nothing
else stored.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Final

from gsomia.audit.checkpoint import Checkpoint
from gsomia.audit.records import AuditKind
from gsomia.node._context import Context, ident
from gsomia.node.errors import (
    NodeForbiddenError,
    NodeInputError,
    NodeItemNotFoundError,
    NodeUnauthenticatedError,
)
from gsomia.policy import access
from gsomia.ports import (
    MAX_PAGE,
    DeliveryState,
    HeldItem,
    ItemState,
    OfficialRecord,
    OutboxEntry,
    ReceiptRecord,
    Role,
    check_limit,
    token_hash,
)
from gsomia.proofs import sign_checkpoint

__all__ = [
    "add_official",
    "authenticate",
    "bootstrap",
    "checkpoint",
    "issue_token",
    "item",
    "items",
    "may",
    "officials",
    "outbox",
    "receipts",
    "refused_request",
]

_TOKEN_BYTES = 32
_OFFICERS = (Role.SECURITY_OFFICER, Role.RELEASE_OFFICER)
_REFUSAL_CODE: Final = re.compile(r"[A-Z][A-Z0-9_]{0,63}")  # the audit record's reason rule
_ROUTE: Final = re.compile(r"[A-Z]{3,10} /[!-~]{0,200}")  # "POST /v1/items/{item_id}/forward"


def may(record: OfficialRecord | None, party: str, *roles: Role) -> bool:
    """Deny by default: an active official of ``party`` holding one of ``roles`` (issue 4 §1)."""
    return (
        record is not None
        and record.active
        and record.official.nationality == party
        and any(role in record.roles for role in roles)
    )


def _require(ctx: Context, actor: OfficialRecord, act: str, *roles: Role) -> datetime:
    """``now`` if ``actor`` holds one of ``roles`` here; else audit and raise NODE_FORBIDDEN."""
    now = ctx.clock.now()
    if not may(actor, ctx.party, *roles):
        who = ident(getattr(getattr(actor, "official", None), "id", None), "unknown-official")
        ctx.audit_alone(
            AuditKind.OFFICIAL_EVENT, now, who, "directory", "deny", ("NODE_FORBIDDEN",),
            {"act": act},
        )  # fmt: skip
        raise NodeForbiddenError(f"{who} may not {act} at the {ctx.party} node")
    return now


def _new_token(ctx: Context) -> tuple[str, bytes]:
    """A fresh API token (256 random bits, prefixed by the node) and its SHA-256."""
    token = f"gsomia_{ctx.party.lower()}_{secrets.token_urlsafe(_TOKEN_BYTES)}"
    return token, token_hash(token)


def bootstrap(ctx: Context, record: OfficialRecord) -> str:
    """Enrol the node's first security officer and return its API token (``node init``)."""
    now = ctx.clock.now()
    if not isinstance(record, OfficialRecord) or not may(record, ctx.party, Role.SECURITY_OFFICER):
        raise NodeInputError(
            f"the first official must be an active {ctx.party} security officer",
            code="NODE_BOOTSTRAP_INVALID",
        )
    token, digest = _new_token(ctx)
    with ctx.store.unit_of_work() as uow:
        if uow.officials(limit=1):
            raise NodeInputError(
                "the node's directory is not empty; a security officer adds officials",
                code="NODE_ALREADY_INITIALISED",
            )
        uow.put_official(record)
        uow.add_token(record.official.id, digest, created=now)
        ctx.audit(
            uow, AuditKind.OFFICIAL_EVENT, now, "node-init", record.official.id, "enrol",
            ("OFFICIAL_ADDED", "TOKEN_ISSUED"), detail=_official_detail(record),
        )  # fmt: skip
    return token


def authenticate(ctx: Context, token: object) -> OfficialRecord:
    """The active official holding the unrevoked API ``token``; else audited NODE_UNAUTHENTICATED."""
    record = None
    if isinstance(token, str) and 0 < len(token) <= 256:
        with ctx.store.read() as reader:
            record = reader.official_by_token(token_hash(token))
    if record is None or record.official.nationality != ctx.party:
        ctx.audit_alone(
            AuditKind.REJECT, ctx.clock.now(), "unknown-official", "api", "deny",
            ("NODE_UNAUTHENTICATED",),
        )  # fmt: skip
        raise NodeUnauthenticatedError("a valid API token of this node is required")
    return record


def add_official(ctx: Context, actor: OfficialRecord, record: OfficialRecord) -> None:
    """Add or replace an official of this node (Art. 7 clearance and duties; Art. 6 register)."""
    now = _require(ctx, actor, "add officials", Role.SECURITY_OFFICER)
    if not isinstance(record, OfficialRecord) or record.official.nationality != ctx.party:
        ctx.audit_alone(
            AuditKind.OFFICIAL_EVENT, now, actor.official.id, "directory", "deny",
            ("NODE_OFFICIAL_FOREIGN",),
        )  # fmt: skip
        raise NodeInputError(
            f"the {ctx.party} directory holds {ctx.party} officials only (Art. 7: a clearance "
            "under the holder's law)",
            code="NODE_OFFICIAL_FOREIGN",
        )
    clearance = record.official.clearance
    if clearance is not None and ctx.registry.schemes[ctx.party].find(clearance) is None:
        ctx.audit_alone(
            AuditKind.OFFICIAL_EVENT, now, actor.official.id, record.official.id, "deny",
            ("UNKNOWN_LEVEL",),
        )  # fmt: skip
        raise NodeInputError(
            f"{record.official.clearance!r} is not a level of the {ctx.party} scheme",
            code="UNKNOWN_LEVEL",
        )
    with ctx.store.unit_of_work() as uow:
        existed = uow.official(record.official.id) is not None
        uow.put_official(record)
        ctx.audit(
            uow, AuditKind.OFFICIAL_EVENT, now, actor.official.id, record.official.id,
            "update" if existed else "enrol", ("OFFICIAL_ADDED",),
            detail=_official_detail(record),
        )  # fmt: skip


def issue_token(ctx: Context, actor: OfficialRecord, official_id: str) -> str:
    """A new API token for ``official_id``, returned once and stored only as its SHA-256."""
    now = _require(ctx, actor, "issue tokens", Role.SECURITY_OFFICER)
    subject = ident(official_id, "unknown-official")
    with ctx.store.read() as reader:
        target = reader.official(official_id) if isinstance(official_id, str) else None
    if target is None:
        ctx.audit_alone(
            AuditKind.OFFICIAL_EVENT, now, actor.official.id, subject, "deny",
            ("OFFICIAL_NOT_FOUND",),
        )  # fmt: skip
        raise NodeItemNotFoundError(
            f"{ctx.party} has no official {subject}", code="OFFICIAL_NOT_FOUND"
        )
    token, digest = _new_token(ctx)
    with ctx.store.unit_of_work() as uow:
        uow.add_token(official_id, digest, created=now)
        ctx.audit(
            uow, AuditKind.OFFICIAL_EVENT, now, actor.official.id, official_id, "token",
            ("TOKEN_ISSUED",), detail={"token_sha256_prefix": digest.hex()[:12]},
        )  # fmt: skip
    return token


def officials(
    ctx: Context, actor: OfficialRecord, *, after: str | None = None, limit: int = 100
) -> list[OfficialRecord]:
    """The directory, by ascending id (security officers only)."""
    _require(ctx, actor, "list officials", Role.SECURITY_OFFICER)
    with ctx.store.read() as reader:
        return reader.officials(after=after, limit=check_limit(limit))


def items(
    ctx: Context,
    actor: OfficialRecord,
    *,
    after: str | None = None,
    limit: int = 100,
    state: ItemState | None = None,
) -> list[HeldItem]:
    """Held items by ascending id that ``actor`` may see (see the module table)."""
    _require(ctx, actor, "list items", *_OFFICERS, Role.READER)
    limit = check_limit(limit)
    if may(actor, ctx.party, *_OFFICERS):
        with ctx.store.read() as reader:
            return reader.items(state=state, after=after, limit=limit)
    out: list[HeldItem] = []
    cursor = after
    with ctx.store.read() as reader:
        while len(out) < limit:
            page = reader.items(state=state, after=cursor, limit=MAX_PAGE)
            out.extend(i for i in page if _readable(ctx, actor, i))
            if len(page) < MAX_PAGE:
                break
            cursor = page[-1].item_id
    return out[:limit]


def item(ctx: Context, actor: OfficialRecord, item_id: str) -> HeldItem:
    """One held item's metadata, under the same rule as :func:`items`."""
    _require(ctx, actor, "see items", *_OFFICERS, Role.READER)
    with ctx.store.read() as reader:
        found = reader.item(item_id) if isinstance(item_id, str) else None
    if found is None or not (may(actor, ctx.party, *_OFFICERS) or _readable(ctx, actor, found)):
        raise NodeItemNotFoundError(  # no oracle: an item one may not see is not there
            f"{ctx.party} holds no item {ident(item_id, 'unknown-item')} you may see"
        )
    return found


def receipts(ctx: Context, actor: OfficialRecord, item_id: str) -> list[ReceiptRecord]:
    """The signed receipts of an item, sent and received (security and release officers)."""
    _require(ctx, actor, "see receipts", *_OFFICERS)
    with ctx.store.read() as reader:
        if not isinstance(item_id, str) or reader.item(item_id) is None:
            raise NodeItemNotFoundError(f"{ctx.party} holds no item {ident(item_id, '?')}")
        return reader.receipts(item_id)


def outbox(
    ctx: Context,
    actor: OfficialRecord,
    *,
    state: DeliveryState | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[OutboxEntry]:
    """Outbox messages in enqueue order: pending deliveries, attempts, receipts awaited."""
    _require(ctx, actor, "see the outbox", *_OFFICERS)
    with ctx.store.read() as reader:
        return reader.outbox(state=state, after=after, limit=check_limit(limit))


def refused_request(ctx: Context, route: object, code: object, actor_id: object) -> None:
    """Audit a request a face refused before calling the node (PRODUCT.md §8): one ``reject``
    ``deny`` record, the refusal's ``code`` as its reason and, in its detail, the ``route``
    (method and path template, never the raw path) and the code; nothing else is stored.

    ``actor_id`` is the official whose token the face had verified, or None (the token had not
    been looked at yet: the body was refused first).  Cheap: one audit append, no read.
    """
    reason = code if isinstance(code, str) and _REFUSAL_CODE.fullmatch(code) else "REQUEST_REFUSED"
    where = route if isinstance(route, str) and _ROUTE.fullmatch(route) else "unknown-route"
    ctx.audit_alone(
        AuditKind.REJECT, ctx.clock.now(), ident(actor_id, "unknown-official"), "api", "deny",
        (reason,), {"route": where, "code": reason},
    )  # fmt: skip


def checkpoint(ctx: Context) -> bytes:
    """This node's signed audit checkpoint (c2sp.org/tlog-checkpoint), for partners to check."""
    with ctx.store.read() as reader:
        size = reader.audit_size()
        root = reader.audit_root(size)
    return sign_checkpoint(Checkpoint(ctx.log_origin, size, root), ctx.keys)


def _readable(ctx: Context, actor: OfficialRecord, held: HeldItem) -> bool:
    return (
        held.state is ItemState.HELD
        and access(ctx.registry, actor.official, held.labels, ctx.party, held.topic).allowed
    )


def _official_detail(record: OfficialRecord) -> dict[str, str | bool | None]:
    o = record.official
    return {
        "clearance": o.clearance,
        "duties": ",".join(sorted(o.duties)),
        "roles": ",".join(sorted(r.value for r in record.roles)),
        "in_register": o.in_register,
        "active": record.active,
    }
