"""Art. 6 consent messages from partner nodes: requests, decisions, revocations and ACKs.

The receiving side of :mod:`gsomia.node.consent` (which holds the theory of operation and the
officials' acts).  Each message comes from a sender the channel authenticated by its key; each
is recorded once by its id, audited, and answered with an ACK, every copy of it, so that the
sender's outbox settles (exactly-once effect over at-least-once transport).  A message that does
not verify or does not match what this node recorded is audited (``reject``) and changes nothing;
no ACK answers it.

* CONSENT_REQUEST at the originator: the holder named in it must be the sender, the item must be
  one this node originated; recorded pending (``consent`` ``received``) for a security officer.
* CONSENT_GRANTED / CONSENT_REFUSED at the holder: the originator's token (consent, or
  revocation naming the request) must verify against the trust store, be signed by the sender,
  and answer exactly the request this node sent (item, holder, third party, purpose); the request
  is decided, a granted consent kept (:class:`~gsomia.ports.ConsentRecord`), ``consent``
  ``allow``/``deny`` audited.
* CONSENT_REVOKED at the holder: the consent and its revocation, both signed by the sender as
  originator, for a consent naming this node as holder; recorded (first revocation stands),
  ``consent`` ``deny`` audited.  Decisions taken from then on see it (:mod:`gsomia.node._custody`).
* ACK: settles the outbox message it names, if that message went to the sender.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Final

from gsomia.audit.records import AuditKind
from gsomia.errors import GsomiaError, InputError
from gsomia.instants import format_instant
from gsomia.node._context import Context, ident
from gsomia.node.consent import (
    decision_key,
    detail_of,
    parse_request,
    request_key,
    revocation_key,
)
from gsomia.node.framing import FrameKind, ack_frame
from gsomia.policy import Consent, ConsentKind
from gsomia.ports import (
    ConsentRecord,
    ConsentRequestDirection,
    ConsentRequestRecord,
    ConsentRequestState,
    DeliveryState,
    Inbound,
)
from gsomia.proofs import verify_consent, verify_revocation
from gsomia.strictjson import JsonProblem

__all__ = ["FRAME_KINDS", "Handled", "receive"]

FRAME_KINDS: Final = frozenset(
    {
        FrameKind.CONSENT_REQUEST,
        FrameKind.CONSENT_GRANTED,
        FrameKind.CONSENT_REFUSED,
        FrameKind.CONSENT_REVOKED,
        FrameKind.ACK,
    }
)
_ACKED_KINDS: Final = frozenset(
    {"consent_request", "consent_granted", "consent_refused", "consent_revoked"}
)


@dataclass(frozen=True, slots=True)
class Handled:
    """What :func:`receive` did with one message, for the receive summary."""

    rejection: tuple[str, str] | None = None
    duplicate: bool = False


def receive(
    ctx: Context, message: Inbound, kind: FrameKind, body: bytes, proofs: tuple[bytes, ...]
) -> Handled:
    """Handle one consent message (a frame of :data:`FRAME_KINDS`) from an authenticated peer."""
    if kind is FrameKind.ACK:
        return _ack(ctx, message, body)
    if kind is FrameKind.CONSENT_REQUEST:
        return _request(ctx, message, body)
    if kind is FrameKind.CONSENT_REVOKED:
        return _revoked(ctx, message, proofs[0], body)
    return _decision(ctx, message, body, approved=kind is FrameKind.CONSENT_GRANTED)


def _reject(ctx: Context, message: Inbound, subject: str, code: str) -> Handled:
    ctx.audit_alone(
        AuditKind.REJECT, ctx.clock.now(), ident(message.sender, "unknown-party"), subject,
        "deny", (code,), {"channel_key": ident(message.idempotency_key, "invalid")},
    )  # fmt: skip
    return Handled(rejection=(subject, code))


def _send_ack(ctx: Context, party: str, key: str) -> None:
    with contextlib.suppress(GsomiaError):  # best effort: the peer retries until one arrives
        ctx.channel.send(party, ack_frame(key), idempotency_key=f"ack:{key}")


def _duplicate(ctx: Context, message: Inbound, subject: str, code: str, key: str) -> Handled:
    ctx.audit_alone(
        AuditKind.REJECT, ctx.clock.now(), message.sender, subject, "duplicate", (code,),
        {"channel_key": ident(message.idempotency_key, "invalid")},
    )  # fmt: skip
    _send_ack(ctx, message.sender, key)
    return Handled(duplicate=True)


def _ack(ctx: Context, message: Inbound, body: bytes) -> Handled:
    key = body.decode("ascii")  # the framing checked it
    with ctx.store.read() as reader:
        entry = reader.outbox_entry(key)
    if (
        entry is None
        or entry.message.recipient != message.sender
        or entry.message.kind not in _ACKED_KINDS
    ):
        return _reject(ctx, message, key, "NODE_ACK_MISMATCH")
    if entry.state is not DeliveryState.ACKNOWLEDGED:
        with ctx.store.unit_of_work() as uow:
            uow.acknowledge(key, at=ctx.clock.now())
    return Handled()


def _request(ctx: Context, message: Inbound, body: bytes) -> Handled:
    now = ctx.clock.now()
    fallback = ident(message.idempotency_key, "unknown")
    try:
        record = parse_request(body, now)
    except (JsonProblem, InputError, ValueError, KeyError, TypeError):
        return _reject(ctx, message, fallback, "NODE_CONSENT_REQUEST_INVALID")
    subject = record.request_id
    if record.holder != message.sender or record.originator != ctx.party:
        return _reject(ctx, message, subject, "NODE_SENDER_MISMATCH")
    with ctx.store.read() as reader:
        stored = reader.consent_request(subject)
        item = reader.item(record.item_id)
    if stored is not None:
        if _request_fields(stored) != _request_fields(record):
            return _reject(ctx, message, subject, "NODE_CONSENT_MISMATCH")
        return _duplicate(ctx, message, subject, "DUPLICATE_CONSENT_REQUEST", request_key(subject))
    if item is None or item.originator != ctx.party or item.received_from is not None:
        return _reject(ctx, message, subject, "NODE_ITEM_NOT_FOUND")
    with ctx.store.unit_of_work() as uow:
        uow.put_consent_request(record)
        ctx.audit(
            uow, AuditKind.CONSENT, now, message.sender, subject, "received",
            ("CONSENT_REQUESTED",), detail=detail_of(record),
        )  # fmt: skip
    _send_ack(ctx, message.sender, request_key(subject))
    return Handled()


def _decision(ctx: Context, message: Inbound, token: bytes, *, approved: bool) -> Handled:
    now = ctx.clock.now()
    fallback = ident(message.idempotency_key, "unknown")
    consent: Consent | None = None
    try:
        if approved:
            consent = verify_consent(token, ctx.trust, now)
            request_id, originator = consent.consent_id, consent.originator
        else:
            refusal = verify_revocation(token, ctx.trust, now)
            request_id, originator = refusal.consent_id, refusal.originator
    except GsomiaError as err:  # TokenError and its kin: the peer sent a bad token
        return _reject(ctx, message, fallback, err.code)
    with ctx.store.read() as reader:
        request = reader.consent_request(request_id)
    if (
        originator != message.sender
        or request is None
        or request.direction is not ConsentRequestDirection.SENT
        or request.originator != originator
        or (consent is not None and not _grants(consent, request))
    ):
        return _reject(ctx, message, request_id, "NODE_CONSENT_MISMATCH")
    if request.state is not ConsentRequestState.PENDING:
        return _duplicate(
            ctx, message, request_id, "DUPLICATE_CONSENT_DECISION", decision_key(request_id)
        )
    state = ConsentRequestState.APPROVED if approved else ConsentRequestState.REFUSED
    with ctx.store.unit_of_work() as uow:
        uow.decide_consent_request(request_id, state, at=now, decision=token)
        if consent is not None:
            uow.put_consent(ConsentRecord(consent, token))
        if uow.outbox_entry(request_key(request_id)) is not None:  # its ACK may have been lost
            uow.acknowledge(request_key(request_id), at=now)
        ctx.audit(
            uow, AuditKind.CONSENT, now, message.sender, request_id,
            "allow" if approved else "deny",
            ("CONSENT_GRANTED",) if approved else ("CONSENT_REFUSED",),
            detail={
                **detail_of(request),
                "expires": None if consent is None else format_instant(consent.expires),
            },
        )  # fmt: skip
    _send_ack(ctx, message.sender, decision_key(request_id))
    return Handled()


def _revoked(ctx: Context, message: Inbound, consent_token: bytes, token: bytes) -> Handled:
    now = ctx.clock.now()
    fallback = ident(message.idempotency_key, "unknown")
    try:
        consent = verify_consent(consent_token, ctx.trust, now)
        revocation = verify_revocation(token, ctx.trust, now)
    except GsomiaError as err:
        return _reject(ctx, message, fallback, err.code)
    subject = consent.consent_id
    if (
        revocation.consent_id != consent.consent_id
        or not revocation.originator == consent.originator == message.sender
        or consent.holder != ctx.party
    ):
        return _reject(ctx, message, subject, "NODE_CONSENT_MISMATCH")
    with ctx.store.read() as reader:
        stored = reader.consent(subject)
    if stored is not None and stored.revocation is not None:
        return _duplicate(ctx, message, subject, "DUPLICATE_REVOCATION", revocation_key(subject))
    with ctx.store.unit_of_work() as uow:
        uow.put_consent(ConsentRecord(consent, consent_token))
        uow.revoke_consent(subject, at=revocation.revoked_at, revocation=token)
        ctx.audit(
            uow, AuditKind.CONSENT, now, message.sender, subject, "deny", ("CONSENT_REVOKED",),
            detail={"kind": consent.kind.value, "item_id": consent.item_id,
                    "revoked_at": format_instant(revocation.revoked_at)},
        )  # fmt: skip
    _send_ack(ctx, message.sender, revocation_key(subject))
    return Handled()


def _request_fields(r: ConsentRequestRecord) -> tuple[object, ...]:
    return (r.item_id, r.originator, r.holder, r.third_party, r.purpose, r.requested_by, r.expires)


def _grants(consent: Consent, request: ConsentRequestRecord) -> bool:
    """Whether a signed consent answers exactly this request."""
    return consent.kind is ConsentKind.FORWARD and (
        consent.item_id,
        consent.originator,
        consent.holder,
        consent.third_party,
        consent.purpose,
    ) == (request.item_id, request.originator, request.holder, request.third_party, request.purpose)
