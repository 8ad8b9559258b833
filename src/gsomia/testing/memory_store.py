"""The in-memory Store: the :class:`~gsomia.ports.Store` contract without a disk.

A unit of work writes into a shallow copy of the committed state (dicts of immutable records, so a
copy is a snapshot) and swaps it in on a clean exit; on an exception the copy is dropped, and the
audit tree, extended as entries are appended so that a unit can quote its own root, is cut back
to the committed size.  Conflicts are checked before anything changes, so a caught
``STORE_CONFLICT`` leaves the unit usable, as SQLite's statement rollback does.  Every error code
matches :mod:`gsomia.adapters.sqlite_store`; ``tests/contract`` holds both to that.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from gsomia.audit.merkle import MerkleTree
from gsomia.audit.records import AuditRecord
from gsomia.errors import InputError
from gsomia.instants import require_aware
from gsomia.labels import LabelSet
from gsomia.ports import (
    CONSENT_REQUEST_TRANSITIONS,
    DELIVERY_TRANSITIONS,
    ITEM_TRANSITIONS,
    TOKEN_HASH_SIZE,
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
    Store,
    check_limit,
    check_transition,
    conflict,
    misuse,
    not_found,
)
from gsomia.ports.protocols import Sent, Settlement, record_each, settle_each
from gsomia.testing.memory_cases import CasesReader, CaseState, CasesWriter  # Arts. 6, 8, 13, 17

__all__ = ["InMemoryStore"]

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Token:
    official_id: str
    created: datetime
    revoked: datetime | None = None


@dataclass(slots=True)
class _State:
    """Committed state: dicts of immutable records, so a shallow copy is a snapshot."""

    items: dict[str, HeldItem] = field(default_factory=dict)
    outbox: dict[str, OutboxEntry] = field(default_factory=dict)
    seq: int = 0
    inbox: dict[str, InboxEntry] = field(default_factory=dict)
    receipts: dict[tuple[str, str, ReceiptDirection], ReceiptRecord] = field(default_factory=dict)
    officials: dict[str, OfficialRecord] = field(default_factory=dict)
    tokens: dict[bytes, _Token] = field(default_factory=dict)
    consents: dict[str, ConsentRecord] = field(default_factory=dict)
    audit: list[bytes] = field(default_factory=list)
    consent_requests: dict[str, ConsentRequestRecord] = field(default_factory=dict)  # Art. 6
    cases: CaseState = field(default_factory=CaseState)  # breaches, disposals, visits, … (cases)
    digests: dict[str, bytes] = field(default_factory=dict)  # outbox key -> digest at enqueue

    def copy(self) -> _State:
        return _State(
            dict(self.items),
            dict(self.outbox),
            self.seq,
            dict(self.inbox),
            dict(self.receipts),
            dict(self.officials),
            dict(self.tokens),
            dict(self.consents),
            self.audit,  # append-only: a unit of work appends to a copy made on first use
            consent_requests=dict(self.consent_requests),
            cases=self.cases.copy(),
            digests=dict(self.digests),
        )


_MAX_ERROR = 1024  # the longest last_error an OutboxEntry takes


def _check_digest(digest: object) -> bytes | None:
    """``digest`` if it is ``None`` or 32 bytes (SHA-256); else ``STORE_RECORD_INVALID``."""
    if digest is None or (isinstance(digest, bytes) and len(digest) == 32):
        return digest
    raise InputError(
        "a digest is 32 bytes of SHA-256", code="STORE_RECORD_INVALID", detail={"field": "digest"}
    )


def _page(rows: Iterable[V], key: Callable[[V], Any], limit: int) -> list[V]:
    return sorted(rows, key=key)[: check_limit(limit)]


class _Reader(CasesReader):
    """:class:`~gsomia.ports.StoreReader` over one :class:`_State` and the store's tree."""

    def __init__(self, state: _State, tree: MerkleTree) -> None:
        self._state = state
        self._tree = tree
        self.closed = False

    @property
    def _s(self) -> _State:
        if self.closed:
            raise misuse("this unit of work or read has ended")
        return self._state

    @property
    def _cases(self) -> CaseState:  # the case records (gsomia.testing.memory_cases)
        return self._s.cases

    def item(self, item_id: str) -> HeldItem | None:
        return self._s.items.get(item_id)

    def items(
        self, *, state: ItemState | None = None, after: str | None = None, limit: int = 100
    ) -> list[HeldItem]:
        rows = (
            v
            for k, v in self._s.items.items()
            if (state is None or v.state == state) and (after is None or k > after)
        )
        return _page(rows, lambda v: v.item_id, limit)

    def outbox_entry(self, key: str) -> OutboxEntry | None:
        return self._s.outbox.get(key)

    def outbox(
        self,
        *,
        state: DeliveryState | None = None,
        subject: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[OutboxEntry]:
        rows = (
            v
            for v in self._s.outbox.values()
            if v.seq > after
            and (state is None or v.state == state)
            and (subject is None or v.message.subject == subject)
        )
        return _page(rows, lambda v: v.seq, limit)

    def due(self, now: datetime, *, limit: int = 100) -> list[OutboxEntry]:
        now = require_aware(now, "now")
        rows = (
            v
            for v in self._s.outbox.values()
            if v.state is DeliveryState.PENDING and v.next_attempt <= now
        )
        return _page(rows, lambda v: (v.next_attempt, v.seq), limit)

    def inbox_entry(self, item_id: str) -> InboxEntry | None:
        return self._s.inbox.get(item_id)

    def receipt(
        self, item_id: str, party: str, direction: ReceiptDirection
    ) -> ReceiptRecord | None:
        return self._s.receipts.get((item_id, party, direction))

    def receipts(self, item_id: str) -> list[ReceiptRecord]:
        rows = [r for (i, _, _), r in self._s.receipts.items() if i == item_id]
        return sorted(rows, key=lambda r: (r.party, r.direction.value))

    def official(self, official_id: str) -> OfficialRecord | None:
        return self._s.officials.get(official_id)

    def officials(self, *, after: str | None = None, limit: int = 100) -> list[OfficialRecord]:
        rows = (v for k, v in self._s.officials.items() if after is None or k > after)
        return _page(rows, lambda v: v.official.id, limit)

    def official_by_token(self, token_hash: bytes) -> OfficialRecord | None:
        token = self._s.tokens.get(token_hash) if isinstance(token_hash, bytes) else None
        if token is None or token.revoked is not None:
            return None
        record = self._s.officials.get(token.official_id)
        return record if record is not None and record.active else None

    def consent(self, consent_id: str) -> ConsentRecord | None:
        return self._s.consents.get(consent_id)

    def consents_for(self, item_id: str) -> list[ConsentRecord]:
        rows = [c for c in self._s.consents.values() if c.consent.item_id == item_id]
        return sorted(rows, key=lambda c: c.consent.consent_id)

    # -- consent requests (Art. 6) --

    def consent_request(self, request_id: str) -> ConsentRequestRecord | None:
        return self._s.consent_requests.get(request_id)

    def consent_requests(
        self,
        *,
        direction: ConsentRequestDirection | None = None,
        state: ConsentRequestState | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[ConsentRequestRecord]:
        rows = (
            v
            for k, v in self._s.consent_requests.items()
            if (direction is None or v.direction == direction)
            and (state is None or v.state == state)
            and (after is None or k > after)
        )
        return _page(rows, lambda v: v.request_id, limit)

    def audit_size(self) -> int:
        return len(self._s.audit)

    def audit_entry(self, index: int) -> AuditRecord:
        if (
            isinstance(index, bool)
            or not isinstance(index, int)
            or not 0 <= index < len(self._s.audit)
        ):
            raise InputError(
                f"index {index} is not below the log's size {len(self._s.audit)}",
                code="AUDIT_INDEX_OUT_OF_RANGE",
            )
        return AuditRecord.from_bytes(self._s.audit[index])

    def audit_root(self, size: int | None = None) -> bytes:
        return self._tree.root() if size is None else self._tree.root_at(size)

    def audit_inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return self._tree.inclusion_proof(index, size)


class _UnitOfWork(_Reader, CasesWriter):
    """:class:`~gsomia.ports.UnitOfWork` writing into a private copy of the state."""

    def __init__(self, state: _State, tree: MerkleTree) -> None:
        super().__init__(state, tree)
        self._own_audit = False

    def _open(self) -> _State:
        return self._s

    def put_item(self, item: HeldItem) -> None:
        s = self._open()
        if not isinstance(item, HeldItem) or item.state is not ItemState.HELD:
            raise InputError("a new item is a HeldItem in state held", code="STORE_RECORD_INVALID")
        if item.item_id in s.items:
            raise conflict(f"item {item.item_id!r} exists", item_id=item.item_id)
        if item.derived_from is not None and item.derived_from not in s.items:
            raise not_found("item", item.derived_from)
        s.items[item.item_id] = item

    def set_item_state(self, item_id: str, state: ItemState, *, at: datetime) -> HeldItem:
        s = self._open()
        item = s.items.get(item_id)
        if item is None:
            raise not_found("item", item_id)
        target = check_transition(ITEM_TRANSITIONS, item.state, state, f"item {item_id!r}")
        new = replace(item, state=target, state_changed=at, sealed=None)
        s.items[item_id] = new
        return new

    def relabel(self, item_id: str, labels: LabelSet) -> HeldItem:
        s = self._open()
        item = s.items.get(item_id)
        if item is None:
            raise not_found("item", item_id)
        new = replace(item, labels=labels)
        if item.state is not ItemState.HELD or new.originator != item.originator:
            raise conflict(f"item {item_id!r} cannot be relabelled so", item_id=item_id)
        s.items[item_id] = new
        return new

    def enqueue(self, message: OutboxMessage, *, digest: bytes | None = None) -> OutboxEntry:
        s = self._open()
        if not isinstance(message, OutboxMessage):
            raise InputError("enqueue takes an OutboxMessage", code="STORE_RECORD_INVALID")
        _check_digest(digest)
        if message.key in s.outbox:
            raise conflict(f"outbox key {message.key!r} exists", key=message.key)
        s.seq += 1
        entry = OutboxEntry(message, s.seq, DeliveryState.PENDING, 0, message.created)
        s.outbox[message.key] = entry
        if digest is not None:
            s.digests[message.key] = digest
        return entry

    def _entry(self, key: str) -> OutboxEntry:
        entry = self._open().outbox.get(key)
        if entry is None:
            raise not_found("outbox", key)
        return entry

    def record_attempt(
        self, key: str, *, at: datetime, next_attempt: datetime, error: str | None = None
    ) -> OutboxEntry:
        entry = self._entry(key)
        if entry.state is not DeliveryState.PENDING:
            raise conflict(f"outbox message {key!r} is {entry.state}", key=key)
        new = replace(
            entry,
            attempts=entry.attempts + 1,
            last_attempt=at,
            next_attempt=next_attempt,
            last_error=error,
        )
        self._s.outbox[key] = new
        return new

    def _settle(
        self, key: str, target: DeliveryState, at: datetime, reason: str | None = None
    ) -> OutboxEntry:
        entry = self._entry(key)
        if entry.state is target is DeliveryState.ACKNOWLEDGED:
            return entry
        check_transition(DELIVERY_TRANSITIONS, entry.state, target, f"outbox message {key!r}")
        new = replace(entry, state=target, settled=at)
        if reason is not None:
            new = replace(new, last_error=reason)
        self._s.outbox[key] = new
        return new

    def acknowledge(self, key: str, *, at: datetime) -> OutboxEntry:
        return self._settle(key, DeliveryState.ACKNOWLEDGED, at)

    def cancel(self, key: str, *, at: datetime, reason: str | None = None) -> OutboxEntry:
        return self._settle(key, DeliveryState.CANCELLED, at, reason)

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
        s = self._open()
        if _check_digest(digest) is None or not all(
            isinstance(v, str) for v in (key, kind, recipient)
        ):
            raise InputError("settle_sent takes text and a digest", code="STORE_RECORD_INVALID")
        require_aware(at, "at")
        if reason is not None and (not isinstance(reason, str) or len(reason) > _MAX_ERROR):
            raise InputError(
                f"last_error is text of at most {_MAX_ERROR} characters",
                code="STORE_RECORD_INVALID",
                detail={"field": "last_error"},
            )
        entry = s.outbox.get(key)
        if entry is None or entry.message.kind != kind or entry.message.recipient != recipient:
            return Sent.MISMATCH
        stored = s.digests.get(key)
        if stored is None:
            return Sent.UNKNOWN_DIGEST
        if stored != digest:
            return Sent.MISMATCH
        if entry.state is not DeliveryState.PENDING:
            return Sent.NOT_PENDING
        if reason is None:
            self.acknowledge(key, at=at)
        else:
            self.cancel(key, at=at, reason=reason)
        return Sent.SETTLED

    def settle_sent_many(self, settlements: Sequence[Settlement], *, at: datetime) -> list[Sent]:
        return settle_each(self, settlements, at)

    def record_inbound(self, entry: InboxEntry) -> Recorded[InboxEntry]:
        s = self._open()
        if not isinstance(entry, InboxEntry):
            raise InputError("record_inbound takes an InboxEntry", code="STORE_RECORD_INVALID")
        if entry.item_id in s.inbox:
            return Recorded(s.inbox[entry.item_id], True)
        s.inbox[entry.item_id] = entry
        return Recorded(entry, False)

    def record_receipt(self, receipt: ReceiptRecord) -> Recorded[ReceiptRecord]:
        s = self._open()
        if not isinstance(receipt, ReceiptRecord):
            raise InputError("record_receipt takes a ReceiptRecord", code="STORE_RECORD_INVALID")
        key = (receipt.item_id, receipt.party, receipt.direction)
        if key in s.receipts:
            return Recorded(s.receipts[key], True)
        s.receipts[key] = receipt
        return Recorded(receipt, False)

    def record_receipts(self, receipts: Sequence[ReceiptRecord]) -> list[Recorded[ReceiptRecord]]:
        return record_each(self, receipts)

    def put_official(self, record: OfficialRecord) -> None:
        s = self._open()
        if not isinstance(record, OfficialRecord):
            raise InputError("put_official takes an OfficialRecord", code="STORE_RECORD_INVALID")
        s.officials[record.official.id] = record

    def add_token(self, official_id: str, token_hash: bytes, *, created: datetime) -> None:
        s = self._open()
        if not isinstance(token_hash, bytes) or len(token_hash) != TOKEN_HASH_SIZE:
            raise InputError("a token hash is 32 bytes of SHA-256", code="STORE_RECORD_INVALID")
        token = _Token(official_id, require_aware(created, "created"))
        if official_id not in s.officials:
            raise not_found("official", official_id)
        if token_hash in s.tokens:
            raise conflict("this token is already registered")
        s.tokens[token_hash] = token

    def revoke_token(self, token_hash: bytes, *, at: datetime) -> None:
        s = self._open()
        token = s.tokens.get(token_hash) if isinstance(token_hash, bytes) else None
        if token is None:
            raise not_found("token", "(hash)")
        if token.revoked is None:
            s.tokens[token_hash] = replace(token, revoked=require_aware(at, "at"))

    def put_consent(self, record: ConsentRecord) -> Recorded[ConsentRecord]:
        s = self._open()
        if not isinstance(record, ConsentRecord):
            raise InputError("put_consent takes a ConsentRecord", code="STORE_RECORD_INVALID")
        if record.consent.consent_id in s.consents:
            return Recorded(s.consents[record.consent.consent_id], True)
        s.consents[record.consent.consent_id] = record
        return Recorded(record, False)

    def revoke_consent(self, consent_id: str, *, at: datetime, revocation: bytes) -> ConsentRecord:
        s = self._open()
        record = s.consents.get(consent_id)
        if record is None:
            raise not_found("consent", consent_id)
        if record.revocation is not None:
            return record
        new = replace(record, consent=replace(record.consent, revoked_at=at), revocation=revocation)
        s.consents[consent_id] = new
        return new

    # -- consent requests (Art. 6) --

    def put_consent_request(self, record: ConsentRequestRecord) -> Recorded[ConsentRequestRecord]:
        s = self._open()
        if (
            not isinstance(record, ConsentRequestRecord)
            or record.state is not ConsentRequestState.PENDING
        ):
            raise InputError(
                "a new consent request is a ConsentRequestRecord in state pending",
                code="STORE_RECORD_INVALID",
            )
        stored = s.consent_requests.get(record.request_id)
        if stored is not None:
            return Recorded(stored, True)
        s.consent_requests[record.request_id] = record
        return Recorded(record, False)

    def decide_consent_request(
        self,
        request_id: str,
        state: ConsentRequestState,
        *,
        at: datetime,
        decision: bytes,
        decided_by: str | None = None,
    ) -> ConsentRequestRecord:
        s = self._open()
        record = s.consent_requests.get(request_id)
        if record is None:
            raise not_found("consent request", request_id)
        target = check_transition(
            CONSENT_REQUEST_TRANSITIONS, record.state, state, f"consent request {request_id!r}"
        )
        new = replace(record, state=target, decided=at, decided_by=decided_by, decision=decision)
        s.consent_requests[request_id] = new
        return new

    def append_audit(self, record: AuditRecord) -> int:
        s = self._open()
        if not isinstance(record, AuditRecord):
            raise InputError("append_audit takes an AuditRecord", code="AUDIT_ENTRY_INVALID")
        entry = record.to_bytes()
        if not self._own_audit:
            s.audit, self._own_audit = list(s.audit), True
        s.audit.append(entry)
        self._tree.append(entry)
        return len(s.audit) - 1


class InMemoryStore:
    """The :class:`~gsomia.ports.Store` contract in memory (see the module docstring)."""

    def __init__(self) -> None:
        self._state = _State()
        self._tree = MerkleTree()
        self._lock = threading.RLock()
        self._busy = False
        self._closed = False

    @contextmanager
    def _enter(self) -> Iterator[None]:
        with self._lock:
            if self._closed:
                raise misuse("the store is closed")
            if self._busy:
                raise misuse("units of work and reads do not nest")
            self._busy = True
            try:
                yield
            finally:
                self._busy = False

    @contextmanager
    def unit_of_work(self) -> Iterator[_UnitOfWork]:
        """A read-write transaction over a copy of the state, swapped in on a clean exit."""
        with self._enter():
            committed = self._tree.size
            uow = _UnitOfWork(self._state.copy(), self._tree)
            try:
                yield uow
            except BaseException:
                if self._tree.size != committed:  # forget the appended leaves
                    leaves = [self._tree.leaf_hash_at(i) for i in range(committed)]
                    self._tree = MerkleTree.from_leaf_hashes(leaves)
                raise
            finally:
                uow.closed = True
            self._state = uow._state

    @contextmanager
    def read(self) -> Iterator[_Reader]:
        """A read-only view of the committed state."""
        with self._enter():
            reader = _Reader(self._state, self._tree)
            try:
                yield reader
            finally:
                reader.closed = True

    def close(self) -> None:
        """Refuse further use."""
        self._closed = True


def _conformance(store: InMemoryStore) -> Store:
    """Never called: lets mypy check that :class:`InMemoryStore` implements the port."""
    return store
