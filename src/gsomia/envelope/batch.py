"""Batch signatures (suite 2): one Ed25519 signature per sealing batch, a Merkle path per item.

Theory of operation (docs/adr/0019-batch-signatures.md; bytes in docs/wire-format.md §4.1)
--------------------------------------------------------------------------------------------
A node that seals a batch of items (one release of many, ADR 0015) signs them all at once: the
leaves of an RFC 9162 Merkle tree are the items' to-be-signed bytes (docs/wire-format.md §4:
context, SHA-256 of the header, SHA-256 of the segment records, segment count), in sealing
order, and the originator signs

    batch-message = "gsomia-envelope/1 batch signature\\0" || batch-size:u32 || root(32)

with Ed25519 (RFC 8032).  Each item ends with its *signature block*:

    batch-size:u16 (>= 1) | index:u16 (< batch-size) | path: n × 32 | signature: 64

where ``path`` is the leaf's audit path (RFC 9162 §2.1.3.1) and ``n`` is fixed by the index and
the batch size (:func:`gsomia.audit.merkle.inclusion_proof_length`), so a block has one encoding.
An item still verifies on its own: recompute its to-be-signed bytes, walk the path to the root
(§2.1.3.2), check the one signature over the batch message.  What a suite-1 signature proves, this
proves: the preamble's suite byte is in the header digest, so the same header cannot be read
under the other suite, and the two contexts differ before their first NUL, so no signature of one
verifies as the other (nor as any ``gsomia-proof/1`` token, whose prefixes differ too).

Cost: one signature per batch instead of one per item for the sender; for the recipient, one
verification per batch (an :class:`~gsomia.envelope.session.OpenCache` remembers a verified
``(key, batch message, signature)``; only a success is stored) plus about ``log2(batch size)``
SHA-256 per item, against one Ed25519 verification per item before.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Final

from gsomia.audit.merkle import (
    MerkleTree,
    inclusion_proof_length,
    leaf_hash,
    root_from_inclusion,
)
from gsomia.envelope import _primitives as prim
from gsomia.envelope.errors import Cause, EnvelopeError
from gsomia.envelope.session import OpenCache

__all__ = [
    "BATCH_CONTEXT",
    "BLOCK_HEAD_SIZE",
    "MAX_BATCH_ITEMS",
    "batch_message",
    "block_size",
    "join_block",
    "sign_batch",
    "split_block",
    "verify_block",
]

BATCH_CONTEXT: Final = b"gsomia-envelope/1 batch signature\x00"
MAX_BATCH_ITEMS: Final = 2**16 - 1  # batch-size is a u16
_HEAD: Final = struct.Struct(">HH")
_SIZE: Final = struct.Struct(">I")
BLOCK_HEAD_SIZE: Final = _HEAD.size  # 4
HASH_SIZE: Final = 32
_SIGNATURE_SIZE: Final = prim.ED25519_SIGNATURE_SIZE  # 64


def batch_message(size: int, root: bytes) -> bytes:
    """What the originator signs for a batch of ``size`` items whose tree has ``root``."""
    return BATCH_CONTEXT + _SIZE.pack(size) + root


def sign_batch(signing_key: prim.SigningKey, to_be_signed: Sequence[bytes]) -> list[bytes]:
    """The signature block of each item of a batch, in order: ONE Ed25519 signature over the
    root of the tree whose leaves are the items' to-be-signed bytes, and each item's path."""
    size = len(to_be_signed)
    if not 1 <= size <= MAX_BATCH_ITEMS:
        raise ValueError(f"a signed batch holds 1 to {MAX_BATCH_ITEMS} items")
    tree = MerkleTree.from_entries(to_be_signed)
    signature = signing_key.sign(batch_message(size, tree.root()))
    return [
        join_block(size, index, tree.inclusion_proof(index), signature) for index in range(size)
    ]


def join_block(size: int, index: int, path: Sequence[bytes], signature: bytes) -> bytes:
    """The signature block of leaf ``index`` of a batch of ``size`` (:func:`split_block` inverted;
    the parts are not checked here: :func:`verify_block` checks the whole)."""
    return b"".join((_HEAD.pack(size, index), *path, signature))


def block_size(head: bytes) -> int:
    """The length of a signature block from its first :data:`BLOCK_HEAD_SIZE` bytes.

    Raises :class:`EnvelopeError` (``MALFORMED``) for a batch size of 0 or an index beyond it.
    """
    size, index = _HEAD.unpack(head)
    if not 0 <= index < size:
        raise EnvelopeError(Cause.MALFORMED)
    return BLOCK_HEAD_SIZE + HASH_SIZE * inclusion_proof_length(index, size) + _SIGNATURE_SIZE


def split_block(block: bytes) -> tuple[int, int, list[bytes], bytes]:
    """``(batch size, index, path, signature)`` of a whole signature block, checked strictly:
    its length must be exactly what its size and index call for (``MALFORMED`` otherwise)."""
    if len(block) < BLOCK_HEAD_SIZE or len(block) != block_size(block[:BLOCK_HEAD_SIZE]):
        raise EnvelopeError(Cause.MALFORMED)
    size, index = _HEAD.unpack_from(block)
    end = len(block) - _SIGNATURE_SIZE
    path = [block[at : at + HASH_SIZE] for at in range(BLOCK_HEAD_SIZE, end, HASH_SIZE)]
    return size, index, path, block[end:]


def verify_block(public: bytes, block: bytes, tbs: bytes, cache: OpenCache | None) -> None:
    """Check that ``block`` signs ``tbs`` under the Ed25519 key ``public``; raise
    :class:`EnvelopeError` (``SIGNATURE_INVALID``, or ``MALFORMED`` for a block of the wrong
    shape) otherwise.  ``cache`` spares the verification of a batch signature it saw verify."""
    size, index, path, signature = split_block(block)
    root = root_from_inclusion(leaf_hash(tbs), index, size, path)
    if root is None:  # unreachable for a block that split_block accepted; deny all the same
        raise EnvelopeError(Cause.SIGNATURE_INVALID)
    message = batch_message(size, root)
    key = b"".join((public, signature, message))
    if cache is not None and cache.signatures._get(key) is not None:
        return
    try:
        prim.ed25519_verify(public, signature, message)
    except prim.CryptoError:
        raise EnvelopeError(Cause.SIGNATURE_INVALID) from None
    if cache is not None:
        cache.signatures._put(key, b"")
