"""Open a sealed item: verify everything, then decrypt (the envelope recipe's second half).

Pure: no file or network I/O, no clock (``now`` is an argument); streams are passed in as
file-like objects.  Only :mod:`gsomia.envelope._primitives` touches the cryptographic library.
Sealing is :mod:`gsomia.envelope.seal`; the byte layout docs/wire-format.md.

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

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from typing import Final

from gsomia.envelope import _primitives as prim
from gsomia.envelope import batch, item, label_memo, segments, wire
from gsomia.envelope.errors import Cause, EnvelopeError
from gsomia.envelope.info import ItemInfo, OpenedItem, checked_now, info_fields, item_info
from gsomia.envelope.item import SealedItem
from gsomia.envelope.keys import NodeKeys, PublicKeyRecord, TrustStore
from gsomia.envelope.session import OpenCache
from gsomia.envelope.stream import SegmentOpener, open_records
from gsomia.envelope.wire import Reader, Writer
from gsomia.errors import InputError

__all__ = ["DEFAULT_MAX_SKEW", "open_item", "open_stream"]

#: How far in the future an item's creation time may lie (clocks of two nodes disagree a little).
DEFAULT_MAX_SKEW: Final = timedelta(minutes=5)


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
        now = checked_now(now)
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
    return OpenedItem(*info_fields(header, label, originator, tbs), payload)


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
    now = checked_now(now)
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
    return item_info(header, label, originator, tbs)
