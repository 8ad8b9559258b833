"""The wire format of a sealed item, version 1: strict, bounded, byte-exact (docs/wire-format.md).

Pure: bytes in, values out.  Every parse failure raises
:class:`~gsomia.envelope.errors.EnvelopeError` with cause ``MALFORMED`` (or ``TOO_LARGE``,
``UNSUPPORTED_VERSION``, ``SEGMENT_TRUNCATED``, ``SEGMENT_REORDERED``).  A field is accepted in
exactly one encoding, so ``decode(encode(x)) == x`` and ``encode(decode(b)) == b``: there is no
second spelling of an item for an attacker to exploit.

Layout (all integers big-endian)::

    item      = preamble header-body segment+ signature
    preamble  = "GSMA" version:u8=1 suite:u8=1|2 header-len:u32
    header-body (header-len bytes)
              = core recipients
    core      = item-id:str8 created:i64(µs since 1970-01-01Z) sender:3 sender-kid:8
                agreement:str8 table-version:u32 segment-size:u32 nonce-prefix:7
                key-commitment:32 ephemeral:32 label-kind:u8 label-digest:32 label:bytes32
    recipients= count:u8 { party:3 kid:8 wrapped:bytes16 }*     (sorted by party, unique)
    segment   = final:u8(0|1) index:u32 length:u32 ciphertext[length]
    signature = 64 bytes (Ed25519 over to_be_signed(), see below)             suite 1
              | batch-size:u16 index:u16 path:(32 × n) 64 bytes               suite 2
                (n fixed by index and batch size; gsomia.envelope.batch)

Suite 2 is suite 1 with one Ed25519 signature per sealing batch over the RFC 9162 root of the
batch's to-be-signed bytes, each item carrying its inclusion path (docs/wire-format.md §4.1).
Suite 1: X25519 + HKDF-SHA256 + AES-256-GCM key wrap with one ephemeral key per item, or one shared
by a sealing batch (:func:`gsomia.envelope._primitives.wrap_key`; ADR 0015: same bytes on the wire),
AES-256-GCM STREAM segments (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption
and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015, §7), Ed25519 (RFC 8032) signature.

The header's values and their encoding are in :mod:`gsomia.envelope.header` (re-exported here);
this module holds the layout's constants, the strict parser and the stream readers.  The parser
returns :class:`~gsomia.envelope.header.HeaderFields`, all that opening reads.
"""

from __future__ import annotations

import re
import struct
from typing import Final, Protocol

from gsomia.envelope import _primitives as prim
from gsomia.envelope.errors import Cause, EnvelopeError
from gsomia.envelope.header import (
    _EPOCH,
    _I64,
    _MICRO,
    _PREAMBLE,
    _TWO_U32,
    MAGIC,
    SUITE,
    SUITE_BATCH,
    SUITES,
    VERSION,
    FixedFields,
    Header,
    HeaderFields,
    LabelFields,
    LabelKind,
    Recipient,
    RecipientFields,
    build_header,
    encode_core,
    fixed_fields,
    label_fields,
    micros,
)

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
    "SUITES",
    "SUITE_BATCH",
    "VERSION",
    "FixedFields",
    "Header",
    "HeaderFields",
    "LabelFields",
    "LabelKind",
    "Reader",
    "Recipient",
    "RecipientFields",
    "Writer",
    "build_header",
    "decode_header",
    "encode_core",
    "fixed_fields",
    "label_fields",
    "micros",
    "read_exact",
    "read_header",
    "read_header_fields",
]

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

_BYTES_LIKE: Final = (bytes, bytearray, memoryview)
_ITEM_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")  # fullmatch: "$" allows "\n"


class Reader(Protocol):
    """What :func:`~gsomia.envelope.opening.open_stream` reads from (a binary file, a socket file)."""

    def read(self, size: int = -1, /) -> bytes: ...


class Writer(Protocol):
    """What the streaming functions write to."""

    def write(self, data: bytes, /) -> object: ...


def _bad(cause: Cause = Cause.MALFORMED) -> EnvelopeError:
    return EnvelopeError(cause)


def valid_item_id(item_id: str) -> bool:
    """Whether ``item_id`` is 1–64 characters of ``[A-Za-z0-9._:-]``, starting alphanumeric."""
    return isinstance(item_id, str) and _ITEM_ID.fullmatch(item_id) is not None


def valid_agreement_id(agreement: str) -> bool:
    """Whether ``agreement`` is printable text of 1–128 UTF-8 bytes."""
    if not isinstance(agreement, str) or not agreement or not agreement.isprintable():
        return False
    try:
        return len(agreement.encode("utf-8")) <= 128
    except UnicodeEncodeError:
        return False


def _decode_preamble(data: bytes) -> int:
    magic, version, suite, size = _PREAMBLE.unpack_from(data)
    if magic != MAGIC:
        raise _bad()
    if version != VERSION or suite not in SUITES:
        raise _bad(Cause.UNSUPPORTED_VERSION)
    if size > MAX_HEADER_BYTES:
        raise _bad(Cause.TOO_LARGE)
    return int(size)


_FIXED_HEAD: Final = struct.Struct(">3s8sB")  # sender, sender kid, agreement length
_CORE_TAIL: Final = struct.Struct(">7s32s32sB32sI")  # nonce prefix … label length
# A recipient entry: party, kid, wrapped length and the wrapped key; read as if the length were
# 48 (WRAPPED_SIZE) and refused if it is not, so one unpack reads every entry.
_ENTRIES: Final = [struct.Struct(">" + "3s8sH48s" * n) for n in range(MAX_RECIPIENTS + 1)]
_ENTRY_SIZE: Final = _ENTRIES[1].size  # 61
_LABEL_KINDS: Final = {int(kind): kind for kind in LabelKind}


def _is_party(raw: bytes) -> bool:
    # ``raw`` is 3 bytes (struct "3s"); bytes.isalpha/isupper are ASCII-only: exactly [A-Z]{3}.
    return raw.isalpha() and raw.isupper()


# ``_new(HeaderFields, values)`` is ``HeaderFields(*values)`` without the Python-level ``__new__``
# of a NamedTuple (a third of the cost); the values are in field order.
_new: Final = tuple.__new__


_ITEM_ID_BYTES: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"


def _valid_item_id_bytes(raw: bytes) -> bool:
    # valid_item_id on the wire bytes without the regex engine (cheaper on the hot path of
    # open): bytes.isalnum is ASCII-only, so this is [A-Za-z0-9][A-Za-z0-9._:-]{0,63} exactly.
    return 1 <= len(raw) <= 64 and raw[:1].isalnum() and not raw.translate(None, _ITEM_ID_BYTES)


# The fields ``sender`` … ``segment-size`` repeat in every item of one sender under one agreement,
# so their decoding is memoized by their bytes, like a label's: a deterministic function of the
# bytes, bounded (256 entries, cleared when full), filled only with fields that passed every check.
_FIXED: dict[bytes, FixedFields] = {}
_FIXED_ENTRIES: Final = 256


def _parse_fixed(raw: bytes) -> FixedFields | None:
    """Decode ``sender`` … ``segment-size``; raises ``struct.error``/``UnicodeDecodeError`` if cut
    short or not UTF-8, returns ``None`` if they decode but are not valid."""
    sender, sender_kid, agreement_size = _FIXED_HEAD.unpack_from(raw)
    pos = _FIXED_HEAD.size + agreement_size
    agreement = raw[_FIXED_HEAD.size : pos].decode("utf-8")
    table_version, segment_size = _TWO_U32.unpack_from(raw, pos)
    # ``agreement`` is valid UTF-8 of ``agreement_size`` bytes: valid_agreement_id, without
    # encoding it again.
    if (
        pos + _TWO_U32.size != len(raw)
        or not _is_party(sender)
        or not 1 <= agreement_size <= 128
        or not agreement.isprintable()
        or table_version < 1
        or not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE
    ):
        return None
    fixed = FixedFields(
        sender.decode("ascii"), sender_kid.hex(), agreement, table_version, segment_size, raw
    )
    if len(_FIXED) >= _FIXED_ENTRIES:
        _FIXED.clear()  # atomic, so safe across threads; refills at once
    _FIXED[raw] = fixed
    return fixed


def _parse_body(encoded: bytes) -> HeaderFields:
    """Parse a header strictly; ``encoded`` is its preamble and body, as on the wire."""
    try:
        pos = PREAMBLE_SIZE + 1 + encoded[PREAMBLE_SIZE]
        raw_item_id = encoded[PREAMBLE_SIZE + 1 : pos]
        item_id = raw_item_id.decode("ascii")
        (created_us,) = _I64.unpack_from(encoded, pos)
        start = pos + _I64.size
        # sender:3 sender-kid:8 agreement-length:1 agreement table-version:4 segment-size:4
        pos = start + 20 + encoded[start + 11]
        raw_fixed = encoded[start:pos]
        fixed = _FIXED.get(raw_fixed) or _parse_fixed(raw_fixed)
        (nonce_prefix, commitment, ephemeral, kind, label_digest,
         n) = _CORE_TAIL.unpack_from(encoded, pos)  # fmt: skip
        pos += _CORE_TAIL.size
        if not 1 <= n <= MAX_LABEL_BYTES:
            raise _bad(Cause.TOO_LARGE if n else Cause.MALFORMED)
        label = encoded[pos : pos + n]
        pos += n
        core_end = pos
        count = encoded[pos]
        pos += 1
        if not 1 <= count <= MAX_RECIPIENTS:
            raise _bad()
        entries = _ENTRIES[count].unpack_from(encoded, pos)  # 4 values per recipient
        pos += count * _ENTRY_SIZE
        recipients = []
        previous = b""
        for i in range(0, 4 * count, 4):
            party = entries[i]
            # sorted by party, no party twice; [A-Z]{3} (as _is_party, inline on the hot path)
            if (
                entries[i + 2] != WRAPPED_SIZE
                or party <= previous
                or not (party.isalpha() and party.isupper())
            ):
                raise _bad()
            recipients.append(
                _new(RecipientFields, (party.decode("ascii"), entries[i + 1].hex(), entries[i + 3]))
            )
            previous = party
        created = _EPOCH + created_us * _MICRO
    except (struct.error, IndexError, UnicodeDecodeError, OverflowError):
        raise _bad() from None
    label_kind = _LABEL_KINDS.get(kind)
    if pos != len(encoded) or fixed is None or label_kind is None:
        raise _bad()
    if not _valid_item_id_bytes(raw_item_id):
        raise _bad()
    sender, sender_kid, agreement, table_version, segment_size, _ = fixed
    return _new(
        HeaderFields,
        (
            item_id,
            created,
            sender,
            sender_kid,
            agreement,
            table_version,
            segment_size,
            nonce_prefix,
            commitment,
            ephemeral,
            label_kind,
            label_digest,
            label,
            tuple(recipients),
            encoded[PREAMBLE_SIZE:core_end],
            encoded,
        ),
    )


def _parse_header(data: bytes) -> tuple[HeaderFields, int]:
    if len(data) < PREAMBLE_SIZE:
        raise _bad(
            Cause.SEGMENT_TRUNCATED if data and MAGIC.startswith(data[:4]) else Cause.MALFORMED
        )
    end = PREAMBLE_SIZE + _decode_preamble(data)
    if len(data) < end:
        raise _bad(Cause.SEGMENT_TRUNCATED)
    return _parse_body(data[:end]), end


def decode_header(data: bytes) -> tuple[Header, int]:
    """Decode the preamble and header at the start of ``data``; return it and its wire length."""
    fields, end = _parse_header(data)
    return fields.to_header(), end


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
    fields = read_header_fields(reader)
    return fields.to_header(), fields.encoded


def read_header_fields(reader: Reader) -> HeaderFields:
    """Read and parse the preamble and header from a stream."""
    preamble = read_exact(reader, PREAMBLE_SIZE)
    if len(preamble) < PREAMBLE_SIZE:
        raise _bad(Cause.SEGMENT_TRUNCATED if preamble else Cause.MALFORMED)
    size = _decode_preamble(preamble)
    body = read_exact(reader, size)
    if len(body) < size:
        raise _bad(Cause.SEGMENT_TRUNCATED)
    return _parse_body(preamble + body)
