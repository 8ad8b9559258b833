"""The Merkle tree of the audit log: RFC 9162 §2.1 hashing, proofs and their verification.

Pure: ``hashlib`` only, no I/O, no clock.  Bytes in, bytes out.

Hashing (RFC 9162 §2.1.1), with SHA-256::

    MTH({})        = SHA-256()                           the empty tree
    MTH({d0})      = SHA-256(0x00 || d0)                 a leaf
    MTH(D[n])      = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))
                     where k is the largest power of two smaller than n

Theory of operation
-------------------
A tree of ``n`` leaves is the right-to-left fold of its *perfect subtrees*, one per set bit of ``n``
(a compact range): for ``n = 0b1011`` they cover leaves ``[0, 8)``, ``[8, 10)`` and ``[10, 11)``.
:class:`MerkleTree` keeps, for every height ``h``, the hashes of all *complete* perfect subtrees of
``2**h`` leaves, packed in one ``bytearray`` per height (height 0 holds the leaf hashes).  Such a
subtree never changes once complete, so this is a memo of every full subtree:

* appending a leaf completes at most one node per height: O(log n), amortised O(1) hashes;
* the root at any past size ``m`` folds ``popcount(m)`` stored nodes;
* a proof (RFC 9162 §2.1.3.1 ``PATH``, §2.1.4.1 ``SUBPROOF``) is O(log n) lookups plus at most
  O(log n) hashes for the one ragged right edge.

Memory is about 64 bytes per leaf (32 for the leaf hash, 32 for all heights above together) with
no per-hash Python object: about 64 MB for a million entries.

Errors
------
Asking for a root or a proof the tree cannot give (an index or size beyond the tree, a negative
one, an old size above the new one) raises :class:`~gsomia.errors.InputError` with code
``AUDIT_INDEX_OUT_OF_RANGE`` or ``AUDIT_SIZE_OUT_OF_RANGE``.  The verifiers
(:func:`verify_inclusion`, :func:`verify_consistency`) never raise for well-typed arguments: a
wrong proof, impossible or negative sizes, and hashes of the wrong length all give ``False``, so
no input from a partner can crash a verifier.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from gsomia.errors import InputError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LeavesOrLog",
    "MerkleTree",
    "consistency_proof",
    "inclusion_proof",
    "inclusion_proof_length",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_inclusion",
    "verify_consistency",
    "verify_inclusion",
    "verify_inclusion_hash",
]

HASH_SIZE = 32
_LEAF_PREFIX = b"\x00"  # RFC 9162 §2.1.1
_NODE_PREFIX = b"\x01"  # RFC 9162 §2.1.1
_sha256 = hashlib.sha256

EMPTY_ROOT: bytes = _sha256(b"").digest()
"""MTH({}): the root of the empty tree, SHA-256 of the empty string (RFC 9162 §2.1.1)."""


def leaf_hash(data: bytes) -> bytes:
    """The hash of the leaf holding ``data``: SHA-256(0x00 || data) (RFC 9162 §2.1.1)."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right) (RFC 9162 §2.1.1)."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes | bytearray) and len(value) == HASH_SIZE


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``), RFC 9162 §2.1.1."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """An in-memory, append-only RFC 9162 Merkle tree over leaf hashes.

    Build one with :meth:`from_entries` (raw entries) or :meth:`from_leaf_hashes` (hashes already
    computed, e.g. loaded from storage), then :meth:`append` / :meth:`extend`.
    """

    __slots__ = ("_edge", "_levels", "_size")

    def __init__(self) -> None:
        # _levels[h] packs the hashes of the complete perfect subtrees of 2**h leaves, in order;
        # len(_levels[h]) == 32 * (size >> h).
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        self._edge: tuple[int, dict[int, bytes]] = (0, {})

    @classmethod
    def from_entries(cls, entries: Iterable[bytes]) -> MerkleTree:
        """A tree whose leaves hold ``entries``, in order."""
        tree = cls()
        tree.extend(entries)
        return tree

    @classmethod
    def from_leaf_hashes(cls, hashes: Iterable[bytes]) -> MerkleTree:
        """A tree over leaf hashes already computed with :func:`leaf_hash`."""
        tree = cls()
        tree.extend_leaf_hashes(hashes)
        return tree

    # -- size and leaves --------------------------------------------------------------------

    @property
    def size(self) -> int:
        """The number of leaves."""
        return self._size

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"MerkleTree(size={self._size}, root={self.root().hex()})"

    def leaf_hash_at(self, index: int) -> bytes:
        """The leaf hash at ``index`` (0-based)."""
        self._check_index(index, self._size)
        return bytes(self._levels[0][index * HASH_SIZE : (index + 1) * HASH_SIZE])

    # -- appending --------------------------------------------------------------------------

    def append(self, entry: bytes) -> int:
        """Append the leaf holding ``entry``; return its 0-based index."""
        return self.append_leaf_hash(_sha256(_LEAF_PREFIX + entry).digest())

    def append_leaf_hash(self, digest: bytes) -> int:
        """Append a leaf by its hash; return its 0-based index."""
        if (type(digest) is not bytes or len(digest) != HASH_SIZE) and not _is_hash(digest):
            raise InputError("a leaf hash is 32 bytes", code="AUDIT_HASH_INVALID")
        levels = self._levels
        index = self._size
        levels[0] += digest
        self._size = index + 1
        # Each odd position completes its parent: left sibling || this node are adjacent.
        height, pos = 0, index
        while pos & 1:
            start = (pos - 1) * HASH_SIZE
            node = _sha256(_NODE_PREFIX + levels[height][start : start + 2 * HASH_SIZE]).digest()
            height += 1
            pos >>= 1
            if height == len(levels):
                levels.append(bytearray())
            levels[height] += node
        return index

    def extend(self, entries: Iterable[bytes]) -> range:
        """Append the leaves holding ``entries``; return their indices."""
        sha, prefix = _sha256, _LEAF_PREFIX
        digests = [sha(prefix + e).digest() for e in entries]
        return self._extend_blob(b"".join(digests), len(digests))

    def extend_leaf_hashes(self, hashes: Iterable[bytes]) -> range:
        """Append leaves by their hashes; return their indices."""
        digests = hashes if isinstance(hashes, list | tuple) else list(hashes)
        try:
            blob = b"".join(digests)
        except TypeError:
            raise InputError("a leaf hash is 32 bytes", code="AUDIT_HASH_INVALID") from None
        if set(map(len, digests)) - {HASH_SIZE}:
            raise InputError("a leaf hash is 32 bytes", code="AUDIT_HASH_INVALID")
        return self._extend_blob(blob, len(digests))

    def _extend_blob(self, blob: bytes, count: int) -> range:
        start = self._size
        if not count:
            return range(start, start)
        levels = self._levels
        levels[0] += blob
        size = self._size = start + count
        sha, prefix, pair = _sha256, _NODE_PREFIX, 2 * HASH_SIZE
        height = 0
        # Complete, height by height, every parent whose two children now exist.
        while (want := size >> (height + 1)) > 0:
            if height + 1 == len(levels):
                levels.append(bytearray())
            have = len(levels[height + 1]) // HASH_SIZE
            if have == want:
                break  # nothing new at this height, so nothing new above it either
            child = bytes(levels[height][have * pair : want * pair])
            levels[height + 1] += b"".join(
                [sha(prefix + child[i : i + pair]).digest() for i in range(0, len(child), pair)]
            )
            height += 1
        return range(start, size)

    # -- roots ------------------------------------------------------------------------------

    def root(self) -> bytes:
        """The root hash at the current size."""
        return self.root_at(self._size)

    def root_at(self, size: int) -> bytes:
        """The root hash the tree had when it held ``size`` leaves (RFC 9162 §2.1.1)."""
        self._check_size(size)
        return EMPTY_ROOT if size == 0 else self._edge_hashes(size)[0]

    def _node(self, height: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._levels[height][start : start + HASH_SIZE])

    def _edge_hashes(self, end: int) -> dict[int, bytes]:
        """MTH of ``[s, end)`` for each start ``s`` of a perfect subtree of the compact range of
        ``end`` (``end >= 1``): the ragged right edge every proof at size ``end`` needs.

        Memoised for the last ``end`` asked; never stale, since appends leave past sizes alone.
        """
        memo_end, memo = self._edge
        if memo_end == end:
            return memo
        levels = self._levels
        starts: list[int] = []
        parts: list[bytes] = []
        pos = 0
        for height in range(end.bit_length() - 1, -1, -1):
            if (end >> height) & 1:
                offset = (pos >> height) * HASH_SIZE
                starts.append(pos)
                parts.append(bytes(levels[height][offset : offset + HASH_SIZE]))
                pos += 1 << height
        sha, prefix = _sha256, _NODE_PREFIX
        acc = parts.pop()
        memo = {starts.pop(): acc}
        while parts:
            acc = sha(prefix + parts.pop() + acc).digest()
            memo[starts.pop()] = acc
        self._edge = (end, memo)
        return memo

    def _range_hash(self, start: int, length: int) -> bytes:
        """MTH of leaves ``[start, start + length)``, ``length >= 1``.

        Only the ranges the RFC 9162 recursion visits are supported: a perfect range (one stored
        node), or a ragged one ending at the proof's tree size (from :meth:`_edge_hashes`).
        """
        if length & (length - 1) == 0:
            return self._node(length.bit_length() - 1, start // length)
        # Ragged ranges in PATH and SUBPROOF always end at the proof's tree size and start where
        # a perfect subtree of that size's compact range starts.
        return self._edge_hashes(start + length)[start]

    # -- proofs -----------------------------------------------------------------------------

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 §2.1.3.1).

        Hashes are ordered from the leaf's sibling up to the root's child, as §2.1.3.2 consumes
        them.  ``size`` defaults to the current size.
        """
        size = self._size if size is None else size
        self._check_size(size)
        self._check_index(index, size)
        # PATH(m, D[n]) (RFC 9162 §2.1.3.1), read off the stored levels bottom-up: below height
        # `inner` (where index and size - 1 part ways) every sibling is complete, except the
        # right sibling at inner - 1, which is the ragged MTH(D[k:n]) when size - 1 is not its
        # last leaf; above, each left sibling of the path is a complete subtree.
        levels, width = self._levels, HASH_SIZE
        last = size - 1
        inner = (index ^ last).bit_length()
        proof: list[bytes] = []
        for height in range(inner - 1):
            at = ((index >> height) ^ 1) * width
            proof.append(bytes(levels[height][at : at + width]))
        if inner:
            height = inner - 1
            start = ((index >> height) | 1) << height
            if start + (1 << height) <= size:
                at = (start >> height) * width
                proof.append(bytes(levels[height][at : at + width]))
            else:
                proof.append(self._edge_hashes(size)[start])
        for height in range(inner, last.bit_length()):
            if (last >> height) & 1:
                at = ((last >> height) ^ 1) * width
                proof.append(bytes(levels[height][at : at + width]))
        return proof

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """The proof that the tree of ``old_size`` leaves is a prefix of that of ``new_size``.

        RFC 9162 §2.1.4.1.  Empty when ``old_size`` is 0 or equals ``new_size``.  ``new_size``
        defaults to the current size.
        """
        new_size = self._size if new_size is None else new_size
        self._check_size(new_size)
        if not isinstance(old_size, int) or not 0 <= old_size <= new_size:
            raise InputError(
                f"old size {old_size} is not between 0 and the new size {new_size}",
                code="AUDIT_SIZE_OUT_OF_RANGE",
                detail={"old_size": old_size, "new_size": new_size},
            )
        if old_size in (0, new_size):
            return []
        proof: list[bytes] = []
        offset, m, n, whole = 0, old_size, new_size, True
        # SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])         if m <= k
        #                      = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])  otherwise
        # and SUBPROOF(m, D[m], b) is [] if b else [MTH(D[m])].
        while m != n:
            k = _split(n)
            if m <= k:
                proof.append(self._range_hash(offset + k, n - k))
                n = k
            else:
                proof.append(self._node(k.bit_length() - 1, offset // k))
                offset, m, n, whole = offset + k, m - k, n - k, False
        if not whole:
            proof.append(self._range_hash(offset, n))
        proof.reverse()
        return proof

    # -- checks -----------------------------------------------------------------------------

    def _check_size(self, size: int) -> None:
        if not isinstance(size, int) or not 0 <= size <= self._size:
            raise InputError(
                f"size {size} is not between 0 and the log's size {self._size}",
                code="AUDIT_SIZE_OUT_OF_RANGE",
                detail={"size": size, "log_size": self._size},
            )

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        if not isinstance(index, int) or not 0 <= index < size:
            raise InputError(
                f"index {index} is not below the size {size}",
                code="AUDIT_INDEX_OUT_OF_RANGE",
                detail={"index": index, "size": size},
            )


LeavesOrLog = Sequence[bytes] | MerkleTree
"""Raw entries in order, or a :class:`MerkleTree` already built over them."""


def _as_tree(leaves_or_log: LeavesOrLog) -> MerkleTree:
    if isinstance(leaves_or_log, MerkleTree):
        return leaves_or_log
    if isinstance(leaves_or_log, bytes | bytearray | str):
        raise TypeError("expected a sequence of entries, not a single bytes or str value")
    return MerkleTree.from_entries(leaves_or_log)


def root(leaves: LeavesOrLog) -> bytes:
    """MTH over raw ``leaves`` (entries, not hashes), RFC 9162 §2.1.1."""
    return _as_tree(leaves).root()


def inclusion_proof(leaves_or_log: LeavesOrLog, index: int, size: int) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the first ``size`` leaves (RFC 9162 §2.1.3.1)."""
    return _as_tree(leaves_or_log).inclusion_proof(index, size)


def consistency_proof(log: LeavesOrLog, old_size: int, new_size: int) -> list[bytes]:
    """The consistency proof from ``old_size`` to ``new_size`` leaves (RFC 9162 §2.1.4.1)."""
    return _as_tree(log).consistency_proof(old_size, new_size)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows the raw entry ``leaf`` at ``index`` in the tree ``root``.

    RFC 9162 §2.1.3.2 applied to :func:`leaf_hash` of ``leaf``.  Never raises for well-typed
    arguments: any mismatch gives ``False``.
    """
    return verify_inclusion_hash(leaf_hash(leaf), index, size, proof, root)


def verify_inclusion_hash(
    leaf_digest: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """:func:`verify_inclusion` for a caller holding the leaf hash (RFC 9162 §2.1.3.2)."""
    return _is_hash(root) and root_from_inclusion(leaf_digest, index, size, proof) == root


def root_from_inclusion(
    leaf_digest: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes | None:
    """The root that ``proof`` leads to from leaf ``index`` of a tree of ``size`` leaves, or None
    if it cannot be an audit path there (RFC 9162 §2.1.3.2, steps 1-5 without the final compare).

    For a verifier who learns the root only from the path and checks it afterwards (a batch
    signature over the root, :mod:`gsomia.envelope.batch`).  Never raises for well-typed
    arguments.
    """
    if not _is_hash(leaf_digest):
        return None
    # 1. leaf_index must be below tree_size.
    if not 0 <= index < size:
        return None
    # 2.-3.
    fn, sn, r = index, size - 1, bytes(leaf_digest)
    # 4.
    for p in proof:
        if sn == 0 or not _is_hash(p):  # a.
            return None
        if fn & 1 or fn == sn:  # b.
            r = _sha256(_NODE_PREFIX + p + r).digest()
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = _sha256(_NODE_PREFIX + r + p).digest()
        fn >>= 1  # c.
        sn >>= 1
    # 5. (the caller compares r with the root it trusts)
    return r if sn == 0 else None


def inclusion_proof_length(index: int, size: int) -> int:
    """How many hashes the audit path of leaf ``index`` in a tree of ``size`` leaves holds.

    ``len(inclusion_proof(leaves, index, size))`` without the tree: the levels below the one where
    ``index`` and ``size - 1`` part ways each give one sibling, and above it each set bit of
    ``size - 1`` one left sibling (RFC 9162 §2.1.3.1).  Lets a parser fix a path's length from
    the index and size alone, so a path has one encoding.  Needs ``0 <= index < size``.
    """
    last = size - 1
    inner = (index ^ last).bit_length()
    return inner + (last >> inner).bit_count()


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree ``old_root`` of ``old_size`` leaves is a prefix of
    ``new_root`` of ``new_size`` leaves (RFC 9162 §2.1.4.2).

    Beyond §2.1.4.2, which covers ``0 < old_size < new_size``: equal sizes need equal roots and
    an empty proof; ``old_size == 0`` needs an empty proof and ``old_root`` equal to
    :data:`EMPTY_ROOT` (stricter than transparency-dev/merkle, which ignores that root).  Never
    raises for well-typed arguments: any mismatch gives ``False``.
    """
    if not (_is_hash(old_root) and _is_hash(new_root)):
        return False
    if not 0 <= old_size <= new_size:
        return False
    if old_size == 0:
        return (
            len(proof) == 0 and old_root == EMPTY_ROOT and (new_size > 0 or new_root == EMPTY_ROOT)
        )
    if old_size == new_size:
        return len(proof) == 0 and old_root == new_root
    # 1. An empty path fails.
    path = list(proof)
    if not path or not all(_is_hash(c) for c in path):
        return False
    # 2. If first is an exact power of 2, prepend first_hash.
    if old_size & (old_size - 1) == 0:
        path.insert(0, bytes(old_root))
    # 3.-4.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = bytes(path[0])
    # 6.
    for c in path[1:]:
        if sn == 0:  # a.
            return False
        if fn & 1 or fn == sn:  # b.
            fr = _sha256(_NODE_PREFIX + c + fr).digest()
            sr = _sha256(_NODE_PREFIX + c + sr).digest()
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = _sha256(_NODE_PREFIX + sr + c).digest()
        fn >>= 1  # c.
        sn >>= 1
    # 7.
    return sn == 0 and fr == old_root and sr == new_root
