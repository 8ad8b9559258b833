"""The SQLite node store: one file per node, WAL, ``synchronous=FULL``, one writer at a time.

See the package docstring (:mod:`gsomia.adapters.sqlite_store`) for the layout and durability
argument; :mod:`.schema` for the tables; :mod:`.reader` and :mod:`.uow` for the statements.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from gsomia.adapters.audit_tables import catch_up
from gsomia.adapters.sqlite_store import queries as q
from gsomia.adapters.sqlite_store.reader import AuditState, SqliteReader, load_audit, prefix
from gsomia.adapters.sqlite_store.schema import migrate
from gsomia.adapters.sqlite_store.uow import SqliteUnitOfWork
from gsomia.adapters.sqlite_store.writer_lock import WriterLock
from gsomia.adapters.store_handle import StoreHandle
from gsomia.errors import StoreError
from gsomia.ports import Store

STORE_FILE: Final = "node.sqlite"
_MIN_SQLITE: Final = (3, 37, 0)  # STRICT tables; RETURNING needs 3.35


class SqliteStore(StoreHandle):
    """A :class:`~gsomia.ports.Store` in the SQLite file at ``path`` (created if missing).

    Thread-safe: units of work and reads of one store object are serialised by a lock.  Several
    processes may open one file (a serving node and its API workers, ADR 0021): they take turns
    to write by a ``flock`` beside the file (:mod:`.writer_lock`, ADR 0022), then SQLite's write
    lock (``BEGIN IMMEDIATE``, waiting up to ``timeout`` seconds) orders their units of work, and
    each re-reads the audit log's size under that lock before appending.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        super().__init__()
        self._path = os.fspath(path)
        if sqlite3.sqlite_version_info < _MIN_SQLITE:
            raise StoreError(
                f"SQLite {sqlite3.sqlite_version} is too old; the node store needs 3.37 or later",
                detail={"path": self._path},
            )
        with self._wrap("open"):
            self._db = sqlite3.connect(
                self._path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        try:
            self._writer = WriterLock(self._path, timeout)
        except BaseException:
            self._db.close()
            raise
        try:
            with self._wrap("open"):
                mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreError(
                        f"the node store cannot use WAL mode (got {mode!r})",
                        detail={"path": self._path},
                    )
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute("PRAGMA foreign_keys=ON")
                self._db.execute("PRAGMA secure_delete=ON")
                self.migrated_from = migrate(self._db, self._path)
                self._audit: AuditState = load_audit(self._db)
        except BaseException:
            self._writer.close()
            self._db.close()
            raise

    @classmethod
    def in_data_dir(cls, data: str | os.PathLike[str], *, timeout: float = 10.0) -> SqliteStore:
        """The store of the node whose data directory is ``data`` (``DATA/node.sqlite``).

        Creates the directory (mode 0700) and the file (mode 0600) if missing; SQLite gives the
        ``-wal`` and ``-shm`` files the database file's mode.
        """
        directory = Path(data)
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            path = directory / STORE_FILE
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError as exc:
            raise StoreError(
                f"cannot create the node store in {directory}: {exc.strerror}",
                detail={"path": str(directory)},
            ) from exc
        return cls(path, timeout=timeout)

    @property
    def path(self) -> str:
        """The database file (also readable by ``SqliteAuditLog(path).verify()``)."""
        return self._path

    @contextmanager
    def _wrap(self, operation: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            code = "STORE_CONFLICT" if isinstance(exc, sqlite3.IntegrityError) else None
            raise StoreError(
                f"node store {operation} failed: {exc}",
                code=code,
                detail={"operation": operation, "path": self._path},
            ) from exc

    @contextmanager
    def _enter(self) -> Iterator[sqlite3.Connection]:
        with self._turn():
            yield self._db

    @contextmanager
    def unit_of_work(self) -> Iterator[SqliteUnitOfWork]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` on a clean exit; ``ROLLBACK`` on any exception.

        When this returns, the commit is on disk (WAL fsynced, ``synchronous=FULL``).
        """
        with self._enter() as db, self._writer.held():
            with self._wrap("begin"):
                db.execute("BEGIN IMMEDIATE")
                self._sync(db)
            uow = SqliteUnitOfWork(db, self._audit, self._path)
            try:
                yield uow
                uow.finish()
                with self._wrap("commit"):
                    db.execute("COMMIT")
                self._committed(uow.enqueued)
            except BaseException:
                self._rollback(db, uow)
                raise
            finally:
                uow.closed = True

    def _sync(self, db: sqlite3.Connection) -> None:
        """Inside the transaction: bring the audit tree up to what other handles appended.

        One indexed look-up when nothing changed (one node process per file, the normal case).
        Entries another handle (another worker process) appended are read and added to the tree,
        which is then checked against the latest checkpoint (:func:`.audit_tables.catch_up`,
        O(new entries)); anything unexpected (a shorter log, a gap, a root that does not match,
        very many new entries) reloads the whole tree, which notes any damage.
        """
        try:
            stored = db.execute(q.AUDIT_NEXT_INDEX).fetchone()[0]
            audit = self._audit
            if stored != audit.tree.size and (
                audit.damage is not None or not catch_up(db, audit.tree, stored)
            ):
                fresh = load_audit(db)
                audit.tree, audit.damage = fresh.tree, fresh.damage
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _rollback(self, db: sqlite3.Connection, uow: SqliteUnitOfWork) -> None:
        try:
            if db.in_transaction:
                db.execute("ROLLBACK")
        except sqlite3.Error:
            self._audit.damage = "a rollback failed; reopen the store"
        if self._audit.tree.size != uow.base_size:
            self._audit.tree = prefix(self._audit.tree, uow.base_size)

    @contextmanager
    def read(self) -> Iterator[SqliteReader]:
        """A read transaction: one consistent snapshot of the committed state."""
        with self._enter() as db:
            with self._wrap("begin"):
                db.execute("BEGIN")
                self._sync(db)
            reader = SqliteReader(db, self._audit, self._path)
            try:
                yield reader
            finally:
                reader.closed = True
                with self._wrap("end read"):
                    if db.in_transaction:
                        db.execute("COMMIT")

    def _release(self) -> None:
        self._writer.close()
        with self._wrap("close"):
            self._db.close()


def _conformance(store: SqliteStore) -> Store:
    """Never called: lets mypy check that :class:`SqliteStore` implements the port."""
    return store
