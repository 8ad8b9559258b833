"""Known-answer sealed items (wire format v1): how they are built, and the script that wrote them.

Sealing draws randomness for three values — the content key (32 bytes), the ephemeral X25519
key and the STREAM nonce prefix (7 bytes) — and nothing else varies: Ed25519 is deterministic
(RFC 8032 §5.1.6), the item id is given, the node keys come from fixed seeds.  With those three
values fixed, sealing the same inputs must give the same bytes.  ``vectors/sealed_items.json``
was written by this module (``python -m tests.unit.envelope.sealed_vectors``) from the code as it
was *before* the seal/open fast path, so the test proves that the wire format did not move.
``vectors/batch_items.json`` holds the same cases sealed as one signed batch (suite 2, ADR 0019;
``python -m tests.unit.envelope.sealed_vectors --batch``), written when suite 2 was introduced.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gsomia.envelope import _primitives as prim
from gsomia.envelope.batch_seal import BatchSigner, PendingItem, seal_in_batch
from gsomia.envelope.item import SealedItem
from gsomia.envelope.keys import KeyGeneration, NodeKeys, PublicKeyRecord, TrustStore
from gsomia.envelope.seal import seal
from gsomia.labels import json_codec
from gsomia.labels.model import (
    RELEASABLE_TO,
    TOPIC,
    AlternativeLabel,
    Category,
    CategoryType,
    LabelSet,
    OriginatorLabel,
)

PATH = Path(__file__).parent / "vectors" / "sealed_items.json"
BATCH_PATH = Path(__file__).parent / "vectors" / "batch_items.json"
T0 = datetime(2024, 5, 1, tzinfo=UTC)
NOW = datetime(2024, 5, 1, 1, 0, tzinfo=UTC)
AGREEMENT = ("ROK-JPN-GSOMIA-2016", 1)
PARTIES = ("KOR", "JPN", "USA")


def _secret(text: str) -> bytes:
    return hashlib.sha256(f"gsomia sealed-item vector: {text}".encode()).digest()


def node_keys(party: str, sig_seed: bytes, enc_scalar: bytes, valid_from: datetime) -> NodeKeys:
    """A node with one generation made from fixed private keys."""
    signing = prim.SigningKey.from_raw(sig_seed)
    agreement = prim.AgreementKey.from_raw(enc_scalar)
    generation = KeyGeneration(
        PublicKeyRecord(party, "sig", signing.public_raw(), valid_from),
        PublicKeyRecord(party, "enc", agreement.public_raw(), valid_from),
        agreement,
        signing,
    )
    return NodeKeys(party, (generation,))


def _label() -> OriginatorLabel:
    return OriginatorLabel(
        policy_id="KOR",
        classification="군사II급비밀",
        originator="KOR",
        created=T0,
        categories=(
            Category(RELEASABLE_TO, CategoryType.PERMISSIVE, ("KOR", "JPN", "USA")),
            Category(TOPIC, CategoryType.RESTRICTIVE, ("NK-MISSILE",)),
        ),
    )


@contextmanager
def fixed_randomness(content_key: bytes, nonce_prefix: bytes, ephemeral: bytes) -> Iterator[None]:
    """Make sealing draw these values instead of fresh random ones (tests only).

    Sealing draws the content key and nonce prefix together, as one ``random_bytes`` call
    (the code before the fast path drew them one by one: both are served, by size).
    """
    by_size = {
        len(content_key): content_key,
        len(nonce_prefix): nonce_prefix,
        len(content_key) + len(nonce_prefix): content_key + nonce_prefix,
    }
    real_random, real_generate = prim.random_bytes, prim.AgreementKey.generate

    def fake_random(size: int) -> bytes:
        return by_size[size]

    def fake_generate(cls: type[prim.AgreementKey]) -> prim.AgreementKey:
        return prim.AgreementKey.from_raw(ephemeral)

    prim.random_bytes = fake_random
    prim.AgreementKey.generate = classmethod(fake_generate)  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        prim.random_bytes = real_random
        prim.AgreementKey.generate = real_generate  # type: ignore[method-assign]


def load() -> dict[str, Any]:
    """The stored vectors."""
    data: dict[str, Any] = json.loads(PATH.read_text("utf-8"))
    return data


def nodes(vectors: dict[str, Any]) -> dict[str, NodeKeys]:
    """The three nodes of the vectors, from their stored private keys."""
    return {
        party: node_keys(
            party,
            bytes.fromhex(k["sig_seed"]),
            bytes.fromhex(k["enc_scalar"]),
            datetime.fromisoformat(k["valid_from"]),
        )
        for party, k in vectors["keys"].items()
    }


def trust(vectors: dict[str, Any]) -> TrustStore:
    """A trust store holding every node of the vectors."""
    store = TrustStore()
    for keys in nodes(vectors).values():
        store = store.add_bundle(keys.public_bundle())
    return store


def label_of(case: dict[str, Any]) -> OriginatorLabel | LabelSet:
    """The label object of a case, decoded from its canonical JSON."""
    data = case["label_json"].encode("utf-8")
    if case["label_kind"] == 2:
        return json_codec.loads(data, LabelSet)
    return json_codec.loads(data, OriginatorLabel)


def reseal(case: dict[str, Any], keys: dict[str, NodeKeys]) -> SealedItem:
    """Seal a case again with its stored randomness."""
    with fixed_randomness(
        bytes.fromhex(case["content_key"]),
        bytes.fromhex(case["nonce_prefix"]),
        bytes.fromhex(case["ephemeral_scalar"]),
    ):
        return seal(*_arguments(case, keys), segment_size=case["segment_size"])


def _arguments(case: dict[str, Any], keys: dict[str, NodeKeys]) -> tuple[Any, ...]:
    return (
        bytes.fromhex(case["payload"]),
        label_of(case),
        {p: keys[p].current.enc for p in case["recipients"]},
        (case["agreement_id"], case["table_version"]),
        keys[case["sender"]],
        datetime.fromisoformat(case["created"]),
        case["item_id"],
    )


def reseal_batch(cases: list[dict[str, Any]], keys: dict[str, NodeKeys]) -> list[PendingItem]:
    """Seal ``cases`` again, with their stored randomness, as ONE signed batch (suite 2)."""
    signer = BatchSigner()
    items = []
    for case in cases:
        with fixed_randomness(
            bytes.fromhex(case["content_key"]),
            bytes.fromhex(case["nonce_prefix"]),
            bytes.fromhex(case["ephemeral_scalar"]),
        ):
            items.append(
                seal_in_batch(
                    *_arguments(case, keys), signer=signer, segment_size=case["segment_size"]
                )
            )
    signer.sign()
    return items


def write_batch(*, force: bool = False) -> None:
    """Seal the cases of ``sealed_items.json`` as one batch (suite 2, ADR 0019) and store the
    items: written once, when suite 2 was introduced, to pin its bytes."""
    if BATCH_PATH.exists() and not force:
        raise SystemExit(f"{BATCH_PATH} exists: the vectors pin the wire format (--force)")
    vectors = load()
    items = reseal_batch(vectors["cases"], nodes(vectors))
    batch = {
        "about": "The cases of sealed_items.json sealed as one batch, suite 2 (ADR 0019).",
        "items": [item.to_bytes().hex() for item in items],
        "seal_digests": [item.seal_digest.hex() for item in items],
    }
    BATCH_PATH.write_text(json.dumps(batch, indent=1) + "\n", "utf-8")


def _cases() -> list[dict[str, Any]]:
    label = _label()
    label_set = LabelSet(label, (AlternativeLabel("JPN", "秘", "KOR", "JPN", AGREEMENT[0], 1, T0),))
    cases: list[dict[str, Any]] = []
    for name, lab, payload, size, recipients in (
        ("1 KiB to two recipients (the benchmark's item)", label, bytes(range(256)) * 4, 65536,
         ("JPN", "USA")),
        ("label set, 200 bytes in 64-byte segments", label_set, bytes(range(200)), 64,
         ("JPN", "USA")),
        ("empty payload to one recipient", label, b"", 1024, ("USA",)),
    ):  # fmt: skip
        n = len(cases) + 1
        cases.append(
            {
                "name": name,
                "item_id": f"KOR-VECTOR-{n:04d}",
                "created": NOW.isoformat(),
                "sender": "KOR",
                "agreement_id": AGREEMENT[0],
                "table_version": AGREEMENT[1],
                "segment_size": size,
                "recipients": list(recipients),
                "label_kind": 2 if isinstance(lab, LabelSet) else 1,
                "label_json": json_codec.canonical_bytes(lab).decode("utf-8"),
                "payload": payload.hex(),
                "content_key": _secret(f"content key {n}").hex(),
                "nonce_prefix": _secret(f"nonce prefix {n}")[:7].hex(),
                "ephemeral_scalar": _secret(f"ephemeral {n}").hex(),
            }
        )
    return cases


def write(*, force: bool = False) -> None:
    """Seal every case with the current code and store the results (run once, before changes).

    The stored items pin the wire format: regenerating them would pin whatever the code does
    now, so an existing file is kept unless ``force`` (``--force`` on the command line).
    """
    if PATH.exists() and not force:
        raise SystemExit(f"{PATH} exists: the vectors pin the wire format (--force to rewrite)")
    vectors: dict[str, Any] = {
        "about": "Sealed items of wire format v1 (docs/wire-format.md); see sealed_vectors.py.",
        "keys": {
            party: {
                "sig_seed": _secret(f"{party} sig").hex(),
                "enc_scalar": _secret(f"{party} enc").hex(),
                "valid_from": T0.isoformat(),
            }
            for party in PARTIES
        },
        "cases": _cases(),
    }
    keys = nodes(vectors)
    for case in vectors["cases"]:
        item = reseal(case, keys)
        case["item"] = item.to_bytes().hex()
        case["seal_digest"] = prim.sha256(item.to_be_signed()).hex()
    PATH.parent.mkdir(exist_ok=True)
    PATH.write_text(json.dumps(vectors, ensure_ascii=False, indent=1) + "\n", "utf-8")


if __name__ == "__main__":
    import sys

    if "--batch" in sys.argv[1:]:
        write_batch(force="--force" in sys.argv[1:])
    else:
        write(force="--force" in sys.argv[1:])
