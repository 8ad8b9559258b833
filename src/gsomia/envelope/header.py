"""The header of a sealed item as values, and its encoding (layout: :mod:`gsomia.envelope.wire`).

Two forms of one header:

- :class:`Header`, a frozen dataclass: the model, what :attr:`SealedItem.header
  <gsomia.envelope.item.SealedItem.header>` returns and what a caller builds or changes with
  :func:`dataclasses.replace`;
- :class:`HeaderFields`, a plain tuple of the same fields plus the core and the bytes: what
  sealing builds (:func:`build_header`) and the parser returns (:mod:`gsomia.envelope.wire`), and
  all that sealing and opening read.  A :class:`Header` is built from it only when one is asked
  for (:meth:`HeaderFields.to_header`), since building a frozen dataclass of 16 fields costs more
  than the rest of the header's handling.

Either form carries the bytes it was made or parsed from, so no header is encoded twice; a
:class:`Header` made by :func:`dataclasses.replace` carries none, so a changed field is always
encoded afresh.  The fields ``sender`` … ``segment-size`` and ``label-kind`` … ``label`` are the
same from one item to the next of one sender under one agreement and label, so sealing keeps
their encodings (:class:`FixedFields`, :class:`LabelFields`) and joins them into each new core.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from hashlib import sha256 as _sha256
from typing import Final, NamedTuple

__all__ = [
    "MAGIC",
    "SUITE",
    "SUITES",
    "SUITE_BATCH",
    "VERSION",
    "FixedFields",
    "Header",
    "HeaderFields",
    "LabelFields",
    "LabelKind",
    "Recipient",
    "RecipientFields",
    "build_header",
    "encode_core",
    "fixed_fields",
    "label_fields",
    "micros",
]

MAGIC: Final = b"GSMA"
VERSION: Final = 1
SUITE: Final = 1  # one Ed25519 signature per item (docs/wire-format.md §4)
SUITE_BATCH: Final = 2  # one Ed25519 signature per batch, an RFC 9162 path per item (§4.1)
SUITES: Final = frozenset({SUITE, SUITE_BATCH})
_PREAMBLE: Final = struct.Struct(">4sBBI")
_U8: Final = struct.Struct(">B")
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")
_I64: Final = struct.Struct(">q")
_TWO_U32: Final = struct.Struct(">II")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)


class LabelKind(IntEnum):
    """Which label type the header carries."""

    ORIGINATOR = 1  # gsomia.labels.model.OriginatorLabel
    LABEL_SET = 2  # gsomia.labels.model.LabelSet


def micros(instant: datetime) -> int:
    """Microseconds since 1970-01-01T00:00:00Z (the wire form of ``created``)."""
    return (instant - _EPOCH) // _MICRO


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient: its party, the kid of its X25519 key, the content key wrapped to it."""

    party: str
    kid: str
    wrapped: bytes


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
    suite: int = SUITE
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
            encoded = _encode_header(self.core_bytes(), self.recipients, self.suite)
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

    def __post_init__(self) -> None:
        if type(self.suite) is not int or self.suite not in SUITES:
            raise ValueError(f"suite must be one of {sorted(SUITES)}")


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

    @property
    def suite(self) -> int:
        """The suite byte of the preamble: :data:`SUITE` or :data:`SUITE_BATCH`."""
        return self.encoded[5]

    def recipient(self, party: str) -> RecipientFields | None:
        """The entry for ``party``, if it is a recipient."""
        for r in self.recipients:
            if r.party == party:
                return r
        return None

    def to_header(self) -> Header:
        """The :class:`Header` of these fields, keeping the bytes they were parsed from."""
        header = Header(
            *self[:13], tuple([Recipient(*r) for r in self.recipients]), self.encoded[5]
        )
        # The strict parser accepts one encoding per header, so these bytes *are* its encoding.
        object.__setattr__(header, "_core", self.core)
        object.__setattr__(header, "_encoded", self.encoded)
        return header


def _encode_header(
    core: bytes, recipients: tuple[Recipient | RecipientFields, ...], suite: int
) -> bytes:
    parts = [core, _U8.pack(len(recipients))]
    for r in recipients:
        parts += (
            r.party.encode("ascii"),
            bytes.fromhex(r.kid),
            _U16.pack(len(r.wrapped)),
            r.wrapped,
        )
    body = b"".join(parts)
    return _PREAMBLE.pack(MAGIC, VERSION, suite, len(body)) + body


class FixedFields(NamedTuple):
    """The core's fields ``sender`` … ``segment-size`` and their encoding.

    They are the same in every item one sender seals under one agreement and table version, so
    sealing and parsing both keep them from one item to the next (see :func:`fixed_fields`).
    """

    sender: str
    sender_kid: str
    agreement_id: str
    table_version: int
    segment_size: int
    encoded: bytes  # sender:3 sender-kid:8 agreement:str8 table-version:u32 segment-size:u32


def fixed_fields(
    sender: str, sender_kid: str, agreement_id: str, table_version: int, segment_size: int
) -> FixedFields:
    """Encode the fields ``sender`` … ``segment-size`` (checked by the caller)."""
    agreement = agreement_id.encode("utf-8")
    encoded = b"".join(
        (
            sender.encode("ascii"),
            bytes.fromhex(sender_kid),
            _U8.pack(len(agreement)),
            agreement,
            _TWO_U32.pack(table_version, segment_size),
        )
    )
    return FixedFields(sender, sender_kid, agreement_id, table_version, segment_size, encoded)


class LabelFields(NamedTuple):
    """The core's fields ``label-kind`` … ``label`` and their encoding (the end of the core)."""

    kind: LabelKind
    digest: bytes  # SHA-256 of data
    data: bytes  # RFC 8785 canonical JSON
    encoded: bytes  # label-kind:u8 label-digest:32 label:bytes32


def label_fields(kind: LabelKind, digest: bytes, data: bytes) -> LabelFields:
    """Encode the fields ``label-kind`` … ``label``."""
    encoded = b"".join((_U8.pack(kind), digest, _U32.pack(len(data)), data))
    return LabelFields(kind, digest, data, encoded)


def build_header(
    item_id: str,
    created: datetime,
    fixed: FixedFields,
    nonce_prefix: bytes,
    key_commitment: bytes,
    ephemeral: bytes,
    label: LabelFields,
    wrap: Callable[[bytes], tuple[RecipientFields, ...]],
    suite: int = SUITE,
) -> HeaderFields:
    """A new header (sealing): ``wrap`` gets SHA-256 of the core and returns the recipients.
    ``suite`` is the preamble's suite byte (checked by the caller).

    The core is encoded once (the same bytes as :func:`encode_core`), from the encodings that
    ``fixed`` and ``label`` carry, hashed for the key wraps, and kept with the header's bytes.
    """
    item = item_id.encode("ascii")
    core = b"".join(
        (
            _U8.pack(len(item)),
            item,
            _I64.pack((created - _EPOCH) // _MICRO),  # micros(created)
            fixed.encoded,
            nonce_prefix,
            key_commitment,
            ephemeral,
            label.encoded,
        )
    )
    recipients = wrap(_sha256(core).digest())
    sender, sender_kid, agreement_id, table_version, segment_size, _ = fixed
    return tuple.__new__(  # HeaderFields(...) without the Python-level __new__ of a NamedTuple
        HeaderFields,
        (
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
            label.kind,
            label.digest,
            label.data,
            recipients,
            core,
            _encode_header(core, recipients, suite),
        ),
    )
