"""Reads of the node store inside one SQLite transaction, and the audit tree they share.

:class:`SqliteReader` implements :class:`~gsomia.ports.StoreReader`; its subclass
:class:`~gsomia.adapters.sqlite_store.uow.SqliteUnitOfWork` adds the writes.  Every statement goes
through :meth:`SqliteReader._rows`, which wraps ``sqlite3`` errors: a constraint violation becomes
``STORE_CONFLICT`` (the transaction stays usable: SQLite undoes only that statement), anything
else ``STORE_UNAVAILABLE`` and *poisons* the unit of work, which then refuses every further
statement and rolls back, since SQLite may already have rolled the transaction back and
statements run after that would each commit on their own.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gsomia.adapters.sqlite_audit import read_tree
from gsomia.adapters.sqlite_store import codec
from gsomia.adapters.sqlite_store import queries as q
from gsomia.adapters.sqlite_store.cases import CasesReader
from gsomia.audit.merkle import MerkleTree
from gsomia.audit.records import AuditRecord
from gsomia.errors import InputError, StoreError
from gsomia.ports import (
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
    ReceiptDirection,
    ReceiptRecord,
    check_limit,
    conflict,
    misuse,
)


@dataclass(slots=True)
class AuditState:
    """The in-memory Merkle tree over the stored leaf hashes, and any damage seen on loading."""

    tree: MerkleTree
    damage: str | None = None


def load_audit(db: sqlite3.Connection) -> AuditState:
    """Rebuild the audit tree and note any damage (see :func:`sqlite_audit.read_tree`)."""
    tree, damage = read_tree(db)
    return AuditState(tree, damage)


def prefix(tree: MerkleTree, size: int) -> MerkleTree:
    """The tree of the first ``size`` leaves of ``tree`` (after a rolled-back append)."""
    return MerkleTree.from_leaf_hashes([tree.leaf_hash_at(i) for i in range(size)])


class SqliteReader(CasesReader):  # cases: breaches, disposals, visits, … (cases.py)
    """A :class:`~gsomia.ports.StoreReader` inside an open SQLite transaction."""

    def __init__(self, db: sqlite3.Connection, audit: AuditState, path: str) -> None:
        self._db = db
        self._audit = audit
        self._path = path
        self.closed = False
        self.failed = False

    def _usable(self, operation: str) -> None:
        """Refuse a statement once the unit or read has ended, or after a failed statement."""
        if self.closed:
            raise misuse("this unit of work or read has ended")
        if self.failed:
            raise StoreError(
                "an earlier statement failed; this unit of work can only roll back",
                detail={"operation": operation, "path": self._path},
            )

    def _rows(self, operation: str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        self._usable(operation)
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.IntegrityError as exc:
            raise conflict(f"{operation} conflicts with stored state: {exc}") from exc
        except sqlite3.Error as exc:
            raise self._failure(operation, exc) from exc

    def _many(self, operation: str, sql: str, rows: list[tuple[Any, ...]]) -> int:
        """Run ``sql`` once per parameter tuple of ``rows`` (``executemany``, one call into SQLite
        for a run of like writes); the number of rows changed.  Any failure poisons the unit:
        some rows of the run may be written, so only a rollback is safe."""
        self._usable(operation)
        try:
            return int(self._db.executemany(sql, rows).rowcount)
        except sqlite3.IntegrityError as exc:
            self.failed = True
            raise conflict(f"{operation} conflicts with stored state: {exc}") from exc
        except sqlite3.Error as exc:
            raise self._failure(operation, exc) from exc

    def _failure(self, operation: str, exc: Exception) -> StoreError:
        """The error of a failed statement, which poisons the unit (it can only roll back)."""
        self.failed = True
        return StoreError(
            f"store {operation} failed: {exc}", detail={"operation": operation, "path": self._path}
        )

    def _one(self, operation: str, sql: str, params: tuple[Any, ...]) -> Any:
        rows = self._rows(operation, sql, params)
        return rows[0] if rows else None

    def item(self, item_id: str) -> HeldItem | None:
        row = self._one("read", q.SELECT_ITEM, (item_id,))
        return None if row is None else codec.decode(row, codec.item_from, "items")

    def items(
        self, *, state: ItemState | None = None, after: str | None = None, limit: int = 100
    ) -> list[HeldItem]:
        limit = check_limit(limit)
        if state is None:
            rows = self._rows("read", q.SELECT_ITEMS, (after or "", limit))
        else:
            rows = self._rows("read", q.SELECT_ITEMS_IN_STATE, (str(state), after or "", limit))
        return [codec.decode(row, codec.item_from, "items") for row in rows]

    def outbox_entry(self, key: str) -> OutboxEntry | None:
        row = self._one("read", q.SELECT_OUTBOX_ENTRY, (key,))
        return None if row is None else codec.decode(row, codec.outbox_from, "outbox")

    def outbox(
        self,
        *,
        state: DeliveryState | None = None,
        subject: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[OutboxEntry]:
        limit = check_limit(limit)
        if state is None and subject is None:
            rows = self._rows("read", q.SELECT_OUTBOX, (after, limit))
        elif subject is None:
            rows = self._rows("read", q.SELECT_OUTBOX_IN_STATE, (after, str(state), limit))
        elif state is None:
            rows = self._rows("read", q.SELECT_OUTBOX_OF_SUBJECT, (after, subject, limit))
        else:
            params = (after, str(state), subject, limit)
            rows = self._rows("read", q.SELECT_OUTBOX_OF_SUBJECT_IN_STATE, params)
        return [codec.decode(row, codec.outbox_from, "outbox") for row in rows]

    def due(self, now: datetime, *, limit: int = 100) -> list[OutboxEntry]:
        rows = self._rows("read", q.SELECT_DUE, (codec.instant(now), check_limit(limit)))
        return [codec.decode(row, codec.outbox_from, "outbox") for row in rows]

    def inbox_entry(self, item_id: str) -> InboxEntry | None:
        row = self._one("read", q.SELECT_INBOX_ENTRY, (item_id,))
        return None if row is None else codec.decode(row, codec.inbox_from, "inbox")

    def receipt(
        self, item_id: str, party: str, direction: ReceiptDirection
    ) -> ReceiptRecord | None:
        row = self._one("read", q.SELECT_RECEIPT, (item_id, party, str(direction)))
        return None if row is None else codec.decode(row, codec.receipt_from, "receipts")

    def receipts(self, item_id: str) -> list[ReceiptRecord]:
        rows = self._rows("read", q.SELECT_RECEIPTS, (item_id,))
        return [codec.decode(row, codec.receipt_from, "receipts") for row in rows]

    def official(self, official_id: str) -> OfficialRecord | None:
        row = self._one("read", q.SELECT_OFFICIAL, (official_id,))
        return None if row is None else codec.decode(row, codec.official_from, "officials")

    def officials(self, *, after: str | None = None, limit: int = 100) -> list[OfficialRecord]:
        rows = self._rows("read", q.SELECT_OFFICIALS, (after, check_limit(limit)))
        return [codec.decode(row, codec.official_from, "officials") for row in rows]

    def official_by_token(self, token_hash: bytes) -> OfficialRecord | None:
        if not isinstance(token_hash, bytes):
            return None
        row = self._one("read", q.SELECT_OFFICIAL_BY_HASH, (token_hash,))
        return None if row is None else codec.decode(row, codec.official_from, "officials")

    def consent(self, consent_id: str) -> ConsentRecord | None:
        row = self._one("read", q.SELECT_CONSENT, (consent_id,))
        return None if row is None else codec.decode(row, codec.consent_from, "consents")

    def consents_for(self, item_id: str) -> list[ConsentRecord]:
        rows = self._rows("read", q.SELECT_CONSENTS_FOR, (item_id,))
        return [codec.decode(row, codec.consent_from, "consents") for row in rows]

    # -- consent requests (Art. 6) --

    def consent_request(self, request_id: str) -> ConsentRequestRecord | None:
        row = self._one("read", q.SELECT_CONSENT_REQUEST, (request_id,))
        if row is None:
            return None
        return codec.decode(row, codec.consent_request_from, "consent_requests")

    def consent_requests(
        self,
        *,
        direction: ConsentRequestDirection | None = None,
        state: ConsentRequestState | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[ConsentRequestRecord]:
        params = (
            None if direction is None else str(direction),
            None if state is None else str(state),
            after,
            check_limit(limit),
        )
        rows = self._rows("read", q.SELECT_CONSENT_REQUESTS, params)
        return [codec.decode(row, codec.consent_request_from, "consent_requests") for row in rows]

    def audit_size(self) -> int:
        return self._audit.tree.size

    def audit_entry(self, index: int) -> AuditRecord:
        size = self._audit.tree.size
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
            raise InputError(
                f"index {index} is not below the log's size {size}",
                code="AUDIT_INDEX_OUT_OF_RANGE",
            )
        row = self._one("read", q.SELECT_AUDIT_ENTRY, (index,))
        if row is None:
            raise StoreError(f"audit entry {index} is missing", code="STORE_DAMAGED")
        return codec.decode(row[0], AuditRecord.from_bytes, "audit_entries")

    def audit_root(self, size: int | None = None) -> bytes:
        tree = self._audit.tree
        return tree.root() if size is None else tree.root_at(size)

    def audit_inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return self._audit.tree.inclusion_proof(index, size)
