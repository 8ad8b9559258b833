"""Reads and writes of the PostgreSQL node store, and the audit tree they share with other workers.

:class:`PostgresReader` and :class:`PostgresUnitOfWork` are the SQLite store's reader and unit of
work (:mod:`gsomia.adapters.sqlite_store.reader`, :mod:`~gsomia.adapters.sqlite_store.uow`,
:mod:`~gsomia.adapters.sqlite_store.cases`: the checks, state tables, messages and codes of the
port, written once) with one method replaced: :meth:`PostgresReader._rows`, which runs the
PostgreSQL text of each statement (:func:`.statements.postgres`) on a psycopg cursor.

Errors, as in SQLite: a constraint violation is ``STORE_CONFLICT`` and leaves the unit usable;
anything else is ``STORE_UNAVAILABLE`` (or ``STORE_CONFLICT`` for a deadlock or serialization
failure) and *poisons* the unit, which refuses every further statement and rolls back.
PostgreSQL aborts a whole transaction on any failed statement, where SQLite undoes only that
statement; so every statement that writes runs under a savepoint, rolled back to on a
constraint violation, which is what the SQLite logic expects (its fast paths insert first and
read the stored row on a conflict).  Reads run without one.

:func:`sync_audit` keeps a store object's in-memory RFC 9162 tree equal to the committed log
when other workers append to it: see :mod:`gsomia.adapters.postgres_store` ("The audit log").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus

from gsomia.adapters.audit_tables import catch_up, read_tree
from gsomia.adapters.postgres_store import statements as s
from gsomia.adapters.sqlite_store import queries as q
from gsomia.adapters.sqlite_store.reader import AuditState, SqliteReader
from gsomia.adapters.sqlite_store.uow import SqliteUnitOfWork
from gsomia.errors import StoreError
from gsomia.ports import ReceiptRecord, Recorded, conflict
from gsomia.ports.protocols import Sent, Settlement, record_each, settle_each

__all__ = [
    "PostgresReader",
    "PostgresUnitOfWork",
    "Streaming",
    "error_code",
    "load_audit",
    "sync_audit",
]


_CONFLICTS = (pg_errors.IntegrityError, pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


def error_code(exc: psycopg.Error) -> str:
    """``STORE_CONFLICT`` for a constraint violation, deadlock or serialization failure (a retry
    may succeed, or the write contradicts stored state); ``STORE_UNAVAILABLE`` otherwise."""
    return "STORE_CONFLICT" if isinstance(exc, _CONFLICTS) else "STORE_UNAVAILABLE"


class PostgresReader(SqliteReader):
    """A :class:`~gsomia.ports.StoreReader` inside an open PostgreSQL transaction."""

    def __init__(self, conn: psycopg.Connection[Any], audit: AuditState, where: str) -> None:
        # Not SqliteReader.__init__, which takes a sqlite3 connection: these are the attributes
        # its methods use, and _rows below is the only one that touches the database.
        self._cur = conn.cursor()
        self._audit = audit
        self._path = where
        self.closed = False
        self.failed = False

    def _rows(self, operation: str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        self._usable(operation)
        statement, write, cur = s.postgres(sql), s.is_write(sql), self._cur
        try:
            if write:
                cur.execute(s.SAVEPOINT)
            cur.execute(statement, params)  # literal text, see statements.py
            rows = cur.fetchall() if cur.description is not None else []
            if write:
                cur.execute(s.RELEASE)
        except pg_errors.IntegrityError as exc:
            if not write or not self._undo_statement():
                self.failed = True
            raise conflict(f"{operation} conflicts with stored state: {exc}") from exc
        except psycopg.Error as exc:
            raise self._failure(operation, exc) from exc
        return rows

    def _many(self, operation: str, sql: str, rows: list[tuple[Any, ...]]) -> int:
        """Run ``sql`` once per parameter tuple, under one savepoint; the rows changed.  Any
        failure poisons the unit, as in SQLite (some rows of the run may be written)."""
        self._usable(operation)
        statement, cur, changed = s.postgres(sql), self._cur, 0
        try:
            cur.execute(s.SAVEPOINT)
            for params in rows:
                cur.execute(statement, params)
                changed += max(cur.rowcount, 0)
            cur.execute(s.RELEASE)
        except psycopg.Error as exc:
            raise self._failure(operation, exc) from exc
        return changed

    def _failure(self, operation: str, exc: Exception) -> StoreError:
        self.failed = True
        code = error_code(exc) if isinstance(exc, psycopg.Error) else "STORE_UNAVAILABLE"
        detail = {"operation": operation, "store": self._path}
        return StoreError(f"store {operation} failed: {exc}", code=code, detail=detail)

    def _undo_statement(self) -> bool:
        """Roll back to the statement's savepoint; False if even that failed."""
        try:
            self._cur.execute(s.ROLLBACK_TO)
            self._cur.execute(s.RELEASE)
        except psycopg.Error:
            return False
        return True


class PostgresUnitOfWork(PostgresReader, SqliteUnitOfWork):
    """A :class:`~gsomia.ports.UnitOfWork` inside one PostgreSQL transaction holding the node's
    writer lock (:mod:`gsomia.adapters.postgres_store`)."""

    def __init__(self, conn: psycopg.Connection[Any], audit: AuditState, where: str) -> None:
        PostgresReader.__init__(self, conn, audit, where)
        self.base_size = audit.tree.size  # the committed size: synced under the writer lock
        self._due = {}  # as SqliteUnitOfWork: what ``due`` read in this unit, by key
        self._claims = []  # and the runs it writes later (SqliteUnitOfWork.flush_runs)
        self._audit_rows = []

    def _rows(self, operation: str, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        self._before(sql)  # as SqliteUnitOfWork._rows
        return PostgresReader._rows(self, operation, sql, params)

    def settle_sent_many(self, settlements: Sequence[Settlement], *, at: datetime) -> list[Sent]:
        return settle_each(self, settlements, at)  # each statement runs under its own savepoint

    def record_receipts(self, receipts: Sequence[ReceiptRecord]) -> list[Recorded[ReceiptRecord]]:
        return record_each(self, receipts)

    def finish(self) -> None:
        """Before ``COMMIT``: refuse a poisoned or aborted unit, then record the checkpoint
        ``(size, root)`` if this unit appended (PostgreSQL would answer ``COMMIT`` on an aborted
        transaction with a silent rollback, so it is checked here)."""
        status = self._cur.connection.info.transaction_status
        if self.failed or status is not TransactionStatus.INTRANS:
            raise StoreError("a statement of this unit of work failed; rolled back")
        self.flush_runs()
        tree = self._audit.tree
        if tree.size > self.base_size:
            self._rows("checkpoint", q.INSERT_CHECKPOINT, (tree.size, tree.root()))


class Streaming:
    """A :class:`~gsomia.adapters.audit_tables.SqlConnection` whose statements stream through
    server-side cursors, so that loading or verifying a long log holds one chunk at a time.

    Use inside a transaction; :meth:`close` closes the cursors it opened.
    """

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._cursors: list[psycopg.ServerCursor[Any]] = []

    def execute(self, sql: str, /) -> psycopg.ServerCursor[Any]:
        cursor = self._conn.cursor(name=f"gsomia_audit_{len(self._cursors)}")
        self._cursors.append(cursor)
        cursor.execute(sql)  # literal statements of audit_tables
        return cursor

    def close(self) -> None:
        for cursor in self._cursors:
            cursor.close()
        self._cursors.clear()


def load_audit(conn: psycopg.Connection[Any]) -> AuditState:
    """Inside a transaction: rebuild the audit tree, streamed, and note any damage."""
    stream = Streaming(conn)
    try:
        return AuditState(*read_tree(stream))
    finally:
        stream.close()


def _reload(conn: psycopg.Connection[Any], audit: AuditState) -> None:
    fresh = load_audit(conn)
    audit.tree, audit.damage = fresh.tree, fresh.damage


def sync_audit(conn: psycopg.Connection[Any], audit: AuditState) -> None:
    """Inside a transaction: make ``audit`` the committed log as this transaction sees it.

    One indexed look-up when nothing changed.  When other workers appended, only their leaf
    hashes are read and the tree is extended, then checked against the latest checkpoint
    (O(new entries)); anything unexpected (a shorter log, a gap, a root that does not match)
    reloads the whole tree, which notes the damage (:func:`~.audit_tables.read_tree`).
    """
    row = conn.execute(q.AUDIT_NEXT_INDEX).fetchone()
    stored, tree = (int(row[0]) if row is not None else 0), audit.tree
    if stored == tree.size:
        return
    if audit.damage is not None or not catch_up(conn, tree, stored):
        _reload(conn, audit)
