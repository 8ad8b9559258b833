"""Labels on the envelope's hot path: their wire form and their decoding, memoized and bounded.

A stream of track updates carries one label over and over, and labels are immutable values, so
the work a label costs per item is done once per label:

- sealing (:func:`encode`): the canonical bytes (RFC 8785, :func:`gsomia.labels.json_codec.
  canonical_bytes`), their SHA-256 and the end of the header core they make (kind, digest, length,
  bytes; docs/wire-format.md §1), keyed by the label object;
- opening (:func:`digest`, :func:`decode`): the SHA-256 of a header's label bytes and their strict
  decoding (one canonical spelling per label), keyed by the bytes themselves.

A memo maps its key to what a deterministic function of that key returns, so a hit is the answer
the function would give; nothing is trusted for having been seen before.  The decoding memo is
filled only by a successful decoding, which :func:`~gsomia.envelope.opening.open_item` asks for only
after the signature verified.  Only labels of at most :data:`MAX_MEMO_BYTES` are kept, at most
:data:`MEMO_ENTRIES` of each kind; a full memo is cleared (atomic, so safe across threads) and
refills at once.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from gsomia.envelope import _primitives as prim
from gsomia.envelope.errors import Cause, EnvelopeError
from gsomia.envelope.header import LabelFields, LabelKind, label_fields
from gsomia.errors import LabelError
from gsomia.labels import json_codec
from gsomia.labels.model import LabelSet, OriginatorLabel

__all__ = [
    "MAX_MEMO_BYTES",
    "MEMO_ENTRIES",
    "Label",
    "LabelFields",
    "decode",
    "digest",
    "encode",
    "originator_of",
]

Label = OriginatorLabel | LabelSet
MAX_MEMO_BYTES: Final = 4096  # only small labels are memoized (bounded memory)
MEMO_ENTRIES: Final = 256


class _Decoded(NamedTuple):
    digest: bytes  # SHA-256 of the bytes
    kind: LabelKind
    label: Label
    originator: str


_ENCODED: dict[Label, LabelFields] = {}
# ``_LAST[0]`` short-cuts the common case of the same label object again (no hashing of it).
_LAST: Final[list[tuple[Label | None, LabelFields | None]]] = [(None, None)]
_DECODED: dict[bytes, _Decoded] = {}


def originator_of(label: Label) -> str:
    """The label's originating party."""
    return label.originator.originator if isinstance(label, LabelSet) else label.originator


def encode(label: Label) -> LabelFields:
    """The header fields of ``label`` (an :class:`OriginatorLabel` or a :class:`LabelSet`)."""
    last_label, entry = _LAST[0]  # one read of a tuple: consistent across threads
    if last_label is label and entry is not None:
        return entry
    entry = _ENCODED.get(label)
    if entry is None:
        data = json_codec.canonical_bytes(label)
        kind = LabelKind.LABEL_SET if isinstance(label, LabelSet) else LabelKind.ORIGINATOR
        entry = label_fields(kind, prim.sha256(data), data)
        if len(data) > MAX_MEMO_BYTES:
            return entry
        if len(_ENCODED) >= MEMO_ENTRIES:
            _ENCODED.clear()
        _ENCODED[label] = entry
    _LAST[0] = (label, entry)
    return entry


def digest(data: bytes) -> bytes:
    """SHA-256 of a header's label bytes."""
    entry = _DECODED.get(data)
    return prim.sha256(data) if entry is None else entry.digest


def decode(kind: LabelKind, data: bytes) -> tuple[Label, str]:
    """The label a header carries and its originating party; ``LABEL_BINDING`` if not canonical."""
    entry = _DECODED.get(data)
    if entry is not None and entry.kind is kind:
        return entry.label, entry.originator
    label: Label
    try:
        if kind is LabelKind.ORIGINATOR:
            label = json_codec.loads(data, OriginatorLabel)
        else:
            label = json_codec.loads(data, LabelSet)
    except LabelError:
        raise EnvelopeError(Cause.LABEL_BINDING) from None
    if json_codec.canonical_bytes(label) != data:  # one spelling per label: the canonical one
        raise EnvelopeError(Cause.LABEL_BINDING)
    originator = originator_of(label)
    if len(data) <= MAX_MEMO_BYTES:
        if len(_DECODED) >= MEMO_ENTRIES:
            _DECODED.clear()
        _DECODED[bytes(data)] = _Decoded(prim.sha256(data), kind, label, originator)
    return label, originator
