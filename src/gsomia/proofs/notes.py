"""Signed checkpoints of the audit log, witnessed by partners: forks and rewrites are caught.

A node signs the checkpoint of its audit log (:class:`~gsomia.audit.checkpoint.Checkpoint`, the
C2SP ``tlog-checkpoint`` body) as a C2SP signed note (:mod:`gsomia.proofs.signed_note`) and gives
it to its partners, who keep the latest one they saw.  Later the node shows a newer checkpoint and
an RFC 9162 §2.1.4 consistency proof from the older one: if the log was rewritten (an entry
changed or removed, then the tree rebuilt), no proof can exist, and two signed checkpoints of one
size with different roots are themselves proof of a fork (C2SP tlog-checkpoint, "Signatures": a
log MUST NOT sign two inconsistent checkpoints).  Such evidence is a *possible compromise* that
the partner notifies to the originator at once (Art. 17).

A partner *witnesses* a checkpoint (:func:`cosign`) by adding its own signature line, after it
has verified the log's signature and, given its previous view, the consistency proof.  The line is
a C2SP tlog-cosignature (type 0x04, ``cosignature/v1``, with the witness's time), so any C2SP
client that trusts the partner's key can check it; a cosigned checkpoint shows a third party that
the partner saw the same log (no split view).

Functions:

- :func:`sign_checkpoint` — the node signs its checkpoint (Ed25519 note signature, type 0x01);
- :func:`open_checkpoint` — verify a signed checkpoint (unknown signatures are ignored, at least
  one known valid signature required) and parse it;
- :func:`cosign` — a partner witnesses a checkpoint;
- :func:`check_consistency` — raise :class:`ConsistencyError` unless the new checkpoint extends
  the old one (codes ``LOG_ORIGIN_MISMATCH``, ``LOG_ROLLBACK``, ``LOG_FORK``, ``LOG_INCONSISTENT``);
- :func:`detect_fork` — two verified checkpoints of one log and one size with different roots;
- :func:`checkpoint_of` — the checkpoint of a log state, from its size and root.

Pure: no I/O and no clock.  The proofs come from the log's owner
(:meth:`gsomia.adapters.sqlite_audit.SqliteAuditLog.consistency_proof`); where a partner keeps
the notes it saw is the caller's business.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gsomia.audit.checkpoint import Checkpoint, CheckpointError, parse
from gsomia.audit.merkle import verify_consistency
from gsomia.envelope.keys import NodeKeys
from gsomia.errors import InputError, PeerError
from gsomia.proofs.signed_note import (
    NoteError,
    NoteSignature,
    NoteVerifier,
    cosignature_line,
    open_note,
    parse_note,
    sign_note,
    with_signature,
)

__all__ = [
    "ConsistencyError",
    "ForkEvidence",
    "check_consistency",
    "checkpoint_of",
    "cosign",
    "detect_fork",
    "open_checkpoint",
    "sign_checkpoint",
]

_ART17: Final = "Art. 17"


@dataclass(frozen=True, slots=True)
class ForkEvidence:
    """Two signed checkpoints of one log that cannot both be true.

    ``note_a`` and ``note_b`` are the signed notes as received: anyone holding the log's key can
    re-check them with :func:`detect_fork` or :func:`check_consistency`.
    """

    origin: str
    checkpoint_a: Checkpoint
    checkpoint_b: Checkpoint
    note_a: bytes
    note_b: bytes
    proof: tuple[bytes, ...] = ()


class ConsistencyError(PeerError):
    """A partner's log is not append-only: evidence of a possible compromise (Art. 17).

    Codes: ``LOG_ORIGIN_MISMATCH`` (the notes name two logs), ``LOG_ROLLBACK`` (the new
    checkpoint is smaller), ``LOG_FORK`` (one size, two roots), ``LOG_INCONSISTENT`` (the proof
    does not show the old tree is a prefix of the new one).  :attr:`evidence` holds the notes.
    """

    code = "LOG_INCONSISTENT"
    status = 409
    title = "Audit log not append-only"

    def __init__(self, message: str, *, code: str, evidence: ForkEvidence) -> None:
        super().__init__(
            message,
            code=code,
            detail={
                "origin": evidence.origin,
                "old_size": evidence.checkpoint_a.size,
                "new_size": evidence.checkpoint_b.size,
                "old_root": evidence.checkpoint_a.root.hex(),
                "new_root": evidence.checkpoint_b.root.hex(),
                "cite": _ART17,
            },
        )
        #: The two signed notes (and the proof) that show it.
        self.evidence = evidence


def checkpoint_of(origin: str, size: int, root: bytes) -> Checkpoint:
    """The checkpoint of a log state, for signing.

    Take ``size`` and ``root`` from one state of the log: ``size = log.size()`` then
    ``root = log.root(size)`` (past roots never change), or the last of ``log.checkpoints()``.
    """
    return Checkpoint(origin, size, root)


def sign_checkpoint(cp: Checkpoint, keys: NodeKeys, key_name: str | None = None) -> bytes:
    """The signed note of ``cp`` (Ed25519, type 0x01) under ``key_name`` (default: the origin,
    as C2SP recommends; it must then be a valid key name)."""
    if not isinstance(cp, Checkpoint):
        raise InputError("sign a Checkpoint", code="CHECKPOINT_INVALID")
    return sign_note(cp.body(), keys, cp.origin if key_name is None else key_name)


def open_checkpoint(
    note: bytes,
    verifiers: Iterable[NoteVerifier],
    *,
    origin: str | None = None,
    required: Iterable[str] = (),
) -> tuple[Checkpoint, tuple[NoteSignature, ...]]:
    """Verify a signed checkpoint and parse it; return it and the verified signatures.

    Signatures of unknown keys are ignored (C2SP signed-note); at least one known signature must
    verify and every known one must.  With ``origin``, the checkpoint must name that log
    (``CHECKPOINT_ORIGIN_MISMATCH``); every key name in ``required`` (say, the log's own key)
    must be among the verified signers (``NOTE_SIGNER_MISSING``).
    """
    opened = open_note(note, verifiers)
    cp = parse(opened.text)  # only now: the text "MUST be ignored" until verified
    if origin is not None and cp.origin != origin:
        raise CheckpointError(
            f"the checkpoint is of {cp.origin!r}, not {origin!r}",
            code="CHECKPOINT_ORIGIN_MISMATCH",
            detail={"origin": cp.origin},
        )
    names = {signature.name for signature in opened.verified}
    missing = sorted(set(required) - names)
    if missing:
        raise NoteError(
            f"no verified signature of {', '.join(missing)}",
            code="NOTE_SIGNER_MISSING",
            detail={"missing": missing},
        )
    return cp, opened.verified


def check_consistency(
    old_note: bytes,
    new_note: bytes,
    proof: Sequence[bytes],
    verifiers: Iterable[NoteVerifier],
) -> None:
    """Raise :class:`ConsistencyError` unless ``new_note``'s log extends ``old_note``'s.

    Both notes are verified first (:func:`open_checkpoint`).  ``proof`` is the RFC 9162
    §2.1.4.1 consistency proof from the old size to the new one (empty for equal sizes).
    """
    keys = tuple(verifiers)
    old, _ = open_checkpoint(old_note, keys)
    new, _ = open_checkpoint(new_note, keys)
    evidence = ForkEvidence(old.origin, old, new, bytes(old_note), bytes(new_note), tuple(proof))
    if old.origin != new.origin:
        raise ConsistencyError(
            f"the checkpoints are of two logs, {old.origin!r} and {new.origin!r}",
            code="LOG_ORIGIN_MISMATCH",
            evidence=evidence,
        )
    if new.size < old.size:
        raise ConsistencyError(
            f"the log shrank from {old.size} to {new.size} entries (rollback)",
            code="LOG_ROLLBACK",
            evidence=evidence,
        )
    if new.size == old.size and new.root != old.root:
        raise ConsistencyError(
            f"two roots for {old.size} entries: the log forked or was rewritten",
            code="LOG_FORK",
            evidence=evidence,
        )
    if not verify_consistency(old.size, new.size, old.root, new.root, list(proof)):
        raise ConsistencyError(
            f"no proof that the log of {new.size} entries extends the one of {old.size} "
            "(RFC 9162 §2.1.4.2): it was rewritten",
            code="LOG_INCONSISTENT",
            evidence=evidence,
        )


def detect_fork(
    note_a: bytes, note_b: bytes, verifiers: Iterable[NoteVerifier]
) -> ForkEvidence | None:
    """Fork evidence if both notes verify, name one log and one size, and differ in root."""
    keys = tuple(verifiers)
    cp_a, _ = open_checkpoint(note_a, keys)
    cp_b, _ = open_checkpoint(note_b, keys)
    if cp_a.origin != cp_b.origin or cp_a.size != cp_b.size or cp_a.root == cp_b.root:
        return None
    return ForkEvidence(cp_a.origin, cp_a, cp_b, bytes(note_a), bytes(note_b))


def cosign(
    note: bytes,
    witness_keys: NodeKeys,
    witness_name: str,
    *,
    at: datetime,
    log_verifiers: Iterable[NoteVerifier],
    origin: str | None = None,
    previous: bytes | None = None,
    proof: Sequence[bytes] = (),
) -> bytes:
    """A partner witnesses the checkpoint ``note``: the note with its cosignature line added.

    The log's signature is verified first (``log_verifiers``, and ``origin`` if given); with
    ``previous`` (the last checkpoint this witness cosigned for that log) the consistency proof
    ``proof`` from it must hold (:func:`check_consistency`), so a witness never vouches for a
    fork.  The line is a C2SP tlog-cosignature v1 (type 0x04) dated ``at`` (whole seconds); an
    older line of the same witness key is replaced.
    """
    keys = tuple(log_verifiers)
    open_checkpoint(note, keys, origin=origin)
    if previous is not None:
        check_consistency(previous, note, proof, keys)
    parsed = parse_note(note)
    return with_signature(parsed, cosignature_line(parsed.text, witness_keys, witness_name, at))
