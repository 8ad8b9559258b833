"""The wire format of a sealed item, version 1: strict, bounded, byte-exact (docs/wire-format.md).

Pure: bytes in, values out.  Every parse failure raises
:class:`~gsomia.envelope.errors.EnvelopeError` with cause ``MALFORMED`` (or ``TOO_LARGE``,
``UNSUPPORTED_VERSION``, ``SEGMENT_TRUNCATED``, ``SEGMENT_REORDERED``).  A field is accepted in
exactly one encoding, so ``decode(encode(x)) == x`` and ``encode(decode(b)) == b``: there is no
second spelling of an item for an attacker to exploit.

Layout (all integers big-endian)::

    item      = preamble header-body segment+ signature
    preamble  = "GSMA" version:u8=1 suite:u8=1 header-len:u32
    header-body (header-len bytes)
              = core recipients
    core      = item-id:str8 created:i64(µs since 1970-01-01Z) sender:3 sender-kid:8
                agreement:str8 table-version:u32 segment-size:u32 nonce-prefix:7
                key-commitment:32 ephemeral:32 label-kind:u8 label-digest:32 label:bytes32
    recipients= count:u8 { party:3 kid:8 wrapped:bytes16 }*     (sorted by party, unique)
    segment   = final:u8(0|1) index:u32 length:u32 ciphertext[length]
    signature = 64 bytes (Ed25519 over to_be_signed(), see below)

Suite 1: X25519 + HKDF-SHA256 + AES-256-GCM key wrap with one ephemeral key per item
(:func:`gsomia.envelope._primitives.wrap_key`),
AES-256-GCM STREAM segments (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption
and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015, §7), Ed25519 (RFC 8032) signature.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Final, Protocol

from gsomia.envelope import _primitives as prim
from gsomia.envelope.errors import Cause, EnvelopeError

__all__ = [
    "DEFAULT_MAX_ITEM_BYTES",
    "DEFAULT_SEGMENT_SIZE",
    "MAGIC",
    "MAX_LABEL_BYTES",
    "MAX_RECIPIENTS",
    "MAX_SEGMENT_SIZE",
    "MIN_SEGMENT_SIZE",
    "PREAMBLE_SIZE",
    "SEGMENT_HEAD_SIZE",
    "SIGNATURE_SIZE",
    "SUITE",
    "VERSION",
    "Header",
    "LabelKind",
    "Reader",
    "Recipient",
    "SealedItem",
    "Writer",
    "check_segment_head",
    "content_keys",
    "read_exact",
    "read_header",
    "segment_ad",
    "segment_head",
    "segment_nonce",
    "to_be_signed",
    "wrap_info",
]

MAGIC: Final = b"GSMA"
VERSION: Final = 1
SUITE: Final = 1
_PREAMBLE: Final = struct.Struct(">4sBBI")
PREAMBLE_SIZE: Final = _PREAMBLE.size  # 10
_SEGMENT_HEAD: Final = struct.Struct(">BII")
SEGMENT_HEAD_SIZE: Final = _SEGMENT_HEAD.size  # 9
SIGNATURE_SIZE: Final = prim.ED25519_SIGNATURE_SIZE
CONTENT_KEY_SIZE: Final = 32
WRAPPED_SIZE: Final = CONTENT_KEY_SIZE + prim.AEAD_TAG_SIZE  # 48
NONCE_PREFIX_SIZE: Final = 7  # STREAM: 7-byte prefix || 4-byte counter || 1-byte final flag
TAG_SIZE: Final = prim.AEAD_TAG_SIZE
KID_SIZE: Final = 8

DEFAULT_SEGMENT_SIZE: Final = 64 * 1024
MIN_SEGMENT_SIZE: Final = 64
MAX_SEGMENT_SIZE: Final = 1024 * 1024
MAX_LABEL_BYTES: Final = 256 * 1024  # = gsomia.labels.json_codec.MAX_JSON_BYTES
MAX_RECIPIENTS: Final = 32
MAX_HEADER_BYTES: Final = MAX_LABEL_BYTES + 16 * 1024
MAX_SEGMENTS: Final = 2**32 - 1
DEFAULT_MAX_ITEM_BYTES: Final = 64 * 1024 * 1024  # for in-memory items; streams have no bound

# Domain-separation strings (one per use of a key or hash; see docs/wire-format.md §4).
SIGNATURE_CONTEXT: Final = b"gsomia-envelope/1 signature\x00"
WRAP_CONTEXT: Final = b"gsomia-envelope/1 wrap\x00"
KEYS_CONTEXT: Final = b"gsomia-envelope/1 content keys"

_ITEM_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_PARTY: Final = re.compile(rb"^[A-Z]{3}$")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)


class LabelKind(IntEnum):
    """Which label type the header carries."""

    ORIGINATOR = 1  # gsomia.labels.model.OriginatorLabel
    LABEL_SET = 2  # gsomia.labels.model.LabelSet


class Reader(Protocol):
    """What :func:`~gsomia.envelope.seal.open_stream` reads from (a binary file, a socket file)."""

    def read(self, size: int = -1, /) -> bytes: ...


class Writer(Protocol):
    """What the streaming functions write to."""

    def write(self, data: bytes, /) -> object: ...


def _bad(cause: Cause = Cause.MALFORMED) -> EnvelopeError:
    return EnvelopeError(cause)


def valid_item_id(item_id: str) -> bool:
    """Whether ``item_id`` is 1–64 characters of ``[A-Za-z0-9._:-]``, starting alphanumeric."""
    return isinstance(item_id, str) and _ITEM_ID.match(item_id) is not None


def valid_agreement_id(agreement: str) -> bool:
    """Whether ``agreement`` is printable text of 1–128 UTF-8 bytes."""
    if not isinstance(agreement, str) or not agreement or not agreement.isprintable():
        return False
    try:
        return len(agreement.encode("utf-8")) <= 128
    except UnicodeEncodeError:
        return False


def micros(instant: datetime) -> int:
    """Microseconds since 1970-01-01T00:00:00Z (the wire form of ``created``)."""
    return (instant - _EPOCH) // _MICRO


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient: its party, the kid of its X25519 key, the content key wrapped to it."""

    party: str
    kid: str
    wrapped: bytes


@dataclass(frozen=True, slots=True)
class Header:
    """The decoded header of a sealed item (everything before the first segment)."""

    item_id: str
    created: datetime
    sender: str
    sender_kid: str
    agreement_id: str
    table_version: int
    segment_size: int
    nonce_prefix: bytes
    key_commitment: bytes
    ephemeral: bytes
    label_kind: LabelKind
    label_digest: bytes
    label_bytes: bytes
    recipients: tuple[Recipient, ...]
    _core: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def core_bytes(self) -> bytes:
        """The header body without the recipients: what every key wrap is bound to."""
        if self._core is not None:
            return self._core
        item = self.item_id.encode("ascii")
        agreement = self.agreement_id.encode("utf-8")
        return b"".join(
            (
                struct.pack(">B", len(item)),
                item,
                struct.pack(">q", micros(self.created)),
                self.sender.encode("ascii"),
                bytes.fromhex(self.sender_kid),
                struct.pack(">B", len(agreement)),
                agreement,
                struct.pack(">II", self.table_version, self.segment_size),
                self.nonce_prefix,
                self.key_commitment,
                self.ephemeral,
                struct.pack(">B", int(self.label_kind)),
                self.label_digest,
                struct.pack(">I", len(self.label_bytes)),
                self.label_bytes,
            )
        )

    def with_recipients(self, recipients: tuple[Recipient, ...], core: bytes) -> Header:
        """This header with ``recipients``; ``core`` is :meth:`core_bytes` (already computed)."""
        header = replace(self, recipients=recipients)
        object.__setattr__(header, "_core", core)
        return header

    def encode(self) -> bytes:
        """Preamble and header body, as on the wire."""
        parts = [
            self.core_bytes(),
            struct.pack(">B", len(self.recipients)),
        ]
        for r in self.recipients:
            parts += (
                r.party.encode("ascii"),
                bytes.fromhex(r.kid),
                struct.pack(">H", len(r.wrapped)),
                r.wrapped,
            )
        body = b"".join(parts)
        return _PREAMBLE.pack(MAGIC, VERSION, SUITE, len(body)) + body

    def recipient(self, party: str) -> Recipient | None:
        """The entry for ``party``, if it is a recipient."""
        for r in self.recipients:
            if r.party == party:
                return r
        return None


_U32: Final = struct.Struct(">I")


def _decode_preamble(data: bytes) -> int:
    magic, version, suite, size = _PREAMBLE.unpack(data)
    if magic != MAGIC:
        raise _bad()
    if version != VERSION or suite != SUITE:
        raise _bad(Cause.UNSUPPORTED_VERSION)
    if size > MAX_HEADER_BYTES:
        raise _bad(Cause.TOO_LARGE)
    return int(size)


_CORE_A: Final = struct.Struct(">q3s8sB")  # created, sender, sender kid, agreement length
_CORE_B: Final = struct.Struct(">II7s32s32sB32sI")  # table version … label length
_RECIPIENT: Final = struct.Struct(">3s8sH")


def _party(raw: bytes) -> str:
    if not _PARTY.match(raw):
        raise _bad()
    return raw.decode("ascii")


def _decode_body(body: bytes) -> Header:
    try:
        pos = 1 + body[0]
        item_id = body[1:pos].decode("ascii")
        created_us, sender, sender_kid, n = _CORE_A.unpack_from(body, pos)
        pos += _CORE_A.size
        agreement = body[pos : pos + n].decode("utf-8")
        pos += n
        (table_version, segment_size, nonce_prefix, commitment, ephemeral, kind, label_digest,
         n) = _CORE_B.unpack_from(body, pos)  # fmt: skip
        pos += _CORE_B.size
        if not 1 <= n <= MAX_LABEL_BYTES:
            raise _bad(Cause.TOO_LARGE if n else Cause.MALFORMED)
        label = body[pos : pos + n]
        pos += n
        core_end = pos
        count = body[pos]
        pos += 1
        if not 1 <= count <= MAX_RECIPIENTS:
            raise _bad()
        recipients = []
        for _ in range(count):
            party, kid, n = _RECIPIENT.unpack_from(body, pos)
            pos += _RECIPIENT.size
            if n != WRAPPED_SIZE:
                raise _bad()
            recipients.append(Recipient(_party(party), kid.hex(), body[pos : pos + n]))
            pos += n
        created = _EPOCH + created_us * _MICRO
    except (struct.error, IndexError, UnicodeDecodeError, OverflowError):
        raise _bad() from None
    if pos != len(body) or not valid_item_id(item_id) or not valid_agreement_id(agreement):
        raise _bad()
    if table_version < 1 or not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise _bad()
    if kind not in (1, 2):
        raise _bad()
    parties = [r.party for r in recipients]
    if parties != sorted(set(parties)):  # canonical order, no party twice
        raise _bad()
    header = Header(
        item_id=item_id,
        created=created,
        sender=_party(sender),
        sender_kid=sender_kid.hex(),
        agreement_id=agreement,
        table_version=table_version,
        segment_size=segment_size,
        nonce_prefix=nonce_prefix,
        key_commitment=commitment,
        ephemeral=ephemeral,
        label_kind=LabelKind(kind),
        label_digest=label_digest,
        label_bytes=label,
        recipients=tuple(recipients),
    )
    object.__setattr__(header, "_core", body[:core_end])
    return header


def decode_header(data: bytes) -> tuple[Header, int]:
    """Decode the preamble and header at the start of ``data``; return it and its wire length."""
    if len(data) < PREAMBLE_SIZE:
        raise _bad(
            Cause.SEGMENT_TRUNCATED if data and MAGIC.startswith(data[:4]) else Cause.MALFORMED
        )
    size = _decode_preamble(data[:PREAMBLE_SIZE])
    end = PREAMBLE_SIZE + size
    if len(data) < end:
        raise _bad(Cause.SEGMENT_TRUNCATED)
    return _decode_body(data[PREAMBLE_SIZE:end]), end


def read_exact(reader: Reader, size: int) -> bytes:
    """Exactly ``size`` bytes from ``reader``, or fewer only at end of data."""
    chunks: list[bytes] = []
    missing = size
    while missing > 0:
        chunk = reader.read(missing)
        if not chunk:
            break
        if not isinstance(chunk, bytes | bytearray) or len(chunk) > missing:
            raise _bad()
        chunks.append(bytes(chunk))
        missing -= len(chunk)
    return b"".join(chunks)


def read_header(reader: Reader) -> tuple[Header, bytes]:
    """Read and decode the preamble and header from a stream; return it and its raw bytes."""
    preamble = read_exact(reader, PREAMBLE_SIZE)
    if len(preamble) < PREAMBLE_SIZE:
        raise _bad(Cause.SEGMENT_TRUNCATED if preamble else Cause.MALFORMED)
    size = _decode_preamble(preamble)
    body = read_exact(reader, size)
    if len(body) < size:
        raise _bad(Cause.SEGMENT_TRUNCATED)
    return _decode_body(body), preamble + body


# ------------------------------------------------------------------ segments (STREAM, HRRV §7)


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


def segment_nonce(nonce_prefix: bytes, index: int, final: bool) -> bytes:
    """STREAM nonce: 7-byte per-item prefix || 32-bit counter || final flag (HRRV 2015, §7)."""
    return nonce_prefix + _U32.pack(index) + (b"\x01" if final else b"\x00")


def segment_ad(header_digest: bytes, index: int, final: bool) -> bytes:
    """Associated data of a segment: SHA-256 of the whole header, the index and the final flag."""
    return header_digest + _U32.pack(index) + (b"\x01" if final else b"\x00")


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


# ------------------------------------------------------------------ whole items in memory


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
        if not isinstance(data, bytes | bytearray | memoryview):
            raise _bad()
        data = bytes(data)
        if len(data) > max_size:
            raise _bad(Cause.TOO_LARGE)
        header, pos = decode_header(data)
        header_end = pos
        segments: list[bytes] = []
        final = False
        while not final:
            if len(segments) >= MAX_SEGMENTS:
                raise _bad(Cause.TOO_LARGE)
            head = data[pos : pos + SEGMENT_HEAD_SIZE]
            if len(head) < SEGMENT_HEAD_SIZE:
                raise _bad(Cause.SEGMENT_TRUNCATED)
            final, length = check_segment_head(head, len(segments), header.segment_size)
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
        return cls(header, data[:header_end], tuple(segments), signature)

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
