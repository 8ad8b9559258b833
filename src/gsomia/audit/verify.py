"""Recompute an RFC 9162 log from its entries and compare it with the roots recorded for it.

One verifier, fed by whoever can read a log: the SQL stores' full check
(:func:`gsomia.adapters.audit_tables.verify_tables`, behind ``gsomia audit verify`` and
``PostgresStore.verify_audit``) feeds it the rows of the ``audit_entries`` table with their
stored leaf hashes and the ``audit_checkpoints`` rows; the node's own check
(:func:`gsomia.node.audit_view.verify_log`, "verify now" on the dashboard) feeds it the entries
read through the Store port and the roots the store and the node's signed checkpoint name.

:class:`LogVerifier` takes the entries in index order, in chunks of ``chunk`` rows (a power of
two): every entry is re-hashed (RFC 9162 §2.1.1 leaf hash) and compared with its stored leaf
hash when one is given; every full chunk is a perfect subtree, so its root goes on a compact
range and the root at any size inside the current chunk is the fold of that range with the
chunk-local root of the rest.  Every recorded ``(size, root)`` is compared with the root
recomputed at that size.  Problems (stable codes below) are counted, the first 100 kept:

* ``AUDIT_LEAF_MISMATCH`` — an entry no longer hashes to its stored leaf hash (altered entry);
* ``AUDIT_ENTRY_MISSING`` / ``AUDIT_ENTRY_EXTRA`` — a gap in the indices / an impossible index;
* ``AUDIT_ENTRY_MALFORMED`` — an entry is no longer bytes;
* ``AUDIT_CHECKPOINT_MISMATCH`` — the recomputed root at a recorded size differs from the record;
* ``AUDIT_TRUNCATED`` — fewer entries than the latest recorded size;
* ``AUDIT_CHECKPOINT_MISSING`` — entries beyond the latest recorded size.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from gsomia.audit.merkle import EMPTY_ROOT, MerkleTree, node_hash

__all__ = ["CHUNK", "LogVerifier", "Progress", "VerifyProblem", "VerifyResult", "fold"]

CHUNK: Final = 1 << 16
"""Rows per chunk by default (a power of two)."""
MAX_REPORTED: Final = 100
"""Problems kept in a :class:`VerifyResult`; the total is always counted."""

Progress = Callable[[int, int], None]
"""Called as ``progress(entries_done, entries_total)`` as the verification goes."""


@dataclass(frozen=True, slots=True)
class VerifyProblem:
    """One inconsistency found by a verification."""

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


def fold(parts: Sequence[bytes]) -> bytes:
    """Fold a compact range, left to right, into a root (RFC 9162 §2.1.1)."""
    acc = parts[-1]
    for part in reversed(parts[:-1]):
        acc = node_hash(part, acc)
    return acc


class LogVerifier:
    """Streams the entries of a log and recomputes everything (see the module docstring).

    ``recorded`` yields the recorded ``(size, root)`` pairs in increasing size; ``chunk`` is the
    number of rows every call of :meth:`chunk` but the last gets (a power of two).
    """

    def __init__(self, recorded: Iterator[tuple[int, bytes]], chunk: int = CHUNK) -> None:
        if chunk < 1 or chunk & (chunk - 1):
            raise ValueError("the chunk size is a power of two")
        self.size_of_chunk = chunk
        self.height = chunk.bit_length() - 1
        self.kept: list[VerifyProblem] = []
        self.count = 0
        self.outer: list[tuple[int, bytes]] = []
        self.position = 0  # rows read so far
        self.expected_idx = 0
        self.checked = 0  # recorded roots compared
        self.latest = 0  # the largest recorded size seen
        self._recorded = recorded
        self._next_cp: tuple[int, bytes] | None = next(recorded, None)

    def problem(self, code: str, index: int | None, message: str) -> None:
        """Count a problem (and keep it, among the first :data:`MAX_REPORTED`)."""
        self.count += 1
        if len(self.kept) < MAX_REPORTED:
            self.kept.append(VerifyProblem(code, index, message))

    def chunk(self, rows: Sequence[tuple[int, object, object]]) -> None:
        """The next rows ``(index, entry, stored leaf hash or None)``, in index order."""
        idxs, entries, stored = zip(*rows, strict=True)
        self._check_indices(idxs)
        sha, prefix = hashlib.sha256, b"\x00"  # RFC 9162 §2.1.1 leaf hash
        try:
            computed = [sha(prefix + e).digest() for e in entries]
        except TypeError:  # an entry is no longer bytes
            computed = [self._rehash(i, e) for i, e in zip(idxs, entries, strict=True)]
        if any(s is not None for s in stored) and list(stored) != computed:
            for idx, was, now in zip(idxs, stored, computed, strict=True):
                if was is not None and was != now:
                    self.problem(
                        "AUDIT_LEAF_MISMATCH",
                        idx,
                        f"entry {idx} does not hash to its stored leaf hash (altered)",
                    )
        tree = MerkleTree.from_leaf_hashes(computed)
        self._compare_checkpoints(tree)
        self.position += tree.size
        full = tree.size == self.size_of_chunk
        self.outer.append((self.height if full else -1, tree.root()))
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
                if fold([*base, tree.root_at(size - self.position)]) != recorded:
                    self.problem(
                        "AUDIT_CHECKPOINT_MISMATCH",
                        size,
                        f"the root recomputed at size {size} differs from the recorded one",
                    )
            self._next_cp = next(self._recorded, None)

    def finish(self) -> VerifyResult:
        """The result, once every row was given."""
        while self._next_cp is not None:  # recorded sizes beyond the entries read
            self.latest = self._next_cp[0]
            self._next_cp = next(self._recorded, None)
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
            root=fold([node for _, node in self.outer]) if self.outer else EMPTY_ROOT,
            checkpoints=self.checked,
            problems=tuple(self.kept),
            problem_count=self.count,
        )
