"""Delivering the outbox: claim due messages, then send them, several per exchange (issue 4 §1).

Theory of operation
-------------------
:func:`deliver_due` claims due messages by recording the attempt and the next retry instant
(:class:`~gsomia.ports.Backoff`) in ONE unit of work *before* sending, then sends.  A crash at any
point causes at most a resend, never a loss; a :class:`~gsomia.ports.ChannelError` needs no
further write, the retry being already scheduled.  A message that was taken stays pending until
the partner's receipt (or acknowledgement) settles it: acknowledged, or cancelled for good by
the partner's signed refusal (a negative receipt, :mod:`gsomia.node.receipts`); receipts we send
are settled once the channel takes them, since the sender's retries of the item bring the stored
receipt back if one is lost.

When the channel is a :class:`~gsomia.ports.BatchChannel`, the messages claimed for one partner
go in exchanges of up to :data:`MAX_BATCH_MESSAGES` messages and :data:`MAX_BATCH_BYTES` bytes,
each message with its own idempotency key (ADR 0005, "Batches").  If a partner cannot be
reached, its other messages wait for their retry instant (no time is spent on a partner that is
down); if it *answered* with a refusal, the exchange's messages are sent one at a time, so that
one message the partner refuses (too large, say) never holds back the others.

At most a window of messages is in flight (taken, not yet settled by a receipt, retry instant
not reached), sized to what receipts settle in a fraction of the first retry delay: a partner is
never sent more than it can handle before the first retries would fire (flow control,
:mod:`gsomia.node._window`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from gsomia.node._context import Context
from gsomia.ports import BatchChannel, Channel, ChannelError, OutboxEntry, check_limit

__all__ = ["MAX_BATCH_BYTES", "MAX_BATCH_MESSAGES", "deliver_due", "send"]

MAX_BATCH_MESSAGES: Final = 256
MAX_BATCH_BYTES: Final = 1024 * 1024
_RECEIPT_KIND: Final = "receipt"


def deliver_due(ctx: Context, limit: int) -> int:
    """Send the outbox messages due now, within the window (:mod:`gsomia.node._window`); the
    number the channel took."""
    now = ctx.clock.now()
    room = min(check_limit(limit), ctx.inflight.room(now))
    if room == 0:
        return 0
    with ctx.store.unit_of_work() as uow:  # claim first: a crash only causes a resend
        claimed: list[OutboxEntry] = [
            uow.record_attempt(
                e.key,
                at=now,
                next_attempt=ctx.backoff.next_attempt(e.attempts + 1, now, e.key),
            )
            for e in uow.due(now, limit=room)
        ]
    if not claimed:
        return 0
    taken = send(ctx.channel, claimed)
    receipts = [e for e in taken if e.message.kind == _RECEIPT_KIND]
    ctx.inflight.took(e for e in taken if e.message.kind != _RECEIPT_KIND)
    if receipts:
        with ctx.store.unit_of_work() as uow:
            for entry in receipts:
                uow.acknowledge(entry.key, at=now)
    return len(taken)


def _chunks(entries: Sequence[OutboxEntry]) -> list[list[OutboxEntry]]:
    """``entries`` cut into exchanges within the message and byte caps (a larger message alone)."""
    chunks: list[list[OutboxEntry]] = []
    current: list[OutboxEntry] = []
    size = 0
    for entry in entries:
        length = len(entry.message.payload)
        if current and (len(current) >= MAX_BATCH_MESSAGES or size + length > MAX_BATCH_BYTES):
            chunks.append(current)
            current, size = [], 0
        current.append(entry)
        size += length
    if current:
        chunks.append(current)
    return chunks


def _one_by_one(channel: Channel, entries: Sequence[OutboxEntry]) -> list[OutboxEntry]:
    taken = []
    for entry in entries:
        message = entry.message
        try:
            channel.send(message.recipient, message.payload, idempotency_key=message.key)
        except ChannelError:
            continue  # retried at entry.next_attempt, already recorded
        taken.append(entry)
    return taken


def send(channel: Channel, entries: Sequence[OutboxEntry]) -> list[OutboxEntry]:
    """Send claimed ``entries``; those the channel took, in order."""
    if not isinstance(channel, BatchChannel):
        return _one_by_one(channel, entries)
    by_party: dict[str, list[OutboxEntry]] = {}
    for entry in entries:
        by_party.setdefault(entry.message.recipient, []).append(entry)
    taken: list[OutboxEntry] = []
    for party, group in by_party.items():
        for chunk in _chunks(group):
            if len(chunk) == 1:
                taken += _one_by_one(channel, chunk)
                continue
            try:
                channel.send_many(party, [(e.message.payload, e.message.key) for e in chunk])
            except ChannelError as err:
                if err.detail.get("status") in (None, 503):  # unreachable or busy: the rest
                    break  # waits for its retry instant
                taken += _one_by_one(channel, chunk)  # it answered: find the one it refuses
                continue
            taken += chunk
    return taken
