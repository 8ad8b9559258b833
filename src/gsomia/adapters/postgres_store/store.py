"""The PostgreSQL node store: one schema per node, units of work serialised by the writer lock.

See the package docstring (:mod:`gsomia.adapters.postgres_store`) for the theory of operation;
:mod:`.schema` for the tables; :mod:`.units` for the reads and writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus

from gsomia.adapters.audit_tables import Progress, VerifyResult, verify_tables
from gsomia.adapters.postgres_store import statements as s
from gsomia.adapters.postgres_store.connection import Connector, usable, wrap
from gsomia.adapters.postgres_store.schema import migrate
from gsomia.adapters.postgres_store.units import (
    PostgresReader,
    PostgresUnitOfWork,
    Streaming,
    load_audit,
    sync_audit,
)
from gsomia.adapters.sqlite_store.reader import AuditState, prefix
from gsomia.adapters.store_handle import StoreHandle
from gsomia.errors import InputError, StoreError
from gsomia.ports import Store

DEFAULT_SCHEMA: Final = "gsomia"
_SCHEMA = re.compile(r"^[a-z_][a-z0-9_]{0,62}\Z")
_PARTY = re.compile(r"^[A-Z]{3}\Z")


def _where(dsn: str, schema: str) -> str:
    """The store's server, database and schema, for messages: never the DSN, which may hold a
    password."""
    try:
        info = conninfo_to_dict(dsn)
    except psycopg.Error:
        return f"postgresql (unparsable DSN) schema {schema}"
    host, port = info.get("host") or "localhost", info.get("port") or "5432"
    return f"postgresql://{host}:{port}/{info.get('dbname') or ''} schema {schema}"


class PostgresStore(StoreHandle):
    """A :class:`~gsomia.ports.Store` in the schema ``schema`` of the PostgreSQL database at
    ``dsn`` (a libpq connection string or URI; the schema and its tables are created if missing).

    One connection per store object; its units of work and reads are serialised by a lock, as in
    :class:`~gsomia.adapters.sqlite_store.SqliteStore`.  Several store objects, in one process or
    in several worker processes, may share one node schema: their units of work are serialised by
    the node's writer lock in PostgreSQL, waiting up to ``timeout`` seconds for it, and they keep
    one audit log.  A lost connection (a server restart) fails the unit of work under way with
    ``STORE_UNAVAILABLE``; the next one connects again, attempts spaced out by a backoff while
    the server is down (:mod:`.connection`).
    """

    def __init__(self, dsn: str, *, schema: str = DEFAULT_SCHEMA, timeout: float = 10.0) -> None:
        if not isinstance(schema, str) or not _SCHEMA.match(schema):
            raise InputError(
                f"a node schema is 1-63 characters of [a-z0-9_]: {schema!r}",
                code="STORE_SCHEMA_INVALID",
            )
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise InputError("timeout must be a positive number of seconds", code="STORE_MISUSE")
        super().__init__()
        self._dsn, self._schema, self._timeout = dsn, schema, float(timeout)
        self._where = _where(dsn, schema)
        self._connector = Connector(dsn, schema, self._where, timeout=self._timeout)
        self._conn = self._connector.connect()
        try:
            with self._wrap("open"):
                self.migrated_from = migrate(self._conn, schema, self._where)
            with self._wrap("open"):
                self._conn.execute(s.BEGIN_READ)
                try:
                    self._audit: AuditState = load_audit(self._conn)
                finally:
                    self._end(self._conn)
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def for_node(cls, dsn: str, party: str, *, timeout: float = 10.0) -> PostgresStore:
        """The store of ``party``'s node in the schema ``gsomia_<party>`` (``gsomia_kor``), so
        that several nodes can share one database, each in a schema of its own."""
        if not isinstance(party, str) or not _PARTY.match(party):
            raise InputError(
                f"a party is three capital letters: {party!r}", code="STORE_SCHEMA_INVALID"
            )
        return cls(dsn, schema=f"gsomia_{party.lower()}", timeout=timeout)

    @property
    def schema(self) -> str:
        """The node's schema."""
        return self._schema

    @property
    def where(self) -> str:
        """Server, database and schema (no credentials): what error details name."""
        return self._where

    @contextmanager
    def _wrap(self, operation: str) -> Iterator[None]:
        with wrap(operation, self._where):
            yield

    def _ready(self) -> psycopg.Connection[Any]:
        """The store's connection, opened again if the server dropped it (a restart)."""
        if not usable(self._conn):
            self._conn.close()
            self._conn = self._connector.connect()
        return self._conn

    @contextmanager
    def _enter(self, *, write: bool | None = None) -> Iterator[psycopg.Connection[Any]]:
        """A turn on a usable connection; with ``write`` given, inside a transaction begun.

        A connection found broken when beginning (the server restarted since the last unit of
        work: nothing was done on it) is replaced and the beginning tried once more, so that one
        restart does not fail one unit of work per idle store object.
        """
        with self._turn():
            conn = self._ready()
            if write is not None:
                try:
                    self._begin(conn, write=write)
                except StoreError:
                    if usable(conn):
                        raise
                    conn = self._ready()
                    self._begin(conn, write=write)
            yield conn

    def _begin(self, conn: psycopg.Connection[Any], *, write: bool) -> None:
        """Begin a transaction; a unit of work takes the writer lock first.  Then sync the tree."""
        with self._wrap("begin"):
            conn.execute(s.BEGIN_WRITE if write else s.BEGIN_READ)
            try:
                if write:
                    conn.execute(s.WRITER_LOCK, (self._schema,))
                sync_audit(conn, self._audit)
            except BaseException:
                self._end(conn)
                raise

    @staticmethod
    def _end(conn: psycopg.Connection[Any]) -> bool:
        """Roll back whatever is open; False if that failed on a live connection."""
        try:
            if conn.info.transaction_status is not TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        except psycopg.Error:
            return conn.broken or conn.closed  # the server rolls back what a lost link left
        return True

    @contextmanager
    def unit_of_work(self) -> Iterator[PostgresUnitOfWork]:
        """``BEGIN`` and the node's writer lock … ``COMMIT`` on a clean exit, else ``ROLLBACK``.

        When this returns, the commit is durable (``synchronous_commit = on``).
        """
        with self._enter(write=True) as conn:
            uow = PostgresUnitOfWork(conn, self._audit, self._where)
            try:
                yield uow
                uow.finish()
                with self._wrap("commit"):
                    conn.execute("COMMIT")
                self._committed(uow.enqueued)
            except BaseException:
                if not self._end(conn):
                    self._audit.damage = "a rollback failed; reopen the store"
                if self._audit.tree.size != uow.base_size:
                    self._audit.tree = prefix(self._audit.tree, uow.base_size)
                raise
            finally:
                uow.closed = True

    @contextmanager
    def read(self) -> Iterator[PostgresReader]:
        """A ``REPEATABLE READ, READ ONLY`` transaction: one consistent snapshot, never blocked
        by writers and never blocking them."""
        with self._enter(write=False) as conn:
            reader = PostgresReader(conn, self._audit, self._where)
            try:
                yield reader
            finally:
                reader.closed = True
                self._end(conn)

    def verify_audit(self, progress: Progress | None = None) -> VerifyResult:
        """Recompute the node's audit log from its entries, in one snapshot, and compare it with
        the recorded checkpoints (as :meth:`SqliteAuditLog.verify
        <gsomia.adapters.sqlite_audit.SqliteAuditLog.verify>` does for a file)."""
        with self._enter() as conn, self._wrap("verify"):
            conn.execute(s.BEGIN_READ)
            stream = Streaming(conn)
            try:
                return verify_tables(stream, progress)
            finally:
                stream.close()
                self._end(conn)

    def _release(self) -> None:
        with self._wrap("close"):
            self._conn.close()


def _conformance(store: PostgresStore) -> Store:
    """Never called: lets mypy check that :class:`PostgresStore` implements the port."""
    return store
