"""Receiving in batches: many partners' items, or many receipts, in ONE unit of work each.

:func:`gsomia.node.inbound.receive` hands runs of plain ITEM frames to :func:`accept_items` and
of RECEIPT frames to :func:`settle_receipts`; both do, per message, exactly what the one-message
path of :mod:`gsomia.node.inbound` does (same checks in the same order, same records, same audit
records and reason codes), with one durable commit for the whole run (group commit, issue 4 §4).

Theory of operation
-------------------
*Outside the transaction*, without the store's lock: each sealed item is opened (signature
verified, decrypted) and decided by :func:`gsomia.policy.accept`, and its alternative label
built (Art. 4); each receipt token is verified against the trust store.  These are pure or
read-only and are the costly part.  A run of items is decided, marked and stored at ONE instant,
read when the run starts, as a batch release is decided at one (ADR 0024,
:mod:`gsomia.node.release_batch`): items sent by their originator with one label set and topic
share one decision (the release rule reads nothing else), and items from one originator at one
level share one alternative label, whose JSON the store then encodes once.  Relayed and
forwarded items, whose decisions read the item's own approval or consent, are decided one by
one.

*Inside one unit of work*, in arrival order, each message's effects are written as the
one-message path writes them, reading what the unit has written so far: an item id already in
the inbox, *or recorded earlier in the same run*, is a duplicate (audited, never stored twice,
answered with the stored receipt after the commit); a refused item is audited and recorded as
rejected; an accepted item gets its ``accept`` record, inbox entry and held copy.  Last, each
sender's accepted and refused items are answered with ONE signed batch receipt quoting each
item's audit index and the checkpoint ``(size, root)`` that includes them all, each item's extract
recorded and the token enqueued to the sender (:func:`gsomia.node.receipts.issue`, ADR 0011; a
refusal is a negative receipt, which ends the sender's retries); a receipt is matched against
the outbox message it settles, recorded once, the message acknowledged, and audited.
Rejections (a seal that does not open, a signer who is not the sender, a receipt that does not
verify or match) are audited in the same unit.

If the unit fails, nothing of the run was stored; the caller then handles the run one message at
a time (:mod:`gsomia.node.inbound`), so one message that cannot be handled never holds back the
others, exactly as before batching.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gsomia.audit.records import AuditKind
from gsomia.envelope import EnvelopeError, open_item
from gsomia.errors import GsomiaError
from gsomia.labels import AlternativeLabel, LabelSet
from gsomia.node import _custody, receipts
from gsomia.node._context import Context, ident
from gsomia.node._tally import Tally
from gsomia.node.framing import Frame, decode
from gsomia.policy import Decision, accept
from gsomia.ports import (
    HeldItem,
    Inbound,
    InboxEntry,
    InboxOutcome,
    ReceiptDirection,
    ReceiptRecord,
    UnitOfWork,
)
from gsomia.proofs import Receipt, verify_receipt
from gsomia.proofs.receipt_batch import ReceiptEntry

__all__ = ["DUPLICATE", "Resend", "accept_items", "settle_receipts"]

DUPLICATE = "DUPLICATE_ITEM"


@dataclass(frozen=True, slots=True)
class Resend:
    """A stored receipt to send again, best effort, once the unit committed (a duplicate)."""

    party: str
    token: bytes
    item_id: str


@dataclass(frozen=True, slots=True)
class _Rejected:
    """A message refused before it could name a verified item or receipt."""

    message: Inbound
    subject: str
    code: str
    detail: dict[str, str | None]
    now: datetime
    receipt: bool = False


@dataclass(frozen=True, slots=True)
class _Opened:
    """A verified item, decided at ``now``: ``alternative`` is None when it was refused."""

    message: Inbound
    frame: Frame
    item_id: str
    labels: LabelSet
    digest: bytes
    decision: Decision
    alternative: AlternativeLabel | None
    now: datetime


def _reject(ctx: Context, uow: UnitOfWork, tally: Tally, r: _Rejected) -> None:
    """As :func:`gsomia.node.inbound._reject`, in ``uow``."""
    ctx.audit(
        uow, AuditKind.REJECT, r.now, ident(r.message.sender, "unknown-party"), r.subject,
        "deny", (r.code,),
        detail={"channel_key": ident(r.message.idempotency_key, "invalid"), **r.detail},
    )  # fmt: skip
    if r.receipt:
        tally.receipts_rejected += 1
    else:
        tally.rejected += 1
    tally.rejections.append((r.subject, r.code))


# -- items ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Shared:
    """What the items of one run share, worked out once: the decision on items sent by their
    originator (the release rule, which reads the label set, the sender and the topic; the
    instant is the run's) and the alternative labels (by originator, level and table)."""

    decisions: dict[tuple[LabelSet, str, str], Decision] = field(default_factory=dict)
    alternatives: dict[tuple[str, str, str, int], AlternativeLabel] = field(default_factory=dict)


def _open(
    ctx: Context, message: Inbound, frame: Frame, now: datetime, shared: _Shared
) -> _Opened | _Rejected:
    """Verify, decrypt and decide one item at ``now``, the run's instant (steps 1 and 3 of
    :mod:`gsomia.node.inbound`), with what the run's items share (``shared``)."""
    try:
        opened = open_item(frame.body, ctx.keys, ctx.open_trust, now, cache=ctx.open_cache)
    except EnvelopeError as err:  # the cause goes to our audit log only, never to the peer
        fallback = ident(message.idempotency_key, "unknown")
        return _Rejected(message, fallback, err.code, {"cause": err.cause.value}, now)
    item_id = opened.item_id
    if opened.sender != message.sender or message.sender == ctx.party:
        detail: dict[str, str | None] = {"signer": opened.sender}
        return _Rejected(message, item_id, "NODE_SENDER_MISMATCH", detail, now)
    labels = opened.label if isinstance(opened.label, LabelSet) else LabelSet(opened.label)
    who = message.sender
    # The binding names the item to a relay approval or forward consent; from the originator
    # the release rule applies and does not read it (gsomia.policy.accept).
    originator = labels.originator.originator
    binding = None if who == originator else _custody.item_binding(item_id, labels.originator)
    key = (labels, who, frame.topic)
    decision = shared.decisions.get(key) if binding is None else None
    if decision is None:
        decision = accept(
            ctx.registry, labels, item_id=item_id, item_digest=binding, sender=who,
            receiver=ctx.party, topic=frame.topic, at=now, purpose=frame.purpose, consent=None,
        )  # fmt: skip
        if binding is None:
            shared.decisions[key] = decision
    alternative = None
    if decision.allowed:
        assert decision.agreement is not None
        assert decision.table_version is not None
        level = decision.markings[-1].level
        marking = (originator, level, decision.agreement, decision.table_version)
        alternative = shared.alternatives.get(marking)
        if alternative is None:  # Art. 4: the originator's name and our equivalent level
            alternative = shared.alternatives[marking] = AlternativeLabel(
                policy_id=ctx.registry.schemes[ctx.party].id,
                classification=level,
                originator=originator,
                applied_by=ctx.party,
                agreement=decision.agreement,
                table_version=decision.table_version,
                applied=now,
            )
    digest = hashlib.sha256(frame.body).digest()
    return _Opened(message, frame, item_id, labels, digest, decision, alternative, now)


def _duplicate(
    ctx: Context, uow: UnitOfWork, tally: Tally, o: _Opened, first: InboxEntry
) -> Resend | None:
    """As :func:`gsomia.node.inbound._duplicate`, in ``uow``: audited, answered after commit."""
    ctx.audit(
        uow, AuditKind.REJECT, o.now, o.message.sender, first.item_id, "duplicate", (DUPLICATE,),
        detail={
            "first_outcome": first.outcome.value,
            "first_index": first.audit_index,
            "same_bytes": o.digest == first.digest,
        },
    )  # fmt: skip
    tally.duplicates += 1
    stored = uow.receipt(first.item_id, first.sender, ReceiptDirection.ISSUED)
    if stored is None or first.sender != o.message.sender:
        return None
    return Resend(o.message.sender, stored.token, first.item_id)


def _refuse(ctx: Context, uow: UnitOfWork, tally: Tally, o: _Opened) -> ReceiptEntry:
    """As :func:`gsomia.node.inbound._refuse_item`, in ``uow``; the negative receipt's entry."""
    codes = o.decision.codes
    who = o.message.sender
    index = ctx.audit(
        uow, AuditKind.REJECT, o.now, who, o.item_id, "deny", codes,
        detail={"topic": o.frame.topic, "digest": o.digest.hex()},
    )  # fmt: skip
    uow.record_inbound(
        InboxEntry(o.item_id, who, o.digest, o.now, InboxOutcome.REJECTED, codes, index)
    )
    tally.rejected += 1
    tally.rejections.extend((o.item_id, code) for code in codes)
    return receipts.refused(o.item_id, o.digest, index, codes)


def _accept(ctx: Context, uow: UnitOfWork, tally: Tally, o: _Opened) -> ReceiptEntry:
    """Step 4 of :mod:`gsomia.node.inbound`, in ``uow``; the receipt's entry (signed with the
    run's other entries by :func:`gsomia.node.receipts.issue`)."""
    decision, alternative, now, who = o.decision, o.alternative, o.now, o.message.sender
    assert alternative is not None
    index = ctx.audit(
        uow, AuditKind.ACCEPT, now, who, o.item_id, "allow", decision.codes,
        agreement=decision.agreement, table_version=decision.table_version,
        detail={
            "topic": o.frame.topic, "digest": o.digest.hex(),
            "marking": alternative.classification,
        },
    )  # fmt: skip
    uow.record_inbound(InboxEntry(o.item_id, who, o.digest, now, InboxOutcome.ACCEPTED, (), index))
    uow.put_item(
        HeldItem(
            o.item_id,
            o.labels.with_alternative(alternative),
            o.frame.topic,
            o.frame.body,  # sealed at rest, as received (Arts. 9-12)
            now,
            agreement=decision.agreement,
            table_version=decision.table_version,
            received_from=who,
        )
    )
    tally.accepted += 1
    return receipts.accepted(o.item_id, o.digest, index, alternative, o.frame.purpose)


def accept_items(
    ctx: Context, tally: Tally, batch: Sequence[tuple[Inbound, Frame]]
) -> list[Resend]:
    """Handle a run of plain ITEM frames in one unit of work (see the module docstring); the
    stored receipts to send again, best effort, for the duplicates among them."""
    now = ctx.clock.now()  # the run's instant: its items are decided and stored at it
    shared = _Shared()
    planned = [_open(ctx, message, frame, now, shared) for message, frame in batch]
    resends: list[Resend] = []
    entries: dict[str, list[ReceiptEntry]] = {}  # by sender: one signed receipt each
    with ctx.store.unit_of_work() as uow:
        for p in planned:
            if isinstance(p, _Rejected):
                _reject(ctx, uow, tally, p)
                continue
            first = uow.inbox_entry(p.item_id)
            if first is not None:  # in the inbox, or earlier in this run
                resend = _duplicate(ctx, uow, tally, p, first)
                if resend is not None:
                    resends.append(resend)
            elif p.alternative is None:
                entries.setdefault(p.message.sender, []).append(_refuse(ctx, uow, tally, p))
            else:
                entries.setdefault(p.message.sender, []).append(_accept(ctx, uow, tally, p))
        issued = ctx.clock.now()
        for sender, run in entries.items():
            receipts.issue(ctx, uow, sender, run, issued)
    return resends


# -- receipts -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Verified:
    message: Inbound
    token: bytes
    receipt: Receipt
    now: datetime


def _verify(ctx: Context, message: Inbound, token: bytes) -> _Verified | _Rejected:
    now = ctx.clock.now()
    try:
        receipt = verify_receipt(token, ctx.trust, now)
    except GsomiaError as err:  # TokenError and its kin: a peer sent a bad token
        fallback = ident(message.idempotency_key, "unknown")
        return _Rejected(message, fallback, err.code, {}, now, receipt=True)
    return _Verified(message, token, receipt, now)


def _sent_digest(frame: bytes) -> str:
    """SHA-256 (hex) of the sealed item inside an item frame we sent."""
    return hashlib.sha256(decode(frame).body).hexdigest()


def _settle(ctx: Context, uow: UnitOfWork, tally: Tally, v: _Verified) -> None:
    """As :func:`gsomia.node.inbound._receipt` after the verification, in ``uow``."""
    receipt, now = v.receipt, v.now
    key = f"{receipt.item_id}:{receipt.recipient}"
    entry = uow.outbox_entry(key)
    if (
        receipt.recipient != v.message.sender
        or receipt.sender != ctx.party
        or entry is None
        or entry.message.kind != "item"
        or receipt.item_digest != _sent_digest(entry.message.payload)
    ):
        mismatch = _Rejected(v.message, receipt.item_id, "NODE_RECEIPT_MISMATCH", {}, now, True)
        _reject(ctx, uow, tally, mismatch)
        return
    recorded = uow.record_receipt(
        ReceiptRecord(receipt.item_id, receipt.recipient, ReceiptDirection.RECEIVED, v.token, now)
    )
    if recorded.duplicate:  # recorded before (or earlier in this run): nothing changes
        ctx.audit(  # but a replayed receipt is audited (PRODUCT.md §8)
            uow, AuditKind.REJECT, now, receipt.recipient, receipt.item_id, "duplicate",
            ("DUPLICATE_RECEIPT",),
        )  # fmt: skip
        tally.receipts_duplicate += 1
        return
    uow.acknowledge(key, at=now)
    ctx.audit(
        uow, AuditKind.RECEIPT, now, receipt.recipient, receipt.item_id, "received",
        ("RECEIPT_VERIFIED",),
        detail={
            "digest": receipt.item_digest,
            "marking": receipt.alternative.classification,
            "log_origin": receipt.checkpoint.origin,
            "log_index": receipt.log_index,
            "log_size": receipt.checkpoint.size,
            "log_root": receipt.checkpoint.root.hex(),
        },
    )  # fmt: skip
    tally.receipts += 1


def settle_receipts(ctx: Context, tally: Tally, batch: Sequence[tuple[Inbound, bytes]]) -> None:
    """Handle a run of RECEIPT frames in one unit of work (see the module docstring)."""
    verified = [_verify(ctx, message, token) for message, token in batch]
    with ctx.store.unit_of_work() as uow:
        for v in verified:
            if isinstance(v, _Rejected):
                _reject(ctx, uow, tally, v)
            else:
                _settle(ctx, uow, tally, v)
    ctx.inflight.settled(
        (
            f"{v.receipt.item_id}:{v.receipt.recipient}"
            for v in verified
            if isinstance(v, _Verified)
        ),
        ctx.clock.now(),
    )
