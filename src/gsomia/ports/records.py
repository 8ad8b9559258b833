"""The records that cross the Store port, and the two state tables they obey.

Immutable values checked on construction (an ill-formed record cannot be built: ``InputError``
with code ``STORE_RECORD_INVALID``).  Ids follow the audit record's identifier rule, item ids the
envelope's (:func:`gsomia.envelope.wire.valid_item_id`), parties are ISO 3166-1 alpha-3 codes and
instants are aware and kept in UTC.  Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final, Generic, TypeVar

from gsomia.envelope.wire import valid_item_id
from gsomia.errors import GsomiaError, InputError, NotFoundError, StoreError
from gsomia.instants import require_aware
from gsomia.labels import LabelSet
from gsomia.policy import Consent, ConsentKind, Official

T = TypeVar("T")
S = TypeVar("S", bound=StrEnum)
TOKEN_HASH_SIZE: Final = 32
MAX_PAGE: Final = 1000
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}\Z")  # as audit record actors/subjects
_PARTY = re.compile(r"^[A-Z]{3}\Z")
_TOPIC = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,63}\Z")
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")
_REASON = re.compile(r"^[A-Z][A-Z0-9_]{0,63}\Z")
_MAX_ERROR = 1024
# Compiled matchers for the fast checks in __post_init__: a value of the exact type that passes
# them is valid; any other value takes the general check (_match, _aware, …), which accepts it
# (a str subclass, another time zone) or raises the field's error, as it always did
# (tests/unit/test_port_records.py, ADR 0017).
_ID_MATCH = _ID.match
_PARTY_MATCH = _PARTY.match
_TOPIC_MATCH = _TOPIC.match
_KIND_MATCH = _KIND.match


def conflict(message: str, **detail: str | int | None) -> StoreError:
    """The error for a write that contradicts stored state (a duplicate, a final state)."""
    return StoreError(message, code="STORE_CONFLICT", detail=detail)


def not_found(what: str, ident: object) -> NotFoundError:
    """The error for an unknown id: code ``ITEM_NOT_FOUND``, ``OUTBOX_NOT_FOUND``, …"""
    code = f"{what.upper().replace(' ', '_')}_NOT_FOUND"
    return NotFoundError(f"no {what} {ident!r}", code=code, detail={"id": str(ident)})


def misuse(message: str) -> GsomiaError:
    """A defect of the caller: a nested unit of work, or one used after it ended."""
    return GsomiaError(message, code="STORE_MISUSE")


def _bad(message: str, field_name: str) -> InputError:
    return InputError(message, code="STORE_RECORD_INVALID", detail={"field": field_name})


def _match(pattern: re.Pattern[str], value: object, what: str) -> None:
    if not isinstance(value, str) or not pattern.match(value):
        raise _bad(f"{what} is ill-formed: {value!r}", what)


def _item_id(value: object, what: str = "item_id") -> None:
    if not isinstance(value, str) or not valid_item_id(value):
        raise _bad(f"{what} must be 1-64 characters of [A-Za-z0-9._:-]: {value!r}", what)


def _blob(value: object, what: str, size: int | None = None) -> None:
    if not isinstance(value, bytes) or not value or (size is not None and len(value) != size):
        raise _bad(f"{what} must be {size or 'non-empty'} bytes", what)


def _aware(obj: object, name: str, optional: bool = False) -> None:
    value = getattr(obj, name)
    if value is None and optional:
        return
    object.__setattr__(obj, name, require_aware(value, name))


def _enum(obj: object, name: str, kind: type[StrEnum]) -> None:
    if type(getattr(obj, name)) is kind:  # a member already
        return
    try:
        object.__setattr__(obj, name, kind(getattr(obj, name)))
    except ValueError:
        raise _bad(f"{name} must be one of {[m.value for m in kind]}", name) from None


def check_limit(limit: int) -> int:
    """A page size from 1 to :data:`MAX_PAGE` (lists are paginated, issue 4 §3)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit must be an integer from 1 to {MAX_PAGE}", code="LIMIT_INVALID")
    return limit


# -- the two state machines, as tables -----------------------------------------------------------


class ItemState(StrEnum):
    """Where a held item stands (Art. 6: no longer needed → returned or destroyed; Art. 13)."""

    HELD = "held"
    RETURNED = "returned"
    DESTROYED = "destroyed"


class DeliveryState(StrEnum):
    """Where an outbox message stands: retried until acknowledged by a receipt, or cancelled."""

    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"
    CANCELLED = "cancelled"


ITEM_TRANSITIONS: Final[Mapping[tuple[ItemState, ItemState], str]] = {
    (ItemState.HELD, ItemState.RETURNED): "Art. 6",
    (ItemState.HELD, ItemState.DESTROYED): "Art. 6, Art. 13",
}
"""Allowed (from, to) item states and the article behind each; returned and destroyed are final."""

DELIVERY_TRANSITIONS: Final[Mapping[tuple[DeliveryState, DeliveryState], str]] = {
    (DeliveryState.PENDING, DeliveryState.ACKNOWLEDGED): "signed receipt recorded",
    (DeliveryState.PENDING, DeliveryState.CANCELLED): "cancelled by a release officer",
    (DeliveryState.CANCELLED, DeliveryState.ACKNOWLEDGED): "a receipt proves delivery anyway",
}
"""Allowed (from, to) delivery states.  Acknowledging twice is idempotent, not a transition."""


def check_transition(table: Mapping[tuple[S, S], str], current: S, target: S, what: str) -> S:
    """``target`` as a state; ``STORE_CONFLICT`` unless ``(current, target)`` is in ``table``."""
    try:
        state = type(current)(target)
    except ValueError:
        raise _bad(f"unknown state {target!r}", "state") from None
    if (current, state) not in table:
        raise conflict(f"{what} cannot go from {current} to {state}", state=str(current))
    return state


# -- records -------------------------------------------------------------------------------------


class InboxOutcome(StrEnum):
    """What the node decided about an authentic inbound item (Art. 4 acceptance)."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"


class ReceiptDirection(StrEnum):
    """``received``: a partner's receipt for an item we sent; ``issued``: ours for one we got."""

    RECEIVED = "received"
    ISSUED = "issued"


class Role(StrEnum):
    """What an official may do through the API (issue 4 §1)."""

    SECURITY_OFFICER = "security_officer"
    RELEASE_OFFICER = "release_officer"
    READER = "reader"
    SENSOR_FEED = "sensor_feed"


@dataclass(frozen=True, slots=True)
class HeldItem:
    """An item this node holds, sealed at rest (Arts. 9-12), under its label set (Art. 4).

    ``received`` is when the node created (``received_from`` None) or accepted it;
    ``agreement``/``table_version`` the agreement it came under; ``derived_from`` the original of
    a reproduction or translation (Arts. 14-15).  Once returned or destroyed (Art. 6, Art. 13)
    ``sealed`` is None: the bytes are erased, the record of having held the item stays.
    """

    item_id: str
    labels: LabelSet
    topic: str
    sealed: bytes | None
    received: datetime
    agreement: str | None = None
    table_version: int | None = None
    received_from: str | None = None
    derived_from: str | None = None
    state: ItemState = ItemState.HELD
    state_changed: datetime | None = None

    def __post_init__(self) -> None:
        _item_id(self.item_id)
        if not isinstance(self.labels, LabelSet):
            raise _bad("labels must be a LabelSet", "labels")
        if type(self.topic) is not str or not _TOPIC_MATCH(self.topic):
            _match(_TOPIC, self.topic, "topic")
        if type(self.received) is not datetime or self.received.tzinfo is not UTC:
            _aware(self, "received")
        if type(self.state) is not ItemState:
            _enum(self, "state", ItemState)
        changed = self.state_changed
        if changed is not None and (type(changed) is not datetime or changed.tzinfo is not UTC):
            _aware(self, "state_changed")
        if (self.state is ItemState.HELD) != (self.state_changed is None):
            raise _bad("state_changed is set exactly when the item is no longer held", "state")
        if self.state is ItemState.HELD:
            _blob(self.sealed, "sealed")
        elif self.sealed is not None:
            raise _bad("a returned or destroyed item keeps no sealed bytes", "sealed")
        if (self.agreement is None) != (self.table_version is None):
            raise _bad("agreement and table_version go together", "agreement")
        if self.agreement is not None:
            if type(self.agreement) is not str or not _ID_MATCH(self.agreement):
                _match(_ID, self.agreement, "agreement")
            version = self.table_version
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise _bad("table_version must be a positive integer", "table_version")
        if self.received_from is not None and (
            type(self.received_from) is not str or not _PARTY_MATCH(self.received_from)
        ):
            _match(_PARTY, self.received_from, "received_from")
        if self.derived_from is not None:
            _item_id(self.derived_from, "derived_from")
            if self.derived_from == self.item_id:
                raise _bad("an item is not derived from itself", "derived_from")

    @property
    def originator(self) -> str:
        """The originating party, from the originator label (Art. 2)."""
        return self.labels.originator.originator


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A sealed message to a partner, keyed for idempotency (``key`` also travels on the wire)."""

    key: str
    recipient: str
    kind: str
    subject: str
    payload: bytes
    created: datetime

    def __post_init__(self) -> None:
        key, recipient, kind, subject = self.key, self.recipient, self.kind, self.subject
        if type(key) is not str or not _ID_MATCH(key):
            _match(_ID, key, "key")
        if type(recipient) is not str or not _PARTY_MATCH(recipient):
            _match(_PARTY, recipient, "recipient")
        if type(kind) is not str or not _KIND_MATCH(kind):
            _match(_KIND, kind, "kind")
        if type(subject) is not str or not _ID_MATCH(subject):
            _match(_ID, subject, "subject")
        if type(self.payload) is not bytes or not self.payload:
            _blob(self.payload, "payload")
        if type(self.created) is not datetime or self.created.tzinfo is not UTC:
            _aware(self, "created")


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An outbox message with its delivery state; ``seq`` is the store's enqueue order."""

    message: OutboxMessage
    seq: int
    state: DeliveryState
    attempts: int
    next_attempt: datetime
    last_attempt: datetime | None = None
    last_error: str | None = None
    settled: datetime | None = None

    def __post_init__(self) -> None:
        if type(self.state) is not DeliveryState:
            _enum(self, "state", DeliveryState)
        for name, value in (("seq", self.seq), ("attempts", self.attempts)):
            if type(value) is not int and (isinstance(value, bool) or not isinstance(value, int)):
                raise _bad(f"{name} must be a non-negative integer", name)
            if value < 0:
                raise _bad(f"{name} must be a non-negative integer", name)
        if type(self.next_attempt) is not datetime or self.next_attempt.tzinfo is not UTC:
            _aware(self, "next_attempt")
        last, settled = self.last_attempt, self.settled
        if last is not None and (type(last) is not datetime or last.tzinfo is not UTC):
            _aware(self, "last_attempt")
        if settled is not None and (type(settled) is not datetime or settled.tzinfo is not UTC):
            _aware(self, "settled")
        if (self.state is DeliveryState.PENDING) != (self.settled is None):
            raise _bad("settled is set exactly when the message is no longer pending", "settled")
        if self.last_error is not None and (
            not isinstance(self.last_error, str) or len(self.last_error) > _MAX_ERROR
        ):
            raise _bad(f"last_error is text of at most {_MAX_ERROR} characters", "last_error")

    @property
    def key(self) -> str:
        """The message's idempotency key."""
        return self.message.key


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """An authentic inbound item id, recorded once; ``digest`` is SHA-256 of its sealed bytes.

    ``audit_index`` is the index of the audit record of the decision (accept or reject), which a
    receipt quotes.
    """

    item_id: str
    sender: str
    digest: bytes
    received: datetime
    outcome: InboxOutcome
    reasons: tuple[str, ...] = ()
    audit_index: int | None = None

    def __post_init__(self) -> None:
        _item_id(self.item_id)
        if type(self.sender) is not str or not _PARTY_MATCH(self.sender):
            _match(_PARTY, self.sender, "sender")
        if type(self.digest) is not bytes or len(self.digest) != 32:
            _blob(self.digest, "digest", 32)
        if type(self.received) is not datetime or self.received.tzinfo is not UTC:
            _aware(self, "received")
        if type(self.outcome) is not InboxOutcome:
            _enum(self, "outcome", InboxOutcome)
        if not isinstance(self.reasons, tuple):
            raise _bad("reasons must be a tuple of reason codes", "reasons")
        for code in self.reasons:
            _match(_REASON, code, "reasons")
        if self.outcome is InboxOutcome.REJECTED and not self.reasons:
            raise _bad("a rejection needs a reason", "reasons")
        index = self.audit_index
        if index is not None and (
            isinstance(index, bool) or not isinstance(index, int) or index < 0
        ):
            raise _bad("audit_index must be a non-negative integer", "audit_index")


@dataclass(frozen=True, slots=True)
class ReceiptRecord:
    """A signed receipt token (:mod:`gsomia.proofs.tokens`) for ``item_id``.

    ``party`` is the counterpart: the recipient who signed it (``received``) or the sender it was
    issued to (``issued``).
    """

    item_id: str
    party: str
    direction: ReceiptDirection
    token: bytes
    at: datetime

    def __post_init__(self) -> None:
        _item_id(self.item_id)
        if type(self.party) is not str or not _PARTY_MATCH(self.party):
            _match(_PARTY, self.party, "party")
        if type(self.direction) is not ReceiptDirection:
            _enum(self, "direction", ReceiptDirection)
        if type(self.token) is not bytes or not self.token:
            _blob(self.token, "token")
        if type(self.at) is not datetime or self.at.tzinfo is not UTC:
            _aware(self, "at")


@dataclass(frozen=True, slots=True)
class OfficialRecord:
    """An official in the node's directory (Art. 7) with API roles; rank never grants access."""

    official: Official
    roles: frozenset[Role] = field(default_factory=frozenset)
    active: bool = True

    def __post_init__(self) -> None:
        o = self.official
        if not isinstance(o, Official):
            raise _bad("official must be a gsomia.policy.Official", "official")
        _match(_ID, o.id, "id")
        _match(_PARTY, o.nationality, "nationality")
        if o.clearance is not None and (not isinstance(o.clearance, str) or not o.clearance):
            raise _bad("clearance is a level name or None", "clearance")
        if not isinstance(o.duties, frozenset):
            raise _bad("duties must be a frozenset of topics", "duties")
        for topic in o.duties:
            _match(_TOPIC, topic, "duties")
        if not isinstance(o.rank, str) or not isinstance(o.post, str):
            raise _bad("rank and post are text", "rank")
        if not isinstance(self.roles, frozenset):
            raise _bad("roles must be a frozenset of Role", "roles")
        try:
            object.__setattr__(self, "roles", frozenset(Role(r) for r in self.roles))
        except ValueError:
            raise _bad(f"roles must be among {[r.value for r in Role]}", "roles") from None
        if not isinstance(o.in_register, bool) or not isinstance(self.active, bool):
            raise _bad("in_register and active are booleans", "active")


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """A written consent or relay approval (Art. 6, TISA) with its signed token and revocation."""

    consent: Consent
    token: bytes
    revocation: bytes | None = None

    def __post_init__(self) -> None:
        c = self.consent
        if not isinstance(c, Consent):
            raise _bad("consent must be a gsomia.policy.Consent", "consent")
        _match(_ID, c.consent_id, "consent_id")
        _item_id(c.item_id)
        if not isinstance(c.kind, ConsentKind):
            raise _bad("kind must be a ConsentKind", "kind")
        for name in ("item_digest", "purpose"):
            if not isinstance(getattr(c, name), str) or not getattr(c, name):
                raise _bad(f"{name} must be non-empty text", name)
        for name in ("originator", "holder", "third_party"):
            _match(_PARTY, getattr(c, name), name)
        if not isinstance(c.conditions, tuple) or not all(isinstance(x, str) for x in c.conditions):
            raise _bad("conditions must be a tuple of text", "conditions")
        _blob(self.token, "token")
        if self.revocation is not None:
            _blob(self.revocation, "revocation")
        if (self.revocation is None) != (c.revoked_at is None):
            raise _bad("a revocation token goes with revoked_at", "revocation")


@dataclass(frozen=True, slots=True)
class Recorded(Generic[T]):
    """The stored value after a record-once write; ``duplicate`` if it was there before."""

    value: T
    duplicate: bool


def token_hash(token: str) -> bytes:
    """SHA-256 of an API token: the only form a store ever holds (issue 4 §1)."""
    return hashlib.sha256(token.encode("utf-8")).digest()


# -- consent requests (Art. 6): holder → originator, decided by the originator ------------------
# (node/consent.py; issue 4 §2 "third-party forward with the originator's consent")


class ConsentRequestState(StrEnum):
    """Where a request for the originator's prior written consent stands (Art. 6)."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class ConsentRequestDirection(StrEnum):
    """``sent``: we hold the item and asked its originator; ``received``: we were asked."""

    SENT = "sent"
    RECEIVED = "received"


CONSENT_REQUEST_TRANSITIONS: Final[
    Mapping[tuple[ConsentRequestState, ConsentRequestState], str]
] = {
    (ConsentRequestState.PENDING, ConsentRequestState.APPROVED): "Art. 6: written consent given",
    (ConsentRequestState.PENDING, ConsentRequestState.REFUSED): "Art. 6: consent refused",
}
"""Allowed (from, to) states of a consent request; a decision is final."""


@dataclass(frozen=True, slots=True)
class ConsentRequestRecord:
    """A holder's request for the originator's consent to forward an item (Art. 6).

    ``request_id`` is also the id of the consent it may become.  ``requested_by`` is the
    holder's official who asked, ``expires`` the expiry asked for (the originator may choose
    another).  Once decided, ``decision`` holds the originator's signed token: the consent
    (approved) or a revocation naming the request id (refused); ``decided_by`` is the
    originator's security officer, known only at the originator's node.
    """

    request_id: str
    direction: ConsentRequestDirection
    item_id: str
    originator: str
    holder: str
    third_party: str
    purpose: str
    requested: datetime
    requested_by: str
    expires: datetime | None = None
    state: ConsentRequestState = ConsentRequestState.PENDING
    decided: datetime | None = None
    decided_by: str | None = None
    decision: bytes | None = None

    def __post_init__(self) -> None:
        _item_id(self.request_id, "request_id")
        _enum(self, "direction", ConsentRequestDirection)
        _item_id(self.item_id)
        for name in ("originator", "holder", "third_party"):
            _match(_PARTY, getattr(self, name), name)
        if len({self.originator, self.holder, self.third_party}) != 3:
            raise _bad("originator, holder and third party are three parties", "third_party")
        if not isinstance(self.purpose, str) or not self.purpose:
            raise _bad("purpose must be non-empty text", "purpose")
        _aware(self, "requested")
        _match(_ID, self.requested_by, "requested_by")
        _aware(self, "expires", optional=True)
        _enum(self, "state", ConsentRequestState)
        _aware(self, "decided", optional=True)
        pending = self.state is ConsentRequestState.PENDING
        if pending != (self.decided is None) or pending != (self.decision is None):
            raise _bad("decided and decision are set exactly when the request is decided", "state")
        if self.decision is not None:
            _blob(self.decision, "decision")
        if self.decided_by is not None:
            _match(_ID, self.decided_by, "decided_by")
            if pending:
                raise _bad("a pending request has no decider", "decided_by")
