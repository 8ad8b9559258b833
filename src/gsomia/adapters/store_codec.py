"""Rows to records and back, for the node stores on SQL (SQLite and PostgreSQL).

Pure: no driver is imported here.  :mod:`gsomia.adapters.sqlite_store` and
:mod:`gsomia.adapters.postgres_store` run the same statements over tables of the same shape, so
one codec serves both.  Instants are written as fixed-width UTC text, ``YYYY-MM-DDTHH:MM:SS.
ffffffZ``: SQLite keeps that text (text order is time order), PostgreSQL casts it to
``timestamptz``; they are read back from either form (text, or an aware ``datetime``) into UTC.
Booleans are written as ``bool`` (SQLite stores 1 or 0).  A row that no longer decodes into a
valid record (a damaged or hand-edited store) raises :class:`~gsomia.errors.StoreError` with code
``STORE_DAMAGED``: a store never returns a record that could not have been written.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

from gsomia.errors import GsomiaError, StoreError
from gsomia.instants import require_aware
from gsomia.labels import AlternativeLabel, LabelSet, OriginatorLabel, json_codec
from gsomia.policy import Consent, ConsentKind, Official
from gsomia.ports import (
    ConsentRecord,
    ConsentRequestDirection,
    ConsentRequestRecord,
    ConsentRequestState,
    DeliveryState,
    HeldItem,
    InboxEntry,
    InboxOutcome,
    ItemState,
    OfficialRecord,
    OutboxEntry,
    OutboxMessage,
    ReceiptDirection,
    ReceiptRecord,
    Role,
)

R = TypeVar("R")


def instant(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC (fixed width)."""
    if type(value) is datetime and value.tzinfo is UTC:  # the common case: memoized
        return _text_of(value)
    return _text_of.__wrapped__(value)


@functools.lru_cache(maxsize=4096)
def _text_of(value: datetime) -> str:
    """:func:`instant` itself.  Memoized for ``datetime`` values in UTC (the clock's): the writes
    of one batch share their instants, and two of them are equal exactly when they are the same
    instant, the same text (UTC has no folds; any other zone takes the unmemoized way)."""
    utc = require_aware(value).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"


def maybe_instant(value: datetime | None) -> str | None:
    """:func:`instant`, or None."""
    return None if value is None else instant(value)


@functools.lru_cache(maxsize=4096)
def _instant_of(text: str) -> datetime:
    """The instant stored as ``text`` (ValueError if it is none); memoized, since the rows of one
    batch share their instants (``created``, ``next_attempt``, ...) and a ``datetime`` is
    immutable: the same text always gives an equal value, and a failure is never cached."""
    if not text.endswith("Z"):
        raise ValueError(f"not a stored instant: {text!r}")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)


def _at(value: Any) -> datetime:
    if type(value) is str:  # SQLite's text: the common case
        return _instant_of(value)
    if isinstance(value, datetime):  # PostgreSQL's timestamptz
        return require_aware(value, "stored instant")
    if not isinstance(value, str):
        raise ValueError(f"not a stored instant: {value!r}")
    return _instant_of(str(value))


def _maybe_at(text: Any) -> datetime | None:
    return None if text is None else _at(text)


def words(values: Iterable[str], *, keep_order: bool = False) -> str:
    """A JSON array of text (sorted unless ``keep_order``)."""
    if type(values) is tuple and all(type(v) is str for v in values):  # reason codes, roles
        return _words_of(values, keep_order)  # a few values, the same on many rows: memoized
    return _words_of.__wrapped__(values, keep_order)


@functools.lru_cache(maxsize=1024)
def _words_of(values: Iterable[str], keep_order: bool) -> str:
    items = list(values) if keep_order else sorted(values)
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def _words(text: Any) -> tuple[str, ...]:
    value = json.loads(text)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("not a JSON array of text")
    return tuple(value)


def decode(row: Any, build: Callable[[Any], R], table: str) -> R:
    """``build(row)``, with any failure reported as a damaged store."""
    try:
        return build(row)
    except (GsomiaError, ValueError, TypeError, KeyError) as exc:
        raise StoreError(
            f"a stored {table} row is damaged: {exc}", code="STORE_DAMAGED", detail={"table": table}
        ) from exc


_LABELS_MEMO: dict[OriginatorLabel | AlternativeLabel, str] = {}
_LABELS_MEMO_ENTRIES: Final = 256


def _label_json(label: OriginatorLabel | AlternativeLabel) -> str:
    text = _LABELS_MEMO.get(label)
    if text is None:
        text = json.dumps(
            json_codec.to_dict(label), ensure_ascii=False, separators=(",", ":"), sort_keys=True
        )
        if len(_LABELS_MEMO) >= _LABELS_MEMO_ENTRIES:
            _LABELS_MEMO.clear()
        _LABELS_MEMO[label] = text
    return text


def labels_text(labels: LabelSet) -> str:
    """The label set as compact JSON with sorted members (:func:`json_codec.to_dict`).

    Not the RFC 8785 form, which is only needed for hashing: the stdlib encoder is about ten times
    faster, and :func:`json_codec.loads` reads either back into the same label set.  Written label
    by label, each memoized by value (labels are immutable and hashable): the items of a batch
    share their originator label, so it is encoded once, and a recipient's alternative label
    (Art. 4), which names the instant it was applied and so differs per item, alone is encoded
    each time.  Same text as ``json.dumps(to_dict(labels), sort_keys=True)`` ("alternatives"
    sorts before "originator"); a full memo is cleared and refills (bounded, safe across threads).
    """
    alternatives = ",".join([_label_json(a) for a in labels.alternatives])
    return f'{{"alternatives":[{alternatives}],"originator":{_label_json(labels.originator)}}}'


def item_params(item: HeldItem) -> tuple[Any, ...]:
    """The ``items`` row of ``item``, in :data:`ITEM_COLUMNS` order."""
    return (
        item.item_id,
        item.originator,
        labels_text(item.labels),
        item.topic,
        item.sealed,
        instant(item.received),
        item.agreement,
        item.table_version,
        item.received_from,
        item.derived_from,
        item.state.value,
        maybe_instant(item.state_changed),
    )


def item_from(row: Any) -> HeldItem:
    """The item of an ``items`` row."""
    item = HeldItem(
        item_id=row[0],
        labels=json_codec.loads(row[2], LabelSet),
        topic=row[3],
        sealed=row[4],
        received=_at(row[5]),
        agreement=row[6],
        table_version=row[7],
        received_from=row[8],
        derived_from=row[9],
        state=ItemState(row[10]),
        state_changed=_maybe_at(row[11]),
    )
    if item.originator != row[1]:
        raise ValueError("the originator column disagrees with the label")
    return item


def outbox_from(row: Any) -> OutboxEntry:
    """The entry of an ``outbox`` row."""
    message = OutboxMessage(row[1], row[2], row[3], row[4], row[5], _at(row[6]))
    return OutboxEntry(
        message=message,
        seq=row[0],
        state=DeliveryState(row[7]),
        attempts=row[8],
        next_attempt=_at(row[9]),
        last_attempt=_maybe_at(row[10]),
        last_error=row[11],
        settled=_maybe_at(row[12]),
    )


def inbox_params(entry: InboxEntry) -> tuple[Any, ...]:
    """The ``inbox`` row of ``entry``."""
    return (
        entry.item_id,
        entry.sender,
        entry.digest,
        instant(entry.received),
        entry.outcome.value,
        words(entry.reasons, keep_order=True),
        entry.audit_index,
    )


def inbox_from(row: Any) -> InboxEntry:
    """The entry of an ``inbox`` row."""
    return InboxEntry(
        row[0], row[1], row[2], _at(row[3]), InboxOutcome(row[4]), _words(row[5]), row[6]
    )


def receipt_params(receipt: ReceiptRecord) -> tuple[Any, ...]:
    """The ``receipts`` row of ``receipt``."""
    r = receipt
    return (r.item_id, r.party, r.direction.value, r.token, instant(r.at))


def receipt_from(row: Any) -> ReceiptRecord:
    """The receipt of a ``receipts`` row."""
    return ReceiptRecord(row[0], row[1], ReceiptDirection(row[2]), row[3], _at(row[4]))


def official_params(record: OfficialRecord) -> tuple[Any, ...]:
    """The ``officials`` row of ``record``."""
    o = record.official
    return (
        o.id,
        o.nationality,
        o.clearance,
        words(o.duties),
        o.in_register,
        o.rank,
        o.post,
        words(r.value for r in record.roles),
        record.active,
    )


def official_from(row: Any) -> OfficialRecord:
    """The record of an ``officials`` row."""
    official = Official(
        id=row[0],
        nationality=row[1],
        clearance=row[2],
        duties=frozenset(_words(row[3])),
        in_register=bool(row[4]),
        rank=row[5],
        post=row[6],
    )
    return OfficialRecord(official, frozenset(Role(r) for r in _words(row[7])), bool(row[8]))


def consent_params(record: ConsentRecord) -> tuple[Any, ...]:
    """The ``consents`` row of ``record``."""
    c = record.consent
    return (
        c.consent_id,
        c.kind.value,
        c.item_id,
        c.item_digest,
        c.originator,
        c.holder,
        c.third_party,
        c.purpose,
        instant(c.issued),
        instant(c.expires),
        words(c.conditions, keep_order=True),
        maybe_instant(c.revoked_at),
        record.token,
        record.revocation,
    )


def consent_from(row: Any) -> ConsentRecord:
    """The record of a ``consents`` row."""
    consent = Consent(
        kind=ConsentKind(row[1]),
        consent_id=row[0],
        item_id=row[2],
        item_digest=row[3],
        originator=row[4],
        holder=row[5],
        third_party=row[6],
        purpose=row[7],
        issued=_at(row[8]),
        expires=_at(row[9]),
        conditions=_words(row[10]),
        revoked_at=_maybe_at(row[11]),
    )
    return ConsentRecord(consent, row[12], row[13])


# -- consent requests (Art. 6; node/consent.py) ---------------------------------------------------


def consent_request_params(record: ConsentRequestRecord) -> tuple[Any, ...]:
    """The ``consent_requests`` row of ``record``."""
    r = record
    return (
        r.request_id,
        r.direction.value,
        r.item_id,
        r.originator,
        r.holder,
        r.third_party,
        r.purpose,
        instant(r.requested),
        r.requested_by,
        maybe_instant(r.expires),
        r.state.value,
        maybe_instant(r.decided),
        r.decided_by,
        r.decision,
    )


def consent_request_from(row: Any) -> ConsentRequestRecord:
    """The record of a ``consent_requests`` row."""
    return ConsentRequestRecord(
        request_id=row[0],
        direction=ConsentRequestDirection(row[1]),
        item_id=row[2],
        originator=row[3],
        holder=row[4],
        third_party=row[5],
        purpose=row[6],
        requested=_at(row[7]),
        requested_by=row[8],
        expires=_maybe_at(row[9]),
        state=ConsentRequestState(row[10]),
        decided=_maybe_at(row[11]),
        decided_by=row[12],
        decision=row[13],
    )
