"""The STREAM construction over AES-256-GCM, as two small state machines (no I/O).

Hoang, Reyhanitabar, Rogaway and Vizár ("Online Authenticated-Encryption and its Nonce-Reuse
Misuse-Resistance", CRYPTO 2015, §7) turn an AEAD into an online one: segment *i* is sealed with
the nonce ``prefix || i || final`` where ``final`` is 1 only for the last segment.  Because the
counter and the flag are inside the nonce, a reordered, repeated, dropped or truncated segment —
or a stream cut right after a non-final segment — fails authentication.  We also repeat
``i || final`` in the associated data, after SHA-256 of the whole header, so each segment is bound
to its item (label digest, item id, agreement, table version, recipients, wire version).

:class:`SegmentSealer` and :class:`SegmentOpener` also keep the running SHA-256 of the segment
records that the originator's signature covers.  Out-of-order calls raise (the h11 rule): sealing
after the final segment, signing before it.  For whole items in memory, :func:`seal_payload` and
:func:`open_records` do the same in one call (the records are already in hand, so there is no
state to keep between calls).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from typing import Final

from gsomia.envelope import _primitives as prim
from gsomia.envelope import segments, wire
from gsomia.envelope.errors import Cause, EnvelopeError, SealError

__all__ = ["SegmentOpener", "SegmentSealer", "open_records", "seal_payload", "split"]

_U32: Final = struct.Struct(">I")
# The tail (nonce and ad) and the head of the first segment when it is also the final one, less
# its length: segments.segment_tail(0, True) and segments.segment_head(True, 0, n)[:5].
_ONLY_TAIL: Final = b"\x00\x00\x00\x00\x01"
_ONLY_HEAD: Final = b"\x01\x00\x00\x00\x00"


def split(data: bytes, size: int) -> list[tuple[bytes, bool]]:
    """``data`` cut into ``size``-byte segments, the last flagged final (one empty if no data)."""
    if len(data) <= size:
        return [(data, True)]
    pieces = [(data[i : i + size], False) for i in range(0, len(data), size)]
    pieces[-1] = (pieces[-1][0], True)
    return pieces


def seal_payload(
    header: wire.Header | wire.HeaderFields,
    header_digest: bytes,
    payload_key: bytes,
    payload: bytes,
) -> tuple[list[bytes], bytes]:
    """Seal a whole in-memory payload: its segment records, and what the originator signs.

    The one-shot form of :class:`SegmentSealer` (same records, same signed bytes), as
    :func:`open_records` is of :class:`SegmentOpener`.
    """
    size = header.segment_size
    prefix = header.nonce_prefix
    if len(payload) <= size:  # one segment (index 0, final): the loop below, unrolled
        ciphertext = prim.aes_gcm_encrypt(
            payload_key, prefix + _ONLY_TAIL, payload, header_digest + _ONLY_TAIL
        )
        record = _ONLY_HEAD + _U32.pack(len(ciphertext)) + ciphertext
        return [record], segments.to_be_signed(header_digest, hashlib.sha256(record).digest(), 1)
    pieces = split(payload, size)
    if len(pieces) > wire.MAX_SEGMENTS:
        raise SealError("too many segments", code="SEAL_TOO_LARGE")
    records = []
    for index, (plaintext, final) in enumerate(pieces):
        tail = segments.segment_tail(index, final)  # nonce = prefix || tail, ad = digest || tail
        ciphertext = prim.aes_gcm_encrypt(
            payload_key, prefix + tail, plaintext, header_digest + tail
        )
        records.append(segments.segment_head(final, index, len(ciphertext)) + ciphertext)
    payload_digest = hashlib.sha256(b"".join(records)).digest()
    return records, segments.to_be_signed(header_digest, payload_digest, len(records))


class SegmentSealer:
    """Seals one item's segments in order, then signs the item."""

    __slots__ = ("_done", "_hash", "_header_digest", "_index", "_key", "_prefix", "_size")

    def __init__(
        self, header: wire.Header | wire.HeaderFields, header_bytes: bytes, payload_key: bytes
    ) -> None:
        self._header_digest = prim.sha256(header_bytes)
        self._key = payload_key
        self._prefix = header.nonce_prefix
        self._size = header.segment_size
        self._hash = hashlib.sha256()
        self._index = 0
        self._done = False

    @property
    def header_digest(self) -> bytes:
        """SHA-256 of the preamble and header."""
        return self._header_digest

    def seal(self, plaintext: bytes, final: bool) -> bytes:
        """The record (head + ciphertext) of the next segment."""
        if self._done:
            raise SealError("the final segment is already sealed", code="SEAL_STATE")
        if len(plaintext) > self._size or (not final and len(plaintext) != self._size):
            raise SealError(
                "a non-final segment must be exactly the segment size", code="SEAL_STATE"
            )
        if self._index > wire.MAX_SEGMENTS - 1:
            raise SealError("too many segments", code="SEAL_TOO_LARGE")
        i = self._index
        tail = segments.segment_tail(i, final)  # nonce = prefix || tail, ad = header digest || tail
        ciphertext = prim.aes_gcm_encrypt(
            self._key, self._prefix + tail, plaintext, self._header_digest + tail
        )
        record = segments.segment_head(final, i, len(ciphertext)) + ciphertext
        self._hash.update(record)
        self._index += 1
        self._done = final
        return record

    def to_be_signed(self) -> bytes:
        """What the originator signs; only once the final segment is sealed."""
        if not self._done:
            raise SealError("sign only after the final segment", code="SEAL_STATE")
        return segments.to_be_signed(self._header_digest, self._hash.digest(), self._index)

    @property
    def segment_count(self) -> int:
        """How many segments were sealed."""
        return self._index


class SegmentOpener:
    """Checks and opens one item's segment records in order, hashing them for the signature."""

    __slots__ = ("_done", "_hash", "_header_digest", "_index", "_key", "_prefix", "_size")

    def __init__(
        self,
        header: wire.Header | wire.HeaderFields,
        header_digest: bytes,
        payload_key: bytes | None,
    ) -> None:
        self._header_digest = header_digest
        self._key = payload_key
        self._prefix = header.nonce_prefix
        self._size = header.segment_size
        self._hash = hashlib.sha256()
        self._index = 0
        self._done = False

    @property
    def done(self) -> bool:
        """Whether the final segment has been seen."""
        return self._done

    def head(self, head: bytes) -> tuple[bool, int]:
        """Check the next segment head; return (final, ciphertext length)."""
        if self._done:
            raise EnvelopeError(Cause.SEGMENT_REORDERED)  # a segment after the final one
        if len(head) < wire.SEGMENT_HEAD_SIZE:
            raise EnvelopeError(Cause.SEGMENT_TRUNCATED)
        return segments.check_segment_head(head, self._index, self._size)

    def hash_only(self, record: bytes) -> bool:
        """Account for a whole record without decrypting it; return its final flag."""
        final, length = self.head(record[: wire.SEGMENT_HEAD_SIZE])
        if len(record) != wire.SEGMENT_HEAD_SIZE + length:
            raise EnvelopeError(Cause.MALFORMED)
        self._hash.update(record)
        self._index += 1
        self._done = final
        return final

    def open(self, head: bytes, ciphertext: bytes) -> bytes:
        """Authenticate and decrypt the segment whose checked head is ``head``."""
        if self._key is None:
            raise EnvelopeError(Cause.DECRYPT_FAILED)
        final, length = self.head(head)
        if len(ciphertext) != length:
            raise EnvelopeError(Cause.SEGMENT_TRUNCATED)
        tail = segments.segment_tail(self._index, final)
        try:
            plaintext = prim.aes_gcm_decrypt(
                self._key, self._prefix + tail, ciphertext, self._header_digest + tail
            )
        except prim.CryptoError:
            raise EnvelopeError(Cause.DECRYPT_FAILED) from None
        self._hash.update(head)
        self._hash.update(ciphertext)
        self._index += 1
        self._done = final
        return plaintext

    def to_be_signed(self) -> bytes:
        """What the originator must have signed; only once the final segment is seen."""
        if not self._done:
            raise EnvelopeError(Cause.SEGMENT_TRUNCATED)
        return segments.to_be_signed(self._header_digest, self._hash.digest(), self._index)


def open_records(
    payload_key: bytes, nonce_prefix: bytes, header_digest: bytes, records: Sequence[bytes]
) -> bytes:
    """Decrypt an in-memory item's segment records, already checked and hashed (hash, verify, open)."""
    plaintext = []
    for index, record in enumerate(records):
        tail = segments.segment_tail(index, record[0] == 1)
        try:
            plaintext.append(
                prim.aes_gcm_decrypt(
                    payload_key,
                    nonce_prefix + tail,
                    record[wire.SEGMENT_HEAD_SIZE :],
                    header_digest + tail,
                )
            )
        except prim.CryptoError:
            raise EnvelopeError(Cause.DECRYPT_FAILED) from None
    return b"".join(plaintext)
