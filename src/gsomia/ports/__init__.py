"""The ports of a national node: what the service layer needs from the world, as Protocols.

Four ports (PRODUCT.md §6): :class:`Clock`, :class:`Store`, :class:`Channel`, :class:`KeyStore`.
This package is pure (no I/O, no clock): it holds the Protocols, the immutable records that cross
them, the two state tables the records obey and the retry schedule.  Adapters implement the
Protocols (:mod:`gsomia.adapters.sqlite_store`); :mod:`gsomia.testing` holds in-memory fakes that
pass the same contract tests (``tests/contract``).

Theory of operation of the Store
--------------------------------
Everything a node persists is written inside one **unit of work**: ``with store.unit_of_work()
as uow:`` commits on a clean exit and leaves nothing behind on an exception (PRODUCT.md §8: a
rejected input leaves no partial state).  The audit log lives in the same store, so a release is
committed to the outbox *in the same transaction as its audit entry* (issue 4 §1), and an
acceptance, its inbox entry, the held item and the signed receipt that quotes the audit index
and root are one commit.  Once ``unit_of_work`` returns, the commit is durable: an item accepted
by a node is never lost by a crash (PRODUCT.md §8).

Exactly-once effect over at-least-once transport:

* the sender's **outbox** keeps a message ``pending`` until its receipt is recorded; a worker
  claims due messages by recording the attempt and the next retry instant (:class:`Backoff`)
  in a unit of work *before* sending, so a crash at any point only causes a resend;
* the receiver's **inbox** records an item id once (:meth:`UnitOfWork.record_inbound`); a
  duplicate returns the stored entry with ``duplicate=True``, to be audited and answered with the
  stored receipt, never stored twice.  Only items whose signature verified are recorded, so a
  forged message cannot claim an id before the real item arrives.

Held items follow :data:`ITEM_TRANSITIONS` (Art. 6, Art. 13: return or destruction is final, and
the sealed bytes are erased); outbox messages follow :data:`DELIVERY_TRANSITIONS`.  A write that
contradicts stored state raises :class:`~gsomia.errors.StoreError` with code ``STORE_CONFLICT``;
an unknown id, :class:`~gsomia.errors.NotFoundError`; an ill-formed record cannot be built
(:class:`~gsomia.errors.InputError`, code ``STORE_RECORD_INVALID``).

Modules: :mod:`~gsomia.ports.protocols` (the Protocols), :mod:`~gsomia.ports.records` (records and
state tables), :mod:`~gsomia.ports.backoff` (the retry schedule).  Import from ``gsomia.ports``.
"""

from gsomia.ports.backoff import Backoff
from gsomia.ports.cases import (
    BREACH_TRANSITIONS,
    DISPOSAL_TRANSITIONS,
    VISIT_TRANSITIONS,
    AgreementEventRecord,
    BreachKind,
    BreachRecord,
    BreachStatus,
    DisposalAction,
    DisposalRecord,
    DisposalState,
    ReclassificationRecord,
    Visitor,
    VisitRecord,
    VisitState,
)
from gsomia.ports.protocols import (
    BatchChannel,
    Channel,
    ChannelError,
    Clock,
    Inbound,
    KeyStore,
    Store,
    StoreReader,
    UnitOfWork,
)
from gsomia.ports.records import (
    CONSENT_REQUEST_TRANSITIONS,
    DELIVERY_TRANSITIONS,
    ITEM_TRANSITIONS,
    MAX_PAGE,
    TOKEN_HASH_SIZE,
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
    Recorded,
    Role,
    check_limit,
    check_transition,
    conflict,
    misuse,
    not_found,
    token_hash,
)

__all__ = [
    "BREACH_TRANSITIONS",
    "CONSENT_REQUEST_TRANSITIONS",
    "DELIVERY_TRANSITIONS",
    "DISPOSAL_TRANSITIONS",
    "ITEM_TRANSITIONS",
    "MAX_PAGE",
    "TOKEN_HASH_SIZE",
    "VISIT_TRANSITIONS",
    "AgreementEventRecord",
    "Backoff",
    "BatchChannel",
    "BreachKind",
    "BreachRecord",
    "BreachStatus",
    "Channel",
    "ChannelError",
    "Clock",
    "ConsentRecord",
    "ConsentRequestDirection",
    "ConsentRequestRecord",
    "ConsentRequestState",
    "DeliveryState",
    "DisposalAction",
    "DisposalRecord",
    "DisposalState",
    "HeldItem",
    "Inbound",
    "InboxEntry",
    "InboxOutcome",
    "ItemState",
    "KeyStore",
    "OfficialRecord",
    "OutboxEntry",
    "OutboxMessage",
    "ReceiptDirection",
    "ReceiptRecord",
    "ReclassificationRecord",
    "Recorded",
    "Role",
    "Store",
    "StoreReader",
    "UnitOfWork",
    "VisitRecord",
    "VisitState",
    "Visitor",
    "check_limit",
    "check_transition",
    "conflict",
    "misuse",
    "not_found",
    "token_hash",
]
