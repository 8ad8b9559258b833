"""Art. 6: the originator's prior written consent, requested, decided, revoked, over the channel.

Art. 6: the receiving party shall not release CMI to a third country without the originating
party's *prior written consent*.  Issue 4 §2: the holder requests it from the originator, the
originator's security officer decides, the forward carries the consent and the third party
verifies it (the forward itself is :mod:`gsomia.node.forward`).

Messages (frames, :mod:`gsomia.node.framing`; docs/wire-format.md §10)
--------------------------------------------------------------------
=========================  ===============  =====================================================
message                    from → to        settled by
=========================  ===============  =====================================================
CONSENT_REQUEST  (0x04)    holder → orig.   the originator's ACK (request recorded)
CONSENT_GRANTED  (0x05)    orig. → holder   the holder's ACK (consent recorded)
CONSENT_REFUSED  (0x06)    orig. → holder   the holder's ACK (refusal recorded)
CONSENT_REVOKED  (0x07)    orig. → holder   the holder's ACK (revocation recorded)
ACK              (0x08)    either           — (sent best effort; a retry brings another)
=========================  ===============  =====================================================

Each of the first four is committed to the sender's outbox in the same unit of work as the
record and audit entry it reports, and retried with backoff until the ACK arrives; the receiver
records it once by its id (request id = consent id), audits it, and answers every copy with an
ACK, so at-least-once transport gives exactly-once effect.  A request is plain JSON: the channel
authenticates the holder's node, and a request grants nothing.  Decisions are signed by the
originator: a consent token (:func:`gsomia.proofs.issue_consent`, kind ``forward_consent``, id
= the request id, naming the item by id and binding (:mod:`gsomia.node._custody`), holder, third
party, purpose, expiry and conditions) or, for a refusal, a revocation token naming the request
id (:func:`gsomia.proofs.issue_revocation`: the originator withdraws, in writing, a consent it
never gave).  A revocation of a consent (or of a TISA relay approval) carries the consent token
with it, so the holder can record it even if it never saw the consent.

The officials' acts are here; the receiving side of each message is
:mod:`gsomia.node.consent_inbound`.

Who: a security or release officer of the holder requests; only a security officer of the
originator decides or revokes (PRODUCT.md §2); security and release officers list requests.
Every refusal is audited (``consent`` ``deny``, or ``reject`` for a peer's message) and leaves
nothing else behind.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta
from typing import Any, Final

from gsomia.audit.records import AuditKind
from gsomia.errors import GsomiaError
from gsomia.instants import format_instant, parse_instant
from gsomia.node import directory
from gsomia.node._context import Context, ident
from gsomia.node._custody import item_binding
from gsomia.node.errors import (
    NodeConflictError,
    NodeConsentNotFoundError,
    NodeForbiddenError,
    NodeInputError,
    NodeItemNotFoundError,
)
from gsomia.node.framing import FrameKind, revoked_frame, token_frame
from gsomia.policy import Consent, ConsentKind
from gsomia.ports import (
    ConsentRecord,
    ConsentRequestDirection,
    ConsentRequestRecord,
    ConsentRequestState,
    OfficialRecord,
    OutboxMessage,
    Role,
    check_limit,
)
from gsomia.proofs import issue_consent, issue_revocation
from gsomia.strictjson import loads

__all__ = [
    "CONSENT_VALIDITY",
    "consent_requests",
    "decide_consent",
    "decision_key",
    "detail_of",
    "parse_request",
    "request_body",
    "request_consent",
    "request_key",
    "resolve",
    "revocation_key",
    "revoke_consent",
    "token_text",
]

CONSENT_VALIDITY: Final = timedelta(days=30)
"""How long a consent stays valid when neither the request nor the decision names an expiry."""
_MAX_REQUEST_BYTES: Final = 4096
_MAX_TOKEN_TEXT: Final = 256  # a token's text rule (gsomia.proofs.tokens)
_TOKEN_TEXT_BAD: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_REQUEST_FIELDS: Final = frozenset(
    {"request_id", "item_id", "originator", "holder", "third_party", "purpose", "requested_by",
     "expires"}
)  # fmt: skip
_OFFICERS: Final = (Role.SECURITY_OFFICER, Role.RELEASE_OFFICER)


def request_key(request_id: str) -> str:
    """The outbox key of the request ``request_id`` (settled by the originator's ACK)."""
    return f"consent-request:{request_id}"


def decision_key(request_id: str) -> str:
    """The outbox key of the decision on ``request_id`` (settled by the holder's ACK)."""
    return f"consent-decision:{request_id}"


def revocation_key(consent_id: str) -> str:
    """The outbox key of the revocation of ``consent_id`` (settled by the holder's ACK)."""
    return f"consent-revocation:{consent_id}"


# ----------------------------------------------------------------------------- who may act


def resolve(ctx: Context, actor: OfficialRecord | str) -> tuple[str, OfficialRecord | None]:
    """The audit name of ``actor`` and its record (given, or looked up by id)."""
    if isinstance(actor, OfficialRecord):
        return ident(actor.official.id, "unknown-official"), actor
    if not isinstance(actor, str):
        return "unknown-official", None
    with ctx.store.read() as reader:
        return ident(actor, "unknown-official"), reader.official(actor)


def _require(
    ctx: Context,
    actor: OfficialRecord | str,
    kind: AuditKind,
    subject: str,
    act: str,
    *roles: Role,
) -> tuple[datetime, str]:
    """``(now, who)`` if ``actor`` holds one of ``roles`` here; else audited NODE_FORBIDDEN."""
    now = ctx.clock.now()
    who, record = resolve(ctx, actor)
    if not directory.may(record, ctx.party, *roles):
        ctx.audit_alone(kind, now, who, subject, "deny", ("NODE_FORBIDDEN",), {"act": act})
        raise NodeForbiddenError(f"{who} may not {act} at the {ctx.party} node")
    return now, who


def _refuse_input(
    ctx: Context, now: datetime, who: str, subject: str, problem: str, code: str
) -> NodeInputError:
    ctx.audit_alone(AuditKind.CONSENT, now, who, subject, "deny", (code,), {"problem": problem})
    return NodeInputError(problem, code=code)


def token_text(value: object) -> bool:
    """Whether ``value`` can stand in a signed token as text (1-256 characters, no controls)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= _MAX_TOKEN_TEXT
        and bool(value.strip())
        and not _TOKEN_TEXT_BAD.search(value)
    )


# ---------------------------------------------------------------------------- holder: ask


def request_consent(
    ctx: Context,
    actor: OfficialRecord | str,
    item_id: str,
    third_party: str,
    purpose: str,
    expires: datetime | None = None,
) -> ConsentRequestRecord:
    """Ask the originator of a held item for consent to forward it to ``third_party`` (Art. 6)."""
    subject = ident(item_id, "unknown-item")
    now, who = _require(ctx, actor, AuditKind.CONSENT, subject, "request consent", *_OFFICERS)
    if not isinstance(third_party, str) or third_party not in ctx.registry.parties:
        raise _refuse_input(ctx, now, who, subject, "unknown third party", "NODE_INPUT_INVALID")
    if not token_text(purpose):
        problem = "a purpose is 1-256 characters of text without control characters"
        raise _refuse_input(ctx, now, who, subject, problem, "NODE_INPUT_INVALID")
    if expires is not None and (not isinstance(expires, datetime) or expires.tzinfo is None):
        raise _refuse_input(
            ctx, now, who, subject, "expires is an aware instant", "NODE_INPUT_INVALID"
        )
    if expires is not None and expires <= now:
        raise _refuse_input(ctx, now, who, subject, "expires is in the past", "NODE_INPUT_INVALID")
    with ctx.store.read() as reader:
        item = reader.item(item_id) if isinstance(item_id, str) else None
    if item is None:
        ctx.audit_alone(AuditKind.CONSENT, now, who, subject, "deny", ("NODE_ITEM_NOT_FOUND",))
        raise NodeItemNotFoundError(f"{ctx.party} holds no item {subject}")
    if item.originator == ctx.party or third_party in (ctx.party, item.originator):
        problem = "consent is asked of another party's originator, for a third party"
        raise _refuse_input(ctx, now, who, subject, problem, "NODE_INPUT_INVALID")
    record = ConsentRequestRecord(
        request_id=str(uuid.uuid4()),
        direction=ConsentRequestDirection.SENT,
        item_id=item.item_id,
        originator=item.originator,
        holder=ctx.party,
        third_party=third_party,
        purpose=purpose,
        requested=now,
        requested_by=who,
        expires=expires,
    )
    with ctx.store.unit_of_work() as uow:
        uow.put_consent_request(record)
        uow.enqueue(
            OutboxMessage(
                request_key(record.request_id), record.originator, "consent_request",
                record.request_id, token_frame(FrameKind.CONSENT_REQUEST, request_body(record)),
                now,
            )
        )  # fmt: skip
        ctx.audit(
            uow, AuditKind.CONSENT, now, who, record.request_id, "requested",
            ("CONSENT_REQUESTED",), detail=detail_of(record),
        )  # fmt: skip
    return record


def consent_requests(
    ctx: Context,
    actor: OfficialRecord | str,
    *,
    direction: ConsentRequestDirection | None = None,
    state: ConsentRequestState | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[ConsentRequestRecord]:
    """Consent requests sent or received, by id (security and release officers)."""
    _require(ctx, actor, AuditKind.CONSENT, "consent-requests", "list consent requests", *_OFFICERS)
    with ctx.store.read() as reader:
        return reader.consent_requests(
            direction=direction, state=state, after=after, limit=check_limit(limit)
        )


# ---------------------------------------------------------------------- originator: decide


def decide_consent(
    ctx: Context,
    actor: OfficialRecord | str,
    request_id: str,
    approve: bool,
    *,
    conditions: tuple[str, ...] = (),
    expires: datetime | None = None,
) -> ConsentRequestRecord:
    """The originator's security officer grants or refuses a request, in writing (Art. 6)."""
    subject = ident(request_id, "unknown-request")
    now, who = _require(
        ctx, actor, AuditKind.CONSENT, subject, "decide consent", Role.SECURITY_OFFICER
    )
    with ctx.store.read() as reader:
        request = reader.consent_request(request_id) if isinstance(request_id, str) else None
        item = None if request is None else reader.item(request.item_id)
    if request is None or request.direction is not ConsentRequestDirection.RECEIVED:
        ctx.audit_alone(AuditKind.CONSENT, now, who, subject, "deny", ("NODE_CONSENT_NOT_FOUND",))
        raise NodeConsentNotFoundError(f"no consent request {subject} awaits {ctx.party}")
    if request.state is not ConsentRequestState.PENDING:
        ctx.audit_alone(AuditKind.CONSENT, now, who, subject, "deny", ("NODE_CONSENT_DECIDED",))
        raise NodeConflictError(
            f"request {subject} was {request.state}", code="NODE_CONSENT_DECIDED"
        )
    if item is None or item.originator != ctx.party:
        ctx.audit_alone(AuditKind.CONSENT, now, who, subject, "deny", ("NODE_ITEM_NOT_FOUND",))
        raise NodeItemNotFoundError(f"{ctx.party} did not originate item {request.item_id}")
    if not isinstance(approve, bool):
        raise _refuse_input(
            ctx, now, who, subject, "approve is true or false", "NODE_INPUT_INVALID"
        )
    until = expires or request.expires or now + CONSENT_VALIDITY
    consent: Consent | None = None
    try:
        if approve:
            consent = Consent(
                kind=ConsentKind.FORWARD,
                consent_id=request.request_id,
                item_id=request.item_id,
                item_digest=item_binding(request.item_id, item.labels.originator),
                originator=ctx.party,
                holder=request.holder,
                third_party=request.third_party,
                purpose=request.purpose,
                issued=now,
                expires=until,
                conditions=tuple(conditions),
            )
            token = issue_consent(consent, ctx.keys)
        else:
            token = issue_revocation(request.request_id, ctx.keys, now)
    except (GsomiaError, TypeError) as err:  # conditions, expiry: what a token cannot carry
        code = err.code if isinstance(err, GsomiaError) else "NODE_INPUT_INVALID"
        raise _refuse_input(ctx, now, who, subject, str(err), code) from None
    kind = FrameKind.CONSENT_GRANTED if approve else FrameKind.CONSENT_REFUSED
    state = ConsentRequestState.APPROVED if approve else ConsentRequestState.REFUSED
    with ctx.store.unit_of_work() as uow:
        decided = uow.decide_consent_request(
            request.request_id, state, at=now, decision=token, decided_by=who
        )
        if consent is not None:
            uow.put_consent(ConsentRecord(consent, token))
        uow.enqueue(
            OutboxMessage(
                decision_key(request.request_id), request.holder,
                "consent_granted" if approve else "consent_refused", request.request_id,
                token_frame(kind, token), now,
            )
        )  # fmt: skip
        ctx.audit(
            uow, AuditKind.CONSENT, now, who, request.request_id,
            "allow" if approve else "deny",
            ("CONSENT_GRANTED",) if approve else ("CONSENT_REFUSED",),
            detail={**detail_of(request), "expires": format_instant(until) if approve else None},
        )  # fmt: skip
    return decided


def revoke_consent(ctx: Context, actor: OfficialRecord | str, consent_id: str) -> ConsentRecord:
    """The originator withdraws a consent or relay approval it gave (Art. 6, TISA)."""
    subject = ident(consent_id, "unknown-consent")
    now, who = _require(
        ctx, actor, AuditKind.CONSENT, subject, "revoke consent", Role.SECURITY_OFFICER
    )
    with ctx.store.read() as reader:
        record = reader.consent(consent_id) if isinstance(consent_id, str) else None
    if record is None or record.consent.originator != ctx.party:
        ctx.audit_alone(AuditKind.CONSENT, now, who, subject, "deny", ("NODE_CONSENT_NOT_FOUND",))
        raise NodeConsentNotFoundError(f"{ctx.party} gave no consent {subject}")
    if record.revocation is not None:
        return record  # the first revocation stands; nothing new to say
    token = issue_revocation(record.consent.consent_id, ctx.keys, now)
    with ctx.store.unit_of_work() as uow:
        revoked = uow.revoke_consent(record.consent.consent_id, at=now, revocation=token)
        uow.enqueue(
            OutboxMessage(
                revocation_key(record.consent.consent_id), record.consent.holder,
                "consent_revoked", record.consent.consent_id,
                revoked_frame(record.token, token), now,
            )
        )  # fmt: skip
        ctx.audit(
            uow, AuditKind.CONSENT, now, who, record.consent.consent_id, "deny",
            ("CONSENT_REVOKED",),
            detail={"kind": record.consent.kind.value, "item_id": record.consent.item_id,
                    "holder": record.consent.holder, "third_party": record.consent.third_party},
        )  # fmt: skip
    return revoked


# ------------------------------------------------------------------------------- encoding


def request_body(record: ConsentRequestRecord) -> bytes:
    """The CONSENT_REQUEST body: JSON with sorted members (docs/wire-format.md §10)."""
    obj: dict[str, Any] = {
        "request_id": record.request_id,
        "item_id": record.item_id,
        "originator": record.originator,
        "holder": record.holder,
        "third_party": record.third_party,
        "purpose": record.purpose,
        "requested_by": record.requested_by,
        "expires": None if record.expires is None else format_instant(record.expires),
    }
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def parse_request(body: bytes, now: datetime) -> ConsentRequestRecord:
    """A received request, strictly: exact members, record rules, token text for the purpose."""
    obj = loads(body, max_bytes=_MAX_REQUEST_BYTES, max_depth=2)
    if set(obj) != _REQUEST_FIELDS or not token_text(obj["purpose"]):
        raise ValueError("not a consent request")
    expires = obj["expires"]
    if expires is not None and not isinstance(expires, str):
        raise ValueError("expires is an instant or null")
    return ConsentRequestRecord(
        request_id=obj["request_id"],
        direction=ConsentRequestDirection.RECEIVED,
        item_id=obj["item_id"],
        originator=obj["originator"],
        holder=obj["holder"],
        third_party=obj["third_party"],
        purpose=obj["purpose"],
        requested=now,
        requested_by=obj["requested_by"],
        expires=None if expires is None else parse_instant(expires),
    )


def detail_of(r: ConsentRequestRecord) -> dict[str, str | None]:
    """The audit detail of a request."""
    return {
        "item_id": r.item_id,
        "originator": r.originator,
        "holder": r.holder,
        "third_party": r.third_party,
        "purpose": r.purpose,
        "requested_by": r.requested_by,
    }
