"""Seal an item of classified military information: the envelope recipe's first half.

Pure: no file or network I/O, no clock (``now`` is an argument); streams are passed in as
file-like objects.  Only :mod:`gsomia.envelope._primitives` touches the cryptographic library.

Sealing (wire format in docs/wire-format.md)
--------------------------------------------
1. A fresh 256-bit content key per item.  HKDF-SHA256 (RFC 5869) derives from it the payload
   AES-256-GCM key and a key commitment, which the header carries.
2. The content key is wrapped to each recipient's X25519 key: one ephemeral X25519 key per item
   (or, given a :class:`~gsomia.envelope.session.SealSession`, one per batch of items), HKDF-SHA256
   over each shared secret, AES-256-GCM (:func:`~gsomia.envelope._primitives.wrap_key`, the CMS
   multi-recipient pattern of RFC 5753 §3.1.1 / RFC 8418).  The KDF binds both public keys and, in
   ``info``, the header core (item id, creation time, sender and kid, agreement and table version,
   label digest, key commitment, ephemeral key) and the recipient's party and kid, so a wrap cannot
   be moved to another item or recipient, and each item's key-encryption key and nonce are its own
   even when the ephemeral key is shared (docs/adr/0015-sealing-sessions.md).
3. The payload is cut into segments (64 KiB by default) sealed with the STREAM construction
   (:mod:`gsomia.envelope.stream`): nonce = prefix || index || final flag, associated data =
   SHA-256(header) || index || final flag.  The header holds the wire version, the canonical label
   (RFC 8785, :func:`gsomia.labels.json_codec.canonical_bytes`) and its SHA-256, the item id, the
   agreement id and table version, and the recipients' kids; so the AEAD binds all of them.
4. The originator signs with Ed25519 (RFC 8032) ``to_be_signed = context || SHA-256(header) ||
   SHA-256(segment records) || segment count``.  The payload digest is over the *ciphertext*
   records, not only their tags: a GCM tag is no commitment for someone who knows the key, and a
   co-recipient knows it; hashing the ciphertext stops a co-recipient from forging another payload
   under the originator's signature.  The signature is written last, after the final segment (as
   in OpenPGP's one-pass signatures, RFC 9580 §5.4), so sealing is a single pass over the input.
5. Or, for a batch (:func:`gsomia.envelope.batch_seal.seal_in_batch`, suite 2), one signature
   for all the batch's items over the RFC 9162 root of their to-be-signed bytes, each item ending
   with its path to that root (:mod:`gsomia.envelope.batch`, ADR 0019).  Every item still
   verifies on its own.

Opening is :mod:`gsomia.envelope.opening`; what both return, :mod:`gsomia.envelope.info`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from hashlib import sha256
from typing import Final

from gsomia.envelope import _primitives as prim
from gsomia.envelope import label_memo, segments, wire
from gsomia.envelope.errors import REJECTED, Cause, EnvelopeError, SealError
from gsomia.envelope.info import ItemInfo, _new, checked_now, item_info
from gsomia.envelope.item import SealedItem
from gsomia.envelope.keys import NodeKeys, PublicKeyRecord
from gsomia.envelope.label_memo import Label
from gsomia.envelope.session import SealSession
from gsomia.envelope.stream import SegmentSealer, seal_payload
from gsomia.envelope.wire import Reader, RecipientFields, Writer
from gsomia.labels.model import LabelSet, OriginatorLabel

__all__ = [
    "REJECTED",
    "Cause",
    "EnvelopeError",
    "SealError",
    "SealSession",
    "SealedItem",
    "seal",
    "seal_stream",
]

_LABEL_TYPES: Final = (OriginatorLabel, LabelSet)
_BYTES_LIKE: Final = (bytes, bytearray, memoryview)


# ------------------------------------------------------------------ sealing


def _recipients(
    recipients: Mapping[str, PublicKeyRecord], now: datetime
) -> list[tuple[PublicKeyRecord, str]]:
    """The recipients' key records in wire order, checked."""
    is_mapping = type(recipients) is dict or isinstance(recipients, Mapping)
    if not is_mapping or not 1 <= len(recipients) <= wire.MAX_RECIPIENTS:
        raise SealError(f"give 1 to {wire.MAX_RECIPIENTS} recipients", code="SEAL_RECIPIENTS")
    out = []
    for party in sorted(recipients):  # the wire order
        record = recipients[party]
        if not isinstance(record, PublicKeyRecord) or record.party != party or record.use != "enc":
            raise SealError(
                f"recipient {party!r} needs its own X25519 (enc) key record", code="SEAL_RECIPIENTS"
            )
        if not record.valid_at(now):
            raise SealError(
                f"the key {record.kid} of {party} is not valid now",
                code="SEAL_RECIPIENT_KEY",
                detail={"party": party, "kid": record.kid},
            )
        out.append((record, party))
    return out


_UUID_VARIANT: Final = {digit: "89ab"[int(digit, 16) % 4] for digit in "0123456789abcdef"}
_UUID_RANDOM_SIZE: Final = 16
# Everything random in an item is drawn at once: content key || nonce prefix (|| UUID bytes).
_FRESH_SIZE: Final = wire.CONTENT_KEY_SIZE + wire.NONCE_PREFIX_SIZE


def _item_id_from(random16: bytes) -> str:
    """A UUID of version 4 (RFC 9562 §5.4) in its canonical text form, as ``uuid.uuid4`` makes it."""
    h = random16.hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_UUID_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


# The header fields ``sender`` … ``segment-size``, checked and encoded, by (sender, sender kid,
# agreement id, table version, segment size): a node seals item after item with the same ones.
# Only exact ``str``/``int`` values are looked up (``True == 1`` and hashes alike), and only
# checked ones are stored; bounded like the label memo.
_FIXED: dict[tuple[str, str, str, int, int], wire.FixedFields] = {}
_FIXED_ENTRIES: Final = 256


def _fixed(
    sender: str, sender_kid: str, agreement_ref: tuple[str, int], segment_size: int
) -> wire.FixedFields:
    """The fields ``sender`` … ``segment-size``, checked, with their encoding."""
    try:
        agreement_id, table_version = agreement_ref
    except (TypeError, ValueError):
        raise SealError(
            "agreement_ref is (agreement id, table version)", code="SEAL_AGREEMENT"
        ) from None
    exact = type(agreement_id) is str and type(table_version) is int and type(segment_size) is int
    key = (sender, sender_kid, agreement_id, table_version, segment_size)
    fixed = _FIXED.get(key) if exact else None
    if fixed is not None:
        return fixed
    if (
        not wire.valid_agreement_id(agreement_id)
        or not isinstance(table_version, int)
        or isinstance(table_version, bool)
        or not 1 <= table_version < 2**32
    ):
        raise SealError(
            "agreement id must be printable text of 1-128 bytes and table version an integer >= 1",
            code="SEAL_AGREEMENT",
        )
    if (
        isinstance(segment_size, bool)
        or not isinstance(segment_size, int)
        or not wire.MIN_SEGMENT_SIZE <= segment_size <= wire.MAX_SEGMENT_SIZE
    ):
        raise SealError(
            f"segment size must be {wire.MIN_SEGMENT_SIZE}..{wire.MAX_SEGMENT_SIZE}",
            code="SEAL_SEGMENT_SIZE",
        )
    fixed = wire.fixed_fields(sender, sender_kid, agreement_id, table_version, segment_size)
    if exact:
        if len(_FIXED) >= _FIXED_ENTRIES:
            _FIXED.clear()  # atomic, so safe across threads; refills at once
        _FIXED[key] = fixed
    return fixed


def _start(
    label: Label,
    recipients: Mapping[str, PublicKeyRecord],
    agreement_ref: tuple[str, int],
    sender: NodeKeys,
    now: datetime,
    item_id: str | None,
    segment_size: int,
    session: SealSession | None = None,
    suite: int = wire.SUITE,
) -> tuple[wire.HeaderFields, bytes, prim.SigningKey]:
    """Validate the call and build the header; return it (with its bytes), the payload key and the
    sender's signing key."""
    if not isinstance(label, _LABEL_TYPES):
        raise SealError("label must be an OriginatorLabel or a LabelSet", code="SEAL_LABEL")
    if not isinstance(sender, NodeKeys):
        raise SealError("sender must be the node's keys", code="SEAL_SENDER")
    if type(now) is not datetime or now.tzinfo is not UTC:
        now = checked_now(now)
    current = sender.current
    signing_record, signing_key = current.sig, current.signing
    if signing_key is None or not signing_record.valid_at(now):
        raise SealError("the sender's signing key is not valid now", code="SEAL_SENDER")
    fixed = _fixed(sender.party, signing_record.kid, agreement_ref, segment_size)
    if item_id is not None and not wire.valid_item_id(item_id):
        raise SealError("item id must be 1-64 characters of [A-Za-z0-9._:-]", code="SEAL_ITEM_ID")
    keys = _recipients(recipients, now)
    encoded = label_memo.encode(label)
    if len(encoded.data) > wire.MAX_LABEL_BYTES:
        raise SealError("the label is too large", code="SEAL_LABEL")
    fresh = prim.random_bytes(_FRESH_SIZE + (_UUID_RANDOM_SIZE if item_id is None else 0))
    content_key = fresh[: wire.CONTENT_KEY_SIZE]
    nonce_prefix = fresh[wire.CONTENT_KEY_SIZE : _FRESH_SIZE]
    if item_id is None:
        item_id = _item_id_from(fresh[_FRESH_SIZE:])  # valid by construction
    payload_key, commitment = segments.content_keys(content_key)
    wrap_key: Callable[[bytes, bytes, bytes], bytes]
    if session is None:  # a fresh ephemeral key for this item alone
        ephemeral = prim.AgreementKey.generate()
        ephemeral_public, wrap_key = ephemeral.public_raw(), partial(prim.wrap_key, ephemeral)
    elif isinstance(session, SealSession):  # the batch's ephemeral key and PRKs
        wrapper = session._take()
        ephemeral_public, wrap_key = wrapper.public_raw(), wrapper.wrap
    else:
        raise SealError("session must be a SealSession", code="SEAL_SESSION")

    def wrap(core_digest: bytes) -> tuple[RecipientFields, ...]:
        wrap_info = segments.wrap_info
        wrapped = []
        for record, party in keys:  # a loop, not a comprehension: no function call (3.11)
            kid = record.kid
            info = wrap_info(core_digest, party, kid)  # unique per item: see the ADR 0015
            wrapped.append(
                _new(RecipientFields, (party, kid, wrap_key(record.public, content_key, info)))
            )
        return tuple(wrapped)

    header = wire.build_header(
        item_id, now, fixed, nonce_prefix, commitment, ephemeral_public, encoded, wrap, suite
    )
    return header, payload_key, signing_key


def seal(
    payload: bytes | Iterable[bytes],
    label: Label,
    recipients: Mapping[str, PublicKeyRecord],
    agreement_ref: tuple[str, int],
    sender: NodeKeys,
    now: datetime,
    item_id: str | None = None,
    *,
    segment_size: int = wire.DEFAULT_SEGMENT_SIZE,
    session: SealSession | None = None,
) -> SealedItem:
    """Seal ``payload`` under ``label`` to ``recipients`` (party → X25519 key record).

    ``payload`` is bytes or an iterable of byte chunks (re-cut into segments).  ``now`` is the
    item's creation time.  ``session`` shares one ephemeral key and its key-agreement results
    among the items of a batch (:class:`~gsomia.envelope.session.SealSession`); without it each
    item has its own.  Raises :class:`SealError` if the call itself is wrong.
    """
    header, payload_key, signing_key = _start(
        label, recipients, agreement_ref, sender, now, item_id, segment_size, session
    )
    records, tbs = _seal_segments(header, payload_key, payload, segment_size)
    return SealedItem.of_fields(header, tuple(records), signing_key.sign(tbs))


def _seal_segments(
    header: wire.HeaderFields,
    payload_key: bytes,
    payload: bytes | Iterable[bytes],
    segment_size: int,
) -> tuple[Sequence[bytes], bytes]:
    """The segment records of ``payload`` and the item's to-be-signed bytes."""
    if isinstance(payload, _BYTES_LIKE):
        return seal_payload(header, sha256(header.encoded).digest(), payload_key, bytes(payload))
    if isinstance(payload, Iterable) and not isinstance(payload, str):
        sealer = SegmentSealer(header, header.encoded, payload_key)
        records = [sealer.seal(piece, final) for piece, final in _rechunk(payload, segment_size)]
        return records, sealer.to_be_signed()
    raise SealError("payload must be bytes or an iterable of bytes", code="SEAL_PAYLOAD")


def _rechunk(chunks: Iterable[bytes], size: int) -> Iterable[tuple[bytes, bool]]:
    buffer = bytearray()
    for chunk in chunks:
        if not isinstance(chunk, _BYTES_LIKE):
            raise SealError("payload chunks must be bytes", code="SEAL_PAYLOAD")
        buffer += chunk
        while len(buffer) > size:  # keep the tail: only the last segment may be short
            yield bytes(buffer[:size]), False
            del buffer[:size]
    yield bytes(buffer), True


def seal_stream(
    reader: Reader,
    writer: Writer,
    label: Label,
    recipients: Mapping[str, PublicKeyRecord],
    agreement_ref: tuple[str, int],
    sender: NodeKeys,
    now: datetime,
    item_id: str | None = None,
    *,
    segment_size: int = wire.DEFAULT_SEGMENT_SIZE,
) -> ItemInfo:
    """Seal everything ``reader`` yields into ``writer``, one segment in memory at a time."""
    header, payload_key, signing_key = _start(
        label, recipients, agreement_ref, sender, now, item_id, segment_size
    )
    sealer = SegmentSealer(header, header.encoded, payload_key)
    writer.write(header.encoded)
    current = wire.read_exact(reader, segment_size)
    while True:
        following = wire.read_exact(reader, segment_size) if len(current) == segment_size else b""
        final = not following
        writer.write(sealer.seal(current, final))
        if final:
            break
        current = following
    tbs = sealer.to_be_signed()
    writer.write(signing_key.sign(tbs))
    return item_info(header, label, label_memo.originator_of(label), tbs)
