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

Cost (seal + open of a 1 KiB item must stay within 0.5 ms, docs/benchmarks.md): each header is
encoded once — :func:`build_header` encodes the core, lets the caller wrap the content key to its
hash, and keeps core and bytes on the :class:`Header` — and parsed once: the parser returns
:class:`HeaderFields`, a plain tuple with the header's core and bytes, which is all that
:func:`~gsomia.envelope.seal.open_item` reads; a :class:`Header` is built from it only when one
is asked for.  Either way a header carries the bytes it was made from or parsed from, so no
header is ever encoded twice; :func:`dataclasses.replace` drops them, so a changed field is
encoded afresh.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Final, NamedTuple, Protocol

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
    "HeaderFields",
    "LabelKind",
    "Reader",
    "Recipient",
    "RecipientFields",
    "Writer",
    "build_header",
    "encode_core",
    "read_exact",
    "read_header",
    "read_header_fields",
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

_BYTES_LIKE: Final = (bytes, bytearray, memoryview)
_ITEM_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")  # fullmatch: "$" allows "\n"
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
    return isinstance(item_id, str) and _ITEM_ID.fullmatch(item_id) is not None


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


_U8: Final = struct.Struct(">B")
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")
_I64: Final = struct.Struct(">q")
_TWO_U32: Final = struct.Struct(">II")


def encode_core(
    item_id: str,
    created: datetime,
    sender: str,
    sender_kid: str,
    agreement_id: str,
    table_version: int,
    segment_size: int,
    nonce_prefix: bytes,
    key_commitment: bytes,
    ephemeral: bytes,
    label_kind: int,
    label_digest: bytes,
    label_bytes: bytes,
) -> bytes:
    """The header body without the recipients (the *core*): what every key wrap is bound to."""
    item = item_id.encode("ascii")
    agreement = agreement_id.encode("utf-8")
    return b"".join(
        (
            _U8.pack(len(item)),
            item,
            _I64.pack(micros(created)),
            sender.encode("ascii"),
            bytes.fromhex(sender_kid),
            _U8.pack(len(agreement)),
            agreement,
            _TWO_U32.pack(table_version, segment_size),
            nonce_prefix,
            key_commitment,
            ephemeral,
            _U8.pack(int(label_kind)),
            label_digest,
            _U32.pack(len(label_bytes)),
            label_bytes,
        )
    )


@dataclass(frozen=True, slots=True)
class Header:
    """The decoded header of a sealed item (everything before the first segment).

    Its wire form is computed once and kept (``_core``, ``_encoded``): the fields are immutable,
    so it cannot go stale.  A header decoded from bytes keeps those bytes, which the strict
    parser guarantees are the one encoding of its fields; :func:`dataclasses.replace` makes a new
    header without them, so a changed field is always encoded afresh.
    """

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
    _encoded: bytes | None = field(default=None, init=False, repr=False, compare=False)

    def core_bytes(self) -> bytes:
        """The header body without the recipients: what every key wrap is bound to."""
        core = self._core
        if core is None:
            core = encode_core(
                self.item_id,
                self.created,
                self.sender,
                self.sender_kid,
                self.agreement_id,
                self.table_version,
                self.segment_size,
                self.nonce_prefix,
                self.key_commitment,
                self.ephemeral,
                self.label_kind,
                self.label_digest,
                self.label_bytes,
            )
            object.__setattr__(self, "_core", core)
        return core

    def encode(self) -> bytes:
        """Preamble and header body, as on the wire."""
        encoded = self._encoded
        if encoded is None:
            encoded = _encode_header(self.core_bytes(), self.recipients)
            object.__setattr__(self, "_encoded", encoded)
        return encoded

    def recipient(self, party: str) -> Recipient | None:
        """The entry for ``party``, if it is a recipient."""
        for r in self.recipients:
            if r.party == party:
                return r
        return None

    def fields(self) -> HeaderFields:
        """The same header as :class:`HeaderFields` (what the opening checks read)."""
        return HeaderFields(
            self.item_id,
            self.created,
            self.sender,
            self.sender_kid,
            self.agreement_id,
            self.table_version,
            self.segment_size,
            self.nonce_prefix,
            self.key_commitment,
            self.ephemeral,
            self.label_kind,
            self.label_digest,
            self.label_bytes,
            tuple([RecipientFields(r.party, r.kid, r.wrapped) for r in self.recipients]),
            self.core_bytes(),
            self.encode(),
        )


class RecipientFields(NamedTuple):
    """A recipient entry as parsed: party, kid (hex) and the wrapped content key."""

    party: str
    kid: str
    wrapped: bytes


class HeaderFields(NamedTuple):
    """A header as parsed, with its core and its bytes, before any :class:`Header` is built.

    Opening an in-memory item reads the fields but never needs the model object, and building the
    frozen dataclasses (one ``object.__setattr__`` per field) costs more than parsing the bytes:
    so the parser returns this tuple and :meth:`to_header` builds the :class:`Header` when one is
    asked for (:func:`decode_header`, :meth:`SealedItem.from_bytes`).  The first 14 fields are the
    header's, in the same order.
    """

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
    recipients: tuple[RecipientFields, ...]
    core: bytes  # the body without the recipients: what every key wrap is bound to
    encoded: bytes  # preamble and body, as on the wire

    def recipient(self, party: str) -> RecipientFields | None:
        """The entry for ``party``, if it is a recipient."""
        for r in self.recipients:
            if r.party == party:
                return r
        return None

    def to_header(self) -> Header:
        """The :class:`Header` of these fields, keeping the bytes they were parsed from."""
        header = Header(*self[:13], tuple([Recipient(*r) for r in self.recipients]))
        # The strict parser accepts one encoding per header, so these bytes *are* its encoding.
        object.__setattr__(header, "_core", self.core)
        object.__setattr__(header, "_encoded", self.encoded)
        return header


def _encode_header(core: bytes, recipients: tuple[Recipient, ...]) -> bytes:
    parts = [core, _U8.pack(len(recipients))]
    for r in recipients:
        parts += (
            r.party.encode("ascii"),
            bytes.fromhex(r.kid),
            _U16.pack(len(r.wrapped)),
            r.wrapped,
        )
    body = b"".join(parts)
    return _PREAMBLE.pack(MAGIC, VERSION, SUITE, len(body)) + body


def build_header(
    *,
    item_id: str,
    created: datetime,
    sender: str,
    sender_kid: str,
    agreement_id: str,
    table_version: int,
    segment_size: int,
    nonce_prefix: bytes,
    key_commitment: bytes,
    ephemeral: bytes,
    label_kind: LabelKind,
    label_digest: bytes,
    label_bytes: bytes,
    wrap: Callable[[bytes], tuple[Recipient, ...]],
) -> tuple[Header, bytes]:
    """A new header and its bytes (sealing): ``wrap`` gets SHA-256 of the core, returns recipients.

    The core is encoded once, hashed for the key wraps, and kept with the header's bytes.
    """
    values = (
        item_id,
        created,
        sender,
        sender_kid,
        agreement_id,
        table_version,
        segment_size,
        nonce_prefix,
        key_commitment,
        ephemeral,
        label_kind,
        label_digest,
        label_bytes,
    )
    core = encode_core(*values)
    recipients = wrap(prim.sha256(core))
    header = Header(*values, recipients)
    encoded = _encode_header(core, recipients)
    object.__setattr__(header, "_core", core)
    object.__setattr__(header, "_encoded", encoded)
    return header, encoded


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


_LABEL_KINDS: Final = {int(kind): kind for kind in LabelKind}


def _party(raw: bytes) -> str:
    # ``raw`` is 3 bytes (struct "3s"); bytes.isalpha/isupper are ASCII-only: exactly [A-Z]{3}.
    if not (raw.isalpha() and raw.isupper()):
        raise _bad()
    return raw.decode("ascii")


_ITEM_ID_BYTES: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"


def _valid_item_id_bytes(raw: bytes) -> bool:
    # valid_item_id on the wire bytes without the regex engine (cheaper on the hot path of
    # open): bytes.isalnum is ASCII-only, so this is [A-Za-z0-9][A-Za-z0-9._:-]{0,63} exactly.
    return 1 <= len(raw) <= 64 and raw[:1].isalnum() and not raw.translate(None, _ITEM_ID_BYTES)


def _parse_body(body: bytes, encoded: bytes) -> HeaderFields:
    """Parse a header body strictly; ``encoded`` is the preamble and body it came from."""
    try:
        pos = 1 + body[0]
        raw_item_id = body[1:pos]
        item_id = raw_item_id.decode("ascii")
        created_us, sender, sender_kid, agreement_size = _CORE_A.unpack_from(body, pos)
        pos += _CORE_A.size
        agreement = body[pos : pos + agreement_size].decode("utf-8")
        pos += agreement_size
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
        previous = ""
        for _ in range(count):
            raw_party, kid, n = _RECIPIENT.unpack_from(body, pos)
            pos += _RECIPIENT.size
            party = _party(raw_party)
            if n != WRAPPED_SIZE or party <= previous:  # sorted by party, no party twice
                raise _bad()
            recipients.append(RecipientFields(party, kid.hex(), body[pos : pos + n]))
            previous = party
            pos += n
        created = _EPOCH + created_us * _MICRO
    except (struct.error, IndexError, UnicodeDecodeError, OverflowError):
        raise _bad() from None
    # ``agreement`` is valid UTF-8 of ``agreement_size`` bytes: valid_agreement_id, without
    # encoding it again.
    if (
        pos != len(body)
        or not _valid_item_id_bytes(raw_item_id)
        or not 1 <= agreement_size <= 128
        or not agreement.isprintable()
    ):
        raise _bad()
    if table_version < 1 or not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise _bad()
    label_kind = _LABEL_KINDS.get(kind)
    if label_kind is None:
        raise _bad()
    return HeaderFields(
        item_id,
        created,
        _party(sender),
        sender_kid.hex(),
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
        body[:core_end],
        encoded,
    )


def _parse_header(data: bytes) -> tuple[HeaderFields, int]:
    if len(data) < PREAMBLE_SIZE:
        raise _bad(
            Cause.SEGMENT_TRUNCATED if data and MAGIC.startswith(data[:4]) else Cause.MALFORMED
        )
    size = _decode_preamble(data[:PREAMBLE_SIZE])
    end = PREAMBLE_SIZE + size
    if len(data) < end:
        raise _bad(Cause.SEGMENT_TRUNCATED)
    return _parse_body(data[PREAMBLE_SIZE:end], data[:end]), end


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
    return _parse_body(body, preamble + body)
