"""Keys and trust stores of three nodes, and the public C2SP vectors."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gsomia.envelope import _primitives as prim
from gsomia.envelope.keys import KeyGeneration, NodeKeys, PublicKeyRecord, TrustStore
from tests.conftest import at

T0 = at("2026-01-01T00:00:00Z")
NOW = at("2026-11-23T12:00:00+09:00")
VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "vectors" / "c2sp" / "vectors.json").read_text("utf-8")
)


def keys_from_seed(party: str, skey: str) -> NodeKeys:
    """NodeKeys whose signing key is the Ed25519 seed of a C2SP signer key string."""
    seed = base64.b64decode(skey.split("+", 4)[4])[1:]
    signing_key = prim.SigningKey.from_raw(seed)
    agreement = prim.AgreementKey.generate()
    generation = KeyGeneration(
        PublicKeyRecord(party, "sig", signing_key.public_raw(), T0),
        PublicKeyRecord(party, "enc", agreement.public_raw(), T0),
        agreement,
        signing_key,
    )
    return NodeKeys(party, (generation,))


@pytest.fixture(scope="session")
def kor() -> NodeKeys:
    return NodeKeys.generate("KOR", T0)


@pytest.fixture(scope="session")
def jpn() -> NodeKeys:
    return NodeKeys.generate("JPN", T0)


@pytest.fixture(scope="session")
def usa() -> NodeKeys:
    return NodeKeys.generate("USA", T0)


@pytest.fixture(scope="session")
def trust(kor: NodeKeys, jpn: NodeKeys, usa: NodeKeys) -> TrustStore:
    store = TrustStore()
    for keys in (kor, jpn, usa):
        store = keys.trust_self(store)
    return store


@pytest.fixture(scope="session")
def rotated(kor: NodeKeys) -> NodeKeys:
    """KOR's keys after a rotation 100 days after T0."""
    return kor.rotate(T0 + timedelta(days=100))
