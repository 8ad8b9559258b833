"""Seal and open an item of classified military information: the envelope recipe.

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

Opening
-------
:func:`open_item` (whole item in memory) checks everything **before decrypting anything**:
framing, segment order, the sender's kid in the trust store and valid at the item's creation time,
clock skew, label digest, the signature, the label's canonical form, that we are a recipient;
only then does it unwrap the content key, check its commitment and decrypt the segments.
Given an :class:`~gsomia.envelope.session.OpenCache`, the unwrap reuses the HKDF-Extract of the
X25519 shared secret with an ephemeral key it has met (the items of one sealing batch); every
check above still runs.

:func:`open_stream` cannot see the signature until the end.  It checks the header as above,
unwraps the key, then authenticates and decrypts each segment in order and writes its plaintext to
``writer``; the final segment's authenticated flag closes the stream and the signature is verified
after it.  **The writer is a staging area**: plaintext written there is released only if
:func:`open_stream` returns.  The caller (CLI, node) writes to a temporary file in the target
directory and renames it into place on success, deleting it on :class:`EnvelopeError`.

Every failure of either function raises :class:`EnvelopeError` with one fixed message; its
``cause`` is for the audit log only (see :mod:`gsomia.envelope.errors`).

Replay
------
The envelope is stateless and cannot see a replay by itself.  The item id (a UUID4 unless given)
and the creation time are both signed: a node keeps the (sender, item id) pairs it has accepted
for at least ``max_age`` and refuses a repeat, and refuses items older than ``max_age`` or dated
more than ``max_skew`` in the future (``CLOCK_SKEW``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from hashlib import sha256
from operator import itemgetter
from typing import Final, NamedTuple

import msgspec

from gsomia.envelope import _primitives as prim
from gsomia.envelope import batch, item, label_memo, segments, wire
from gsomia.envelope.errors import REJECTED, Cause, EnvelopeError, SealError
from gsomia.envelope.item import SealedItem
from gsomia.envelope.keys import NodeKeys, PublicKeyRecord, TrustStore
from gsomia.envelope.label_memo import Label
from gsomia.envelope.session import OpenCache, SealSession
from gsomia.envelope.stream import SegmentOpener, SegmentSealer, open_records, seal_payload
from gsomia.envelope.wire import Reader, RecipientFields, Writer
from gsomia.errors import InputError
from gsomia.instants import require_aware
from gsomia.labels.model import LabelSet, OriginatorLabel

__all__ = [
    "DEFAULT_MAX_SKEW",
    "REJECTED",
    "AgreementRef",
    "Cause",
    "EnvelopeError",
    "ItemInfo",
    "OpenCache",
    "OpenedItem",
    "SealError",
    "SealSession",
    "SealedItem",
    "open_item",
    "open_stream",
    "seal",
    "seal_stream",
]

#: How far in the future an item's creation time may lie (clocks of two nodes disagree a little).
DEFAULT_MAX_SKEW: Final = timedelta(minutes=5)

_LABEL_TYPES: Final = (OriginatorLabel, LabelSet)
_BYTES_LIKE: Final = (bytes, bytearray, memoryview)
_PARTIES: Final = itemgetter(0)  # a recipient entry's party
_new: Final = tuple.__new__  # _new(AgreementRef, (id, version)): no Python-level NamedTuple.__new__


class AgreementRef(NamedTuple):
    """The agreement, and the version of its equivalence table, an item is released under."""

    agreement_id: str
    table_version: int


# ItemInfo and OpenedItem are msgspec Structs rather than dataclasses because one is built on
# every open (a frozen dataclass of ten fields costs about a microsecond to build, a Struct a
# tenth of that).  Their fields hold immutable values only, which cannot form a reference cycle:
# hence ``gc=False``.


class ItemInfo(msgspec.Struct, frozen=True, gc=False):
    """What a sealed item says about itself, once verified.

    ``sender``/``kid`` name the party and key that signed; ``originator`` is the label's
    originating party (they differ when a hub relays an item with the originator's consent).
    ``seal_digest`` (SHA-256 of the signed bytes) identifies the item in both parties' audit logs.
    """

    item_id: str
    created: datetime
    sender: str
    kid: str
    originator: str
    label: Label
    agreement_ref: AgreementRef
    recipients: tuple[str, ...]
    seal_digest: bytes


class OpenedItem(ItemInfo, frozen=True, gc=False):
    """A verified, decrypted item."""

    payload: bytes


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
        now = _time(now)
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


def _info(header: wire.HeaderFields, label: Label, originator: str, tbs: bytes) -> ItemInfo:
    return ItemInfo(
        header.item_id,
        header.created,
        header.sender,
        header.sender_kid,
        originator,
        label,
        AgreementRef(header.agreement_id, header.table_version),
        tuple(map(_PARTIES, header.recipients)),
        sha256(tbs).digest(),
    )


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
    return _info(header, label, label_memo.originator_of(label), tbs)


# ------------------------------------------------------------------ opening


def _admit(
    header: wire.HeaderFields,
    trust_store: TrustStore,
    now: datetime,
    max_skew: timedelta,
    max_age: timedelta | None,
) -> PublicKeyRecord:
    """Checks on the header alone: the sender's key, the clock, the label digest."""
    record = trust_store.get(header.sender_kid)
    if record is None or record.use != "sig" or record.party != header.sender:
        raise EnvelopeError(Cause.UNKNOWN_KID)
    created = header.created
    if not record.valid_at(created):
        raise EnvelopeError(Cause.KEY_NOT_VALID)
    if created > now + max_skew or (max_age is not None and created < now - max_age):
        raise EnvelopeError(Cause.CLOCK_SKEW)
    if not prim.constant_time_equal(label_memo.digest(header.label_bytes), header.label_digest):
        raise EnvelopeError(Cause.LABEL_BINDING)
    return record


def _unwrap(header: wire.HeaderFields, own_keys: NodeKeys, cache: OpenCache | None) -> bytes:
    """The payload key, if we are a recipient and the wrap and commitment hold."""
    entry = header.recipient(own_keys.party)
    key = None if entry is None else own_keys.agreement_key_for(entry.kid)
    if entry is None or key is None:
        raise EnvelopeError(Cause.NOT_A_RECIPIENT)
    info = segments.wrap_info(sha256(header.core).digest(), entry.party, entry.kid)
    try:
        content_key = prim.unwrap_key(key, header.ephemeral, entry.wrapped, info, cache)
    except prim.CryptoError:
        raise EnvelopeError(Cause.DECRYPT_FAILED) from None
    if len(content_key) != wire.CONTENT_KEY_SIZE:
        raise EnvelopeError(Cause.DECRYPT_FAILED)
    payload_key, commitment = segments.content_keys(content_key)
    if not prim.constant_time_equal(commitment, header.key_commitment):
        raise EnvelopeError(Cause.KEY_COMMITMENT)
    return payload_key


def _verify(
    header: wire.HeaderFields,
    record: PublicKeyRecord,
    signature: bytes,
    tbs: bytes,
    cache: OpenCache | None,
) -> None:
    """The item's own signature (suite 1) or its batch's, through its path (suite 2)."""
    if header.suite != wire.SUITE:
        batch.verify_block(record.public, signature, tbs, cache)
        return
    try:
        prim.ed25519_verify(record.public, signature, tbs)
    except prim.CryptoError:
        raise EnvelopeError(Cause.SIGNATURE_INVALID) from None


def _time(now: datetime) -> datetime:
    # The callers skip this when ``now`` is already what require_aware returns: aware, in UTC.
    try:
        return require_aware(now, "now")
    except InputError as exc:
        raise SealError(exc.message, code="SEAL_TIME") from None


def _signed_bytes(
    sealed: SealedItem | bytes, max_size: int
) -> tuple[wire.HeaderFields, bytes, Sequence[bytes], bytes, bytes]:
    """Header, SHA-256 of its bytes, segment records, signature, and what the signature covers.

    Framing and every segment head are checked; nothing is verified or decrypted yet.
    """
    if not isinstance(sealed, SealedItem):
        header, records, signature = item.parse_item(sealed, max_size)
        header_digest = sha256(header.encoded).digest()
        payload_digest = sha256(b"".join(records)).digest()
        return (
            header,
            header_digest,
            records,
            signature,
            segments.to_be_signed(header_digest, payload_digest, len(records)),
        )
    # An item sealed or parsed here carries the fields its bytes were made from or parsed as.
    # One built by the caller from a Header: its fields must be exactly what was signed.  Either
    # way every segment record is checked as the parser would have.
    fields = sealed.header_fields
    if fields is None:
        if sealed.header.encode() != sealed.header_bytes:
            raise EnvelopeError(Cause.MALFORMED)
        fields = sealed.header.fields()
    header_digest = sha256(sealed.header_bytes).digest()
    opener = SegmentOpener(fields, header_digest, None)
    for record in sealed.segments:
        opener.hash_only(record)
    tbs = opener.to_be_signed()
    return fields, header_digest, sealed.segments, sealed.signature, tbs


def open_item(
    sealed: SealedItem | bytes,
    own_keys: NodeKeys,
    trust_store: TrustStore,
    now: datetime,
    *,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    max_age: timedelta | None = None,
    max_size: int = wire.DEFAULT_MAX_ITEM_BYTES,
    cache: OpenCache | None = None,
) -> OpenedItem:
    """Verify and decrypt a whole item; every failure is the same :class:`EnvelopeError`.

    ``cache`` (a node's :class:`~gsomia.envelope.session.OpenCache`) may spare the X25519
    exchange of the key unwrap; nothing else changes.
    """
    if cache is not None and not isinstance(cache, OpenCache):
        raise InputError("cache must be an OpenCache")
    if type(now) is not datetime or now.tzinfo is not UTC:
        now = _time(now)
    try:
        header, header_digest, records, signature, tbs = _signed_bytes(sealed, max_size)
        sender_key = _admit(header, trust_store, now, max_skew, max_age)
        _verify(header, sender_key, signature, tbs, cache)
        label, originator = label_memo.decode(header.label_kind, header.label_bytes)
        payload_key = _unwrap(header, own_keys, cache)
        payload = open_records(payload_key, header.nonce_prefix, header_digest, records)
    except EnvelopeError:
        raise
    except (ValueError, TypeError, IndexError, OverflowError, UnicodeError):
        raise EnvelopeError(Cause.MALFORMED) from None
    return OpenedItem(  # positional, in field order: item_id … seal_digest, payload
        header.item_id,
        header.created,
        header.sender,
        header.sender_kid,
        originator,
        label,
        _new(AgreementRef, (header.agreement_id, header.table_version)),
        tuple(map(_PARTIES, header.recipients)),
        sha256(tbs).digest(),
        payload,
    )


def _read_signature(reader: Reader, suite: int) -> bytes:
    """The signature after the final segment: 64 bytes, or a suite-2 signature block."""
    if suite == wire.SUITE:
        size = wire.SIGNATURE_SIZE
        signature = wire.read_exact(reader, size)
    else:
        signature = wire.read_exact(reader, batch.BLOCK_HEAD_SIZE)
        if len(signature) == batch.BLOCK_HEAD_SIZE:
            size = batch.block_size(signature)
            signature += wire.read_exact(reader, size - batch.BLOCK_HEAD_SIZE)
        else:
            size = batch.BLOCK_HEAD_SIZE
    if len(signature) < size:
        raise EnvelopeError(Cause.SEGMENT_TRUNCATED)
    return signature


def open_stream(
    reader: Reader,
    writer: Writer,
    own_keys: NodeKeys,
    trust_store: TrustStore,
    now: datetime,
    *,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
    max_age: timedelta | None = None,
    require_eof: bool = True,
    cache: OpenCache | None = None,
) -> ItemInfo:
    """Verify and decrypt a stream into ``writer`` (a staging area: see the module docstring).

    Returns only when the final segment and the signature verified; on :class:`EnvelopeError`
    the caller must discard whatever ``writer`` received.  With ``require_eof`` (the default,
    for files) any byte after the signature is refused; a caller reading several items from one
    connection passes ``False`` and the reader is left just after this item.  ``cache`` as for
    :func:`open_item`.
    """
    if cache is not None and not isinstance(cache, OpenCache):
        raise InputError("cache must be an OpenCache")
    now = _time(now)
    try:
        header = wire.read_header_fields(reader)
        sender_key = _admit(header, trust_store, now, max_skew, max_age)
        opener = SegmentOpener(
            header, sha256(header.encoded).digest(), _unwrap(header, own_keys, cache)
        )
        while not opener.done:
            head = wire.read_exact(reader, wire.SEGMENT_HEAD_SIZE)
            _, length = opener.head(head)
            writer.write(opener.open(head, wire.read_exact(reader, length)))
        tbs = opener.to_be_signed()
        signature = _read_signature(reader, header.suite)
        if require_eof and reader.read(1):
            raise EnvelopeError(Cause.MALFORMED)
        _verify(header, sender_key, signature, tbs, cache)
        label, originator = label_memo.decode(header.label_kind, header.label_bytes)
    except EnvelopeError:
        raise
    except (ValueError, TypeError, IndexError, OverflowError, UnicodeError):
        raise EnvelopeError(Cause.MALFORMED) from None
    return _info(header, label, originator, tbs)
