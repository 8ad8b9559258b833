"""Properties of the RFC 9162 Merkle tree over any append sequence.

- the incremental tree's root equals ``root(leaves)`` and the literal RFC recursion at every size;
- every inclusion and every consistency proof verifies;
- altering an entry, any byte of a proof, the index or a size breaks verification;
- roots agree with pymerkle, which implements the same RFC 9162 hashing;
- a state machine appends single entries and batches, and checks proofs between any two sizes.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from gsomia.audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)

ENTRY = st.binary(max_size=24)
ENTRIES = st.lists(ENTRY, min_size=1, max_size=40)
UNIQUE_ENTRIES = st.lists(ENTRY, min_size=1, max_size=40, unique=True)


def ref_mth(d: Sequence[bytes]) -> bytes:
    """MTH exactly as RFC 9162 §2.1.1 writes it."""
    if not d:
        return EMPTY_ROOT
    if len(d) == 1:
        return leaf_hash(d[0])
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return node_hash(ref_mth(d[:k]), ref_mth(d[k:]))


def flip(data: bytes, position: int) -> bytes:
    position %= len(data)
    return data[:position] + bytes([data[position] ^ 0x01]) + data[position + 1 :]


@given(ENTRIES)
def test_incremental_root_matches_the_rfc_definition_at_every_size(entries: list[bytes]) -> None:
    tree = MerkleTree()
    assert tree.root() == EMPTY_ROOT
    for n, entry in enumerate(entries, start=1):
        tree.append(entry)
        assert tree.root() == root(entries[:n]) == ref_mth(entries[:n])
    for n in range(len(entries) + 1):
        assert tree.root_at(n) == ref_mth(entries[:n])


@given(ENTRIES, st.data())
def test_every_inclusion_proof_verifies(entries: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree.from_entries(entries)
    size = data.draw(st.integers(1, len(entries)), label="size")
    tree_root = tree.root_at(size)
    for index in range(size):
        proof = tree.inclusion_proof(index, size)
        assert verify_inclusion(entries[index], index, size, proof, tree_root)


@given(ENTRIES, st.data())
def test_every_consistency_proof_verifies(entries: list[bytes], data: st.DataObject) -> None:
    tree = MerkleTree.from_entries(entries)
    new = data.draw(st.integers(0, len(entries)), label="new")
    for old in range(new + 1):
        proof = tree.consistency_proof(old, new)
        assert verify_consistency(old, new, tree.root_at(old), tree.root_at(new), proof)


@given(UNIQUE_ENTRIES, st.data())
def test_any_alteration_breaks_an_inclusion_proof(
    entries: list[bytes], data: st.DataObject
) -> None:
    tree = MerkleTree.from_entries(entries)
    size = data.draw(st.integers(1, len(entries)), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = tree.inclusion_proof(index, size)
    tree_root = tree.root_at(size)
    entry = entries[index]

    altered = entry + b"!" if not entry else flip(entry, data.draw(st.integers(0, 1000)))
    assert not verify_inclusion(altered, index, size, proof, tree_root)
    if proof:
        which = data.draw(st.integers(0, len(proof) - 1), label="which")
        byte = data.draw(st.integers(0, 31), label="byte")
        broken = [*proof[:which], flip(proof[which], byte), *proof[which + 1 :]]
        assert not verify_inclusion(entry, index, size, broken, tree_root)
        assert not verify_inclusion(entry, index, size, proof[:-1], tree_root)
    assert not verify_inclusion(entry, index, size, [*proof, tree_root], tree_root)
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other")
        assert not verify_inclusion(entry, other, size, proof, tree_root)
    assert not verify_inclusion(entry, index, size, proof, flip(tree_root, index))


@given(st.lists(ENTRY, min_size=2, max_size=40, unique=True), st.data())
def test_any_alteration_breaks_a_consistency_proof(
    entries: list[bytes], data: st.DataObject
) -> None:
    tree = MerkleTree.from_entries(entries)
    new = data.draw(st.integers(2, len(entries)), label="new")
    old = data.draw(st.integers(1, new - 1), label="old")
    proof = tree.consistency_proof(old, new)
    r1, r2 = tree.root_at(old), tree.root_at(new)
    assert proof
    which = data.draw(st.integers(0, len(proof) - 1), label="which")
    byte = data.draw(st.integers(0, 31), label="byte")
    broken = [*proof[:which], flip(proof[which], byte), *proof[which + 1 :]]
    assert not verify_consistency(old, new, r1, r2, broken)
    assert not verify_consistency(old, new, r1, r2, proof[:-1])
    assert not verify_consistency(old, new, r1, r2, [*proof, r2])
    assert not verify_consistency(old, new, flip(r1, byte), r2, proof)
    assert not verify_consistency(old, new, r1, flip(r2, byte), proof)
    # A tree that differs in any one old entry is not consistent with the new root.
    victim = data.draw(st.integers(0, old - 1), label="victim")
    forged = [*entries[:victim], entries[victim] + b"!", *entries[victim + 1 : old]]
    assert not verify_consistency(old, new, root(forged), r2, proof)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ENTRY, max_size=70))
def test_roots_agree_with_pymerkle(entries: list[bytes]) -> None:
    pymerkle = pytest.importorskip("pymerkle")
    peer = pymerkle.InmemoryTree(algorithm="sha256")
    for entry in entries:
        peer.append_entry(entry)
    assert peer.get_root() == root(entries)


class MerkleLog(RuleBasedStateMachine):
    """Append singles and batches; proofs between any two sizes must always verify."""

    def __init__(self) -> None:
        super().__init__()
        self.tree = MerkleTree()
        self.entries: list[bytes] = []
        self.roots: list[bytes] = [EMPTY_ROOT]  # roots seen after each append, by size

    @rule(entry=ENTRY)
    def append(self, entry: bytes) -> None:
        assert self.tree.append(entry) == len(self.entries)
        self.entries.append(entry)
        self.roots.append(self.tree.root())

    @rule(batch=st.lists(ENTRY, max_size=20))
    def extend(self, batch: list[bytes]) -> None:
        start = len(self.entries)
        assert self.tree.extend(batch) == range(start, start + len(batch))
        for entry in batch:
            self.entries.append(entry)
            self.roots.append(root(self.entries))

    @precondition(lambda self: self.entries)
    @rule(data=st.data())
    def prove(self, data: st.DataObject) -> None:
        size = data.draw(st.integers(1, len(self.entries)))
        index = data.draw(st.integers(0, size - 1))
        old = data.draw(st.integers(0, size))
        proof = self.tree.inclusion_proof(index, size)
        assert verify_inclusion(self.entries[index], index, size, proof, self.roots[size])
        proof = self.tree.consistency_proof(old, size)
        assert verify_consistency(old, size, self.roots[old], self.roots[size], proof)

    @invariant()
    def roots_never_change(self) -> None:
        assert self.tree.size == len(self.entries)
        assert self.tree.root() == self.roots[-1]
        if self.entries:  # a past root, recomputed now, is the root we saw then
            size = len(self.entries) // 2
            assert self.tree.root_at(size) == self.roots[size]


TestMerkleLog = MerkleLog.TestCase
TestMerkleLog.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
