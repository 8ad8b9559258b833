"""Known-answer vector of gsomia-receipts/1 (tests/vectors/receipts, docs/wire-format.md §13).

The Merkle root is recomputed here with hashlib alone (RFC 9162 §2.1.1: leaf = SHA-256(0x00 ||
line), node = SHA-256(0x01 || left || right), split at the largest power of two below n), the
signature checked with the raw public key, and issuing with the same key and values gives the
same bytes (Ed25519 signatures are deterministic, RFC 8032 §5.1.6).
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gsomia.envelope import _primitives as prim
from gsomia.envelope.keys import KeyGeneration, NodeKeys, PublicKeyRecord, TrustStore
from gsomia.proofs.receipt_batch import issue_receipts, verify_receipts
from tests.conftest import at

VECTOR: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "receipts" / "receipts.json").read_text("utf-8")
)
T0 = at("2026-01-01T00:00:00Z")
NOW = at("2026-11-23T03:00:01Z")


def _mth(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def _keys() -> NodeKeys:
    signing = prim.SigningKey.from_raw(bytes.fromhex(VECTOR["ed25519_seed_hex"]))
    agreement = prim.AgreementKey.from_raw(bytes.fromhex(VECTOR["x25519_scalar_hex"]))
    generation = KeyGeneration(
        PublicKeyRecord("JPN", "sig", signing.public_raw(), T0),
        PublicKeyRecord("JPN", "enc", agreement.public_raw(), T0),
        agreement,
        signing,
    )
    return NodeKeys("JPN", (generation,))


def test_the_root_and_signature_by_independent_code() -> None:
    magic, head, signature, *entries = VECTOR["token"].encode("utf-8").split(b"\n")
    assert magic == b"gsomia-receipts/1"
    assert json.loads(head)["root"] == _mth(entries).hex()
    text = signature.split(b" ")[1]
    raw = base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))
    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(VECTOR["ed25519_public_hex"]))
    public.verify(raw, b"gsomia-proof/1 receipts\x00" + head)  # raises if it does not hold


def test_issuing_again_gives_the_same_bytes_and_verification_accepts_them() -> None:
    keys = _keys()
    trust = keys.trust_self(TrustStore())
    token = VECTOR["token"].encode("utf-8")
    verified = verify_receipts(token, trust, NOW)
    entries = [e for e, _ in verified.entries]
    issued = issue_receipts(verified.head, entries, keys)
    assert issued.token == token
    assert [x.decode("utf-8") for x in issued.extracts] == VECTOR["extracts"]
    assert [e.accepted for e in entries] == [True, False, True]
    assert entries[1].codes == ("AGREEMENT_TERMINATED",)
    for extract in VECTOR["extracts"]:
        verify_receipts(extract.encode("utf-8"), trust, NOW)
