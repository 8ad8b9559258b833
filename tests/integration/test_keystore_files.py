"""Key directories on a real file system: modes, passphrases, rotation, trust on first use."""

from __future__ import annotations

import base64
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gsomia.adapters import keystore_files as ks
from gsomia.envelope import _primitives as prim
from gsomia.envelope.keys import KeyMaterialError, PublicKeyBundle
from gsomia.envelope.opening import open_item
from gsomia.envelope.seal import seal
from gsomia.labels.model import RELEASABLE_TO, Category, CategoryType, OriginatorLabel

T0 = datetime(2024, 1, 1, tzinfo=UTC)
T1 = T0 + timedelta(days=90)
PASS = b"correct horse battery staple"
FAST = {"log2_n": 12}  # scrypt 2**12 keeps the test fast; production default is 2**15


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def code_of(action: object) -> str:
    assert callable(action)
    with pytest.raises(KeyMaterialError) as err:
        action()
    return err.value.code


@pytest.fixture
def kor_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "kor" / "keys"
    ks.init_keys("KOR", directory, PASS, T0, **FAST)
    return directory


def test_init_writes_private_modes(kor_dir: Path) -> None:
    assert mode(kor_dir) == 0o700
    assert mode(kor_dir / ks.KEYS_FILE) == 0o600
    assert sorted(p.name for p in kor_dir.iterdir()) == [ks.KEYS_FILE]
    doc = json.loads((kor_dir / ks.KEYS_FILE).read_bytes())
    assert doc["kdf"]["name"] == "scrypt"
    assert doc["aead"]["name"] == "AES-256-GCM"
    keys = ks.load_keys(kor_dir, PASS)
    text = (kor_dir / ks.KEYS_FILE).read_text()
    for secret in (keys.signing_key.raw(), keys.current.agreement.raw()):
        assert base64.urlsafe_b64encode(secret).rstrip(b"=").decode() not in text
        assert secret.hex() not in text


def test_load_round_trip(kor_dir: Path) -> None:
    keys = ks.load_keys(kor_dir, PASS)
    assert keys.party == "KOR"
    assert len(keys.generations) == 1
    signature = keys.signing_key.sign(b"msg")
    prim.ed25519_verify(keys.current.sig.public, signature, b"msg")


def test_init_refuses_existing_keys_and_weak_passphrase(kor_dir: Path, tmp_path: Path) -> None:
    assert code_of(lambda: ks.init_keys("KOR", kor_dir, PASS, T0, **FAST)) == "KEY_EXISTS"
    assert code_of(lambda: ks.init_keys("KOR", tmp_path / "x", b"short", T0)) == "KEY_PASSPHRASE"


def test_world_readable_key_file_is_refused(kor_dir: Path) -> None:
    (kor_dir / ks.KEYS_FILE).chmod(0o644)
    assert code_of(lambda: ks.load_keys(kor_dir, PASS)) == "KEY_PERMISSIONS"
    assert code_of(lambda: ks.export_public(kor_dir)) == "KEY_PERMISSIONS"
    (kor_dir / ks.KEYS_FILE).chmod(0o640)
    assert code_of(lambda: ks.load_keys(kor_dir, PASS)) == "KEY_PERMISSIONS"
    (kor_dir / ks.KEYS_FILE).chmod(0o600)
    ks.load_keys(kor_dir, PASS)


def test_group_readable_directory_is_refused(kor_dir: Path) -> None:
    kor_dir.chmod(0o755)
    assert code_of(lambda: ks.load_keys(kor_dir, PASS)) == "KEY_PERMISSIONS"


def test_symlinked_key_file_is_refused(kor_dir: Path, tmp_path: Path) -> None:
    real = tmp_path / "elsewhere.json"
    (kor_dir / ks.KEYS_FILE).rename(real)
    (kor_dir / ks.KEYS_FILE).symlink_to(real)
    assert code_of(lambda: ks.load_keys(kor_dir, PASS)) == "KEY_PERMISSIONS"


def test_wrong_passphrase_is_rejected(kor_dir: Path) -> None:
    assert code_of(lambda: ks.load_keys(kor_dir, b"wrong horse battery staple")) == (
        "KEY_PASSPHRASE"
    )


def test_altered_public_header_is_detected(kor_dir: Path) -> None:
    path = kor_dir / ks.KEYS_FILE
    doc = json.loads(path.read_bytes())
    doc["generations"][0]["sig"]["valid_from"] = "2020-01-01T00:00:00Z"
    path.write_text(json.dumps(doc))
    assert code_of(lambda: ks.load_keys(kor_dir, PASS)) == "KEY_PASSPHRASE"


def test_missing_directory(tmp_path: Path) -> None:
    assert code_of(lambda: ks.load_keys(tmp_path / "none", PASS)) == "KEY_STORE_MISSING"


def test_rotation(kor_dir: Path) -> None:
    before = ks.load_keys(kor_dir, PASS)
    rotated = ks.rotate_keys(kor_dir, PASS, T1, **FAST)
    assert mode(kor_dir / ks.KEYS_FILE) == 0o600
    loaded = ks.load_keys(kor_dir, PASS)
    assert loaded.signing_kid == rotated.signing_kid != before.signing_kid
    assert [g.sig.kid for g in loaded.generations] == [before.signing_kid, rotated.signing_kid]
    assert loaded.generations[0].sig.retired_at == T1
    assert loaded.generations[0].signing is None
    assert loaded.agreement_key_for(before.agreement_kid) is not None
    bundle = PublicKeyBundle.from_json(ks.export_public(kor_dir))
    assert {r.kid for r in bundle.records} == {r.kid for r in loaded.records()}
    assert not list(kor_dir.glob(".*.tmp"))


def test_trust_add_checks_the_fingerprint(kor_dir: Path, tmp_path: Path) -> None:
    jpn_dir = tmp_path / "jpn"
    ks.init_keys("JPN", jpn_dir, PASS, T0, **FAST)
    exported = ks.export_public(kor_dir)
    good = PublicKeyBundle.from_json(exported).fingerprint
    bad = "0000" + good[4:]
    assert code_of(lambda: ks.trust_add(jpn_dir, exported, bad)) == "KEY_FINGERPRINT_MISMATCH"
    assert not (jpn_dir / ks.TRUST_FILE).exists()
    store = ks.trust_add(jpn_dir, exported, good.upper().replace(" ", ":"))
    assert store.parties() == {"KOR"}
    assert mode(jpn_dir / ks.TRUST_FILE) == 0o600
    assert ks.load_trust(jpn_dir) == store
    (jpn_dir / ks.TRUST_FILE).chmod(0o644)
    assert code_of(lambda: ks.load_trust(jpn_dir)) == "KEY_PERMISSIONS"


def test_passphrase_sources(tmp_path: Path) -> None:
    assert ks.resolve_passphrase(environ={ks.PASSPHRASE_ENV: "from env"}) == b"from env"
    assert code_of(lambda: ks.resolve_passphrase(environ={})) == "KEY_PASSPHRASE"
    secret = tmp_path / "passphrase"
    secret.write_bytes(b"from a file\n")
    secret.chmod(0o600)
    assert ks.resolve_passphrase(secret, environ={}) == b"from a file"
    secret.chmod(0o644)
    assert code_of(lambda: ks.resolve_passphrase(secret)) == "KEY_PERMISSIONS"


def test_two_nodes_exchange_keys_and_an_item(tmp_path: Path) -> None:
    kor_dir, jpn_dir = tmp_path / "kor", tmp_path / "jpn"
    ks.init_keys("KOR", kor_dir, PASS, T0, **FAST)
    ks.init_keys("JPN", jpn_dir, PASS, T0, **FAST)
    for src, dst in ((kor_dir, jpn_dir), (jpn_dir, kor_dir)):
        exported = ks.export_public(src)
        ks.trust_add(dst, exported, PublicKeyBundle.from_json(exported).fingerprint)
    kor, jpn = ks.load_keys(kor_dir, PASS), ks.load_keys(jpn_dir, PASS)
    label = OriginatorLabel(
        "KOR",
        "군사III급비밀",
        "KOR",
        T0,
        (Category(RELEASABLE_TO, CategoryType.PERMISSIVE, ("KOR", "JPN")),),
    )
    now = T0 + timedelta(hours=1)
    recipient = ks.load_trust(kor_dir).current("JPN", "enc", now)
    item = seal(b"track 1", label, {"JPN": recipient}, ("ROK-JPN-GSOMIA-2016", 1), kor, now)
    assert open_item(item.to_bytes(), jpn, ks.load_trust(jpn_dir), now).payload == b"track 1"


def test_files_are_created_0600_despite_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        directory = tmp_path / "k"
        ks.init_keys("USA", directory, PASS, T0, **FAST)
    finally:
        os.umask(old)
    assert mode(directory) == 0o700
    assert mode(directory / ks.KEYS_FILE) == 0o600
