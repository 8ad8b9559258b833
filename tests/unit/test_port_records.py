"""The Store port's records check their fields fast, and exactly as their general checks did.

``OutboxMessage``, ``OutboxEntry``, ``InboxEntry``, ``ReceiptRecord`` and ``HeldItem`` test each
field the cheap way first (exact type, one compiled pattern) and hand anything else to the
general check.  The references below are their ``__post_init__`` as it was, verbatim, written
against the same module helpers; on every input both build the same record (field values and
their exact types) or refuse it with the same error (class, code, message, detail).
"""

from __future__ import annotations

from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime, timedelta, timezone
from enum import IntEnum, StrEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.errors import GsomiaError
from gsomia.labels import LabelSet
from gsomia.ports import records as r
from gsomia.ports.records import (
    DeliveryState,
    HeldItem,
    InboxEntry,
    InboxOutcome,
    ItemState,
    OutboxEntry,
    OutboxMessage,
    ReceiptDirection,
    ReceiptRecord,
)
from tests.conftest import make_label

# -- the references: each record's __post_init__ before its fast path ------------------------------


class _Fields:
    """A record's fields as given, settable like the frozen record (the reference's ``self``)."""

    def __init__(self, cls: type, values: dict[str, Any]) -> None:
        for f in dataclass_fields(cls):
            setattr(self, f.name, values.get(f.name, f.default))


def _ref_outbox_message(self: Any) -> None:
    r._match(r._ID, self.key, "key")
    r._match(r._PARTY, self.recipient, "recipient")
    r._match(r._KIND, self.kind, "kind")
    r._match(r._ID, self.subject, "subject")
    r._blob(self.payload, "payload")
    r._aware(self, "created")


def _ref_outbox_entry(self: Any) -> None:
    r._enum(self, "state", DeliveryState)
    for name in ("seq", "attempts"):
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise r._bad(f"{name} must be a non-negative integer", name)
    r._aware(self, "next_attempt")
    r._aware(self, "last_attempt", optional=True)
    r._aware(self, "settled", optional=True)
    if (self.state is DeliveryState.PENDING) != (self.settled is None):
        raise r._bad("settled is set exactly when the message is no longer pending", "settled")
    if self.last_error is not None and (
        not isinstance(self.last_error, str) or len(self.last_error) > r._MAX_ERROR
    ):
        raise r._bad(f"last_error is text of at most {r._MAX_ERROR} characters", "last_error")


def _ref_inbox_entry(self: Any) -> None:
    r._item_id(self.item_id)
    r._match(r._PARTY, self.sender, "sender")
    r._blob(self.digest, "digest", 32)
    r._aware(self, "received")
    r._enum(self, "outcome", InboxOutcome)
    if not isinstance(self.reasons, tuple):
        raise r._bad("reasons must be a tuple of reason codes", "reasons")
    for code in self.reasons:
        r._match(r._REASON, code, "reasons")
    if self.outcome is InboxOutcome.REJECTED and not self.reasons:
        raise r._bad("a rejection needs a reason", "reasons")
    index = self.audit_index
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise r._bad("audit_index must be a non-negative integer", "audit_index")


def _ref_receipt(self: Any) -> None:
    r._item_id(self.item_id)
    r._match(r._PARTY, self.party, "party")
    r._enum(self, "direction", ReceiptDirection)
    r._blob(self.token, "token")
    r._aware(self, "at")


def _ref_held_item(self: Any) -> None:
    r._item_id(self.item_id)
    if not isinstance(self.labels, LabelSet):
        raise r._bad("labels must be a LabelSet", "labels")
    r._match(r._TOPIC, self.topic, "topic")
    r._aware(self, "received")
    r._enum(self, "state", ItemState)
    r._aware(self, "state_changed", optional=True)
    if (self.state is ItemState.HELD) != (self.state_changed is None):
        raise r._bad("state_changed is set exactly when the item is no longer held", "state")
    if self.state is ItemState.HELD:
        r._blob(self.sealed, "sealed")
    elif self.sealed is not None:
        raise r._bad("a returned or destroyed item keeps no sealed bytes", "sealed")
    if (self.agreement is None) != (self.table_version is None):
        raise r._bad("agreement and table_version go together", "agreement")
    if self.agreement is not None:
        r._match(r._ID, self.agreement, "agreement")
        version = self.table_version
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise r._bad("table_version must be a positive integer", "table_version")
    if self.received_from is not None:
        r._match(r._PARTY, self.received_from, "received_from")
    if self.derived_from is not None:
        r._item_id(self.derived_from, "derived_from")
        if self.derived_from == self.item_id:
            raise r._bad("an item is not derived from itself", "derived_from")


REFERENCE = {
    OutboxMessage: _ref_outbox_message,
    OutboxEntry: _ref_outbox_entry,
    InboxEntry: _ref_inbox_entry,
    ReceiptRecord: _ref_receipt,
    HeldItem: _ref_held_item,
}


def _typed(cls: type, obj: object) -> tuple[object, ...]:
    return tuple(
        (type(getattr(obj, f.name)), repr(getattr(obj, f.name))) for f in dataclass_fields(cls)
    )


def _outcome(build: Any, cls: type, values: dict[str, Any]) -> tuple[object, ...]:
    try:
        return ("built", _typed(cls, build(values)))
    except GsomiaError as exc:
        return ("refused", type(exc), exc.code, exc.message, exc.detail)


def _new(cls: type) -> Any:
    return lambda values: cls(**values)


def _old(cls: type) -> Any:
    def build(values: dict[str, Any]) -> object:
        obj = _Fields(cls, values)
        REFERENCE[cls](obj)
        return obj

    return build


def _same(cls: type, values: dict[str, Any]) -> None:
    assert _outcome(_new(cls), cls, values) == _outcome(_old(cls), cls, values)


# -- inputs -------------------------------------------------------------------------------------


class _Text(StrEnum):
    JPN = "JPN"
    KIND = "item"
    BAD = "not valid"


class _Small(IntEnum):
    ONE = 1


KST = timezone(timedelta(hours=9))
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LABELS = LabelSet(make_label())
_TEXT = (
    ["JPN", "KOR", "jpn", "JP", "item", "receipt", "Item", "item-1", "item-1:JPN", "NK-MISSILE",
     "", " ", "a\n", "JPN\n", "x" * 129, "é", _Text.JPN, _Text.KIND, _Text.BAD, 1, None, b"JPN"]
)  # fmt: skip
_INSTANTS = [NOW, NOW.astimezone(KST), datetime(2026, 1, 1), "2026-01-01T00:00:00Z", None]
_BYTES = [b"x", b"", b"d" * 32, b"d" * 31, bytearray(b"x"), "x", None]
_INTS = [0, 1, 7, -1, True, False, _Small.ONE, 1.0, "1", None]

VALID: dict[type, dict[str, Any]] = {
    OutboxMessage: {"key": "item-1:JPN", "recipient": "JPN", "kind": "item",
                    "subject": "item-1", "payload": b"x", "created": NOW},
    OutboxEntry: {"message": OutboxMessage("k", "JPN", "item", "s", b"x", NOW), "seq": 1,
                  "state": DeliveryState.PENDING, "attempts": 0, "next_attempt": NOW},
    InboxEntry: {"item_id": "item-1", "sender": "KOR", "digest": b"d" * 32, "received": NOW,
                 "outcome": InboxOutcome.ACCEPTED, "reasons": (), "audit_index": 3},
    ReceiptRecord: {"item_id": "item-1", "party": "JPN", "direction": ReceiptDirection.RECEIVED,
                    "token": b"t", "at": NOW},
    HeldItem: {"item_id": "item-1", "labels": LABELS, "topic": "NK-MISSILE", "sealed": b"s",
               "received": NOW, "agreement": "KOR-JPN", "table_version": 1},
}  # fmt: skip
EDGES: dict[str, list[Any]] = {
    "key": _TEXT, "recipient": _TEXT, "kind": _TEXT, "subject": _TEXT, "payload": _BYTES,
    "created": _INSTANTS, "seq": _INTS, "attempts": _INTS, "next_attempt": _INSTANTS,
    "last_attempt": _INSTANTS, "settled": _INSTANTS,
    "state": [*DeliveryState, *ItemState, "pending", "held", "nope", 1],
    "last_error": [None, "boom", "x" * 1025, 1],
    "item_id": _TEXT, "sender": _TEXT, "digest": _BYTES, "received": _INSTANTS,
    "outcome": [*InboxOutcome, "accepted", "nope"],
    "reasons": [(), ("IN_FORCE",), ("bad",), ["IN_FORCE"], "X", (1,)],
    "audit_index": _INTS, "party": _TEXT, "token": _BYTES, "at": _INSTANTS,
    "direction": [*ReceiptDirection, "issued", "nope"],
    "labels": [LABELS, None, "labels"], "topic": _TEXT, "sealed": _BYTES,
    "agreement": _TEXT, "table_version": _INTS, "received_from": _TEXT,
    "derived_from": _TEXT, "state_changed": _INSTANTS,
}  # fmt: skip
VARIED = {name: st.sampled_from(values) for name, values in EDGES.items()}


@st.composite
def _cases(draw: st.DrawFn) -> tuple[type, dict[str, Any]]:
    cls = draw(st.sampled_from(list(VALID)))
    values = dict(VALID[cls])
    names = [f.name for f in dataclass_fields(cls) if f.name in VARIED]
    for name in draw(st.lists(st.sampled_from(names), min_size=0, max_size=3)):
        values[name] = draw(VARIED[name])
    return cls, values


@settings(max_examples=2000)
@given(_cases())
def test_each_record_is_checked_as_before(case):
    cls, values = case
    _same(cls, values)


@pytest.mark.parametrize("cls", list(VALID))
def test_each_valid_record_builds(cls):
    assert _outcome(_new(cls), cls, VALID[cls])[0] == "built"
    _same(cls, VALID[cls])


@pytest.mark.parametrize("cls", list(VALID))
@pytest.mark.parametrize("name", sorted(VARIED))
def test_each_field_edge_is_checked_as_before(cls, name):
    if name not in {f.name for f in dataclass_fields(cls)}:
        return
    for value in EDGES[name]:
        _same(cls, {**VALID[cls], name: value})
