"""A sealed item's label binding, exported as a STANAG 4778 binding data object (JSON).

STANAG 4778 / ADatP-4778 ("Metadata Binding Mechanism") binds metadata — here the STANAG 4774
confidentiality label — to a data object.  Its XML form is ``BindingInformation >
MetadataBindingContainer > MetadataBinding > (Metadata, DataReference)`` plus a cryptographic
artefact (an XML signature); IANA registered the JSON form as
``application/vnd.nato.bindingdataobject+json`` (2023-11-22), with an optional JWS (RFC 7515).
ADatP-4778's JSON schema is not public, so the member names below mirror the XML elements in
lowerCamelCase (documented in docs/wire-format.md §7); a partner with the schema can map them.

The object carries:

- ``metadata``: the originator label (and any alternative labels), as
  :func:`gsomia.labels.json_codec.to_dict` writes them;
- ``dataReference``: the sealed item by URN, with SHA-256 of its segment records (the ciphertext);
- ``cryptographicBinding``: the originator's Ed25519 envelope signature and everything needed to
  check it without the payload: the sealed header (which holds the label digest, item id,
  agreement and recipients), the segment count and the payload digest; for an item signed with
  its batch (suite 2, ADR 0019), ``batch`` too: the batch size, the item's index and its RFC 9162
  path to the root that ``signatureValue`` signs;
- ``jws`` (only when the signer's keys are given): a flattened JWS with detached payload
  (RFC 7515 §7.2.2 and appendix F, ``alg`` EdDSA per RFC 8037 §3.1) over the RFC 8785 canonical
  bytes of ``metadataBindingContainer``, for tools that only speak JWS.

Pure: no I/O.  :func:`verify_binding_data_object` checks the binding against a trust store.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Final

import rfc8785

from gsomia.envelope import _primitives as prim
from gsomia.envelope import batch, segments, wire
from gsomia.envelope.errors import Cause, EnvelopeError, SealError
from gsomia.envelope.item import SealedItem
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.envelope.wire import LabelKind
from gsomia.errors import LabelError
from gsomia.instants import format_instant
from gsomia.labels import json_codec
from gsomia.labels.model import LabelSet, OriginatorLabel

__all__ = [
    "BDO_MEDIA_TYPE",
    "BINDING_METHOD",
    "SEALED_MEDIA_TYPE",
    "binding_data_object",
    "verify_binding_data_object",
]

BDO_MEDIA_TYPE: Final = "application/vnd.nato.bindingdataobject+json"
SEALED_MEDIA_TYPE: Final = "application/vnd.gsomia.sealed-item"
BINDING_METHOD: Final = "urn:gsomia:envelope:1"


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64u(text: object) -> bytes:
    if not isinstance(text, str):
        raise EnvelopeError(Cause.MALFORMED)
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise EnvelopeError(Cause.MALFORMED) from None


def _metadata(kind: LabelKind, label_bytes: bytes) -> dict[str, Any]:
    try:
        if kind is LabelKind.LABEL_SET:
            labels = json_codec.loads(label_bytes, LabelSet)
            return {
                "originatorConfidentialityLabel": json_codec.to_dict(labels.originator),
                "alternativeConfidentialityLabels": [
                    json_codec.to_dict(a) for a in labels.alternatives
                ],
            }
        label = json_codec.loads(label_bytes, OriginatorLabel)
    except LabelError:
        raise EnvelopeError(Cause.LABEL_BINDING) from None
    return {"originatorConfidentialityLabel": json_codec.to_dict(label)}


def _container(sealed: SealedItem) -> list[dict[str, Any]]:
    header = sealed.header
    return [
        {
            "metadataBinding": {
                "metadata": _metadata(header.label_kind, header.label_bytes),
                "dataReference": [
                    {
                        "uri": f"urn:gsomia:item:{header.item_id}",
                        "mediaType": SEALED_MEDIA_TYPE,
                        "digestMethod": "SHA-256",
                        "digestValue": _b64u(sealed.payload_digest),
                    }
                ],
            },
        }
    ]


def binding_data_object(sealed: SealedItem, *, signer: NodeKeys | None = None) -> dict[str, Any]:
    """The STANAG 4778 JSON binding data object of ``sealed`` (see the module docstring).

    With ``signer`` (the keys that sealed the item), a detached JWS is added.
    """
    header = sealed.header
    container = _container(sealed)
    binding: dict[str, Any] = {
        "metadataBindingContainer": container,
        "cryptographicBinding": {
            "method": BINDING_METHOD,
            "alg": "EdDSA",
            "crv": "Ed25519",
            "signer": header.sender,
            "kid": header.sender_kid,
            "created": format_instant(header.created),
            "agreement": {"id": header.agreement_id, "tableVersion": header.table_version},
            "labelDigest": _b64u(header.label_digest),
            "sealedHeader": _b64u(sealed.header_bytes),
            "segmentCount": len(sealed.segments),
            "payloadDigest": _b64u(sealed.payload_digest),
            "signatureValue": _b64u(sealed.signature),
        },
    }
    if header.suite == wire.SUITE_BATCH:
        size, index, path, signature = batch.split_block(sealed.signature)
        binding["cryptographicBinding"] |= {
            "signatureValue": _b64u(signature),
            "batch": {"size": size, "index": index, "path": [_b64u(h) for h in path]},
        }
    if signer is not None:
        if signer.signing_kid != header.sender_kid:
            raise SealError(
                "only the keys that sealed the item can sign its binding", code="SEAL_SENDER"
            )
        protected = _b64u(
            json.dumps(
                {"alg": "EdDSA", "kid": header.sender_kid, "cty": "json"}, separators=(",", ":")
            ).encode()
        )
        payload = _b64u(rfc8785.dumps(container))
        signature = signer.signing_key.sign(f"{protected}.{payload}".encode("ascii"))
        binding["jws"] = {"protected": protected, "signature": _b64u(signature)}
    return {"bindingInformation": binding}


def verify_binding_data_object(bdo: dict[str, Any], trust_store: TrustStore) -> None:
    """Check the envelope signature and that the metadata is the label the signature covers.

    Raises :class:`EnvelopeError` (cause for the audit log) if the binding does not hold.
    """
    try:
        info = bdo["bindingInformation"]
        crypto = info["cryptographicBinding"]
        header_bytes = _unb64u(crypto["sealedHeader"])
        header, end = wire.decode_header(header_bytes)
        if end != len(header_bytes) or crypto["method"] != BINDING_METHOD:
            raise EnvelopeError(Cause.MALFORMED)
        record = trust_store.get(header.sender_kid)
        if record is None or record.use != "sig" or record.party != header.sender:
            raise EnvelopeError(Cause.UNKNOWN_KID)
        if not record.valid_at(header.created):
            raise EnvelopeError(Cause.KEY_NOT_VALID)
        count = crypto["segmentCount"]
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count < 2**32:
            raise EnvelopeError(Cause.MALFORMED)
        payload_digest = _unb64u(crypto["payloadDigest"])
        tbs = segments.to_be_signed(prim.sha256(header_bytes), payload_digest, count)
        signature = _unb64u(crypto["signatureValue"])
        if header.suite == wire.SUITE_BATCH:
            tree = crypto["batch"]
            size, index, hashes = tree["size"], tree["index"], tree["path"]
            if not all(
                type(v) is int and 0 <= v <= batch.MAX_BATCH_ITEMS for v in (size, index)
            ) or not isinstance(hashes, list):
                raise EnvelopeError(Cause.MALFORMED)
            path = [_unb64u(h) for h in hashes]
            if any(len(h) != batch.HASH_SIZE for h in path):
                raise EnvelopeError(Cause.MALFORMED)
            block = batch.join_block(size, index, path, signature)
            batch.verify_block(record.public, block, tbs, None)
        elif "batch" in crypto:
            raise EnvelopeError(Cause.MALFORMED)
        else:
            try:
                prim.ed25519_verify(record.public, signature, tbs)
            except prim.CryptoError:
                raise EnvelopeError(Cause.SIGNATURE_INVALID) from None
        if prim.sha256(header.label_bytes) != header.label_digest:
            raise EnvelopeError(Cause.LABEL_BINDING)
        binding = info["metadataBindingContainer"][0]["metadataBinding"]
        if binding["metadata"] != _metadata(header.label_kind, header.label_bytes):
            raise EnvelopeError(Cause.LABEL_BINDING)
        reference = binding["dataReference"][0]
        if (
            reference["digestValue"] != _b64u(payload_digest)
            or reference["uri"] != f"urn:gsomia:item:{header.item_id}"
        ):
            raise EnvelopeError(Cause.LABEL_BINDING)
    except EnvelopeError:
        raise
    except (KeyError, IndexError, TypeError, ValueError):
        raise EnvelopeError(Cause.MALFORMED) from None
