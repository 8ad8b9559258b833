"""Properties of signed checkpoints (gsomia.proofs.notes over gsomia.audit.merkle).

1. Append-only logs are always consistent: for any sequence of appends to a MerkleTree and any
   two sizes ``m <= n`` reached, the checkpoints signed at ``m`` and ``n`` pass
   :func:`check_consistency` with the tree's RFC 9162 proof, and open to exactly what was signed.
2. A rewrite is always caught: change any entry below ``m`` and rebuild, and no proof the
   rewritten tree gives makes its checkpoint at ``n`` consistent with the honest one at ``m``.
3. Tamper evidence of a signed note.  Let ``N`` be a checkpoint signed by the log and cosigned
   by a witness, and ``(C, S) = open_checkpoint(N, V)`` its checkpoint and verified signers.  For
   every ``N'`` that differs from ``N`` in exactly one byte, ``open_checkpoint(N', V)`` either
   raises a :class:`~gsomia.errors.GsomiaError` or returns ``(C, S')`` with ``S'`` a strict
   subset of ``S``: damage to a signature line may turn it into the line of an unknown key,
   which C2SP says to ignore, but never changes what the note says, nor adds a signer.  With the
   log's signature alone, every such ``N'`` is refused.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gsomia.audit.merkle import MerkleTree
from gsomia.envelope.keys import NodeKeys
from gsomia.errors import GsomiaError
from gsomia.instants import parse_instant
from gsomia.proofs.notes import (
    ConsistencyError,
    check_consistency,
    checkpoint_of,
    cosign,
    open_checkpoint,
    sign_checkpoint,
)
from gsomia.proofs.signed_note import SIG_COSIGNATURE_V1, NoteVerifier

T0 = parse_instant("2026-01-01T00:00:00Z")
NOW = parse_instant("2026-11-23T03:00:00Z")
ORIGIN = "gsomia.kor/audit"
LOG = NodeKeys.generate("KOR", T0)
WITNESS = NodeKeys.generate("JPN", T0)
LOG_V = NoteVerifier.from_record(ORIGIN, LOG.current.sig)
WITNESS_V = NoteVerifier.from_record("gsomia.jpn/w", WITNESS.current.sig, sig_type=0x04)
assert WITNESS_V.sig_type == SIG_COSIGNATURE_V1

batches = st.lists(st.lists(st.binary(max_size=24), min_size=1, max_size=12), max_size=12)


def sign_at(tree: MerkleTree, size: int) -> bytes:
    return sign_checkpoint(checkpoint_of(ORIGIN, size, tree.root_at(size)), LOG)


@st.composite
def grown_tree(draw: st.DrawFn) -> tuple[MerkleTree, list[bytes], int, int]:
    tree = MerkleTree()
    appended: list[bytes] = []
    sizes = [0]
    for batch in draw(batches):
        if len(batch) == 1:
            tree.append(batch[0])
        else:
            tree.extend(batch)
        appended.extend(batch)
        sizes.append(tree.size)
    m = draw(st.sampled_from(sizes))
    n = draw(st.sampled_from([s for s in sizes if s >= m]))
    return tree, appended, m, n


@given(grown_tree())
def test_an_append_only_log_is_always_consistent(
    case: tuple[MerkleTree, list[bytes], int, int],
) -> None:
    tree, _, m, n = case
    old, new = sign_at(tree, m), sign_at(tree, n)
    check_consistency(old, new, tree.consistency_proof(m, n), [LOG_V])
    cp, signers = open_checkpoint(new, [LOG_V], origin=ORIGIN)
    assert (cp.size, cp.root) == (n, tree.root_at(n))
    assert [s.name for s in signers] == [ORIGIN]


@given(grown_tree(), st.data())
def test_a_rewritten_log_is_always_caught(
    case: tuple[MerkleTree, list[bytes], int, int], data: st.DataObject
) -> None:
    tree, appended, m, n = case
    if m == 0:
        return  # nothing below the old size to rewrite
    i = data.draw(st.integers(0, m - 1), label="rewritten index")
    forged = [*appended[:i], appended[i] + b"\x00forged", *appended[i + 1 :]]
    rewritten = MerkleTree.from_entries(forged)
    with pytest.raises(ConsistencyError) as caught:
        check_consistency(
            sign_at(tree, m), sign_at(rewritten, n), rewritten.consistency_proof(m, n), [LOG_V]
        )
    assert caught.value.code in {"LOG_FORK", "LOG_INCONSISTENT"}


_TREE = MerkleTree.from_entries([b"entry %d" % i for i in range(11)])
_ONCE = sign_at(_TREE, 11)
_TWICE = cosign(_ONCE, WITNESS, "gsomia.jpn/w", at=NOW, log_verifiers=[LOG_V])
_VERIFIERS = [LOG_V, WITNESS_V]
_CP, _SIGNERS = open_checkpoint(_TWICE, _VERIFIERS)


def _flip(note: bytes, position: int, mask: int) -> bytes:
    return note[:position] + bytes([note[position] ^ mask]) + note[position + 1 :]


@given(st.integers(0, len(_TWICE) - 1), st.integers(1, 255))
def test_a_one_byte_change_refuses_or_only_drops_signers(position: int, mask: int) -> None:
    damaged = _flip(_TWICE, position, mask)
    try:
        cp, signers = open_checkpoint(damaged, _VERIFIERS)
    except GsomiaError:
        return
    assert cp == _CP
    assert set(signers) < set(_SIGNERS)


@given(st.integers(0, len(_ONCE) - 1), st.integers(1, 255))
def test_a_one_byte_change_of_a_once_signed_note_is_refused(position: int, mask: int) -> None:
    with pytest.raises(GsomiaError):
        open_checkpoint(_flip(_ONCE, position, mask), [LOG_V])


def test_every_byte_of_the_cosigned_note_exhaustively() -> None:
    """Property 3 over every position with three masks (low bit, high bit, all bits)."""
    for position in range(len(_TWICE)):
        for mask in (0x01, 0x80, 0xFF):
            damaged = _flip(_TWICE, position, mask)
            try:
                cp, signers = open_checkpoint(damaged, _VERIFIERS)
            except GsomiaError:
                continue
            assert cp == _CP
            assert set(signers) < set(_SIGNERS)
