"""Writes of the node store inside ``BEGIN IMMEDIATE`` … ``COMMIT`` (see :mod:`.reader`).

Each write reports a conflict with the same message and code as
:class:`~gsomia.testing.InMemoryStore`.  Writes on the hot paths of a node (a new item, inbox
entry or receipt; claiming, acknowledging and settling an outbox message) run ONE literal
statement of :mod:`.queries` in the common case (a new outbox message two: its row, then its
payload's row in ``outbox_payloads``, written once, ADR 0022): the schema's keys detect what
exists, and a guarded ``UPDATE … RETURNING`` changes a row only from the states the transition table
allows; only when that statement finds a conflict, or no row, is the stored state read to return
the first record or raise the precise error.  A claim of a message this unit's ``due`` just read
is built from what ``due`` read (the message, seq and attempts of a pending row cannot change
under the unit's lock), and :meth:`SqliteUnitOfWork.settle_sent` compares the digest kept at
enqueue (ADR 0011), so neither reads nor decodes the payload.  Other writes check stored state
first; the schema's constraints and triggers stand behind every check.

Runs of writes whose result is known without SQLite go in one ``executemany`` (ADR 0018): the
claims of messages ``due`` read are written before the unit's next statement, and the audit
entries, whose index and leaf hash the tree gives at append time, before the next read of the
audit table and at :meth:`SqliteUnitOfWork.finish`, which then adds the checkpoint
``(size, root)`` just before ``COMMIT``, as :mod:`gsomia.adapters.sqlite_audit` does for a
batch.  A run that does not change exactly its rows fails the unit, which then rolls back whole.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from gsomia.adapters.sqlite_store import codec
from gsomia.adapters.sqlite_store import queries as q
from gsomia.adapters.sqlite_store.cases import CasesWriter
from gsomia.adapters.sqlite_store.reader import AuditState, SqliteReader
from gsomia.audit.merkle import leaf_hash
from gsomia.audit.records import AuditRecord
from gsomia.errors import InputError, StoreError
from gsomia.instants import require_aware
from gsomia.labels import LabelSet
from gsomia.ports import (
    CONSENT_REQUEST_TRANSITIONS,
    DELIVERY_TRANSITIONS,
    ITEM_TRANSITIONS,
    TOKEN_HASH_SIZE,
    ConsentRecord,
    ConsentRequestRecord,
    ConsentRequestState,
    DeliveryState,
    HeldItem,
    InboxEntry,
    ItemState,
    OfficialRecord,
    OutboxEntry,
    OutboxMessage,
    ReceiptRecord,
    Recorded,
    check_transition,
    conflict,
    not_found,
)
from gsomia.ports.protocols import Sent, Settlement

_MAX_ERROR = 1024
"""The longest ``last_error`` (as :class:`~gsomia.ports.OutboxEntry` checks it)."""


def _check_digest(digest: object) -> None:
    if digest is not None and not (isinstance(digest, bytes) and len(digest) == 32):
        raise InputError(
            "a digest is 32 bytes of SHA-256",
            code="STORE_RECORD_INVALID",
            detail={"field": "digest"},
        )


def _check_reason(reason: object) -> None:
    """The check :class:`~gsomia.ports.OutboxEntry` makes of ``last_error`` (text, bounded)."""
    if not isinstance(reason, str) or len(reason) > _MAX_ERROR:
        raise InputError(
            f"last_error is text of at most {_MAX_ERROR} characters",
            code="STORE_RECORD_INVALID",
            detail={"field": "last_error"},
        )


def _check_sent(key: object, kind: object, recipient: object, digest: object) -> None:
    """The arguments of a settlement: text, and a SHA-256 digest."""
    _check_digest(digest)
    if digest is None or not all(isinstance(v, str) for v in (key, kind, recipient)):
        raise InputError("settle_sent takes text and a digest", code="STORE_RECORD_INVALID")


def _settlement(s: object) -> Settlement:
    """``s``, checked as :meth:`SqliteUnitOfWork.settle_sent` checks its arguments."""
    if not isinstance(s, Settlement):
        raise InputError("settle_sent_many takes Settlements", code="STORE_RECORD_INVALID")
    _check_sent(s.key, s.kind, s.recipient, s.digest)
    if s.reason is not None:
        _check_reason(s.reason)
    return s


def _aware(value: object) -> bool:
    """An aware datetime: the fast paths take it; anything else goes the checking way."""
    return isinstance(value, datetime) and value.utcoffset() is not None


class SqliteUnitOfWork(SqliteReader, CasesWriter):  # cases: breaches, disposals, … (cases.py)
    """A :class:`~gsomia.ports.UnitOfWork` inside ``BEGIN IMMEDIATE`` … ``COMMIT``."""

    enqueued = False
    """Whether this unit queued an outbox message (the store wakes the sender after COMMIT)."""

    def __init__(self, db: sqlite3.Connection, audit: AuditState, path: str) -> None:
        super().__init__(db, audit, path)
        self.base_size = audit.tree.size  # the committed size: the store synced it after BEGIN
        self._due: dict[str, OutboxEntry] = {}  # the entries ``due`` read in this unit, by key
        self._claims: list[tuple[str, str, str]] = []  # claims of ``_due`` entries, not yet run
        self._audit_rows: list[tuple[int, bytes, bytes]] = []  # audit entries, not yet inserted

    def _rows(self, operation: str, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
        self._before(sql)
        return super()._rows(operation, sql, params)

    def _before(self, sql: str) -> None:
        """Before any other statement: the claims run first, and once anything is written, what
        ``due`` read may have changed, so later claims go the long way."""
        if self._claims:
            self._run_claims()
        if self._due and not sql.startswith("SELECT"):
            self._due = {}

    def _run_claims(self) -> None:
        claims, self._claims = self._claims, []
        if self._many("record_attempt", q.CLAIM_OUTBOX_KNOWN, claims) != len(claims):
            self.failed = True  # a row ``due`` read under this unit's lock is gone or settled
            raise StoreError(
                "an outbox message changed under the unit's lock", code="STORE_DAMAGED"
            )

    def flush_runs(self) -> None:
        """Write the runs not yet written (the claims, then the audit entries): before COMMIT."""
        if self._claims:
            self._run_claims()
        if self._audit_rows:
            self._write_audit()

    def _write_audit(self) -> None:
        rows, self._audit_rows = self._audit_rows, []
        self._many("append_audit", q.INSERT_AUDIT_ENTRY, rows)

    def due(self, now: datetime, *, limit: int = 100) -> list[OutboxEntry]:
        entries = super().due(now, limit=limit)
        self._due = {e.message.key: e for e in entries}  # claimed next (gsomia.node.delivery)
        return entries

    def put_item(self, item: HeldItem) -> None:
        if not isinstance(item, HeldItem) or item.state is not ItemState.HELD:
            raise InputError("a new item is a HeldItem in state held", code="STORE_RECORD_INVALID")
        if item.derived_from is not None:
            if self.item(item.item_id) is not None:
                raise conflict(f"item {item.item_id!r} exists", item_id=item.item_id)
            if self.item(item.derived_from) is None:
                raise not_found("item", item.derived_from)
        try:  # the primary key detects an existing item: one statement in the common case
            self._rows("put_item", q.INSERT_ITEM, codec.item_params(item))
        except StoreError as exc:
            if exc.code == "STORE_CONFLICT" and self.item(item.item_id) is not None:
                raise conflict(f"item {item.item_id!r} exists", item_id=item.item_id) from None
            raise

    def _held(self, item_id: str) -> HeldItem:
        item = self.item(item_id)
        if item is None:
            raise not_found("item", item_id)
        return item

    def set_item_state(self, item_id: str, state: ItemState, *, at: datetime) -> HeldItem:
        item = self._held(item_id)
        target = check_transition(ITEM_TRANSITIONS, item.state, state, f"item {item_id!r}")
        new = replace(item, state=target, state_changed=at, sealed=None)
        params = (new.state.value, codec.maybe_instant(new.state_changed), item_id)
        self._rows("set_item_state", q.UPDATE_ITEM_STATE, params)
        return new

    def relabel(self, item_id: str, labels: LabelSet) -> HeldItem:
        item = self._held(item_id)
        new = replace(item, labels=labels)
        if item.state is not ItemState.HELD or new.originator != item.originator:
            raise conflict(f"item {item_id!r} cannot be relabelled so", item_id=item_id)
        params = (codec.labels_text(labels), item_id)
        self._rows("relabel", q.UPDATE_ITEM_LABELS, params)
        return new

    def enqueue(self, message: OutboxMessage, *, digest: bytes | None = None) -> OutboxEntry:
        if not isinstance(message, OutboxMessage):
            raise InputError("enqueue takes an OutboxMessage", code="STORE_RECORD_INVALID")
        _check_digest(digest)
        self.enqueued = True  # the store tells its on_enqueue listener once this commits
        m, created = message, codec.instant(message.created)
        params = (m.key, m.recipient, m.kind, m.subject, created, created, digest)
        try:  # the unique key detects an existing message: one statement in the common case
            seq = self._one("enqueue", q.INSERT_OUTBOX, params)[0]
        except StoreError as exc:
            if exc.code == "STORE_CONFLICT" and self.outbox_entry(message.key) is not None:
                raise conflict(f"outbox key {message.key!r} exists", key=message.key) from None
            raise
        self._rows("enqueue", q.INSERT_OUTBOX_PAYLOAD, (seq, m.payload))  # written once
        return OutboxEntry(message, seq, DeliveryState.PENDING, 0, message.created)

    def _entry(self, key: str) -> OutboxEntry:
        entry = self.outbox_entry(key)
        if entry is None:
            raise not_found("outbox", key)
        return entry

    def record_attempt(
        self, key: str, *, at: datetime, next_attempt: datetime, error: str | None = None
    ) -> OutboxEntry:
        if isinstance(key, str) and error is None and _aware(at) and _aware(next_attempt):
            params = (codec.instant(at), codec.instant(next_attempt), None, key)
            known = self._due.pop(key, None)  # a second claim of the key goes the long way
            if known is None:
                row = self._one("record_attempt", q.CLAIM_OUTBOX, params)
                if row is not None:  # it was pending: claimed in one statement
                    return codec.decode(row, codec.outbox_from, "outbox")
            else:  # read pending by ``due`` under this unit's lock: claimed with the run
                self._claims.append((params[0], params[1], key))
                return OutboxEntry(
                    known.message,
                    known.seq,
                    DeliveryState.PENDING,
                    known.attempts + 1,
                    require_aware(next_attempt),
                    require_aware(at),
                )
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
        self._rows(
            "record_attempt",
            q.UPDATE_OUTBOX_ATTEMPT,
            (
                new.attempts,
                codec.maybe_instant(new.last_attempt),
                codec.instant(new.next_attempt),
                new.last_error,
                key,
            ),
        )
        return new

    def _settle(
        self, key: str, target: DeliveryState, at: datetime, reason: str | None = None
    ) -> OutboxEntry:
        entry = self._entry(key)
        if entry.state is target is DeliveryState.ACKNOWLEDGED:
            return entry
        check_transition(DELIVERY_TRANSITIONS, entry.state, target, f"outbox message {key!r}")
        if reason is None:
            new = replace(entry, state=target, settled=at)
            params: tuple[object, ...] = (target.value, codec.maybe_instant(new.settled), key)
            self._rows("settle", q.UPDATE_OUTBOX_STATE, params)
            return new
        new = replace(entry, state=target, settled=at, last_error=reason)  # checks the reason
        params = (target.value, codec.maybe_instant(new.settled), reason, key)
        self._rows("settle", q.UPDATE_OUTBOX_STATE_REASON, params)
        return new

    def acknowledge(self, key: str, *, at: datetime) -> OutboxEntry:
        if isinstance(key, str) and _aware(at):
            params = (codec.instant(at), key)
            row = self._one("acknowledge", q.ACKNOWLEDGE_OUTBOX, params)
            if row is not None:  # pending or cancelled: settled in one statement
                return codec.decode(row, codec.outbox_from, "outbox")
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
        _check_sent(key, kind, recipient, digest)
        settled = codec.instant(at)  # an aware instant, else InputError
        if reason is None:
            params: tuple[object, ...] = (settled, key, kind, recipient, digest)
            row = self._one("settle_sent", q.SETTLE_SENT, params)
        else:
            _check_reason(reason)
            params = (settled, reason, key, kind, recipient, digest)
            row = self._one("settle_sent", q.SETTLE_SENT_REFUSED, params)
        if row is not None:  # pending, and it matched: settled in one statement
            return Sent.SETTLED
        found = self._one("settle_sent", q.SELECT_SENT, (key,))
        if found is None or found[0] != kind or found[1] != recipient:
            return Sent.MISMATCH
        if found[3] is None:
            return Sent.UNKNOWN_DIGEST
        if bytes(found[3]) != digest:
            return Sent.MISMATCH
        return Sent.NOT_PENDING  # it matched, so only its state kept the UPDATE from it

    def settle_sent_many(self, settlements: Sequence[Settlement], *, at: datetime) -> list[Sent]:
        """All settled by one run of each guarded UPDATE when every one matches and is pending
        (the common case: a receipt batch of messages still in flight); otherwise the runs are
        undone and each is settled on its own, which says what it found."""
        checked = [_settlement(s) for s in settlements]
        settled = codec.instant(at)
        if len(checked) > 1 and len({s.key for s in checked}) == len(checked):
            acks: list[tuple[object, ...]] = []
            refusals: list[tuple[object, ...]] = []
            for c in checked:
                if c.reason is None:
                    acks.append((settled, c.key, c.kind, c.recipient, c.digest))
                else:
                    refusals.append((settled, c.reason, c.key, c.kind, c.recipient, c.digest))
            runs = ((q.SETTLE_SENT_RUN, acks), (q.SETTLE_SENT_REFUSED_RUN, refusals))
            if self._runs_all("settle_sent", runs):
                return [Sent.SETTLED] * len(checked)
        return [
            self.settle_sent(
                s.key, kind=s.kind, recipient=s.recipient, digest=s.digest, at=at, reason=s.reason
            )
            for s in checked
        ]

    def _runs_all(
        self, operation: str, runs: Sequence[tuple[str, list[tuple[object, ...]]]]
    ) -> bool:
        """Run each ``(statement, rows)`` under one savepoint; keep them and answer True only
        if every row was written, else undo them all (nothing changed) and answer False."""
        self._rows(operation, "SAVEPOINT gsomia_run")
        try:
            changed = sum(self._db.executemany(sql, rows).rowcount for sql, rows in runs if rows)
            complete = changed == sum(len(rows) for _, rows in runs)
        except sqlite3.IntegrityError:
            complete = False
        except sqlite3.Error as exc:
            raise self._failure(operation, exc) from exc
        if not complete:
            self._rows(operation, "ROLLBACK TO gsomia_run")
        self._rows(operation, "RELEASE gsomia_run")
        return complete

    def record_inbound(self, entry: InboxEntry) -> Recorded[InboxEntry]:
        if not isinstance(entry, InboxEntry):
            raise InputError("record_inbound takes an InboxEntry", code="STORE_RECORD_INVALID")
        try:  # recorded once: the primary key finds the first entry
            self._rows("record_inbound", q.INSERT_INBOX, codec.inbox_params(entry))
        except StoreError as exc:
            stored = self.inbox_entry(entry.item_id) if exc.code == "STORE_CONFLICT" else None
            if stored is None:
                raise
            return Recorded(stored, True)
        return Recorded(entry, False)

    def record_receipt(self, receipt: ReceiptRecord) -> Recorded[ReceiptRecord]:
        if not isinstance(receipt, ReceiptRecord):
            raise InputError("record_receipt takes a ReceiptRecord", code="STORE_RECORD_INVALID")
        try:  # recorded once: the primary key finds the first one
            self._rows("record_receipt", q.INSERT_RECEIPT, codec.receipt_params(receipt))
        except StoreError as exc:
            r = receipt
            stored = (
                self.receipt(r.item_id, r.party, r.direction)
                if exc.code == "STORE_CONFLICT"
                else None
            )
            if stored is None:
                raise
            return Recorded(stored, True)
        return Recorded(receipt, False)

    def record_receipts(self, receipts: Sequence[ReceiptRecord]) -> list[Recorded[ReceiptRecord]]:
        """One run of inserts when none of them was recorded before (the common case); else the
        run is undone and each is recorded on its own, which finds the stored ones."""
        for r in receipts:
            if not isinstance(r, ReceiptRecord):
                raise InputError(
                    "record_receipts takes ReceiptRecords", code="STORE_RECORD_INVALID"
                )
        keys = {(r.item_id, r.party, r.direction) for r in receipts}
        if len(receipts) > 1 and len(keys) == len(receipts):
            rows = [codec.receipt_params(r) for r in receipts]
            if self._runs_all("record_receipt", ((q.INSERT_RECEIPT, rows),)):
                return [Recorded(r, False) for r in receipts]
        return [self.record_receipt(r) for r in receipts]

    def put_official(self, record: OfficialRecord) -> None:
        if not isinstance(record, OfficialRecord):
            raise InputError("put_official takes an OfficialRecord", code="STORE_RECORD_INVALID")
        self._rows("put_official", q.UPSERT_OFFICIAL, codec.official_params(record))

    def add_token(self, official_id: str, token_hash: bytes, *, created: datetime) -> None:
        if not isinstance(token_hash, bytes) or len(token_hash) != TOKEN_HASH_SIZE:
            raise InputError("a token hash is 32 bytes of SHA-256", code="STORE_RECORD_INVALID")
        stamp = codec.instant(require_aware(created, "created"))
        if self.official(official_id) is None:
            raise not_found("official", official_id)
        if self._one("add_token", q.SELECT_API_HASH, (token_hash,)) is not None:
            raise conflict("this token is already registered")
        self._rows("add_token", q.INSERT_API_HASH, (token_hash, official_id, stamp))

    def revoke_token(self, token_hash: bytes, *, at: datetime) -> None:
        stamp = codec.instant(require_aware(at, "at"))
        known = isinstance(token_hash, bytes)
        if not known or self._one("revoke_token", q.SELECT_API_HASH, (token_hash,)) is None:
            raise not_found("token", "(hash)")
        self._rows("revoke_token", q.REVOKE_API_HASH, (stamp, token_hash))

    def put_consent(self, record: ConsentRecord) -> Recorded[ConsentRecord]:
        if not isinstance(record, ConsentRecord):
            raise InputError("put_consent takes a ConsentRecord", code="STORE_RECORD_INVALID")
        stored = self.consent(record.consent.consent_id)
        if stored is not None:
            return Recorded(stored, True)
        self._rows("put_consent", q.INSERT_CONSENT, codec.consent_params(record))
        return Recorded(record, False)

    def revoke_consent(self, consent_id: str, *, at: datetime, revocation: bytes) -> ConsentRecord:
        record = self.consent(consent_id)
        if record is None:
            raise not_found("consent", consent_id)
        if record.revocation is not None:
            return record
        new = replace(record, consent=replace(record.consent, revoked_at=at), revocation=revocation)
        params = (codec.maybe_instant(new.consent.revoked_at), new.revocation, consent_id)
        self._rows("revoke_consent", q.REVOKE_CONSENT, params)
        return new

    # -- consent requests (Art. 6) --

    def put_consent_request(self, record: ConsentRequestRecord) -> Recorded[ConsentRequestRecord]:
        if (
            not isinstance(record, ConsentRequestRecord)
            or record.state is not ConsentRequestState.PENDING
        ):
            raise InputError(
                "a new consent request is a ConsentRequestRecord in state pending",
                code="STORE_RECORD_INVALID",
            )
        stored = self.consent_request(record.request_id)
        if stored is not None:
            return Recorded(stored, True)
        params = codec.consent_request_params(record)
        self._rows("put_consent_request", q.INSERT_CONSENT_REQUEST, params)
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
        record = self.consent_request(request_id)
        if record is None:
            raise not_found("consent request", request_id)
        target = check_transition(
            CONSENT_REQUEST_TRANSITIONS, record.state, state, f"consent request {request_id!r}"
        )
        new = replace(record, state=target, decided=at, decided_by=decided_by, decision=decision)
        params = (
            new.state.value,
            codec.maybe_instant(new.decided),
            new.decided_by,
            new.decision,
            request_id,
        )
        self._rows("decide_consent_request", q.DECIDE_CONSENT_REQUEST, params)
        return new

    def append_audit(self, record: AuditRecord) -> int:
        if not isinstance(record, AuditRecord):
            raise InputError("append_audit takes an AuditRecord", code="AUDIT_ENTRY_INVALID")
        if self._audit.damage is not None:
            raise StoreError(
                f"the audit log is damaged ({self._audit.damage}); verify it",
                code="AUDIT_LOG_DAMAGED",
                detail={"path": self._path},
            )
        self._usable("append_audit")
        entry = record.to_bytes()
        digest, index = leaf_hash(entry), self._audit.tree.size
        self._audit_rows.append((index, entry, digest))  # inserted with the run (module doc)
        self._audit.tree.append_leaf_hash(digest)
        return index

    def audit_entry(self, index: int) -> AuditRecord:
        if self._audit_rows:
            self._write_audit()
        return super().audit_entry(index)

    def finish(self) -> None:
        """Before ``COMMIT``: record the checkpoint ``(size, root)`` if this unit appended.

        A poisoned unit (an earlier statement failed and the caller went on) raises here, so it
        rolls back even if the caller swallowed that error.
        """
        if self.failed:
            raise StoreError("a statement of this unit of work failed; rolled back")
        self.flush_runs()
        if self._audit.tree.size != self.base_size:
            tree = self._audit.tree
            self._rows("checkpoint", q.INSERT_CHECKPOINT, (tree.size, tree.root()))
        if not self._db.in_transaction:
            raise StoreError("the transaction was lost; nothing was committed")
