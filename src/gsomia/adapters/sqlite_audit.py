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

Deleting the tail of *both* tables together is not detectable from the file alone; that is what
signed checkpoints held by partners are for (later work).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType

from gsomia.audit.merkle import EMPTY_ROOT, MerkleTree, node_hash
from gsomia.errors import InputError, StoreError

__all__ = ["SqliteAuditLog", "StoreError", "VerifyProblem", "VerifyResult", "read_tree"]

_CHUNK = 1 << 16  # rows per fetch in verify() and on open; a power of two (see verify)
_CHUNK_HEIGHT = _CHUNK.bit_length() - 1
_MAX_REPORTED = 100  # problems kept in a VerifyResult; the total is always counted

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


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    """One inconsistency found by :meth:`SqliteAuditLog.verify`."""

    code: str
    index: int | None
    message: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of a full recomputation of the log.

    ``size`` entries were read; ``root`` is the root recomputed from them; ``checkpoints`` is how
    many recorded roots were compared; ``problems`` holds the first 100 problems, and
    ``problem_count`` counts them all.
    """

    ok: bool
    size: int
    root: bytes
    checkpoints: int
    problems: tuple[VerifyProblem, ...]
    problem_count: int


Progress = Callable[[int, int], None]
"""Called as ``progress(entries_done, entries_total)`` after each chunk."""


def _fold(parts: Sequence[bytes]) -> bytes:
    """Fold a compact range, left to right, into a root (RFC 9162 §2.1.1)."""
    acc = parts[-1]
    for part in reversed(parts[:-1]):
        acc = node_hash(part, acc)
    return acc


def read_tree(db: sqlite3.Connection) -> tuple[MerkleTree, str | None]:
    """Rebuild the tree from ``audit_entries`` and check it against the latest checkpoint.

    Runs inside the caller's transaction; shared by this log and the node's store
    (:mod:`gsomia.adapters.sqlite_store`), which keeps the same two tables in its own file.
    Damage (a gap in the indices, a malformed hash, a checkpoint that does not match) is returned
    as a message, not raised: the tree holds the entries before it, reads go on, appends are
    refused, and :meth:`SqliteAuditLog.verify` says what is wrong.
    """
    tree = MerkleTree()
    damage: str | None = None
    cursor = db.execute("SELECT idx, leaf_hash FROM audit_entries ORDER BY idx")
    while rows := cursor.fetchmany(_CHUNK):
        start = tree.size
        if rows[0][0] != start or rows[-1][0] != start + len(rows) - 1:
            rows = [row for i, row in enumerate(rows) if row[0] == start + i]
            damage = f"the stored indices break off at {start + len(rows)}"
        try:
            tree.extend_leaf_hashes([row[1] for row in rows])
        except InputError:
            damage = "a stored leaf hash is malformed"
        if damage:
            return tree, damage
    last = db.execute(
        "SELECT size, root FROM audit_checkpoints ORDER BY size DESC LIMIT 1"
    ).fetchone()
    if last is None:
        return tree, "entries exist but no checkpoint was recorded" if tree.size else None
    size, recorded = last
    if size != tree.size:
        return tree, f"the latest checkpoint records {size} entries, the log holds {tree.size}"
    if tree.root() != recorded:
        return tree, f"the root at size {size} differs from the recorded checkpoint"
    return tree, None


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

        Streams the entries in index order inside one read transaction (a consistent snapshot),
        re-hashes each entry and compares it with its stored leaf hash, recomputes the root at
        every checkpoint size and compares it with the recorded root.  Never raises for a damaged
        log: damage is reported in the result.  Raises :class:`StoreError` if the file cannot be
        read at all.
        """
        with self._lock, self._wrap("verify"):
            db = self._db
            db.execute("BEGIN")
            try:
                total = db.execute("SELECT COALESCE(MAX(idx), -1) + 1 FROM audit_entries")
                total_rows = int(total.fetchone()[0])
                verifier = _Verifier(
                    db.execute("SELECT size, root FROM audit_checkpoints ORDER BY size")
                )
                rows = db.execute("SELECT idx, entry, leaf_hash FROM audit_entries ORDER BY idx")
                while chunk := rows.fetchmany(_CHUNK):
                    verifier.chunk(chunk)
                    if progress is not None:
                        progress(verifier.position, max(total_rows, verifier.position))
                return verifier.finish()
            finally:
                db.execute("COMMIT")


def _entry(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise InputError(
        f"an audit log entry is bytes, not {type(value).__name__}", code="AUDIT_ENTRY_INVALID"
    )


class _Verifier:
    """Streams the rows of the log and recomputes everything (see :meth:`SqliteAuditLog.verify`).

    Chunks hold 2**16 rows, so every full chunk is a perfect subtree: its root goes on a compact
    range ``outer`` of (height, hash), and the root at any size inside the current chunk is the
    fold of ``outer`` with the chunk-local root of the rest (RFC 9162 §2.1.1).
    """

    def __init__(self, checkpoints: sqlite3.Cursor) -> None:
        self.kept: list[VerifyProblem] = []
        self.count = 0
        self.outer: list[tuple[int, bytes]] = []
        self.position = 0  # rows read so far
        self.expected_idx = 0
        self.checked = 0  # checkpoints compared
        self.latest = 0  # the largest checkpoint size seen
        self._checkpoints = checkpoints
        self._next_cp: tuple[int, bytes] | None = checkpoints.fetchone()

    def problem(self, code: str, index: int | None, message: str) -> None:
        self.count += 1
        if len(self.kept) < _MAX_REPORTED:
            self.kept.append(VerifyProblem(code, index, message))

    def chunk(self, rows: list[tuple[int, object, object]]) -> None:
        idxs, entries, stored = zip(*rows, strict=True)
        self._check_indices(idxs)
        sha, prefix = hashlib.sha256, b"\x00"  # RFC 9162 §2.1.1 leaf hash
        try:
            computed = [sha(prefix + e).digest() for e in entries]
        except TypeError:  # an entry is no longer a BLOB
            computed = [self._rehash(i, e) for i, e in zip(idxs, entries, strict=True)]
        if list(stored) != computed:
            for idx, was, now in zip(idxs, stored, computed, strict=True):
                if was != now:
                    self.problem(
                        "AUDIT_LEAF_MISMATCH",
                        idx,
                        f"entry {idx} does not hash to its stored leaf hash (altered)",
                    )
        tree = MerkleTree.from_leaf_hashes(computed)
        self._compare_checkpoints(tree)
        self.position += tree.size
        self.outer.append((_CHUNK_HEIGHT if tree.size == _CHUNK else -1, tree.root()))
        while len(self.outer) >= 2 and self.outer[-1][0] == self.outer[-2][0] >= 0:
            (height, right), (_, left) = self.outer.pop(), self.outer.pop()
            self.outer.append((height + 1, node_hash(left, right)))

    def _check_indices(self, idxs: tuple[int, ...]) -> None:
        expected = self.expected_idx
        if idxs[0] == expected and idxs[-1] == expected + len(idxs) - 1:
            self.expected_idx += len(idxs)
            return
        for idx in idxs:
            if idx < expected:
                self.problem("AUDIT_ENTRY_EXTRA", idx, f"an entry at index {idx} cannot exist")
                continue
            if idx != expected:
                self.problem(
                    "AUDIT_ENTRY_MISSING", expected, f"entries {expected}..{idx - 1} are missing"
                )
            expected = idx + 1
        self.expected_idx = expected

    def _rehash(self, idx: int, entry: object) -> bytes:
        if isinstance(entry, bytes):
            return hashlib.sha256(b"\x00" + entry).digest()
        self.problem("AUDIT_ENTRY_MALFORMED", idx, f"entry {idx} is not a BLOB")
        return hashlib.sha256(b"\x00" + repr(entry).encode()).digest()

    def _compare_checkpoints(self, tree: MerkleTree) -> None:
        base = [node for _, node in self.outer]
        end = self.position + tree.size
        while self._next_cp is not None and self._next_cp[0] <= end:
            size, recorded = self._next_cp
            self.latest = size
            if size > self.position:
                self.checked += 1
                if _fold([*base, tree.root_at(size - self.position)]) != recorded:
                    self.problem(
                        "AUDIT_CHECKPOINT_MISMATCH",
                        size,
                        f"the root recomputed at size {size} differs from the recorded one",
                    )
            self._next_cp = self._checkpoints.fetchone()

    def finish(self) -> VerifyResult:
        while self._next_cp is not None:  # checkpoints beyond the entries read
            self.latest = self._next_cp[0]
            self._next_cp = self._checkpoints.fetchone()
        if self.latest > self.position:
            self.problem(
                "AUDIT_TRUNCATED",
                self.position,
                f"a checkpoint records {self.latest} entries, the log holds {self.position}",
            )
        elif self.latest < self.position:
            self.problem(
                "AUDIT_CHECKPOINT_MISSING",
                self.latest,
                f"entries {self.latest}..{self.position - 1} are covered by no recorded checkpoint",
            )
        return VerifyResult(
            ok=self.count == 0,
            size=self.position,
            root=_fold([node for _, node in self.outer]) if self.outer else EMPTY_ROOT,
            checkpoints=self.checked,
            problems=tuple(self.kept),
            problem_count=self.count,
        )
