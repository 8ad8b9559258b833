"""Keys as values: records, bundles, the trust store, a node's generations and rotation."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from gsomia.envelope import _primitives as prim
from gsomia.envelope.keys import (
    KeyLookupError,
    KeyMaterialError,
    NodeKeys,
    PublicKeyBundle,
    PublicKeyRecord,
    TrustStore,
    fingerprint_of,
    kid_of,
    normalize_fingerprint,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(days=30)
T2 = T0 + timedelta(days=60)


def test_kid_is_first_16_hex_of_sha256_of_raw_public_key() -> None:
    key = prim.SigningKey.generate()
    record = PublicKeyRecord("KOR", "sig", key.public_raw(), T0)
    assert (
        record.kid == hashlib.sha256(key.public_raw()).hexdigest()[:16] == kid_of(key.public_raw())
    )


def test_fingerprint_is_grouped_sha256() -> None:
    public = prim.AgreementKey.generate().public_raw()
    record = PublicKeyRecord("JPN", "enc", public, T0)
    groups = record.fingerprint.split(" ")
    assert len(groups) == 16
    assert all(len(g) == 4 for g in groups)
    assert "".join(groups) == hashlib.sha256(public).hexdigest()
    assert normalize_fingerprint(record.fingerprint.upper().replace(" ", ":")) == "".join(groups)
    assert fingerprint_of(public) == record.fingerprint


@pytest.mark.parametrize("text", ["", "abc", "zz" * 32, "0" * 63])
def test_normalize_fingerprint_refuses_garbage(text: str) -> None:
    with pytest.raises(KeyMaterialError):
        normalize_fingerprint(text)


def test_record_validation() -> None:
    public = prim.SigningKey.generate().public_raw()
    with pytest.raises(KeyMaterialError):
        PublicKeyRecord("kor", "sig", public, T0)
    with pytest.raises(KeyMaterialError):
        PublicKeyRecord("KOR", "auth", public, T0)  # type: ignore[arg-type]
    with pytest.raises(KeyMaterialError):
        PublicKeyRecord("KOR", "sig", public[:31], T0)
    with pytest.raises(KeyMaterialError):
        PublicKeyRecord("KOR", "sig", public, datetime(2024, 1, 1))  # naive
    with pytest.raises(KeyMaterialError):
        PublicKeyRecord("KOR", "sig", public, T1, retired_at=T0)


def test_record_validity_interval_is_half_open() -> None:
    record = PublicKeyRecord("KOR", "sig", prim.SigningKey.generate().public_raw(), T0, T1)
    assert not record.valid_at(T0 - timedelta(microseconds=1))
    assert record.valid_at(T0)
    assert record.valid_at(T1 - timedelta(microseconds=1))
    assert not record.valid_at(T1)


def test_record_json_round_trip_and_strictness() -> None:
    record = PublicKeyRecord("USA", "enc", prim.AgreementKey.generate().public_raw(), T0, T1)
    d = record.to_dict()
    assert d["crv"] == "X25519"
    assert d["use"] == "enc"
    assert d["kid"] == record.kid
    assert PublicKeyRecord.from_dict(json.loads(json.dumps(d))) == record
    for mutate in (
        lambda x: x.update(kid="0" * 16),
        lambda x: x.update(crv="Ed25519"),
        lambda x: x.update(extra=1),
        lambda x: x.pop("x"),
        lambda x: x.update(x=x["x"] + "="),
        lambda x: x.update(valid_from="2024-01-01T00:00:00"),
        lambda x: x.update(fingerprint="00" * 32),
    ):
        bad = dict(d)
        mutate(bad)
        with pytest.raises(KeyMaterialError):
            PublicKeyRecord.from_dict(bad)


def test_bundle_round_trip_and_fingerprint_is_stable() -> None:
    node = NodeKeys.generate("KOR", T0).rotate(T1)
    bundle = node.public_bundle()
    assert len(bundle.records) == 4
    again = PublicKeyBundle.from_json(bundle.to_json())
    assert again == bundle
    assert again.fingerprint == bundle.fingerprint
    assert PublicKeyBundle.from_json(json.dumps(bundle.to_dict(), indent=2)) == bundle
    other = NodeKeys.generate("KOR", T0).public_bundle()
    assert other.fingerprint != bundle.fingerprint


def test_bundle_refuses_foreign_records() -> None:
    kor, jpn = NodeKeys.generate("KOR", T0), NodeKeys.generate("JPN", T0)
    with pytest.raises(KeyMaterialError):
        PublicKeyBundle("KOR", (*kor.records(), *jpn.records()))
    with pytest.raises(KeyMaterialError):
        PublicKeyBundle.from_json(b"not json")
    with pytest.raises(KeyMaterialError):
        PublicKeyBundle.from_dict({"format": "other", "party": "KOR", "keys": []})


def test_trust_store_lookup_respects_validity() -> None:
    kor = NodeKeys.generate("KOR", T0)
    store = TrustStore().add_bundle(kor.public_bundle())
    kid = kor.signing_kid
    assert store.lookup(kid, "sig", T1).kid == kid
    assert store.find(kid, "enc", T1) is None
    with pytest.raises(KeyLookupError) as err:
        store.lookup(kid, "sig", T0 - timedelta(seconds=1))
    assert err.value.code == "KEY_NOT_VALID"
    with pytest.raises(KeyLookupError) as err:
        store.lookup("0" * 16, "sig", T1)
    assert err.value.code == "KEY_NOT_FOUND"
    retired = store.retire(kid, T1)
    assert retired.find(kid, "sig", T1 - timedelta(seconds=1)) is not None
    assert retired.find(kid, "sig", T1) is None
    assert store.find(kid, "sig", T2) is not None  # stores are immutable


def test_trust_store_rotation_old_key_verifies_old_items_new_key_new_ones() -> None:
    kor = NodeKeys.generate("KOR", T0)
    rotated = kor.rotate(T1)
    store = TrustStore().add_bundle(kor.public_bundle()).add_bundle(rotated.public_bundle())
    old, new = kor.signing_kid, rotated.signing_kid
    assert old != new
    assert store.find(old, "sig", T0 + timedelta(days=1)) is not None
    assert store.find(old, "sig", T2) is None
    assert store.find(new, "sig", T2) is not None
    assert store.find(new, "sig", T0 + timedelta(days=1)) is None
    assert store.current("KOR", "enc", T2).kid == rotated.agreement_kid
    assert store.current("KOR", "enc", T0).kid == kor.agreement_kid
    with pytest.raises(KeyLookupError):
        store.current("JPN", "enc", T2)


def test_trust_store_merge_only_advances_retirement() -> None:
    kor = NodeKeys.generate("KOR", T0)
    rotated = kor.rotate(T1)
    store = TrustStore().add_bundle(rotated.public_bundle())
    again = store.add_bundle(kor.public_bundle())  # stale bundle: retirement is kept
    assert again.get(kor.signing_kid) == store.get(kor.signing_kid)
    assert again.get(kor.signing_kid).retired_at == T1  # type: ignore[union-attr]


def test_trust_store_refuses_conflicting_kid() -> None:
    record = NodeKeys.generate("KOR", T0).current.sig
    store = TrustStore().add(record)
    moved = PublicKeyRecord("KOR", "sig", record.public, T1)
    with pytest.raises(KeyMaterialError) as err:
        store.add(moved)
    assert err.value.code == "KEY_CONFLICT"
    with pytest.raises(KeyMaterialError):
        TrustStore((record, record))


def test_trust_store_json_round_trip() -> None:
    store = TrustStore().add_bundle(NodeKeys.generate("KOR", T0).rotate(T1).public_bundle())
    store = store.add_bundle(NodeKeys.generate("USA", T0).public_bundle())
    assert TrustStore.from_json(store.to_json()) == store
    assert store.parties() == {"KOR", "USA"}
    with pytest.raises(KeyMaterialError):
        TrustStore.from_json(b'{"format": "gsomia-trust-store/1"}')


def test_node_keys_rotation_keeps_old_agreement_keys_and_drops_old_signing_key() -> None:
    kor = NodeKeys.generate("KOR", T0)
    rotated = kor.rotate(T1).rotate(T2)
    assert len(rotated.generations) == 3
    assert [g.signing is None for g in rotated.generations] == [True, True, False]
    assert rotated.agreement_key_for(kor.agreement_kid) is not None
    assert rotated.generations[0].sig.retired_at == T1
    assert rotated.generations[1].sig.valid_from == T1
    assert rotated.current.sig.retired_at is None
    with pytest.raises(KeyMaterialError):
        rotated.rotate(T1)  # before the current generation


def test_node_keys_invariants() -> None:
    kor = NodeKeys.generate("KOR", T0)
    with pytest.raises(KeyMaterialError):
        NodeKeys("JPN", kor.generations)
    with pytest.raises(KeyMaterialError):
        NodeKeys("KOR", ())
    rotated = kor.rotate(T1)
    with pytest.raises(KeyMaterialError):  # a retired generation cannot be current
        NodeKeys("KOR", rotated.generations[:1])


def test_trust_self_for_loopback() -> None:
    kor = NodeKeys.generate("KOR", T0)
    assert kor.trust_self().find(kor.signing_kid, "sig", T1) is not None
