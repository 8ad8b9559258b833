"""Sealed items: keys, the seal/open recipe, the wire format and the STANAG 4778 export.

- :mod:`gsomia.envelope.keys`: a node's keys, partners' public keys, the trust store (pure).
- :mod:`gsomia.envelope.seal` (:func:`seal`, :func:`seal_stream`) and
  :mod:`gsomia.envelope.opening` (:func:`open_item`, :func:`open_stream`) — X25519/HKDF/AES-GCM
  key wrap, AES-256-GCM STREAM segments, Ed25519; :mod:`gsomia.envelope.info`, what they return.
- :mod:`gsomia.envelope.session`: :class:`SealSession` (one ephemeral key per batch) and
  :class:`OpenCache` (the recipient's X25519 shared secrets), ADR 0015.
- :mod:`gsomia.envelope.batch`: batch signatures (suite 2): one Ed25519 signature per sealing
  batch over an RFC 9162 root, a path per item (ADR 0019); :mod:`gsomia.envelope.batch_seal`:
  :func:`seal_in_batch`, :class:`BatchSigner`.
- :mod:`gsomia.envelope.wire`: the versioned binary wire format (docs/wire-format.md).
- :mod:`gsomia.envelope.bdo`: the label binding as a STANAG 4778 binding data object (JSON).
- :mod:`gsomia.envelope._primitives`: the only module that touches ``cryptography.hazmat``.
"""

from gsomia.envelope.batch_seal import BatchSigner, PendingItem, seal_in_batch
from gsomia.envelope.bdo import BDO_MEDIA_TYPE, binding_data_object
from gsomia.envelope.errors import REJECTED, Cause, EnvelopeError, SealError
from gsomia.envelope.info import AgreementRef, ItemInfo, OpenedItem
from gsomia.envelope.item import SealedItem
from gsomia.envelope.keys import (
    KeyLookupError,
    KeyMaterialError,
    NodeKeys,
    PublicKeyBundle,
    PublicKeyRecord,
    TrustStore,
)
from gsomia.envelope.opening import open_item, open_stream
from gsomia.envelope.seal import seal, seal_stream
from gsomia.envelope.session import OpenCache, SealSession

__all__ = [
    "BDO_MEDIA_TYPE",
    "REJECTED",
    "AgreementRef",
    "BatchSigner",
    "Cause",
    "EnvelopeError",
    "ItemInfo",
    "KeyLookupError",
    "KeyMaterialError",
    "NodeKeys",
    "OpenCache",
    "OpenedItem",
    "PendingItem",
    "PublicKeyBundle",
    "PublicKeyRecord",
    "SealError",
    "SealSession",
    "SealedItem",
    "TrustStore",
    "binding_data_object",
    "open_item",
    "open_stream",
    "seal",
    "seal_in_batch",
    "seal_stream",
]
