"""Segments of a sealed item (STREAM, Hoang–Reyhanitabar–Rogaway–Vizár 2015, §7), its keys and
what the originator signs.  Byte layout: docs/wire-format.md §1, §3, §4.
"""

from __future__ import annotations

from gsomia.envelope import _primitives as prim
from gsomia.envelope.errors import Cause
from gsomia.envelope.header import _U32
from gsomia.envelope.wire import (
    _SEGMENT_HEAD,
    KEYS_CONTEXT,
    SIGNATURE_CONTEXT,
    TAG_SIZE,
    WRAP_CONTEXT,
    _bad,
)

__all__ = [
    "check_segment_head",
    "content_keys",
    "segment_ad",
    "segment_head",
    "segment_nonce",
    "segment_tail",
    "to_be_signed",
    "wrap_info",
]


def segment_head(final: bool, index: int, length: int) -> bytes:
    """The 9-byte head of a segment record."""
    return _SEGMENT_HEAD.pack(1 if final else 0, index, length)


def check_segment_head(head: bytes, expected_index: int, segment_size: int) -> tuple[bool, int]:
    """Validate a segment head; return ``(final, ciphertext length)``.

    An index other than the next one is ``SEGMENT_REORDERED`` (a reordered, repeated or dropped
    segment); a non-final segment shorter than the segment size is ``MALFORMED``.
    """
    flag, index, length = _SEGMENT_HEAD.unpack(head)
    if flag > 1:
        raise _bad()
    if index != expected_index:
        raise _bad(Cause.SEGMENT_REORDERED)
    if flag == 1:
        if not TAG_SIZE <= length <= segment_size + TAG_SIZE:
            raise _bad()
    elif length != segment_size + TAG_SIZE:
        raise _bad()
    return flag == 1, int(length)


def segment_tail(index: int, final: bool) -> bytes:
    """The 32-bit counter and the final flag that end both a segment's nonce and its ``ad``."""
    return _U32.pack(index) + (b"\x01" if final else b"\x00")


def segment_nonce(nonce_prefix: bytes, index: int, final: bool) -> bytes:
    """STREAM nonce: 7-byte per-item prefix || 32-bit counter || final flag (HRRV 2015, §7)."""
    return nonce_prefix + segment_tail(index, final)


def segment_ad(header_digest: bytes, index: int, final: bool) -> bytes:
    """Associated data of a segment: SHA-256 of the whole header, the index and the final flag."""
    return header_digest + segment_tail(index, final)


def content_keys(content_key: bytes) -> tuple[bytes, bytes]:
    """From the item's 256-bit content key: the payload AEAD key and the key commitment.

    HKDF-SHA256 (RFC 5869) expands the content key into 64 bytes; the second half is published
    in the header as a commitment to the key (Albertini et al., "How to Abuse and Fix
    Authenticated Encryption Without Key Commitment", USENIX Security 2022), so every recipient
    provably decrypts with the same key.
    """
    okm = prim.hkdf_sha256(content_key, salt=None, info=KEYS_CONTEXT, length=64)
    return okm[:32], okm[32:]


def wrap_info(core_digest: bytes, party: str, kid: str) -> bytes:
    """Key-wrap ``info`` for one recipient: binds the wrap to this item's header core and to them."""
    return WRAP_CONTEXT + core_digest + party.encode("ascii") + bytes.fromhex(kid)


def to_be_signed(header_digest: bytes, payload_digest: bytes, segment_count: int) -> bytes:
    """What the originator signs: context, SHA-256(header), SHA-256(segment records), count."""
    return SIGNATURE_CONTEXT + header_digest + payload_digest + _U32.pack(segment_count)
