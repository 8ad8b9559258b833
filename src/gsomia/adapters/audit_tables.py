"""The audit tables of a node, whatever the SQL database: load the tree, verify the log.

Both SQL stores keep the same two tables (RFC 9162 §2.1.1 leaf hashes beside the entries)::

    audit_entries(idx PRIMARY KEY, entry, leaf_hash)   one row per leaf
    audit_checkpoints(size PRIMARY KEY, root)           the root after each batch or unit of work

:func:`read_tree` rebuilds the in-memory :class:`~gsomia.audit.merkle.MerkleTree` from the stored
leaf hashes, :func:`catch_up` extends it with what other handles appended since, and
:func:`verify_tables` recomputes everything from the entries (with
:class:`gsomia.audit.verify.LogVerifier`, which the node's own check shares); both run their
literal, parameterless statements inside the caller's transaction through any connection with an
``execute(sql)`` that returns rows to fetch (:class:`Rows`): :mod:`sqlite3`, or a PostgreSQL
connection that streams through a server-side cursor (:mod:`gsomia.adapters.postgres_store`).
Used by :mod:`gsomia.adapters.sqlite_audit` and both node stores.
"""

from __future__ import annotations

from typing import Any, Protocol

from gsomia.audit.merkle import MerkleTree
from gsomia.audit.verify import LogVerifier, Progress, VerifyProblem, VerifyResult
from gsomia.errors import InputError

__all__ = [
    "Progress",
    "Rows",
    "SqlConnection",
    "VerifyProblem",
    "VerifyResult",
    "catch_up",
    "read_tree",
    "verify_tables",
]

_CHUNK = 1 << 16  # rows per fetch in verify() and on open; a power of two (see verify)
_CATCH_UP = 1 << 16  # more new entries than this: read the whole tree again (streamed)
_CHUNK_HEIGHT = _CHUNK.bit_length() - 1  # the verifier derives it from the chunk it is given


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


def catch_up(db: SqlConnection, tree: MerkleTree, stored: int) -> bool:
    """Extend ``tree`` (the committed log up to its size) with the entries other handles of the
    tables appended since, up to the ``stored`` count, and check it against the latest checkpoint:
    O(new entries) instead of :func:`read_tree`'s O(log).  False if anything is unexpected (a gap
    in the indices, a malformed hash, a root that does not match, no new entry at all) or if more
    than :data:`_CATCH_UP` entries are new: the caller then rebuilds the tree with
    :func:`read_tree`, which notes any damage.  ``tree`` may then hold part of the new entries;
    it is only kept after True."""
    start = tree.size
    if not start < stored <= start + _CATCH_UP:
        return False
    # Two integers of ours in the text (no input reaches it): the statement stays parameterless,
    # so it runs on either database's connection, whose placeholders differ.
    leaves = "SELECT idx, leaf_hash FROM audit_entries WHERE idx >= %d ORDER BY idx LIMIT %d"
    rows = db.execute(leaves % (start, stored - start + 1)).fetchmany(stored - start + 1)
    if [row[0] for row in rows] != list(range(start, stored)):
        return False
    try:
        tree.extend_leaf_hashes([bytes(row[1]) for row in rows])
    except InputError:
        return False
    latest = db.execute(
        "SELECT size, root FROM audit_checkpoints ORDER BY size DESC LIMIT 1"
    ).fetchone()
    return latest is not None and (int(latest[0]), bytes(latest[1])) == (tree.size, tree.root())


def verify_tables(db: SqlConnection, progress: Progress | None = None) -> VerifyResult:
    """Recompute everything from the stored entries and compare it with what is recorded.

    Runs inside the caller's (read) transaction, so it sees one consistent snapshot: streams the
    entries in index order, re-hashes each entry and compares it with its stored leaf hash,
    recomputes the root at every checkpoint size and compares it with the recorded root.  Never
    raises for a damaged log: damage is reported in the result.  Driver errors propagate.
    """
    total = db.execute("SELECT COALESCE(MAX(idx), -1) + 1 FROM audit_entries")
    total_rows = int(total.fetchone()[0])
    recorded = db.execute("SELECT size, root FROM audit_checkpoints ORDER BY size")
    verifier = LogVerifier(iter(recorded.fetchone, None), _CHUNK)
    rows = db.execute("SELECT idx, entry, leaf_hash FROM audit_entries ORDER BY idx")
    while chunk := rows.fetchmany(_CHUNK):
        verifier.chunk(chunk)
        if progress is not None:
            progress(verifier.position, max(total_rows, verifier.position))
    return verifier.finish()
