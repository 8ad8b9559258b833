"""A whole sealed item in memory: strict parsing and the :class:`SealedItem` value.

Byte layout: docs/wire-format.md §1.  Streams are read piece by piece instead
(:mod:`gsomia.envelope.stream`); an in-memory item is bounded by ``max_size``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gsomia.envelope import _primitives as prim
from gsomia.envelope.errors import Cause
from gsomia.envelope.segments import check_segment_head, to_be_signed
from gsomia.envelope.wire import (
    _BYTES_LIKE,
    DEFAULT_MAX_ITEM_BYTES,
    MAX_SEGMENTS,
    SEGMENT_HEAD_SIZE,
    SIGNATURE_SIZE,
    Header,
    HeaderFields,
    _bad,
    _parse_header,
)

__all__ = ["SealedItem", "parse_item"]


def parse_item(
    data: bytes, max_size: int = DEFAULT_MAX_ITEM_BYTES
) -> tuple[HeaderFields, list[bytes], bytes]:
    """Split an in-memory item strictly: header (with its bytes), segment records, signature.

    Every segment head is checked (:func:`check_segment_head`: index, final flag, length) and
    exactly one signature must follow the final segment.  :meth:`SealedItem.from_bytes` and
    :func:`~gsomia.envelope.seal.open_item` both parse through here.
    """
    if not isinstance(data, _BYTES_LIKE):
        raise _bad()
    data = bytes(data)
    if len(data) > max_size:
        raise _bad(Cause.TOO_LARGE)
    header, pos = _parse_header(data)
    segment_size = header.segment_size
    segments: list[bytes] = []
    final = False
    while not final:
        if len(segments) >= MAX_SEGMENTS:
            raise _bad(Cause.TOO_LARGE)
        head = data[pos : pos + SEGMENT_HEAD_SIZE]
        if len(head) < SEGMENT_HEAD_SIZE:
            raise _bad(Cause.SEGMENT_TRUNCATED)
        final, length = check_segment_head(head, len(segments), segment_size)
        end = pos + SEGMENT_HEAD_SIZE + length
        if end > len(data):
            raise _bad(Cause.SEGMENT_TRUNCATED)
        segments.append(data[pos:end])
        pos = end
    signature = data[pos:]
    if len(signature) < SIGNATURE_SIZE:
        raise _bad(Cause.SEGMENT_TRUNCATED)
    if len(signature) > SIGNATURE_SIZE:
        raise _bad()
    return header, segments, signature


@dataclass(frozen=True, slots=True)
class SealedItem:
    """A sealed item: header, segment records (head + ciphertext) and the signature."""

    header: Header
    header_bytes: bytes
    segments: tuple[bytes, ...]
    signature: bytes

    def to_bytes(self) -> bytes:
        """The item as on the wire."""
        return b"".join((self.header_bytes, *self.segments, self.signature))

    @classmethod
    def from_bytes(cls, data: bytes, *, max_size: int = DEFAULT_MAX_ITEM_BYTES) -> SealedItem:
        """Parse an item strictly.  Anything but exactly one well-formed item is refused."""
        header, segments, signature = parse_item(data, max_size)
        return cls(header.to_header(), header.encoded, tuple(segments), signature)

    @property
    def header_digest(self) -> bytes:
        """SHA-256 of the preamble and header, as on the wire."""
        return prim.sha256(self.header_bytes)

    @property
    def payload_digest(self) -> bytes:
        """SHA-256 of the concatenated segment records (heads and ciphertexts)."""
        return prim.sha256(b"".join(self.segments))

    def to_be_signed(self) -> bytes:
        """The bytes the signature covers."""
        return to_be_signed(self.header_digest, self.payload_digest, len(self.segments))
