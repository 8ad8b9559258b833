"""The audit log, durable: an append-only RFC 9162 Merkle log in one SQLite file.

Schema (created on first open)::

    audit_entries(idx INTEGER PRIMARY KEY, entry BLOB, leaf_hash BLOB)   one row per leaf
    audit_checkpoints(size INTEGER PRIMARY KEY, root BLOB)                root after each batch

Triggers refuse ``UPDATE`` and ``DELETE`` on both tables: the log is append-only by construction,
and anyone who drops the triggers to edit the file is caught by :meth:`SqliteAuditLog.verify`.

Durability
----------
The database runs in WAL mode with ``synchronous=FULL``: every commit fsyncs the write-ahead log,
so a batch that :meth:`~SqliteAuditLog.append_batch` acknowledged survives a process crash *and*
a power cut (PRODUCT.md §8: an accepted item is never lost).  ``NORMAL`` would survive a process
crash only, and one fsync per batch is cheap once batches hold hundreds of entries.  Each batch is
one ``BEGIN IMMEDIATE`` … ``COMMIT`` transaction holding its entries *and* the checkpoint
``(size, root)`` of the tree after it; indices are returned only after ``COMMIT`` returns.

Memory and speed
----------------
On open the in-memory :class:`~gsomia.audit.merkle.MerkleTree` is rebuilt from the stored leaf
hashes (about 64 bytes per entry), so roots and proofs cost no disk access.  :meth:`verify`
streams the entries in chunks of 2**16 rows, re-hashes each entry (RFC 9162 §2.1.1), folds the
chunk roots into a compact range, and so holds one chunk at a time, however long the log.

Tamper evidence (what :meth:`verify` reports)
---------------------------------------------
* ``AUDIT_LEAF_MISMATCH`` — an entry no longer hashes to its stored leaf hash (altered entry);
* ``AUDIT_ENTRY_MISSING`` — an index is missing (removed row); ``AUDIT_ENTRY_EXTRA`` — a row
  at an impossible (negative) index; ``AUDIT_ENTRY_MALFORMED`` — an entry is no longer a BLOB;
* ``AUDIT_CHECKPOINT_MISMATCH`` — the root recomputed from the entries differs from the root
  recorded at that size (rows reordered or swapped, entry and hash together);
* ``AUDIT_TRUNCATED`` — fewer entries than the latest checkpoint records;
* ``AUDIT_CHECKPOINT_MISSING`` — entries beyond the latest checkpoint (rows inserted, or the
  latest checkpoints deleted).

The tree loader and the verifier work on any SQL connection and live in
:mod:`gsomia.adapters.audit_tables`, shared with the node stores (SQLite and PostgreSQL).

Deleting the tail of *both* tables together is not detectable from the file alone; that is what
signed checkpoints held by partners are for (later work).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType

from gsomia.adapters.audit_tables import (
    Progress,
    VerifyProblem,
    VerifyResult,
    read_tree,
    verify_tables,
)
from gsomia.audit.merkle import MerkleTree
from gsomia.errors import InputError, StoreError

__all__ = ["SqliteAuditLog", "StoreError", "VerifyProblem", "VerifyResult", "read_tree"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit_entries (
        idx INTEGER PRIMARY KEY,
        entry BLOB NOT NULL,
        leaf_hash BLOB NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS audit_checkpoints (
        size INTEGER PRIMARY KEY,
        root BLOB NOT NULL
    )""",
    *(
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()}
        BEFORE {action} ON {table}
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"""
        for table in ("audit_entries", "audit_checkpoints")
        for action in ("UPDATE", "DELETE")
    ),
)


class SqliteAuditLog:
    """A durable append-only Merkle log in the SQLite file at ``path``.

    Safe to share between threads of one process (calls are serialised).  Several processes may
    open the same file; appends stay consistent (each batch re-reads the stored size under the
    write lock), but :meth:`size`, roots and proofs reflect this process's view until
    :meth:`refresh` or its next append.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0) -> None:
        self._path = os.fspath(path)
        self._lock = threading.RLock()
        self._damage: str | None = None
        with self._wrap("open"):
            self._db = sqlite3.connect(
                self._path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        try:
            with self._wrap("open"):
                mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":  # the durability argument above needs WAL
                    raise StoreError(
                        f"the audit store cannot use WAL mode (got {mode!r})",
                        detail={"operation": "open", "path": self._path},
                    )
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _SCHEMA:
                        self._db.execute(statement)
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            self._tree = self._load_tree()
        except BaseException:
            self._db.close()
            raise

    # -- life cycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database connection."""
        with self._lock, self._wrap("close"):
            self._db.close()

    def __enter__(self) -> SqliteAuditLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _wrap(self, operation: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(
                f"audit store {operation} failed: {exc}",
                detail={"operation": operation, "path": self._path},
            ) from exc

    # -- loading ----------------------------------------------------------------------------

    def _load_tree(self) -> MerkleTree:
        """Rebuild the in-memory tree from the stored leaf hashes; note any damage seen."""
        with self._wrap("load"):
            self._db.execute("BEGIN")
            try:
                tree, self._damage = read_tree(self._db)
            finally:
                self._db.execute("COMMIT")
        return tree

    def refresh(self) -> None:
        """Reload the in-memory tree from the file (e.g. after another process appended)."""
        with self._lock:
            self._tree = self._load_tree()

    # -- appending --------------------------------------------------------------------------

    def append(self, entry: bytes) -> int:
        """Append one entry durably; return its index.  Prefer :meth:`append_batch`."""
        return self.append_batch([entry])[0]

    def append_batch(self, entries: Sequence[bytes]) -> list[int]:
        """Append ``entries`` in one transaction; return their indices once committed.

        All or nothing: on any failure nothing is appended and :class:`StoreError` is raised.
        """
        items = list(entries)
        if set(map(type, items)) - {bytes}:  # the common case costs one C-level pass
            items = [_entry(e) for e in items]
        if not items:
            return []
        sha, prefix = hashlib.sha256, b"\x00"  # RFC 9162 §2.1.1 leaf hash
        hashes = [sha(prefix + e).digest() for e in items]
        with self._lock:
            for _ in range(2):
                if self._damage is not None:
                    raise StoreError(
                        f"the audit log is damaged ({self._damage}); run verify()",
                        code="AUDIT_LOG_DAMAGED",
                        detail={"path": self._path},
                    )
                try:
                    indices = self._append_once(items, hashes)
                except BaseException:
                    self._abandon()
                    raise
                if indices is not None:
                    return indices
                self._tree = self._load_tree()  # another process appended: catch up, retry
            raise StoreError("the audit log keeps changing under us", detail={"path": self._path})

    def _append_once(self, items: list[bytes], hashes: list[bytes]) -> list[int] | None:
        db = self._db
        with self._wrap("append"):
            db.execute("BEGIN IMMEDIATE")
            stored = db.execute("SELECT COALESCE(MAX(idx), -1) + 1 FROM audit_entries")
            start = int(stored.fetchone()[0])
            if start != self._tree.size:
                db.execute("COMMIT")
                return None
            end = start + len(items)
            db.executemany(
                "INSERT INTO audit_entries (idx, entry, leaf_hash) VALUES (?, ?, ?)",
                zip(range(start, end), items, hashes, strict=True),
            )
            self._tree.extend_leaf_hashes(hashes)
            db.execute(
                "INSERT INTO audit_checkpoints (size, root) VALUES (?, ?)",
                (end, self._tree.root()),
            )
            db.execute("COMMIT")
        return list(range(start, end))

    def _abandon(self) -> None:
        """After a failed append: roll back and take the file as the truth again."""
        try:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._tree = self._load_tree()
        except (sqlite3.Error, StoreError):
            self._damage = "the store failed during an append; reopen it"

    # -- reading ----------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    @property
    def tree(self) -> MerkleTree:
        """The in-memory tree over the stored leaf hashes (do not append to it)."""
        return self._tree

    def size(self) -> int:
        """The number of entries."""
        return self._tree.size

    def entry(self, index: int) -> bytes:
        """The entry at ``index``."""
        with self._lock:
            if not isinstance(index, int) or not 0 <= index < self._tree.size:
                raise InputError(
                    f"index {index} is not below the log's size {self._tree.size}",
                    code="AUDIT_INDEX_OUT_OF_RANGE",
                    detail={"index": index, "size": self._tree.size},
                )
            with self._wrap("read"):
                row = self._db.execute(
                    "SELECT entry FROM audit_entries WHERE idx = ?", (index,)
                ).fetchone()
        if row is None or not isinstance(row[0], bytes):
            raise StoreError(f"entry {index} is missing or malformed", code="AUDIT_LOG_DAMAGED")
        return row[0]

    def root(self, size: int | None = None) -> bytes:
        """The root at ``size`` (default: now), RFC 9162 §2.1.1."""
        with self._lock:
            return self._tree.root() if size is None else self._tree.root_at(size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The inclusion proof of ``index`` in the tree of ``size`` (RFC 9162 §2.1.3.1)."""
        with self._lock:
            return self._tree.inclusion_proof(index, size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """The consistency proof from ``old_size`` to ``new_size`` (RFC 9162 §2.1.4.1)."""
        with self._lock:
            return self._tree.consistency_proof(old_size, new_size)

    def checkpoints(self) -> list[tuple[int, bytes]]:
        """Every recorded ``(size, root)``, oldest first."""
        with self._lock, self._wrap("read"):
            rows = self._db.execute("SELECT size, root FROM audit_checkpoints ORDER BY size")
            return [(int(size), bytes(root)) for size, root in rows]

    # -- verification -----------------------------------------------------------------------

    def verify(self, progress: Progress | None = None) -> VerifyResult:
        """Recompute everything from the stored entries and compare it with what is recorded.

        One read transaction (a consistent snapshot) around :func:`~.audit_tables.verify_tables`.
        Never raises for a damaged log: damage is reported in the result.  Raises
        :class:`StoreError` if the file cannot be read at all.
        """
        with self._lock, self._wrap("verify"):
            self._db.execute("BEGIN")
            try:
                return verify_tables(self._db, progress)
            finally:
                self._db.execute("COMMIT")


def _entry(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise InputError(
        f"an audit log entry is bytes, not {type(value).__name__}", code="AUDIT_ENTRY_INVALID"
    )
