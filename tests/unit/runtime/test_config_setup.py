"""The node's data directory: configuration, init, peers, and the scenario clock."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from gsomia.adapters.clock import ScenarioClock, set_scenario_instant
from gsomia.adapters.keystore_files import export_public
from gsomia.adapters.sqlite_store import SqliteStore
from gsomia.envelope import PublicKeyBundle
from gsomia.envelope.keys import KeyMaterialError
from gsomia.errors import InputError
from gsomia.ports import Role, token_hash
from gsomia.runtime.config import CONFIG_FILE, KEYS_DIR, NodeConfig, load_config, save_config
from gsomia.runtime.setup import add_peer, init_node
from tests.conftest import at

NOW = at("2026-11-23T09:00:00+09:00")
PASS = b"correct horse battery staple"


def _init(tmp: Path, party: str) -> Path:
    data = tmp / party
    init_node(data, party, PASS, NOW, log2_n=14)
    return data


def test_config_round_trip_and_errors(tmp_path: Path) -> None:
    config = NodeConfig("KOR", ("127.0.0.1", 8441), ("127.0.0.1", 8541)).with_peer(
        "JPN", "http://127.0.0.1:8542"
    )
    save_config(tmp_path, config)
    assert load_config(tmp_path) == config
    assert os.stat(tmp_path / CONFIG_FILE).st_mode & 0o077 == 0
    with pytest.raises(InputError) as err:
        load_config(tmp_path / "nowhere")
    assert err.value.code == "CONFIG_MISSING"
    for text in (
        'party = "KOR"\nextra = 1\n',
        'party = "KO"\n',
        'party = "KOR"\n[api]\nport = 70000\n',
        'party = "KOR"\n[peers]\nJPN = "ftp://x:1"\n',
        "party = [",
    ):
        (tmp_path / CONFIG_FILE).write_text(text, encoding="utf-8")
        with pytest.raises(InputError) as err:
            load_config(tmp_path)
        assert err.value.code == "CONFIG_INVALID", text


def test_init_creates_a_node_with_its_first_officer(tmp_path: Path) -> None:
    result = init_node(tmp_path / "KOR", "KOR", PASS, NOW, log2_n=14)
    config = load_config(tmp_path / "KOR")
    assert config == result.config
    assert config.api[1] > 0
    assert config.channel[1] > 0
    assert config.api != config.channel
    assert os.stat(tmp_path / "KOR").st_mode & 0o077 == 0
    store = SqliteStore(tmp_path / "KOR" / "node.sqlite")
    try:
        with store.read() as reader:
            officer = reader.official_by_token(token_hash(result.token))
            assert reader.audit_size() == 1
    finally:
        store.close()
    assert officer is not None
    assert officer.roles == frozenset({Role.SECURITY_OFFICER})
    assert officer.official.clearance == "군사I급비밀"  # the KOR scheme's highest level
    with pytest.raises(InputError) as err:
        init_node(tmp_path / "KOR", "KOR", PASS, NOW, log2_n=14)
    assert err.value.code == "NODE_EXISTS"


def test_failed_init_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(KeyMaterialError):
        init_node(tmp_path / "KOR", "KOR", b"short", NOW, log2_n=14)  # passphrase too short
    assert not (tmp_path / "KOR").exists()
    existing = tmp_path / "kept"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(KeyMaterialError):
        init_node(existing, "KOR", b"short", NOW, log2_n=14)
    assert sorted(p.name for p in existing.iterdir()) == ["notes.txt"]


def test_add_peer_checks_fingerprint_and_party(tmp_path: Path) -> None:
    kor, jpn = _init(tmp_path, "KOR"), _init(tmp_path, "JPN")
    bundle = export_public(jpn / KEYS_DIR)
    fingerprint = PublicKeyBundle.from_json(bundle).fingerprint
    url = load_config(jpn).channel_url
    with pytest.raises(KeyMaterialError) as err:
        add_peer(kor, "JPN", url, bundle, "00" * 32)
    assert err.value.code == "KEY_FINGERPRINT_MISMATCH"
    with pytest.raises(InputError) as bad:
        add_peer(kor, "USA", url, bundle, fingerprint)  # JPN's keys offered as USA's
    assert bad.value.code == "KEY_INVALID"
    assert load_config(kor).peers == {}
    assert not (kor / KEYS_DIR / "trust.json").exists()
    config = add_peer(kor, "JPN", url, bundle, fingerprint)
    assert config.peers == {"JPN": url}
    assert json.loads((kor / KEYS_DIR / "trust.json").read_text())  # trusted now


def test_scenario_clock_follows_its_file(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    set_scenario_instant(path, at("2015-06-01T10:00:00+09:00"))
    clock = ScenarioClock(path)
    first = clock.now()
    assert first.year == 2015
    assert first >= at("2015-06-01T10:00:00+09:00")
    set_scenario_instant(path, at("2023-04-13T08:00:00+09:00"))
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 1))
    assert clock.now().year == 2023
    path.unlink()
    with pytest.raises(InputError) as err:
        clock.now()
    assert err.value.code == "CLOCK_UNAVAILABLE"
