"""From the node's records and decisions to the API's response models (:mod:`gsomia.api.models`).

Pure functions; no node calls.  Instants are written by :func:`gsomia.instants.format_instant`
(UTC, ``Z``); labels by :func:`gsomia.labels.json_codec.to_dict`, the canonical JSON form.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from gsomia.api.models import (
    DecisionOut,
    ItemMarkings,
    ItemOut,
    LabelMarking,
    MarkingOut,
    OfficialIn,
    OfficialOut,
    OutboxOut,
    ReasonOut,
    ReceiptOut,
)
from gsomia.instants import format_instant
from gsomia.labels import json_codec
from gsomia.policy import Decision, Official
from gsomia.ports import HeldItem, OfficialRecord, OutboxEntry, ReceiptRecord

__all__ = [
    "decision_view",
    "decisions_view",
    "item_view",
    "official_view",
    "outbox_view",
    "receipt_view",
    "record_from",
]


def _when(value: datetime | None) -> str | None:
    return None if value is None else format_instant(value)


def official_view(record: OfficialRecord) -> OfficialOut:
    """An official of the directory (Art. 7)."""
    o = record.official
    return OfficialOut(
        id=o.id,
        nationality=o.nationality,
        clearance=o.clearance,
        duties=sorted(o.duties),
        in_register=o.in_register,
        rank=o.rank,
        post=o.post,
        roles=sorted(record.roles),
        active=record.active,
    )


def record_from(body: OfficialIn) -> OfficialRecord:
    """The directory record a request describes; ill-formed → ``STORE_RECORD_INVALID`` (400)."""
    return OfficialRecord(
        Official(
            body.id,
            body.nationality,
            body.clearance,
            frozenset(body.duties),
            body.in_register,
            body.rank,
            body.post,
        ),
        frozenset(body.roles),
        body.active,
    )


def item_view(item: HeldItem, party: str) -> ItemOut:
    """A held item's metadata as ``party`` (this node) holds it; never its content."""
    labels = item.labels
    origin = labels.originator
    ours: LabelMarking | None = None
    if party == origin.originator:
        ours = LabelMarking(
            party=party,
            policy_id=origin.policy_id,
            classification=origin.classification,
            applied_by=origin.originator,
        )
    else:
        alternative = labels.alternative_for(party)
        if alternative is not None:
            ours = LabelMarking(
                party=party,
                policy_id=alternative.policy_id,
                classification=alternative.classification,
                applied_by=alternative.applied_by,
            )
    return ItemOut(
        id=item.item_id,
        topic=item.topic,
        state=item.state,
        originator=item.originator,
        received=format_instant(item.received),
        received_from=item.received_from,
        agreement=item.agreement,
        table_version=item.table_version,
        derived_from=item.derived_from,
        state_changed=_when(item.state_changed),
        markings=ItemMarkings(
            originator=LabelMarking(
                party=origin.originator,
                policy_id=origin.policy_id,
                classification=origin.classification,
                applied_by=origin.originator,
            ),
            ours=ours,
        ),
        labels=json_codec.to_dict(labels),
    )


def receipt_view(receipt: ReceiptRecord) -> ReceiptOut:
    """A signed receipt; the token is RFC 8785 JSON, hence UTF-8 text."""
    return ReceiptOut(
        item_id=receipt.item_id,
        party=receipt.party,
        direction=receipt.direction,
        at=format_instant(receipt.at),
        token=receipt.token.decode("utf-8", errors="replace"),
    )


def outbox_view(entry: OutboxEntry) -> OutboxOut:
    """An outbox message without its sealed payload."""
    m = entry.message
    return OutboxOut(
        key=m.key,
        seq=entry.seq,
        recipient=m.recipient,
        kind=m.kind,
        subject=m.subject,
        state=entry.state,
        attempts=entry.attempts,
        created=format_instant(m.created),
        next_attempt=format_instant(entry.next_attempt),
        last_attempt=_when(entry.last_attempt),
        last_error=entry.last_error,
        settled=_when(entry.settled),
    )


def decision_view(decision: Decision) -> DecisionOut:
    """A policy decision with its reason codes first, then the reasons in full."""
    return DecisionOut(
        allowed=decision.allowed,
        codes=list(decision.codes),
        reasons=[ReasonOut(**r.to_dict()) for r in decision.reasons],
        agreement=decision.agreement,
        table_version=decision.table_version,
        path=list(decision.path),
        markings=[MarkingOut(party=m.party, level=m.level) for m in decision.markings],
    )


def decisions_view(decisions: Mapping[str, Decision]) -> dict[str, DecisionOut]:
    """Each recipient's decision, by party."""
    return {party: decision_view(d) for party, d in sorted(decisions.items())}
