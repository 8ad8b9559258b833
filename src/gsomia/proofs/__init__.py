"""Signed, verifiable proofs between partner nodes: tokens and witnessed checkpoints.

- :mod:`gsomia.proofs.tokens`: the originator's written consent and relay approval (Art. 6,
  TISA) and their revocation; the recipient's receipt with its Art. 7 assurance.  Canonical JSON
  (RFC 8785) signed with Ed25519 through :mod:`gsomia.envelope.signing`.
- :mod:`gsomia.proofs.signed_note`: the C2SP signed-note format (c2sp.org/signed-note), with
  plain Ed25519 signatures and tlog-cosignature v1 cosignatures.
- :mod:`gsomia.proofs.notes`: signed checkpoints of the audit log (c2sp.org/tlog-checkpoint),
  partner cosigning, consistency checks (RFC 9162 §2.1.4) and fork evidence (Art. 17).
- :mod:`gsomia.proofs.errors`: the token errors.

Pure: no I/O, no clock; proofs never decide.  Whether a consent covers an act is
:func:`gsomia.policy.check_consent`'s decision.
"""

from gsomia.proofs.errors import TokenError, TokenInputError
from gsomia.proofs.notes import (
    ConsistencyError,
    ForkEvidence,
    check_consistency,
    checkpoint_of,
    cosign,
    detect_fork,
    open_checkpoint,
    sign_checkpoint,
)
from gsomia.proofs.signed_note import NoteError, NoteKeyError, NoteSignature, NoteVerifier
from gsomia.proofs.tokens import (
    Assurance,
    Receipt,
    Revocation,
    apply_revocations,
    issue_consent,
    issue_receipt,
    issue_revocation,
    receipt_includes,
    verify_consent,
    verify_receipt,
    verify_revocation,
)

__all__ = [
    "Assurance",
    "ConsistencyError",
    "ForkEvidence",
    "NoteError",
    "NoteKeyError",
    "NoteSignature",
    "NoteVerifier",
    "Receipt",
    "Revocation",
    "TokenError",
    "TokenInputError",
    "apply_revocations",
    "check_consistency",
    "checkpoint_of",
    "cosign",
    "detect_fork",
    "issue_consent",
    "issue_receipt",
    "issue_revocation",
    "open_checkpoint",
    "receipt_includes",
    "sign_checkpoint",
    "verify_consent",
    "verify_receipt",
    "verify_revocation",
]
