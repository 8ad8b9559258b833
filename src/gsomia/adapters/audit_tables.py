"""The audit tables of a node, whatever the SQL database: load the tree, verify the log.

Both SQL stores keep the same two tables (RFC 9162 §2.1.1 leaf hashes beside the entries)::

    audit_entries(idx PRIMARY KEY, entry, leaf_hash)   one row per leaf
    audit_checkpoints(size PRIMARY KEY, root)           the root after each batch or unit of work

:func:`read_tree` rebuilds the in-memory :class:`~gsomia.audit.merkle.MerkleTree` from the stored
leaf hashes and :func:`verify_tables` recomputes everything from the entries; both run their
literal, parameterless statements inside the caller's transaction through any connection with an
``execute(sql)`` that returns rows to fetch (:class:`Rows`): :mod:`sqlite3`, or a PostgreSQL
connection that streams through a server-side cursor (:mod:`gsomia.adapters.postgres_store`).
Used by :mod:`gsomia.adapters.sqlite_audit` and both node stores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gsomia.audit.merkle import EMPTY_ROOT, MerkleTree, node_hash
from gsomia.errors import InputError

__all__ = [
    "Progress",
    "Rows",
    "SqlConnection",
    "VerifyProblem",
    "VerifyResult",
    "read_tree",
    "verify_tables",
]

_CHUNK = 1 << 16  # rows per fetch in verify() and on open; a power of two (see verify)
_CHUNK_HEIGHT = _CHUNK.bit_length() - 1
_MAX_REPORTED = 100  # problems kept in a VerifyResult; the total is always counted


class Rows(Protocol):
    """The rows of one statement, fetched a few at a time."""

    def fetchone(self) -> Any:
        """The next row, or None."""
        ...

    def fetchmany(self, size: int = ...) -> list[Any]:
        """Up to ``size`` further rows."""
        ...


class SqlConnection(Protocol):
    """What these functions need of a connection: run a parameterless statement."""

    def execute(self, sql: str, /) -> Rows:
        """Run ``sql`` in the current transaction."""
        ...


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


def read_tree(db: SqlConnection) -> tuple[MerkleTree, str | None]:
    """Rebuild the tree from ``audit_entries`` and check it against the latest checkpoint.

    Runs inside the caller's transaction; shared by :mod:`gsomia.adapters.sqlite_audit` and
    the node stores, which keep the same two tables.
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


def verify_tables(db: SqlConnection, progress: Progress | None = None) -> VerifyResult:
    """Recompute everything from the stored entries and compare it with what is recorded.

    Runs inside the caller's (read) transaction, so it sees one consistent snapshot: streams the
    entries in index order, re-hashes each entry and compares it with its stored leaf hash,
    recomputes the root at every checkpoint size and compares it with the recorded root.  Never
    raises for a damaged log: damage is reported in the result.  Driver errors propagate.
    """
    total = db.execute("SELECT COALESCE(MAX(idx), -1) + 1 FROM audit_entries")
    total_rows = int(total.fetchone()[0])
    verifier = _Verifier(db.execute("SELECT size, root FROM audit_checkpoints ORDER BY size"))
    rows = db.execute("SELECT idx, entry, leaf_hash FROM audit_entries ORDER BY idx")
    while chunk := rows.fetchmany(_CHUNK):
        verifier.chunk(chunk)
        if progress is not None:
            progress(verifier.position, max(total_rows, verifier.position))
    return verifier.finish()


class _Verifier:
    """Streams the rows of the log and recomputes everything (see :func:`verify_tables`).

    Chunks hold 2**16 rows, so every full chunk is a perfect subtree: its root goes on a compact
    range ``outer`` of (height, hash), and the root at any size inside the current chunk is the
    fold of ``outer`` with the chunk-local root of the rest (RFC 9162 §2.1.1).
    """

    def __init__(self, checkpoints: Rows) -> None:
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
