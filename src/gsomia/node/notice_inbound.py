"""Receiving signed notices (frame kinds 0x10-0x16) and their acknowledgements (0x1F), exactly
once in effect over an at-least-once channel (issue 4 §1).

A notice (:mod:`gsomia.proofs.notices`) from the node the channel authenticated:

1. :func:`gsomia.proofs.notices.verify_notice` against the trust store at ``clock.now()``; a
   token that fails is audited (``reject``, its ``TOKEN_*`` code) and dropped, unacknowledged.
2. The signer must be the authenticated sender (``NODE_SENDER_MISMATCH``), the notice must be
   addressed to this node and be of the frame's kind (``NODE_NOTICE_MISMATCH``).
3. The use case's handler decides (:mod:`~gsomia.node.breach`, :mod:`~gsomia.node.disposal`,
   :mod:`~gsomia.node.visits`) and returns a :class:`~gsomia.node._acts.Handled`:

   - ``applied``: its record, its audit entry and any answer (a certificate, an automatic
     denial) were committed in one unit of work by the handler;
   - ``duplicate``: the notice was applied before (same breach version, same ``seq``, same id):
     audited (``reject``, ``duplicate``, ``DUPLICATE_NOTICE``), nothing changes;
   - ``refused``: it can never apply (not our item, a decided visit, an ill-formed field):
     audited (``reject``, ``deny``) and nothing else stored;
   - ``deferred``: it cannot apply *yet* (the item, the report or an earlier version has not
     arrived): audited (``reject``, ``deferred``) and not acknowledged, so the sender's outbox
     sends it again later.

   Every outcome but ``deferred`` is acknowledged (best effort, NOTICE_ACK with the notice id):
   a lost acknowledgement brings the notice back, which is then a duplicate and acknowledged
   again.

A NOTICE_ACK settles the outbox message ``notice:<id>`` if this node sent that notice to the
acknowledging party; any other acknowledgement is audited (``NODE_ACK_MISMATCH``) and ignored.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final

from gsomia.audit.records import AuditKind
from gsomia.errors import GsomiaError, InputError
from gsomia.node import _acts, breach, disposal, visits
from gsomia.node._acts import FRAME_OF, Handled, Outcome
from gsomia.node._context import Context, ident
from gsomia.node.framing import Frame, FrameKind, notice_ack_frame
from gsomia.ports import DeliveryState, Inbound
from gsomia.proofs.notices import Notice, NoticeKind, verify_notice

__all__ = ["ACKED", "Outcome", "receive"]

ACKED: Final = "acked"
"""The outcome of an acknowledgement that settled (or had settled) one of our notices."""

Handler = Callable[[Context, Notice, bytes, datetime], Handled]

HANDLERS: Final[Mapping[NoticeKind, Handler]] = {
    NoticeKind.BREACH_REPORT: breach.on_report,
    NoticeKind.BREACH_UPDATE: breach.on_update,
    NoticeKind.RECLASSIFICATION: disposal.on_reclassification,
    NoticeKind.DISPOSAL_REQUEST: disposal.on_request,
    NoticeKind.DISPOSAL_CERTIFICATE: disposal.on_certificate,
    NoticeKind.VISIT_REQUEST: visits.on_request,
    NoticeKind.VISIT_DECISION: visits.on_decision,
}
_DECISION: Final = {
    Outcome.DUPLICATE: "duplicate",
    Outcome.REFUSED: "deny",
    Outcome.DEFERRED: "deferred",
}


def _reject(
    ctx: Context, message: Inbound, subject: str, code: str, decision: str = "deny", **detail: str
) -> None:
    ctx.audit_alone(
        AuditKind.REJECT, ctx.clock.now(), ident(message.sender, "unknown-party"), subject,
        decision, (code,), {"channel_key": ident(message.idempotency_key, "invalid"), **detail},
    )  # fmt: skip


def receive(ctx: Context, message: Inbound, frame: Frame) -> str:
    """Handle one notice or acknowledgement frame; the :class:`Outcome` (or :data:`ACKED`)."""
    if frame.kind is FrameKind.NOTICE_ACK:
        return _ack(ctx, message, frame.body.decode("ascii"))
    now = ctx.clock.now()
    fallback = ident(message.idempotency_key, "unknown")
    try:
        notice = verify_notice(frame.body, ctx.trust, now)
    except GsomiaError as err:  # TokenError: a forged, altered or ill-formed notice
        _reject(ctx, message, fallback, err.code)
        return Outcome.REFUSED
    if notice.issuer != message.sender or message.sender == ctx.party:
        _reject(ctx, message, notice.subject, "NODE_SENDER_MISMATCH", signer=notice.issuer)
        return Outcome.REFUSED
    if notice.recipient != ctx.party or FRAME_OF[notice.kind] != frame.kind:
        _reject(ctx, message, notice.subject, "NODE_NOTICE_MISMATCH", notice=str(notice.kind))
        return Outcome.REFUSED
    try:
        handled = HANDLERS[notice.kind](ctx, notice, frame.body, now)
    except InputError as err:  # a field the record refuses: never applicable
        handled = _acts.refused(err.code)
    if handled.outcome is not Outcome.APPLIED:
        _reject(
            ctx, message, notice.subject, handled.code, _DECISION[handled.outcome],
            notice=str(notice.kind), notice_id=notice.notice_id,
        )  # fmt: skip
    if handled.outcome is not Outcome.DEFERRED:
        with contextlib.suppress(GsomiaError):  # best effort: a lost ack brings a duplicate
            ctx.channel.send(
                message.sender,
                notice_ack_frame(notice.notice_id),
                idempotency_key=f"ack:{notice.notice_id}",
            )
    return handled.outcome


def _ack(ctx: Context, message: Inbound, notice_id: str) -> str:
    key = _acts.outbox_key(notice_id)
    with ctx.store.read() as reader:
        entry = reader.outbox_entry(key)
    if (
        entry is None
        or entry.message.recipient != message.sender
        or entry.message.kind not in set(NoticeKind)
    ):
        _reject(ctx, message, ident(notice_id, "unknown"), "NODE_ACK_MISMATCH")
        return Outcome.REFUSED
    if entry.state is not DeliveryState.ACKNOWLEDGED:
        with ctx.store.unit_of_work() as uow:
            uow.acknowledge(key, at=ctx.clock.now())
    return ACKED
