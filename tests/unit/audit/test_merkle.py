"""RFC 9162 §2.1 Merkle tree: known answers (RFC 6962 vectors), edge cases and errors."""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from gsomia.audit import merkle
from gsomia.audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from gsomia.audit.merkle import verify_inclusion_hash as verify_hash
from gsomia.errors import InputError

VECTORS = json.loads(
    (Path(__file__).parents[2] / "vectors" / "rfc6962" / "merkle.json").read_text("utf-8")
)
LEAVES = [bytes.fromhex(x) for x in VECTORS["leaves"]]
ROOTS = {int(size): bytes.fromhex(r) for size, r in VECTORS["roots"].items()}
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def _proof(hexes: list[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in hexes]


# -- a literal transcription of RFC 9162 §2.1, as the reference ----------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    if not d:
        return EMPTY_ROOT
    if len(d) == 1:
        return leaf_hash(d[0])
    k = _k(len(d))
    return node_hash(ref_mth(d[:k]), ref_mth(d[k:]))


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], whole: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if whole else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], whole), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


# -- hashing (RFC 9162 §2.1.1) ---------------------------------------------------------------


def test_hasher_known_answers() -> None:
    hasher = VECTORS["hasher"]
    assert bytes.fromhex(hasher["empty_root"]) == EMPTY_ROOT == root([])
    assert leaf_hash(b"").hex() == hasher["empty_leaf_hash"]
    assert leaf_hash(hasher["leaf"]["data_ascii"].encode()).hex() == hasher["leaf"]["hash"]
    node = hasher["node"]
    assert (
        node_hash(node["left_ascii"].encode(), node["right_ascii"].encode()).hex() == node["hash"]
    )


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    h1, h2 = leaf_hash(b"Hello"), leaf_hash(b"World")
    assert h1 != h2
    assert node_hash(h1, h2) != leaf_hash(h1 + h2)  # second-preimage resistance
    assert node_hash(h1, h2) != node_hash(h2, h1)


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_roots_known_answers(size: int) -> None:
    assert root(LEAVES[:size]) == ROOTS[size]
    assert MerkleTree.from_entries(LEAVES).root_at(size) == ROOTS[size]
    assert ref_mth(LEAVES[:size]) == ROOTS[size]


def test_incremental_appends_give_the_known_roots() -> None:
    tree = MerkleTree()
    assert tree.root() == EMPTY_ROOT
    for i, entry in enumerate(LEAVES):
        assert tree.append(entry) == i
        assert tree.root() == ROOTS[i + 1]
        assert len(tree) == tree.size == i + 1


def test_leaf_hashes_and_entries_build_the_same_tree() -> None:
    by_hash = MerkleTree.from_leaf_hashes(leaf_hash(e) for e in LEAVES)
    by_append = MerkleTree()
    for entry in LEAVES:
        by_append.append_leaf_hash(leaf_hash(entry))
    assert by_hash.root() == by_append.root() == ROOTS[8]
    assert by_hash.leaf_hash_at(3) == leaf_hash(LEAVES[3])


# -- inclusion (RFC 9162 §2.1.3) -------------------------------------------------------------


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['index']}-{c['size']}")
def test_inclusion_known_answers(case: dict[str, object]) -> None:
    index, size = int(str(case["index"])), int(str(case["size"]))
    expected = _proof(case["proof"])  # type: ignore[arg-type]
    assert inclusion_proof(LEAVES, index, size) == expected
    tree = MerkleTree.from_entries(LEAVES)
    assert tree.inclusion_proof(index, size) == expected
    assert inclusion_proof(tree, index, size) == expected
    assert verify_inclusion(LEAVES[index], index, size, expected, ROOTS[size])


def _corrupt_inclusion(
    index: int, size: int, proof: list[bytes], root_hash: bytes, leaf: bytes
) -> list[tuple[int, int, bytes, list[bytes], bytes, str]]:
    """The probes of transparency-dev/merkle proof/verify_test.go corruptInclusionProof."""
    probes = [
        (index - 1, size, leaf, proof, root_hash, "index - 1"),
        (index + 1, size, leaf, proof, root_hash, "index + 1"),
        (index ^ 2, size, leaf, proof, root_hash, "index ^ 2"),
        (index, size * 2, leaf, proof, root_hash, "size * 2"),
        (index, size // 2, leaf, proof, root_hash, "size / 2"),
        (index, size, leaf_hash(b"WrongLeaf"), proof, root_hash, "wrong leaf"),
        (index, size, leaf, proof, EMPTY_ROOT, "empty root"),
        (index, size, leaf, proof, SOME_HASH, "random root"),
        (index, size, leaf, [*proof, b""], root_hash, "trailing garbage"),
        (index, size, leaf, [*proof, root_hash], root_hash, "trailing root"),
        (index, size, leaf, [b"", *proof], root_hash, "preceding garbage"),
        (index, size, leaf, [root_hash, *proof], root_hash, "preceding root"),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 8]) + wrong[i][1:]
        probes.append((index, size, leaf, wrong, root_hash, f"modified proof[{i}] bit 3"))
    if proof:
        probes.append((index, size, leaf, proof[:-1], root_hash, "removed component"))
    if len(proof) > 1:
        inserted = [proof[0], SOME_HASH, *proof[1:]]
        probes.append((index, size, leaf, inserted, root_hash, "inserted component"))
    return probes


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: f"{c['index']}-{c['size']}")
def test_inclusion_corruptions_fail(case: dict[str, object]) -> None:
    index, size = int(str(case["index"])), int(str(case["size"]))
    proof = _proof(case["proof"])  # type: ignore[arg-type]
    leaf = leaf_hash(LEAVES[index])
    assert verify_hash(leaf, index, size, proof, ROOTS[size])
    for i, n, lf, p, r, desc in _corrupt_inclusion(index, size, proof, ROOTS[size], leaf):
        assert not verify_hash(lf, i, n, p, r), desc


@pytest.mark.parametrize(("index", "size"), [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_inclusion_impossible_probes_fail(index: int, size: int) -> None:
    assert not verify_hash(SOME_HASH, index, size, [], b"")
    assert not verify_hash(b"", index, size, [], EMPTY_ROOT)
    assert not verify_hash(SOME_HASH, index, size, [], EMPTY_ROOT)


def test_single_entry_tree() -> None:
    digest = leaf_hash(b"data")
    assert root([b"data"]) == digest
    assert inclusion_proof([b"data"], 0, 1) == []
    assert verify_hash(digest, 0, 1, [], digest)
    assert not verify_hash(digest, 0, 1, [], b"")
    assert not verify_hash(b"", 0, 1, [], digest)
    assert not verify_hash(b"", 0, 1, [], b"")  # wrong hash size


# -- consistency (RFC 9162 §2.1.4) -----------------------------------------------------------


@pytest.mark.parametrize(
    "case", VECTORS["consistency"], ids=lambda c: f"{c['old_size']}-{c['new_size']}"
)
def test_consistency_known_answers(case: dict[str, object]) -> None:
    old, new = int(str(case["old_size"])), int(str(case["new_size"]))
    expected = _proof(case["proof"])  # type: ignore[arg-type]
    assert consistency_proof(LEAVES, old, new) == expected
    assert MerkleTree.from_entries(LEAVES).consistency_proof(old, new) == expected
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], expected)


def _corrupt_consistency(
    old: int, new: int, r1: bytes, r2: bytes, proof: list[bytes]
) -> list[tuple[int, int, bytes, bytes, list[bytes], str]]:
    """The probes of transparency-dev/merkle proof/verify_test.go corruptConsistencyProof."""
    probes = [
        (old - 1, new, r1, r2, proof, "old - 1"),
        (old + 1, new, r1, r2, proof, "old + 1"),
        (old ^ 2, new, r1, r2, proof, "old ^ 2"),
        (old, new * 2, r1, r2, proof, "new * 2"),
        (old, new // 2, r1, r2, proof, "new / 2"),
        (old, new, b"WrongRoot", r2, proof, "wrong root1"),
        (old, new, r1, b"WrongRoot", proof, "wrong root2"),
        (old, new, SOME_HASH, r2, proof, "other root1"),
        (old, new, r2, r1, proof, "swapped roots"),
        (old, new, r1, r2, [], "empty proof"),
        (old, new, r1, r2, [*proof, b""], "trailing garbage"),
        (old, new, r1, r2, [*proof, r1], "trailing root1"),
        (old, new, r1, r2, [*proof, r2], "trailing root2"),
        (old, new, r1, r2, [b"", *proof], "preceding garbage"),
        (old, new, r1, r2, [r1, *proof], "preceding root1"),
        (old, new, r1, r2, [r2, *proof], "preceding root2"),
        (old, new, r1, r2, [proof[0], *proof], "preceding proof[0]"),
        (old, new, r1, r2, proof[:-1], "truncated proof"),
    ]
    for i in range(len(proof)):
        wrong = list(proof)
        wrong[i] = bytes([wrong[i][0] ^ 16]) + wrong[i][1:]
        probes.append((old, new, r1, r2, wrong, f"modified proof[{i}] bit 4"))
    return probes


@pytest.mark.parametrize(
    "case",
    [c for c in VECTORS["consistency"] if c["proof"]],
    ids=lambda c: f"{c['old_size']}-{c['new_size']}",
)
def test_consistency_corruptions_fail(case: dict[str, object]) -> None:
    old, new = int(str(case["old_size"])), int(str(case["new_size"]))
    proof = _proof(case["proof"])  # type: ignore[arg-type]
    for o, n, r1, r2, p, desc in _corrupt_consistency(old, new, ROOTS[old], ROOTS[new], proof):
        assert not verify_consistency(o, n, r1, r2, p), desc


ROOT1, ROOT2 = leaf_hash(b"don't care 1"), leaf_hash(b"don't care 2")


@pytest.mark.parametrize(
    ("old", "new", "r1", "r2", "proof", "ok"),
    [
        (0, 0, ROOT1, ROOT2, [], False),
        (1, 1, ROOT1, ROOT2, [], False),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [], True),
        (0, 1, EMPTY_ROOT, ROOT2, [], True),
        (0, 1, ROOT1, ROOT2, [], False),  # stricter than transparency-dev: MTH({}) is known
        (1, 1, ROOT2, ROOT2, [], True),
        (1, 0, ROOT1, ROOT2, [], False),  # time travel to the past
        (2, 1, ROOT1, ROOT2, [], False),
        (1, 2, ROOT1, ROOT2, [], False),  # empty proof
        (0, 0, EMPTY_ROOT, ROOT2, [], False),
        (1, 1, EMPTY_ROOT, ROOT2, [], False),
        (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),  # roots match, proof not empty
        (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
        (-1, 1, EMPTY_ROOT, ROOT2, [], False),
        (1, 2, b"short", ROOT2, [ROOT1], False),
    ],
)
def test_consistency_edge_cases(
    old: int, new: int, r1: bytes, r2: bytes, proof: list[bytes], ok: bool
) -> None:
    assert verify_consistency(old, new, r1, r2, proof) is ok


# -- against the literal RFC recursion, exhaustively for small trees -------------------------


def test_every_proof_matches_the_rfc_recursion_up_to_33_leaves() -> None:
    entries = [b"entry %d" % i for i in range(33)]
    tree = MerkleTree()
    for entry in entries:
        tree.append(entry)
    for n in range(34):
        assert tree.root_at(n) == ref_mth(entries[:n])
        for i in range(n):
            proof = tree.inclusion_proof(i, n)
            assert proof == ref_path(i, entries[:n])
            assert verify_inclusion(entries[i], i, n, proof, tree.root_at(n))
        for m in range(1, n):
            proof = tree.consistency_proof(m, n)
            assert proof == ref_subproof(m, entries[:n], True)
            assert verify_consistency(m, n, tree.root_at(m), tree.root_at(n), proof)
        assert tree.consistency_proof(0, n) == []
        assert tree.consistency_proof(n, n) == []


def test_bulk_and_single_appends_agree_across_batch_boundaries() -> None:
    entries = [b"%d" % i for i in range(300)]
    one_by_one = MerkleTree.from_entries(entries[:1])
    for entry in entries[1:]:
        one_by_one.append(entry)
    batched = MerkleTree()
    for start, end in [(0, 3), (3, 4), (4, 64), (64, 65), (65, 200), (200, 300)]:
        assert batched.extend(entries[start:end]) == range(start, end)
    assert batched.root() == one_by_one.root()
    for n in (1, 63, 64, 65, 127, 128, 129, 255, 256, 300):
        assert batched.root_at(n) == one_by_one.root_at(n) == root(entries[:n])


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("index", "size"), [(0, 0), (8, 8), (-1, 8), (3, 2)])
def test_inclusion_proof_of_impossible_index_raises(index: int, size: int) -> None:
    with pytest.raises(InputError) as err:
        inclusion_proof(LEAVES, index, size)
    assert err.value.code == "AUDIT_INDEX_OUT_OF_RANGE"


@pytest.mark.parametrize("size", [9, -1])
def test_sizes_beyond_the_tree_raise(size: int) -> None:
    tree = MerkleTree.from_entries(LEAVES)
    for call in (
        lambda: tree.root_at(size),
        lambda: tree.inclusion_proof(0, size),
        lambda: tree.consistency_proof(0, size),
    ):
        with pytest.raises(InputError) as err:
            call()
        assert err.value.code == "AUDIT_SIZE_OUT_OF_RANGE"


@pytest.mark.parametrize(("old", "new"), [(5, 4), (-1, 4)])
def test_consistency_proof_old_above_new_raises(old: int, new: int) -> None:
    with pytest.raises(InputError) as err:
        consistency_proof(LEAVES, old, new)
    assert err.value.code == "AUDIT_SIZE_OUT_OF_RANGE"


def test_leaf_index_out_of_range_raises() -> None:
    with pytest.raises(InputError) as err:
        MerkleTree.from_entries(LEAVES).leaf_hash_at(8)
    assert err.value.code == "AUDIT_INDEX_OUT_OF_RANGE"


def test_malformed_leaf_hashes_are_refused_and_leave_the_tree_unchanged() -> None:
    tree = MerkleTree.from_entries(LEAVES[:3])
    before = tree.root()
    with pytest.raises(InputError) as err:
        tree.append_leaf_hash(b"short")
    assert err.value.code == "AUDIT_HASH_INVALID"
    with pytest.raises(InputError):
        tree.extend_leaf_hashes([leaf_hash(b"ok"), b"x" * 31 + b"yy"])
    with pytest.raises(InputError):
        tree.extend_leaf_hashes(["not bytes"])  # type: ignore[list-item]
    assert tree.size == 3
    assert tree.root() == before


def test_a_single_bytes_value_is_not_a_list_of_entries() -> None:
    with pytest.raises(TypeError):
        root(b"abc")  # type: ignore[arg-type]


def test_verifiers_never_raise_on_nonsense() -> None:
    good = ROOTS[8]
    assert not verify_inclusion(b"", -5, -1, [SOME_HASH], good)
    assert not verify_inclusion(b"", 0, 8, [b"", b"x" * 40], good)
    assert not verify_inclusion(b"", 0, 2**70, [SOME_HASH] * 80, good)
    assert not verify_consistency(-3, -1, good, good, [])
    assert not verify_consistency(3, 2**70, good, good, [SOME_HASH] * 80)
    assert not verify_consistency(3, 8, good, good, [b"short"])


def test_empty_tree() -> None:
    tree = MerkleTree()
    assert tree.root() == EMPTY_ROOT
    assert tree.consistency_proof(0, 0) == []
    assert "size=0" in repr(tree)
    assert tree.extend([]) == range(0, 0)


# -- purity ----------------------------------------------------------------------------------

FORBIDDEN = {"sqlite3", "os", "time", "io", "pathlib", "socket", "subprocess", "threading"}


@pytest.mark.parametrize("module", ["merkle", "records"])
def test_pure_modules_do_no_io(module: str) -> None:
    source = (Path(merkle.__file__).parent / f"{module}.py").read_text("utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & FORBIDDEN
