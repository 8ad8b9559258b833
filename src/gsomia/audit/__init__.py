"""The tamper-evident audit log: canonical records in an RFC 9162 Merkle tree.

* :mod:`gsomia.audit.merkle` — RFC 9162 §2.1 hashing, inclusion and consistency proofs and their
  verification, and :class:`~gsomia.audit.merkle.MerkleTree`, an append-only in-memory tree.
* :mod:`gsomia.audit.records` — :class:`~gsomia.audit.records.AuditRecord`, the canonical
  (RFC 8785) bytes of one audited decision or event: the entries the tree commits to.

Both are pure: no I/O, no clock.  Durable storage lives in :mod:`gsomia.adapters.sqlite_audit`.
"""

from gsomia.audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root,
    verify_consistency,
    verify_inclusion,
)
from gsomia.audit.records import AuditKind, AuditRecord

__all__ = [
    "EMPTY_ROOT",
    "AuditKind",
    "AuditRecord",
    "MerkleTree",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]
