"""The four ports as Protocols: Clock, Store (with its reader and unit of work), Channel, KeyStore.

Pure: this module declares interfaces only.  See :mod:`gsomia.ports` for the theory of operation.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol, runtime_checkable

from gsomia.agreements import Event
from gsomia.audit.records import AuditRecord
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.errors import GsomiaError, InputError
from gsomia.labels import LabelSet
from gsomia.ports.cases import (
    AgreementEventRecord,
    BreachRecord,
    DisposalRecord,
    ReclassificationRecord,
    VisitRecord,
    VisitState,
)
from gsomia.ports.records import (
    ConsentRecord,
    ConsentRequestDirection,
    ConsentRequestRecord,
    ConsentRequestState,
    DeliveryState,
    HeldItem,
    InboxEntry,
    ItemState,
    OfficialRecord,
    OutboxEntry,
    OutboxMessage,
    ReceiptDirection,
    ReceiptRecord,
    Recorded,
)


class ChannelError(GsomiaError):
    """A partner node cannot be reached now; the outbox retries (issue 4 §1)."""

    code = "CHANNEL_UNAVAILABLE"
    status = 503
    exit_code = 6
    title = "Partner unreachable"


class Sent(Enum):
    """What :meth:`UnitOfWork.settle_sent` found, in the order a receipt's entry is judged
    (:mod:`gsomia.node.receipts`, ADR 0011)."""

    SETTLED = "settled"
    """The message matched and was pending: it is now acknowledged (or cancelled)."""
    MISMATCH = "mismatch"
    """No such message, or not of that kind, to that recipient, or not with that digest."""
    NOT_PENDING = "not_pending"
    """It matched but was settled before (acknowledged or cancelled): nothing changed."""
    UNKNOWN_DIGEST = "unknown_digest"
    """It was enqueued without a digest (a store migrated with the message pending): the caller
    compares the digest of its payload itself, then acknowledges or cancels; nothing changed."""


@dataclass(frozen=True, slots=True)
class Settlement:
    """One entry of a receipt, for :meth:`UnitOfWork.settle_sent_many`: the arguments of
    :meth:`UnitOfWork.settle_sent` but ``at``."""

    key: str
    kind: str
    recipient: str
    digest: bytes
    reason: str | None = None


def settle_each(uow: UnitOfWork, settlements: Sequence[Settlement], at: datetime) -> list[Sent]:
    """:meth:`UnitOfWork.settle_sent_many` one call at a time: what a store without a faster way
    runs, and what a faster way must answer."""
    if not all(isinstance(s, Settlement) for s in settlements):
        raise InputError("settle_sent_many takes Settlements", code="STORE_RECORD_INVALID")
    return [
        uow.settle_sent(
            s.key, kind=s.kind, recipient=s.recipient, digest=s.digest, at=at, reason=s.reason
        )
        for s in settlements
    ]


def record_each(
    uow: UnitOfWork, receipts: Sequence[ReceiptRecord]
) -> list[Recorded[ReceiptRecord]]:
    """:meth:`UnitOfWork.record_receipts` one call at a time (as :func:`settle_each`)."""
    return [uow.record_receipt(r) for r in receipts]


class Clock(Protocol):
    """The one place a node reads the time; the core takes ``now`` as an argument."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class StoreReader(Protocol):
    """Reads over one consistent view of a node's store (a snapshot, or a unit of work)."""

    def item(self, item_id: str) -> HeldItem | None:
        """The held item ``item_id``, whatever its state."""
        ...

    def items(
        self, *, state: ItemState | None = None, after: str | None = None, limit: int = 100
    ) -> list[HeldItem]:
        """Items by ascending id, after the id ``after``, optionally in one state."""
        ...

    def outbox_entry(self, key: str) -> OutboxEntry | None:
        """The outbox message with idempotency key ``key``."""
        ...

    def outbox(
        self,
        *,
        state: DeliveryState | None = None,
        subject: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[OutboxEntry]:
        """Outbox messages in enqueue order, with ``seq`` above ``after``."""
        ...

    def due(self, now: datetime, *, limit: int = 100) -> list[OutboxEntry]:
        """Pending messages whose next attempt is at or before ``now``, soonest first."""
        ...

    def inbox_entry(self, item_id: str) -> InboxEntry | None:
        """The inbox entry of ``item_id``."""
        ...

    def receipt(
        self, item_id: str, party: str, direction: ReceiptDirection
    ) -> ReceiptRecord | None:
        """The receipt of ``item_id`` exchanged with ``party`` in ``direction``."""
        ...

    def receipts(self, item_id: str) -> list[ReceiptRecord]:
        """Every receipt of ``item_id``, by party then direction."""
        ...

    def official(self, official_id: str) -> OfficialRecord | None:
        """The official ``official_id``, active or not."""
        ...

    def officials(self, *, after: str | None = None, limit: int = 100) -> list[OfficialRecord]:
        """Officials by ascending id, after the id ``after``."""
        ...

    def official_by_token(self, token_hash: bytes) -> OfficialRecord | None:
        """The *active* official holding the unrevoked token with this SHA-256; else None."""
        ...

    def consent(self, consent_id: str) -> ConsentRecord | None:
        """The consent ``consent_id``."""
        ...

    def consents_for(self, item_id: str) -> list[ConsentRecord]:
        """Every consent naming ``item_id``, by consent id."""
        ...

    # -- consent requests (Art. 6; node/consent.py) --

    def consent_request(self, request_id: str) -> ConsentRequestRecord | None:
        """The consent request ``request_id``, sent or received."""
        ...

    def consent_requests(
        self,
        *,
        direction: ConsentRequestDirection | None = None,
        state: ConsentRequestState | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[ConsentRequestRecord]:
        """Consent requests by ascending id, after the id ``after``, optionally filtered."""
        ...

    # -- cases: breaches, disposals, visits, reclassifications, agreement events (ports/cases.py) --

    def breach(self, breach_id: str) -> BreachRecord | None:
        """The breach ``breach_id`` (Art. 17), as reported or last updated."""
        ...

    def breaches(
        self, *, item_id: str | None = None, after: str | None = None, limit: int = 100
    ) -> list[BreachRecord]:
        """Breaches by ascending id, after the id ``after``, optionally of one item."""
        ...

    def disposal(self, disposal_id: str) -> DisposalRecord | None:
        """The return or destruction ``disposal_id`` (Art. 6, Art. 13)."""
        ...

    def disposals(
        self, *, item_id: str | None = None, after: str | None = None, limit: int = 100
    ) -> list[DisposalRecord]:
        """Disposals by ascending id, after the id ``after``, optionally of one item."""
        ...

    def visit(self, visit_id: str) -> VisitRecord | None:
        """The visit ``visit_id`` (Art. 8)."""
        ...

    def visits(self, *, after: str | None = None, limit: int = 100) -> list[VisitRecord]:
        """Visits by ascending id, after the id ``after``."""
        ...

    def reclassifications(self, item_id: str) -> list[ReclassificationRecord]:
        """The reclassifications of ``item_id`` (Art. 6), by ``seq``."""
        ...

    def agreement_events(
        self, *, agreement_id: str | None = None, after: int = 0, limit: int = 100
    ) -> list[AgreementEventRecord]:
        """The agreement events this node recorded (Art. 21), by ``seq`` above ``after``."""
        ...

    # -- end cases --

    def audit_size(self) -> int:
        """The number of audit entries (in a unit of work: including its own)."""
        ...

    def audit_entry(self, index: int) -> AuditRecord:
        """The audit record at ``index``."""
        ...

    def audit_root(self, size: int | None = None) -> bytes:
        """The RFC 9162 root of the audit log at ``size`` (default: all entries)."""
        ...

    def audit_inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The RFC 9162 §2.1.3 inclusion proof of entry ``index``."""
        ...


class UnitOfWork(StoreReader, Protocol):
    """One atomic, durable transaction: all of its writes commit together or none do."""

    def put_item(self, item: HeldItem) -> None:
        """Store a new item (``STORE_CONFLICT`` if the id exists; ``derived_from`` must exist)."""
        ...

    def set_item_state(self, item_id: str, state: ItemState, *, at: datetime) -> HeldItem:
        """Return or destroy a held item (:data:`ITEM_TRANSITIONS`), erasing its sealed bytes."""
        ...

    def relabel(self, item_id: str, labels: LabelSet) -> HeldItem:
        """Replace the label set of a held item (Art. 6 reclassification; same originator)."""
        ...

    def enqueue(self, message: OutboxMessage, *, digest: bytes | None = None) -> OutboxEntry:
        """Add a pending message due at its creation (``STORE_CONFLICT`` if the key exists).

        ``digest``: the SHA-256 (32 bytes) of the body a receipt of this message will quote (an
        item's sealed bytes), kept beside it so that :meth:`settle_sent` compares it without
        reading the payload back; ``None`` if no receipt settles it."""
        ...

    def record_attempt(
        self, key: str, *, at: datetime, next_attempt: datetime, error: str | None = None
    ) -> OutboxEntry:
        """Count an attempt of a pending message and set its next retry instant."""
        ...

    def acknowledge(self, key: str, *, at: datetime) -> OutboxEntry:
        """Settle a message as delivered (its receipt is recorded); idempotent."""
        ...

    def cancel(self, key: str, *, at: datetime, reason: str | None = None) -> OutboxEntry:
        """Stop retrying a pending message; ``reason`` (if given) becomes its ``last_error``
        (a partner's signed refusal, ADR 0011)."""
        ...

    def settle_sent(
        self,
        key: str,
        *,
        kind: str,
        recipient: str,
        digest: bytes,
        at: datetime,
        reason: str | None = None,
    ) -> Sent:
        """Settle the pending message ``key`` a receipt names, if it is of ``kind``, to
        ``recipient``, with the ``digest`` given at :meth:`enqueue`: acknowledge it, or with a
        ``reason`` cancel it (a negative receipt, ADR 0011).  Returns what was found
        (:class:`Sent`); only :attr:`Sent.SETTLED` changed anything.  The fast path of
        :meth:`outbox_entry`, compare, then :meth:`acknowledge` or :meth:`cancel`."""
        ...

    def settle_sent_many(self, settlements: Sequence[Settlement], *, at: datetime) -> list[Sent]:
        """:meth:`settle_sent` of each settlement, in order, as if called one after the other
        (a key named twice is :attr:`Sent.NOT_PENDING` the second time): the entries of one
        receipt batch, in as few statements as the store can (:func:`settle_each` otherwise)."""
        ...

    def record_inbound(self, entry: InboxEntry) -> Recorded[InboxEntry]:
        """Record an authentic item id once; a duplicate returns the stored entry."""
        ...

    def record_receipt(self, receipt: ReceiptRecord) -> Recorded[ReceiptRecord]:
        """Record a receipt once per (item, party, direction)."""
        ...

    def record_receipts(self, receipts: Sequence[ReceiptRecord]) -> list[Recorded[ReceiptRecord]]:
        """:meth:`record_receipt` of each, in order (:func:`record_each`), in as few statements
        as the store can."""
        ...

    def put_official(self, record: OfficialRecord) -> None:
        """Add or replace an official (Art. 7 clearance and duties; Art. 6 register)."""
        ...

    def add_token(self, official_id: str, token_hash: bytes, *, created: datetime) -> None:
        """Register the SHA-256 of a new API token of ``official_id``."""
        ...

    def revoke_token(self, token_hash: bytes, *, at: datetime) -> None:
        """Revoke an API token; idempotent."""
        ...

    def put_consent(self, record: ConsentRecord) -> Recorded[ConsentRecord]:
        """Record a consent once by its id (Art. 6)."""
        ...

    def revoke_consent(self, consent_id: str, *, at: datetime, revocation: bytes) -> ConsentRecord:
        """Record the originator's signed revocation of a consent (first one wins)."""
        ...

    # -- consent requests (Art. 6; node/consent.py) --

    def put_consent_request(self, record: ConsentRequestRecord) -> Recorded[ConsentRequestRecord]:
        """Record a new, pending consent request once by its id; a duplicate returns the stored one."""
        ...

    def decide_consent_request(
        self,
        request_id: str,
        state: ConsentRequestState,
        *,
        at: datetime,
        decision: bytes,
        decided_by: str | None = None,
    ) -> ConsentRequestRecord:
        """Record the originator's signed decision (:data:`CONSENT_REQUEST_TRANSITIONS`)."""
        ...

    # -- cases: breaches, disposals, visits, reclassifications, agreement events (ports/cases.py) --

    def put_breach(self, record: BreachRecord) -> Recorded[BreachRecord]:
        """Record a new breach (version 1) once by its id; a duplicate returns the stored one."""
        ...

    def update_breach(self, record: BreachRecord) -> BreachRecord:
        """Store the next version of a breach (:data:`BREACH_TRANSITIONS`; same report)."""
        ...

    def put_disposal(self, record: DisposalRecord) -> Recorded[DisposalRecord]:
        """Record a disposal once by its id; a duplicate returns the stored one."""
        ...

    def complete_disposal(
        self, disposal_id: str, *, at: datetime, certificate: bytes
    ) -> DisposalRecord:
        """Record the holder's certificate of a requested disposal (:data:`DISPOSAL_TRANSITIONS`)."""
        ...

    def put_visit(self, record: VisitRecord) -> Recorded[VisitRecord]:
        """Record a new visit request once by its id; a duplicate returns the stored one."""
        ...

    def decide_visit(
        self,
        visit_id: str,
        state: VisitState,
        *,
        at: datetime,
        decision: bytes,
        level: str | None = None,
        note: str = "",
    ) -> VisitRecord:
        """Record the host's signed decision on a visit (:data:`VISIT_TRANSITIONS`)."""
        ...

    def record_reclassification(
        self, record: ReclassificationRecord
    ) -> Recorded[ReclassificationRecord]:
        """Record the ``seq``-th reclassification of an item once; it must follow the last."""
        ...

    def record_agreement_event(
        self, agreement_id: str, event: Event, *, recorded: datetime, recorded_by: str
    ) -> AgreementEventRecord:
        """Append an agreement event to the node's own record; ``seq`` is assigned here."""
        ...

    # -- end cases --

    def append_audit(self, record: AuditRecord) -> int:
        """Append an audit record; return its index, valid once the unit of work commits."""
        ...


class Store(Protocol):
    """What a national node persists: items, outbox, inbox, receipts, officials, consents, audit.

    ``unit_of_work()`` yields a :class:`UnitOfWork` that commits on a clean exit and rolls back on
    any exception; ``read()`` yields a consistent read-only view.  Neither nests.
    """

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """A read-write transaction."""
        ...

    def read(self) -> AbstractContextManager[StoreReader]:
        """A read-only snapshot."""
        ...

    def close(self) -> None:
        """Release the store's resources."""
        ...


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message received from a partner node, authenticated by its key, never by an address."""

    sender: str
    payload: bytes
    idempotency_key: str


class Channel(Protocol):
    """The government-to-government channel (Arts. 9-12) from this node to its partners.

    Delivery is at-least-once *because the outbox retries*: the channel itself may drop or
    duplicate a message, and neither persists nor orders anything.  ``send`` returns once the
    partner node has taken the message, or raises :class:`ChannelError`; ``receive`` returns the
    messages that arrived, waiting at most ``timeout`` seconds for the first.
    """

    @property
    def party(self) -> str:
        """This node's party."""
        ...

    def send(self, party: str, payload: bytes, *, idempotency_key: str) -> None:
        """Hand a sealed payload to the node of ``party``."""
        ...

    def receive(self, *, limit: int = 100, timeout: float = 0.0) -> list[Inbound]:
        """Up to ``limit`` messages that arrived, oldest first."""
        ...

    def refusals(self) -> list[tuple[str, int]]:
        """``(code, status)`` of each inbound request the channel refused since the last call.

        The node audits them (PRODUCT.md §8: an attack on the channel shows in the audit log).
        """
        ...

    def close(self) -> None:
        """Stop sending and receiving."""
        ...


@runtime_checkable
class BatchChannel(Channel, Protocol):
    """A :class:`Channel` that can also hand several payloads to one partner in one exchange.

    ``send_many`` returns once the partner node has taken *every* message, or raises
    :class:`ChannelError`, after which none may be assumed taken (the outbox retries each).
    Each message keeps its own idempotency key; a node uses it when its channel offers it
    (:mod:`gsomia.node.delivery`), else sends one message at a time.
    """

    def send_many(self, party: str, messages: Sequence[tuple[bytes, str]]) -> None:
        """Hand ``(payload, idempotency key)`` pairs to the node of ``party``, in order."""
        ...


class KeyStore(Protocol):
    """The node's own keys and its trust store of partners' public keys."""

    def load_keys(self) -> NodeKeys:
        """The node's keys (every generation)."""
        ...

    def load_trust(self) -> TrustStore:
        """The partners' public keys the node trusts."""
        ...
