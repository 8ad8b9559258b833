"""gsomia.proofs.notes: signed checkpoints, partner witnessing, rewrites and forks caught."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from gsomia.adapters.sqlite_audit import SqliteAuditLog
from gsomia.audit.checkpoint import Checkpoint, CheckpointError
from gsomia.audit.merkle import EMPTY_ROOT, MerkleTree
from gsomia.envelope.keys import NodeKeys
from gsomia.errors import InputError, PeerError
from gsomia.proofs.notes import (
    ConsistencyError,
    check_consistency,
    checkpoint_of,
    cosign,
    detect_fork,
    open_checkpoint,
    sign_checkpoint,
)
from gsomia.proofs.signed_note import (
    SIG_COSIGNATURE_V1,
    SIG_ED25519,
    NoteError,
    NoteVerifier,
    parse_note,
    sign_note,
)
from tests.unit.proofs.conftest import NOW, VECTORS

ORIGIN = "gsomia.kor/audit"


def entries(n: int, tag: bytes = b"") -> list[bytes]:
    return [b'{"i":%d%s}' % (i, tag) for i in range(n)]


def log_verifier(kor: NodeKeys) -> NoteVerifier:
    return NoteVerifier.from_record(ORIGIN, kor.current.sig)


def witness_verifier(jpn: NodeKeys) -> NoteVerifier:
    return NoteVerifier.from_record(
        "gsomia.jpn/witness", jpn.current.sig, sig_type=SIG_COSIGNATURE_V1
    )


def signed(tree: MerkleTree, size: int, keys: NodeKeys) -> bytes:
    return sign_checkpoint(checkpoint_of(ORIGIN, size, tree.root_at(size)), keys)


# -- signing and opening --------------------------------------------------------------------


def test_sign_and_open_a_checkpoint(kor: NodeKeys) -> None:
    tree = MerkleTree.from_entries(entries(10))
    note = signed(tree, 10, kor)
    cp, signers = open_checkpoint(note, [log_verifier(kor)], origin=ORIGIN, required=[ORIGIN])
    assert cp == Checkpoint(ORIGIN, 10, tree.root())
    assert [(s.name, s.sig_type) for s in signers] == [(ORIGIN, SIG_ED25519)]
    assert note.startswith(cp.body() + "\n\u2014 gsomia.kor/audit ".encode())


def test_known_answer_a_real_sum_golang_org_checkpoint() -> None:
    v = VECTORS["checkpoint"]
    verifier = NoteVerifier.from_vkey(v["verifier_key"])
    cp, signers = open_checkpoint(v["signed"].encode(), [verifier], origin=v["origin"])
    assert cp.size == v["size"]
    assert base64.b64encode(cp.root).decode() == v["root_base64"]
    assert signers[0].name == "sum.golang.org"
    tampered = v["signed"].replace("6476701", "6476702").encode()
    with pytest.raises(NoteError) as caught:
        open_checkpoint(tampered, [verifier])
    assert caught.value.code == "NOTE_SIGNATURE_INVALID"


def test_wrong_origin_and_missing_required_signer(kor: NodeKeys, jpn: NodeKeys) -> None:
    note = signed(MerkleTree.from_entries(entries(3)), 3, kor)
    with pytest.raises(CheckpointError) as caught:
        open_checkpoint(note, [log_verifier(kor)], origin="gsomia.jpn/audit")
    assert caught.value.code == "CHECKPOINT_ORIGIN_MISMATCH"
    with pytest.raises(NoteError) as missing:
        open_checkpoint(note, [log_verifier(kor)], required=[ORIGIN, "gsomia.jpn/witness"])
    assert missing.value.code == "NOTE_SIGNER_MISSING"
    assert missing.value.detail["missing"] == ["gsomia.jpn/witness"]


def test_a_signed_note_that_is_not_a_checkpoint(kor: NodeKeys) -> None:
    note = sign_note(b"hello\n", kor, ORIGIN)
    with pytest.raises(CheckpointError) as caught:
        open_checkpoint(note, [log_verifier(kor)])
    assert caught.value.code == "CHECKPOINT_MALFORMED"


def test_a_checkpoint_signed_by_an_unknown_key_is_unverified(kor: NodeKeys, usa: NodeKeys) -> None:
    note = signed(MerkleTree.from_entries(entries(3)), 3, usa)  # USA signs as KOR's log
    with pytest.raises(NoteError) as caught:
        open_checkpoint(note, [log_verifier(kor)])
    assert caught.value.code == "NOTE_UNVERIFIED"


def test_sign_checkpoint_misuse(kor: NodeKeys) -> None:
    with pytest.raises(InputError):
        sign_checkpoint("log\n1\n", kor)  # type: ignore[arg-type]
    with pytest.raises(InputError):  # the origin is not a key name: give one
        sign_checkpoint(Checkpoint("KOR audit log", 0, EMPTY_ROOT), kor)
    note = sign_checkpoint(Checkpoint("KOR audit log", 0, EMPTY_ROOT), kor, "kor")
    cp, _ = open_checkpoint(note, [NoteVerifier.from_record("kor", kor.current.sig)])
    assert cp.origin == "KOR audit log"


def test_unknown_signature_lines_are_ignored(kor: NodeKeys, usa: NodeKeys) -> None:
    tree = MerkleTree.from_entries(entries(4))
    note = signed(tree, 4, kor)
    foreign = sign_checkpoint(checkpoint_of(ORIGIN, 4, tree.root()), usa, "someone.else")
    combined = note + foreign.split(b"\n\n")[1]
    cp, signers = open_checkpoint(combined, [log_verifier(kor)])
    assert cp.size == 4
    assert [s.name for s in signers] == [ORIGIN]


# -- witnessing -----------------------------------------------------------------------------


def test_cosign_round_trip(kor: NodeKeys, jpn: NodeKeys, usa: NodeKeys) -> None:
    tree = MerkleTree.from_entries(entries(8))
    note = signed(tree, 8, kor)
    witnessed = cosign(note, jpn, "gsomia.jpn/witness", at=NOW, log_verifiers=[log_verifier(kor)])
    assert witnessed.startswith(note)
    verifiers = [log_verifier(kor), witness_verifier(jpn)]
    cp, signers = open_checkpoint(witnessed, verifiers, required=[ORIGIN, "gsomia.jpn/witness"])
    assert cp.size == 8
    witness = next(s for s in signers if s.name == "gsomia.jpn/witness")
    assert witness.sig_type == SIG_COSIGNATURE_V1
    assert witness.timestamp == NOW.replace(microsecond=0)
    # a second witness, and a re-cosign by the first replaces its own line
    twice = cosign(witnessed, usa, "gsomia.usa/witness", at=NOW, log_verifiers=[log_verifier(kor)])
    again = cosign(
        twice,
        jpn,
        "gsomia.jpn/witness",
        at=NOW + timedelta(hours=1),
        log_verifiers=[log_verifier(kor)],
    )
    assert [line.name for line in parse_note(again).lines] == [
        ORIGIN,
        "gsomia.usa/witness",
        "gsomia.jpn/witness",
    ]
    _, signers = open_checkpoint(again, verifiers)
    assert next(s for s in signers if s.name == "gsomia.jpn/witness").timestamp == (
        NOW + timedelta(hours=1)
    ).replace(microsecond=0)


def test_cosign_verifies_the_log_first(kor: NodeKeys, jpn: NodeKeys, usa: NodeKeys) -> None:
    note = signed(MerkleTree.from_entries(entries(2)), 2, usa)
    with pytest.raises(NoteError):
        cosign(note, jpn, "w", at=NOW, log_verifiers=[log_verifier(kor)])
    good = signed(MerkleTree.from_entries(entries(2)), 2, kor)
    with pytest.raises(CheckpointError):
        cosign(good, jpn, "w", at=NOW, log_verifiers=[log_verifier(kor)], origin="other")


def test_a_witness_refuses_to_cosign_a_fork(kor: NodeKeys, jpn: NodeKeys) -> None:
    honest = MerkleTree.from_entries(entries(10))
    old = cosign(signed(honest, 6, kor), jpn, "w", at=NOW, log_verifiers=[log_verifier(kor)])
    new = signed(honest, 10, kor)
    proof = honest.consistency_proof(6, 10)
    ok = cosign(new, jpn, "w", at=NOW, log_verifiers=[log_verifier(kor)], previous=old, proof=proof)
    w = NoteVerifier.from_record("w", jpn.current.sig, sig_type=SIG_COSIGNATURE_V1)
    assert open_checkpoint(ok, [w])[0].size == 10
    rewritten = MerkleTree.from_entries([*entries(5), *entries(5, b"x")])
    forged = signed(rewritten, 10, kor)
    with pytest.raises(ConsistencyError) as caught:
        cosign(
            forged,
            jpn,
            "w",
            at=NOW,
            log_verifiers=[log_verifier(kor)],
            previous=old,
            proof=rewritten.consistency_proof(6, 10),
        )
    assert caught.value.code == "LOG_INCONSISTENT"


# -- consistency and forks ------------------------------------------------------------------


def test_an_honest_log_is_consistent(kor: NodeKeys) -> None:
    tree = MerkleTree.from_entries(entries(13))
    v = [log_verifier(kor)]
    for old, new in ((0, 13), (1, 13), (5, 13), (8, 13), (13, 13), (4, 8)):
        check_consistency(
            signed(tree, old, kor), signed(tree, new, kor), tree.consistency_proof(old, new), v
        )


def test_a_partner_catches_a_rewritten_log(kor: NodeKeys) -> None:
    """KOR's log had 10 entries; someone rewrote entry 5 and rebuilt the tree."""
    v = [log_verifier(kor)]
    honest = MerkleTree.from_entries(entries(10))
    rewritten = MerkleTree.from_entries([*entries(5), b"forged", *entries(10)[6:]])
    # the partner kept checkpoints at 6 and at 10 of the honest log
    kept_6, kept_10 = signed(honest, 6, kor), signed(honest, 10, kor)
    # 1. same size, different root: a fork, with the two signed notes as evidence
    shown_10 = signed(rewritten, 10, kor)
    evidence = detect_fork(kept_10, shown_10, v)
    assert evidence is not None
    assert evidence.origin == ORIGIN
    assert evidence.checkpoint_a.root != evidence.checkpoint_b.root
    assert (evidence.note_a, evidence.note_b) == (kept_10, shown_10)
    assert detect_fork(evidence.note_a, evidence.note_b, v) == evidence  # anyone can re-check
    with pytest.raises(ConsistencyError) as fork:
        check_consistency(kept_10, shown_10, [], v)
    assert fork.value.code == "LOG_FORK"
    # 2. a newer checkpoint that does not extend the old one: no proof can be given
    grown = MerkleTree.from_entries([*entries(5), b"forged", *entries(12)[6:]])
    shown_12 = signed(grown, 12, kor)
    for proof in (grown.consistency_proof(6, 12), honest.consistency_proof(6, 10), []):
        with pytest.raises(ConsistencyError) as caught:
            check_consistency(kept_6, shown_12, proof, v)
        assert caught.value.code == "LOG_INCONSISTENT"
        assert caught.value.evidence.note_a == kept_6
        assert caught.value.detail["cite"] == "Art. 17"
    assert isinstance(caught.value, PeerError)


def test_rollback_and_origin_mismatch(kor: NodeKeys) -> None:
    tree = MerkleTree.from_entries(entries(10))
    v = [log_verifier(kor), NoteVerifier.from_record("other", kor.current.sig)]
    with pytest.raises(ConsistencyError) as caught:
        check_consistency(signed(tree, 10, kor), signed(tree, 6, kor), [], v)
    assert caught.value.code == "LOG_ROLLBACK"
    other = sign_checkpoint(Checkpoint("other", 10, tree.root()), kor)
    with pytest.raises(ConsistencyError) as caught:
        check_consistency(signed(tree, 6, kor), other, tree.consistency_proof(6, 10), v)
    assert caught.value.code == "LOG_ORIGIN_MISMATCH"
    assert detect_fork(signed(tree, 10, kor), other, v) is None


def test_detect_fork_needs_same_size_and_different_roots(kor: NodeKeys) -> None:
    tree = MerkleTree.from_entries(entries(10))
    v = [log_verifier(kor)]
    assert detect_fork(signed(tree, 10, kor), signed(tree, 10, kor), v) is None
    assert detect_fork(signed(tree, 9, kor), signed(tree, 10, kor), v) is None


def test_detect_fork_verifies_both_notes(kor: NodeKeys, usa: NodeKeys) -> None:
    tree = MerkleTree.from_entries(entries(10))
    other = MerkleTree.from_entries(entries(10, b"x"))
    with pytest.raises(NoteError):  # a forged "fork" signed by someone else is no evidence
        detect_fork(signed(tree, 10, kor), signed(other, 10, usa), [log_verifier(kor)])


# -- the store ------------------------------------------------------------------------------


def test_checkpoint_of_a_sqlite_audit_log(tmp_path: Path, kor: NodeKeys) -> None:
    with SqliteAuditLog(tmp_path / "audit.sqlite") as log:
        log.append_batch(entries(6))
        size = log.size()
        old = sign_checkpoint(checkpoint_of(ORIGIN, size, log.root(size)), kor)
        log.append_batch(entries(5, b"later"))
        size, root = log.checkpoints()[-1]
        new = sign_checkpoint(checkpoint_of(ORIGIN, size, root), kor)
        check_consistency(old, new, log.consistency_proof(6, size), [log_verifier(kor)])
        assert open_checkpoint(new, [log_verifier(kor)])[0].size == 11


def _flip_everywhere(note: bytes) -> Sequence[bytes]:
    return [note[:i] + bytes([note[i] ^ 0x01]) + note[i + 1 :] for i in range(len(note))]


def test_every_single_bit_flip_of_a_once_signed_checkpoint_is_refused(kor: NodeKeys) -> None:
    note = signed(MerkleTree.from_entries(entries(7)), 7, kor)
    for damaged in _flip_everywhere(note):
        with pytest.raises((NoteError, CheckpointError)):
            open_checkpoint(damaged, [log_verifier(kor)])
