"""Batch receipts at both ends: one signature per run, negative receipts end retries (ADR 0011).

Receiver (:func:`issue`)
  :mod:`gsomia.node.inbound_batch` decides a run of items from one sender in one unit of work;
  each accepted item (``accept`` audited, stored sealed, re-marked, Art. 4) and each refused one
  (``reject`` audited, recorded in the inbox) gives a :class:`~gsomia.proofs.receipt_batch.
  ReceiptEntry` quoting its audit index.  At the end of the unit, :func:`issue` signs ONE
  ``gsomia-receipts/1`` token per sender over the entries and the checkpoint that includes their
  audit records, stores each item's *extract* (the entry, its RFC 9162 inclusion proof and the
  one signature) as that item's issued receipt, and enqueues the token once, in the same unit of
  work: durable, and a duplicate delivery is answered with the stored extract
  (:func:`frame_for`).

Sender (:func:`settle`)
  Each token is verified once (:func:`~gsomia.proofs.receipt_batch.verify_receipts`: one Ed25519
  verification for the whole batch) outside the store's lock, and each entry's writes (its
  settlement, its receipt as received, the ``receipt`` audit record it will take if it settles)
  are built there too, so the lock is held for the writes only (ADR 0022); a token that fails
  is audited (``reject``, its ``TOKEN_*`` code) and settles nothing.  Then, in one unit of
  work, each entry is matched against the outbox message ``<item id>:<recipient>`` it settles:
  the message must be ours, an item, to the token's signer, with the digest of the sealed bytes
  we sent, else ``NODE_RECEIPT_MISMATCH`` (audited, nothing settled for that entry).  The store
  compares the digest kept with the message at enqueue and settles in one statement
  (:meth:`~gsomia.ports.UnitOfWork.settle_sent`); a message enqueued without one is read back
  and its frame's body hashed.  An entry recorded before is a replay (``DUPLICATE_RECEIPT``,
  audited, nothing changes).  Otherwise its extract is recorded as the item's received receipt
  and

  - ``accepted``: the message is acknowledged and a ``receipt`` ``received`` record quotes the
    partner's marking and checkpoint, exactly as for a single receipt (audit checkpoints ride on
    receipts, :mod:`gsomia.node.audit_view`);
  - ``refused`` (a *negative receipt*): the message is cancelled with ``last_error``
    ``REFUSED <codes>``, so it is never sent again and the release officer sees why in the
    outbox; a ``receipt`` ``refused`` record carries the partner's codes.  Only the receiver's
    signed, definitive decision (policy or custody refusal of a verified item) settles; a
    transient failure (unreachable, busy, a store error) still retries with backoff.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gsomia.audit.checkpoint import Checkpoint
from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.labels import AlternativeLabel
from gsomia.node._context import Context, ident, record
from gsomia.node._tally import Tally
from gsomia.node.framing import decode, receipt_frame, receipts_frame
from gsomia.ports import (
    DeliveryState,
    Inbound,
    OutboxMessage,
    ReceiptDirection,
    ReceiptRecord,
    UnitOfWork,
)
from gsomia.ports.protocols import Sent, Settlement
from gsomia.proofs import TokenError
from gsomia.proofs.receipt_batch import (
    MAX_ENTRIES,
    BatchHead,
    ReceiptEntry,
    VerifiedReceipts,
    is_batch_receipt,
    issue_receipts,
    verify_receipts,
)

__all__ = ["REFUSED_PREFIX", "accepted", "frame_for", "issue", "refused", "settle"]

REFUSED_PREFIX: Final = "REFUSED"
"""``last_error`` of an outbox message a partner's signed refusal settled: ``REFUSED <codes>``."""
_MISMATCH: Final = "NODE_RECEIPT_MISMATCH"
_ITEM: Final = "item"  # the outbox kind of an item sent (gsomia.node.relay)


def accepted(
    item_id: str, digest: bytes, log_index: int, alternative: AlternativeLabel, purpose: str
) -> ReceiptEntry:
    """The entry of an item accepted, re-marked with ``alternative`` (Art. 4), for ``purpose``
    (the Art. 7 assurance)."""
    return ReceiptEntry(
        item_id, digest.hex(), True, log_index, alternative.classification,
        alternative.agreement, alternative.table_version, purpose=purpose,
    )  # fmt: skip


def refused(item_id: str, digest: bytes, log_index: int, codes: tuple[str, ...]) -> ReceiptEntry:
    """The entry of an item refused for ``codes`` (a negative receipt)."""
    return ReceiptEntry(item_id, digest.hex(), False, log_index, codes=codes)


def issue(
    ctx: Context, uow: UnitOfWork, sender: str, entries: Sequence[ReceiptEntry], now: datetime
) -> None:
    """Sign ``entries`` for ``sender`` once, store each item's extract and enqueue the token, in
    ``uow``, after the audit records the entries quote (see the module docstring)."""
    if not entries:
        return
    head = BatchHead(
        sender,
        ctx.party,
        now,
        ctx.registry.schemes[ctx.party].id,
        Checkpoint(ctx.log_origin, uow.audit_size(), uow.audit_root()),
    )
    for start in range(0, len(entries), MAX_ENTRIES):  # a run holds at most MAX_PAGE items
        chunk = entries[start : start + MAX_ENTRIES]
        issued = issue_receipts(head, chunk, ctx.keys)
        uow.record_receipts(
            [
                ReceiptRecord(e.item_id, sender, ReceiptDirection.ISSUED, extract, now)
                for e, extract in zip(chunk, issued.extracts, strict=True)
            ]
        )
        batch = str(uuid.uuid4())
        frame = receipts_frame(issued.token)
        uow.enqueue(OutboxMessage(f"receipts:{batch}", sender, "receipt", batch, frame, now))


def frame_for(token: bytes) -> bytes:
    """The frame that carries a stored issued receipt again: batch extract or single receipt."""
    return receipts_frame(token) if is_batch_receipt(token) else receipt_frame(token)


# -- sender ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Checked:
    message: Inbound
    verified: VerifiedReceipts | None
    code: str
    now: datetime


def _check(ctx: Context, message: Inbound, token: bytes) -> _Checked:
    now = ctx.clock.now()
    try:
        return _Checked(message, verify_receipts(token, ctx.trust, now), "", now)
    except TokenError as err:
        return _Checked(message, None, err.code, now)


def _reject(
    ctx: Context, uow: UnitOfWork, tally: Tally, c: _Checked, subject: str, code: str
) -> None:
    ctx.audit(
        uow, AuditKind.REJECT, c.now, ident(c.message.sender, "unknown-party"), subject, "deny",
        (code,), detail={"channel_key": ident(c.message.idempotency_key, "invalid")},
    )  # fmt: skip
    tally.receipts_rejected += 1
    tally.rejections.append((subject, code))


def _sent_digest(frame: bytes) -> str:
    return hashlib.sha256(decode(frame).body).hexdigest()


def _settlement(head_recipient: str, e: ReceiptEntry) -> Settlement:
    """What settles the outbox message an entry names: acknowledged, or cancelled for a negative
    receipt, if it is the item sent to the receipt's signer with the digest the entry quotes."""
    reason = None if e.accepted else f"{REFUSED_PREFIX} {' '.join(e.codes)}"[:200]
    key = f"{e.item_id}:{head_recipient}"
    return Settlement(key, _ITEM, head_recipient, bytes.fromhex(e.digest), reason)


def _settled_record(
    c: _Checked, e: ReceiptEntry, checkpoint: dict[str, str | int | None]
) -> AuditRecord:
    """The ``receipt`` record of an entry that settles its message (the common case), built
    before the unit of work: it quotes the partner's marking (or codes) and ``checkpoint``, the
    detail its batch's entries share (:func:`_prepare`)."""
    assert c.verified is not None
    head = c.verified.head
    detail = {**checkpoint, "digest": e.digest, "log_index": e.log_index}
    if e.accepted:
        return record(
            AuditKind.RECEIPT, c.now, head.recipient, e.item_id, "received",
            ("RECEIPT_VERIFIED",), detail={**detail, "marking": e.marking},
        )  # fmt: skip
    # a negative receipt: the partner's signed, definitive refusal ends the retries
    return record(
        AuditKind.RECEIPT, c.now, head.recipient, e.item_id, "refused", e.codes, detail=detail
    )


def _settle_one(
    ctx: Context,
    uow: UnitOfWork,
    tally: Tally,
    c: _Checked,
    e: ReceiptEntry,
    p: _Prepared,
    found: Sent,
    records: list[ReceiptRecord],
) -> str | None:
    """Audit what settling one entry found (:meth:`~gsomia.ports.UnitOfWork.settle_sent_many`
    settled the batch's entries together); the outbox key it settled, or None.  The receipt is
    added to ``records``, which the caller records in one run.

    A message enqueued without a digest (before the store kept it) is read back and its frame's
    body hashed, as it always was."""
    assert c.verified is not None
    head, now, settlement = c.verified.head, c.now, p.settlement
    if found is Sent.UNKNOWN_DIGEST:
        found = _settle_read(uow, settlement.key, head.recipient, e.digest, now, settlement.reason)
    if found is Sent.MISMATCH:
        _reject(ctx, uow, tally, c, e.item_id, _MISMATCH)
        return None
    # Recorded whether or not it settled now (as before).  A message is never pending once its
    # receipt is recorded (it is settled in the same unit of work, and nothing makes it pending
    # again: DELIVERY_TRANSITIONS), so a replay is always NOT_PENDING here.
    records.append(p.receipt)
    if found is Sent.NOT_PENDING:  # settled before (a replay, or cancelled): nothing changes
        ctx.audit(  # a replayed receipt changes nothing, but is audited (PRODUCT.md §8)
            uow, AuditKind.REJECT, now, head.recipient, e.item_id, "duplicate",
            ("DUPLICATE_RECEIPT",),
        )  # fmt: skip
        tally.receipts_duplicate += 1
        return None
    uow.append_audit(p.audit)
    if e.accepted:
        tally.receipts += 1
    else:
        tally.receipts_refused += 1
    return settlement.key


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One entry's writes, built before the unit of work (ADR 0022): what settles its message,
    its receipt as received, and the audit record of the common case (it settles)."""

    settlement: Settlement
    receipt: ReceiptRecord
    audit: AuditRecord


def _prepare(c: _Checked) -> list[_Prepared]:
    assert c.verified is not None
    head = c.verified.head
    recipient, checkpoint = head.recipient, head.checkpoint
    shared: dict[str, str | int | None] = {  # the partner's checkpoint, quoted by every entry
        "log_origin": checkpoint.origin,
        "log_size": checkpoint.size,
        "log_root": checkpoint.root.hex(),
    }
    return [
        _Prepared(
            _settlement(recipient, e),
            ReceiptRecord(e.item_id, recipient, ReceiptDirection.RECEIVED, extract, c.now),
            _settled_record(c, e, shared),
        )
        for e, extract in c.verified.entries
    ]


def _settle_read(
    uow: UnitOfWork, key: str, recipient: str, digest: str, now: datetime, reason: str | None
) -> Sent:
    """:meth:`~gsomia.ports.UnitOfWork.settle_sent` for a message stored without its digest."""
    sent = uow.outbox_entry(key)
    if (
        sent is None
        or sent.message.kind != _ITEM
        or sent.message.recipient != recipient
        or digest != _sent_digest(sent.message.payload)
    ):
        return Sent.MISMATCH
    if sent.state is not DeliveryState.PENDING:
        return Sent.NOT_PENDING
    if reason is None:
        uow.acknowledge(key, at=now)
    else:
        uow.cancel(key, at=now, reason=reason)
    return Sent.SETTLED


def settle(ctx: Context, tally: Tally, batch: Sequence[tuple[Inbound, bytes]]) -> None:
    """Verify each batch receipt once and build its writes, then settle every entry in one unit
    of work."""
    checked = [_check(ctx, message, token) for message, token in batch]
    prepared = [
        _prepare(c)
        if c.verified is not None
        and c.verified.head.recipient == c.message.sender
        and c.verified.head.sender == ctx.party
        else None
        for c in checked
    ]
    settled: list[str] = []
    with ctx.store.unit_of_work() as uow:
        for c, entries in zip(checked, prepared, strict=True):
            fallback = ident(c.message.idempotency_key, "unknown")
            if c.verified is None:
                _reject(ctx, uow, tally, c, fallback, c.code)
                continue
            if entries is None:
                _reject(ctx, uow, tally, c, fallback, _MISMATCH)  # not for us, or relayed
                continue
            found = uow.settle_sent_many([p.settlement for p in entries], at=c.now)
            records: list[ReceiptRecord] = []
            for (e, _), p, sent in zip(c.verified.entries, entries, found, strict=True):
                key = _settle_one(ctx, uow, tally, c, e, p, sent, records)
                if key is not None:
                    settled.append(key)
            uow.record_receipts(records)
    ctx.inflight.settled(settled, ctx.clock.now())
