"""A whole sealed item in memory: strict parsing and the :class:`SealedItem` value.

Byte layout: docs/wire-format.md §1.  Streams are read piece by piece instead
(:mod:`gsomia.envelope.stream`); an in-memory item is bounded by ``max_size``.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Final

from gsomia.envelope import _primitives as prim
from gsomia.envelope import batch
from gsomia.envelope.errors import Cause
from gsomia.envelope.segments import check_segment_head, to_be_signed
from gsomia.envelope.wire import (
    _BYTES_LIKE,
    DEFAULT_MAX_ITEM_BYTES,
    MAX_SEGMENTS,
    SEGMENT_HEAD_SIZE,
    SIGNATURE_SIZE,
    SUITE,
    Header,
    HeaderFields,
    _bad,
    _parse_header,
)

__all__ = ["SealedItem", "parse_item"]

_set: Final = object.__setattr__  # SealedItem refuses assignment; its constructors use this


def parse_item(
    data: bytes, max_size: int = DEFAULT_MAX_ITEM_BYTES
) -> tuple[HeaderFields, list[bytes], bytes]:
    """Split an in-memory item strictly: header (with its bytes), segment records, signature.

    Every segment head is checked (:func:`check_segment_head`: index, final flag, length) and
    exactly one signature must follow the final segment: 64 bytes in suite 1, a whole signature
    block (:mod:`gsomia.envelope.batch`) in suite 2.  :meth:`SealedItem.from_bytes` and
    :func:`~gsomia.envelope.opening.open_item` both parse through here.
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
    if header.suite == SUITE:
        expected = SIGNATURE_SIZE
    elif len(signature) < batch.BLOCK_HEAD_SIZE:
        raise _bad(Cause.SEGMENT_TRUNCATED)
    else:
        expected = batch.block_size(signature[: batch.BLOCK_HEAD_SIZE])
    if len(signature) < expected:
        raise _bad(Cause.SEGMENT_TRUNCATED)
    if len(signature) > expected:
        raise _bad()
    return header, segments, signature


class SealedItem:
    """A sealed item: header, segment records (head + ciphertext) and the signature (in suite 2,
    the whole signature block: batch size, index, path and the batch's signature).

    An immutable value (equality, hash, ``repr`` and pickling as a frozen dataclass of the four
    fields ``header``, ``header_bytes``, ``segments``, ``signature``).  An item sealed or parsed
    here keeps its header as the :class:`HeaderFields` it was built or parsed as, and builds the
    :class:`Header` only when ``header`` is first read: the usual path, ``seal(...).to_bytes()``,
    never needs it.  An item built by a caller from a :class:`Header` has no such fields, so
    :func:`~gsomia.envelope.opening.open_item` checks its header against its bytes.
    """

    __slots__ = ("_fields", "_header", "header_bytes", "segments", "signature")
    __match_args__ = ("header", "header_bytes", "segments", "signature")

    _fields: HeaderFields | None
    _header: Header | None
    header_bytes: bytes
    segments: tuple[bytes, ...]
    signature: bytes

    def __init__(
        self, header: Header, header_bytes: bytes, segments: tuple[bytes, ...], signature: bytes
    ) -> None:
        _set(self, "_fields", None)
        _set(self, "_header", header)
        _set(self, "header_bytes", header_bytes)
        _set(self, "segments", segments)
        _set(self, "signature", signature)

    @classmethod
    def of_fields(
        cls, fields: HeaderFields, segments: tuple[bytes, ...], signature: bytes
    ) -> SealedItem:
        """The item of a header sealed or parsed here (``fields.encoded`` are its bytes)."""
        item: SealedItem = object.__new__(cls)
        _set(item, "_fields", fields)
        _set(item, "_header", None)
        _set(item, "header_bytes", fields.encoded)
        _set(item, "segments", segments)
        _set(item, "signature", signature)
        return item

    @property
    def header(self) -> Header:
        """The decoded header."""
        header = self._header
        if header is None:
            assert self._fields is not None  # one of the two is always set
            header = self._fields.to_header()
            _set(self, "_header", header)
        return header

    @property
    def header_fields(self) -> HeaderFields | None:
        """The header as sealed or parsed here, or None for an item built from a :class:`Header`."""
        return self._fields

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _key(self) -> tuple[Header, bytes, tuple[bytes, ...], bytes]:
        return (self.header, self.header_bytes, self.segments, self.signature)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, SealedItem)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"SealedItem(header={self.header!r}, header_bytes={self.header_bytes!r}, "
            f"segments={self.segments!r}, signature={self.signature!r})"
        )

    def __reduce__(self) -> tuple[type[SealedItem], tuple[Header, bytes, tuple[bytes, ...], bytes]]:
        return (type(self), self._key())

    def to_bytes(self) -> bytes:
        """The item as on the wire."""
        return b"".join((self.header_bytes, *self.segments, self.signature))

    @classmethod
    def from_bytes(cls, data: bytes, *, max_size: int = DEFAULT_MAX_ITEM_BYTES) -> SealedItem:
        """Parse an item strictly.  Anything but exactly one well-formed item is refused."""
        header, segments, signature = parse_item(data, max_size)
        return cls.of_fields(header, tuple(segments), signature)

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
