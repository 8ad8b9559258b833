"""Sealing a batch of items under one signature (wire suite 2, ADR 0019).

:func:`seal_in_batch` is :func:`gsomia.envelope.seal` for an item of a batch: the same checks,
header, key wraps and segments, but the item is signed later, with the rest of its batch, by
:meth:`BatchSigner.sign`: ONE Ed25519 signature over the RFC 9162 root of the items'
to-be-signed bytes (:mod:`gsomia.envelope.batch`), each item ending with its path to that root.
Until then a :class:`PendingItem` has no bytes.  Opening is :func:`gsomia.envelope.open_item`
(or :func:`~gsomia.envelope.open_stream`), as for any item.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from hashlib import sha256

from gsomia.envelope import _primitives as prim
from gsomia.envelope import batch, wire
from gsomia.envelope.errors import SealError
from gsomia.envelope.item import SealedItem
from gsomia.envelope.keys import NodeKeys, PublicKeyRecord
from gsomia.envelope.label_memo import Label
from gsomia.envelope.seal import _seal_segments, _start
from gsomia.envelope.session import SealSession

__all__ = ["BatchSigner", "PendingItem", "seal_in_batch"]


class PendingItem:
    """An item sealed in a batch (suite 2) whose signature block comes when the batch is signed
    (:meth:`BatchSigner.sign`).  Until then it has no bytes: :meth:`to_bytes` raises."""

    __slots__ = ("_block", "_header", "_records", "tbs")

    def __init__(self, header: wire.HeaderFields, records: Sequence[bytes], tbs: bytes) -> None:
        self._header = header
        self._records = tuple(records)
        self.tbs = tbs  # what the batch tree's leaf holds (docs/wire-format.md §4)
        self._block: bytes | None = None

    @property
    def item_id(self) -> str:
        """The item's id."""
        return self._header.item_id

    @property
    def seal_digest(self) -> bytes:
        """SHA-256 of the to-be-signed bytes: the item's digest in both audit logs."""
        return sha256(self.tbs).digest()

    @property
    def item(self) -> SealedItem:
        """The sealed item, once its batch is signed."""
        if self._block is None:
            raise SealError("the batch of this item is not signed yet", code="SEAL_UNSIGNED")
        return SealedItem.of_fields(self._header, self._records, self._block)

    def to_bytes(self) -> bytes:
        """The item as on the wire, once its batch is signed."""
        return self.item.to_bytes()

    def __repr__(self) -> str:
        state = "signed" if self._block is not None else "unsigned"
        return f"PendingItem({self._header.item_id!r}, {state})"


class BatchSigner:
    """The items of one sealing batch, signed at once (suite 2, :mod:`gsomia.envelope.batch`).

    Seal each item with :func:`seal_in_batch` (``signer=`` this), then call :meth:`sign` once:
    ONE Ed25519 signature over the RFC 9162 root of their to-be-signed bytes, and each item gets
    its signature block.  All items of a batch are signed by one key (the first item's sender's
    current key).  Not thread-safe: one caller at a time, like a
    :class:`~gsomia.envelope.session.SealSession`.
    """

    __slots__ = ("_key", "_pending")

    def __init__(self) -> None:
        self._pending: list[PendingItem] = []
        self._key: prim.SigningKey | None = None

    def __len__(self) -> int:
        return len(self._pending)

    def _add(self, pending: PendingItem, key: prim.SigningKey) -> None:
        if self._key is None:
            self._key = key
        elif key is not self._key:
            raise SealError("one batch is signed by one key", code="SEAL_SENDER")
        if len(self._pending) >= batch.MAX_BATCH_ITEMS:
            raise SealError(
                f"a signed batch holds at most {batch.MAX_BATCH_ITEMS} items", code="SEAL_BATCH"
            )
        self._pending.append(pending)

    def sign(self) -> None:
        """Sign every item sealed since the last call (nothing to do if there is none)."""
        pending, key = self._pending, self._key
        if not pending or key is None:
            return
        blocks = batch.sign_batch(key, [p.tbs for p in pending])
        for p, block in zip(pending, blocks, strict=True):
            p._block = block
        self._pending, self._key = [], None

    def __repr__(self) -> str:
        return f"BatchSigner(<{len(self._pending)} unsigned>)"


def seal_in_batch(
    payload: bytes | Iterable[bytes],
    label: Label,
    recipients: Mapping[str, PublicKeyRecord],
    agreement_ref: tuple[str, int],
    sender: NodeKeys,
    now: datetime,
    item_id: str | None = None,
    *,
    signer: BatchSigner,
    segment_size: int = wire.DEFAULT_SEGMENT_SIZE,
    session: SealSession | None = None,
) -> PendingItem:
    """:func:`seal` in suite 2: the item is signed with the rest of ``signer``'s batch, by
    :meth:`BatchSigner.sign`.  Same arguments and checks as :func:`seal`."""
    if not isinstance(signer, BatchSigner):
        raise SealError("signer must be a BatchSigner", code="SEAL_BATCH")
    header, payload_key, signing_key = _start(
        label, recipients, agreement_ref, sender, now, item_id, segment_size, session,
        wire.SUITE_BATCH,
    )  # fmt: skip
    records, tbs = _seal_segments(header, payload_key, payload, segment_size)
    pending = PendingItem(header, records, tbs)
    signer._add(pending, signing_key)
    return pending
