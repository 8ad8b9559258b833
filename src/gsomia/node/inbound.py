"""Receiving: partners' sealed items and receipts, exactly once in effect (issue 4 §1).

Each inbound message is a frame (:mod:`gsomia.node.framing`) from a sender the channel
authenticated by its key, never by an address (ADR 0004 §11).

A sealed item
  1. :func:`gsomia.envelope.open_item` verifies and decrypts it; every
     :class:`~gsomia.envelope.EnvelopeError` is audited (``reject``, ``ENVELOPE_REJECTED``, with
     ``err.cause`` in the detail for the auditor only) and nothing is stored: an unverified item
     may not claim an item id (ADR 0004 §5).  A signer other than the authenticated sender is
     ``NODE_SENDER_MISMATCH``.
  2. An item id already in the inbox is a duplicate or a replay: audited (``reject``,
     ``DUPLICATE_ITEM``), never stored twice, answered with the receipt stored the first time.
  3. :func:`gsomia.policy.accept` decides at ``clock.now()``; a denial is audited, recorded in
     the inbox as rejected (so a replay gets the same answer) and answered with a signed negative
     receipt (:mod:`gsomia.node.receipts`, ADR 0011) that ends the sender's retries.
  4. In ONE unit of work: the ``accept`` audit record, the inbox entry, the held item with the
     label set extended by this node's alternative label (Art. 4: the originator's name and our
     equivalent level), and the signed receipt (:func:`gsomia.proofs.issue_receipt`) quoting the
     audit index and the checkpoint ``(size, root)`` that includes it, recorded and enqueued to
     the sender.  The sealed bytes are stored as received: sealed at rest (Arts. 9-12).

Items in a run of plain ITEM frames are handled by :mod:`gsomia.node.inbound_batch` and answered
with ONE signed batch receipt per sender (``gsomia-receipts/1``, :mod:`gsomia.node.receipts`);
an item received alone (with proofs: TISA relay, Art. 6 forward) gets the per-item receipt of
step 4.  Batch receipts that arrive are settled by :func:`gsomia.node.receipts.settle`.

A receipt (``gsomia-receipt/1``)
  :func:`gsomia.proofs.verify_receipt` against the trust store; the signer must be the
  authenticated sender, the receipt must name this node as the item's sender, and its digest must
  be SHA-256 of the sealed item we sent (``NODE_RECEIPT_MISMATCH`` otherwise).  Then, in one unit
  of work, it is recorded once, the outbox message ``<item id>:<recipient>`` is acknowledged and a
  ``receipt`` record is audited; a receipt already recorded changes nothing.
"""

from __future__ import annotations

import contextlib
import hashlib

from gsomia.audit.checkpoint import Checkpoint
from gsomia.audit.records import AuditKind
from gsomia.envelope import EnvelopeError, open_item
from gsomia.errors import GsomiaError
from gsomia.labels import AlternativeLabel, LabelSet
from gsomia.node import (
    _custody,
    agreement_events,
    consent_inbound,
    inbound_batch,
    notice_inbound,
    relay,
)
from gsomia.node import receipts as node_receipts
from gsomia.node._context import Context, ident
from gsomia.node._tally import Tally as _Tally
from gsomia.node.delivery import MAX_BATCH_MESSAGES
from gsomia.node.errors import FrameError
from gsomia.node.framing import Frame, FrameKind, decode, receipt_frame
from gsomia.node.results import ReceiveSummary
from gsomia.policy import accept
from gsomia.ports import (
    BatchChannel,
    ConsentRecord,
    HeldItem,
    Inbound,
    InboxEntry,
    InboxOutcome,
    OutboxMessage,
    ReceiptDirection,
    ReceiptRecord,
    check_limit,
)
from gsomia.proofs import Assurance, Receipt, issue_receipt, verify_receipt

__all__ = ["receive"]

DUPLICATE = "DUPLICATE_ITEM"


def _audit_channel_refusals(ctx: Context) -> None:
    """Audit what the channel refused (skew, replayed nonce, bad signature, …; §8), if any."""
    refused = ctx.channel.refusals()
    if not refused:
        return
    now = ctx.clock.now()
    with ctx.store.unit_of_work() as uow:
        for code, status in refused:
            ctx.audit(
                uow, AuditKind.REJECT, now, "unknown-party", "channel", "deny",
                (ident(code, "CHANNEL_REFUSED"),), detail={"status": status},
            )  # fmt: skip


def receive(ctx: Context, limit: int, timeout: float = 0.0) -> ReceiveSummary:
    """Handle up to ``limit`` messages that arrived, waiting ``timeout`` s for the first.

    Runs of plain items and of receipts are handled in one unit of work per run
    (:mod:`gsomia.node.inbound_batch`); a message of any other kind first settles the runs
    before it, so messages take effect in arrival order.
    """
    tally = _Tally()
    items: list[tuple[Inbound, Frame]] = []
    receipts: list[tuple[Inbound, bytes]] = []
    batches: list[tuple[Inbound, bytes]] = []  # batch receipts (node/receipts.py, ADR 0011)
    messages = ctx.channel.receive(limit=check_limit(limit), timeout=timeout)
    _audit_channel_refusals(ctx)
    if messages:  # acceptance decides against the agreements recorded by now, by any process
        agreement_events.refresh(ctx)
    for message in messages:
        tally.messages += 1
        try:
            frame = decode(message.payload)
        except FrameError:
            _reject(
                ctx, tally, message, ident(message.idempotency_key, "unknown"), "NODE_FRAME_INVALID"
            )
            continue
        if frame.kind is FrameKind.RECEIPT:
            receipts.append((message, frame.body))
            continue
        if frame.kind is FrameKind.RECEIPTS:
            batches.append((message, frame.body))
            continue
        if frame.kind is FrameKind.ITEM:
            items.append((message, frame))
            continue
        _flush(ctx, tally, items, receipts, batches)
        if frame.kind in consent_inbound.FRAME_KINDS:  # Art. 6 (node/consent.py)
            handled = consent_inbound.receive(ctx, message, frame.kind, frame.body, frame.proofs)
            tally.duplicates += handled.duplicate
            if handled.rejection is not None:
                tally.rejected += 1
                tally.rejections.append(handled.rejection)
        elif frame.kind >= FrameKind.BREACH_REPORT:  # Arts. 6, 8, 13, 17 (node/notice_inbound.py)
            _notice(tally, notice_inbound.receive(ctx, message, frame))
        else:  # ITEM_WITH_PROOF: relayed (TISA) or forwarded (Art. 6)
            _item(ctx, tally, message, frame.body, frame.topic, frame.purpose, frame.proofs)
    _flush(ctx, tally, items, receipts, batches)
    return tally.summary()


def _flush(
    ctx: Context,
    tally: _Tally,
    items: list[tuple[Inbound, Frame]],
    receipts: list[tuple[Inbound, bytes]],
    batches: list[tuple[Inbound, bytes]],
) -> None:
    """Handle the pending runs, each in one unit of work; if a run's unit fails, nothing of it
    was stored, and its messages are handled one at a time instead."""
    if items:
        batch = _Tally()
        try:
            resends = inbound_batch.accept_items(ctx, batch, items)
        except GsomiaError:
            for message, frame in items:
                _item(ctx, tally, message, frame.body, frame.topic, frame.purpose)
        else:
            tally.merge(batch)
            _resend(ctx, resends)
        items.clear()
    if batches:
        batch = _Tally()
        try:
            node_receipts.settle(ctx, batch, batches)
        except GsomiaError:
            for one in batches:  # one unit each: one that cannot be settled holds none back
                alone = _Tally()
                with contextlib.suppress(GsomiaError):
                    node_receipts.settle(ctx, alone, [one])
                    tally.merge(alone)
        else:
            tally.merge(batch)
        batches.clear()
    if receipts:
        batch = _Tally()
        try:
            inbound_batch.settle_receipts(ctx, batch, receipts)
        except GsomiaError:
            for message, token in receipts:
                _receipt(ctx, tally, message, token)
        else:
            tally.merge(batch)
        receipts.clear()


def _resend(ctx: Context, resends: list[inbound_batch.Resend]) -> None:
    """Send stored receipts again, best effort (the sender retries until one gets through):
    several per exchange to one partner when the channel can (a resend storm after a crash)."""
    by_party: dict[str, list[tuple[bytes, str]]] = {}
    for r in resends:
        frame = node_receipts.frame_for(r.token)
        by_party.setdefault(r.party, []).append((frame, f"receipt:{r.item_id}"))
    for party, messages in by_party.items():
        with contextlib.suppress(GsomiaError):
            if isinstance(ctx.channel, BatchChannel) and len(messages) > 1:
                for start in range(0, len(messages), MAX_BATCH_MESSAGES):
                    ctx.channel.send_many(party, messages[start : start + MAX_BATCH_MESSAGES])
                continue
            for frame, key in messages:
                ctx.channel.send(party, frame, idempotency_key=key)


def _notice(tally: _Tally, outcome: str) -> None:
    """Count a notice's outcome (its audit records are written by node/notice_inbound.py)."""
    if outcome in (notice_inbound.Outcome.APPLIED, notice_inbound.ACKED):
        tally.notices += 1
    elif outcome == notice_inbound.Outcome.DUPLICATE:
        tally.duplicates += 1
    elif outcome == notice_inbound.Outcome.DEFERRED:
        tally.notices_deferred += 1
    else:
        tally.rejected += 1


def _reject(
    ctx: Context,
    tally: _Tally,
    message: Inbound,
    subject: str,
    code: str,
    detail: dict[str, str | None] | None = None,
    *,
    receipt: bool = False,
) -> None:
    now = ctx.clock.now()
    ctx.audit_alone(
        AuditKind.REJECT, now, ident(message.sender, "unknown-party"), subject, "deny", (code,),
        {"channel_key": ident(message.idempotency_key, "invalid"), **(detail or {})},
    )  # fmt: skip
    if receipt:
        tally.receipts_rejected += 1
    else:
        tally.rejected += 1
    tally.rejections.append((subject, code))


def _item(
    ctx: Context,
    tally: _Tally,
    message: Inbound,
    sealed: bytes,
    topic: str,
    purpose: str,
    tokens: tuple[bytes, ...] = (),
) -> None:
    now = ctx.clock.now()
    fallback = ident(message.idempotency_key, "unknown")
    try:
        opened = open_item(sealed, ctx.keys, ctx.open_trust, now, cache=ctx.open_cache)
    except EnvelopeError as err:  # the cause goes to our audit log only, never to the peer
        _reject(ctx, tally, message, fallback, err.code, {"cause": err.cause.value})
        return
    item_id = opened.item_id
    if opened.sender != message.sender or message.sender == ctx.party:
        _reject(ctx, tally, message, item_id, "NODE_SENDER_MISMATCH", {"signer": opened.sender})
        return
    labels = opened.label if isinstance(opened.label, LabelSet) else LabelSet(opened.label)
    digest = hashlib.sha256(sealed).digest()
    with ctx.store.read() as reader:
        first = reader.inbox_entry(item_id)
    if first is not None:
        _duplicate(ctx, tally, message, first, digest)
        return
    who = message.sender
    proofs = _custody.verify_proofs(ctx, tokens, now)  # the originator's approval or consent
    if isinstance(proofs, str):
        _refuse_item(ctx, tally, who, item_id, digest, topic, (proofs,))
        return
    chosen = _custody.pick(proofs, who, ctx.party)
    decision = accept(
        ctx.registry,
        labels,
        item_id=item_id,
        item_digest=_custody.item_binding(item_id, labels.originator),
        sender=who,
        receiver=ctx.party,
        topic=topic,
        at=now,
        purpose=purpose,
        consent=None if chosen is None else chosen.consent,
    )
    if not decision.allowed:
        _refuse_item(ctx, tally, who, item_id, digest, topic, decision.codes)
        return
    assert decision.agreement is not None
    assert decision.table_version is not None
    alternative = AlternativeLabel(  # Art. 4: the originator's name and our equivalent level
        policy_id=ctx.registry.schemes[ctx.party].id,
        classification=decision.markings[-1].level,
        originator=labels.originator.originator,
        applied_by=ctx.party,
        agreement=decision.agreement,
        table_version=decision.table_version,
        applied=now,
    )
    relays = relay.RelayPlan()
    if who == labels.originator.originator and proofs:  # the originator asks us, the hub, to relay
        relays = relay.plan(
            ctx, item_id, labels.with_alternative(alternative), opened.payload, topic, purpose,
            proofs, now,
        )  # fmt: skip
        if relays.refusals:
            _refuse_item(ctx, tally, who, item_id, digest, topic, relays.codes, relays)
            return
    kept = [p for p in proofs if ctx.party in (p.consent.holder, p.consent.third_party)]
    with ctx.store.unit_of_work() as uow:
        index = ctx.audit(
            uow, AuditKind.ACCEPT, now, who, item_id, "allow", decision.codes,
            agreement=decision.agreement, table_version=decision.table_version,
            detail={"topic": topic, "digest": digest.hex(), "marking": alternative.classification},
        )  # fmt: skip
        uow.record_inbound(InboxEntry(item_id, who, digest, now, InboxOutcome.ACCEPTED, (), index))
        uow.put_item(
            HeldItem(
                item_id,
                labels.with_alternative(alternative),
                topic,
                sealed,
                now,
                agreement=decision.agreement,
                table_version=decision.table_version,
                received_from=who,
            )
        )
        receipt = Receipt(
            item_id=item_id,
            item_digest=digest.hex(),
            sender=who,
            recipient=ctx.party,
            received=now,
            alternative=alternative,
            log_index=index,
            checkpoint=Checkpoint(ctx.log_origin, uow.audit_size(), uow.audit_root()),
            assurance=Assurance(alternative.classification, purpose),
        )
        token = issue_receipt(receipt, ctx.keys)
        uow.record_receipt(ReceiptRecord(item_id, who, ReceiptDirection.ISSUED, token, now))
        uow.enqueue(
            OutboxMessage(f"receipt:{item_id}", who, "receipt", item_id, receipt_frame(token), now)
        )
        for proof in kept:  # the approval or consent relied on, kept as evidence (Art. 6)
            uow.put_consent(ConsentRecord(proof.consent, proof.token))
        relay.commit(ctx, uow, relays.relays, item_id, topic, purpose, now)  # TISA, exactly once
    tally.accepted += 1


def _refuse_item(
    ctx: Context,
    tally: _Tally,
    who: str,
    item_id: str,
    digest: bytes,
    topic: str,
    codes: tuple[str, ...],
    relays: relay.RelayPlan | None = None,
) -> None:
    """A verified item refused: audited, recorded as rejected (a replay gets the same answer)."""
    now = ctx.clock.now()
    with ctx.store.unit_of_work() as uow:
        if relays is not None:
            relay.refuse(ctx, uow, relays, item_id, now)
        index = ctx.audit(
            uow, AuditKind.REJECT, now, who, item_id, "deny", codes,
            detail={"topic": topic, "digest": digest.hex()},
        )  # fmt: skip
        uow.record_inbound(
            InboxEntry(item_id, who, digest, now, InboxOutcome.REJECTED, codes, index)
        )
        # the negative receipt (ADR 0011): the sender stops sending an item we refused
        node_receipts.issue(
            ctx, uow, who, [node_receipts.refused(item_id, digest, index, codes)], now
        )
    tally.rejected += 1
    tally.rejections.extend((item_id, code) for code in codes)


def _duplicate(
    ctx: Context, tally: _Tally, message: Inbound, first: InboxEntry, digest: bytes
) -> None:
    """A replayed or duplicated item: audited, never stored again, answered as the first time."""
    now = ctx.clock.now()
    with ctx.store.unit_of_work() as uow:
        ctx.audit(
            uow, AuditKind.REJECT, now, message.sender, first.item_id, "duplicate", (DUPLICATE,),
            detail={
                "first_outcome": first.outcome.value,
                "first_index": first.audit_index,
                "same_bytes": digest == first.digest,
            },
        )  # fmt: skip
        stored = uow.receipt(first.item_id, first.sender, ReceiptDirection.ISSUED)
    tally.duplicates += 1
    if stored is not None and first.sender == message.sender:
        # best effort: the sender retries the item until a receipt gets through
        with contextlib.suppress(GsomiaError):
            ctx.channel.send(
                message.sender,
                node_receipts.frame_for(stored.token),
                idempotency_key=f"receipt:{first.item_id}",
            )


def _receipt(ctx: Context, tally: _Tally, message: Inbound, token: bytes) -> None:
    now = ctx.clock.now()
    fallback = ident(message.idempotency_key, "unknown")
    try:
        receipt = verify_receipt(token, ctx.trust, now)
    except GsomiaError as err:  # TokenError and its kin: a peer sent a bad token
        _reject(ctx, tally, message, fallback, err.code, receipt=True)
        return
    key = f"{receipt.item_id}:{receipt.recipient}"
    with ctx.store.read() as reader:
        entry = reader.outbox_entry(key)
        recorded = reader.receipt(receipt.item_id, receipt.recipient, ReceiptDirection.RECEIVED)
    if (
        receipt.recipient != message.sender
        or receipt.sender != ctx.party
        or entry is None
        or entry.message.kind != "item"
        or receipt.item_digest != _sent_digest(entry.message.payload)
    ):
        _reject(ctx, tally, message, receipt.item_id, "NODE_RECEIPT_MISMATCH", receipt=True)
        return
    if recorded is not None:  # a replayed receipt changes nothing, but is audited (§8)
        ctx.audit_alone(
            AuditKind.REJECT, now, receipt.recipient, receipt.item_id, "duplicate",
            ("DUPLICATE_RECEIPT",), {"channel_key": ident(message.idempotency_key, "invalid")},
        )  # fmt: skip
        tally.receipts_duplicate += 1
        return
    with ctx.store.unit_of_work() as uow:
        uow.record_receipt(
            ReceiptRecord(receipt.item_id, receipt.recipient, ReceiptDirection.RECEIVED, token, now)
        )
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
    ctx.inflight.settled((key,), now)
    tally.receipts += 1


def _sent_digest(frame: bytes) -> str:
    """SHA-256 (hex) of the sealed item inside an item frame we sent."""
    return hashlib.sha256(decode(frame).body).hexdigest()
