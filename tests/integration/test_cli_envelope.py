"""The key, trust, envelope and audit commands end to end on real files, as an officer runs them."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from gsomia.cli.main import main
from tests.conftest import at

NOW = at("2026-11-23T06:00:00Z")
VECTORS = Path(__file__).parents[1] / "vectors" / "labels"
PASS = "correct horse battery staple"


@pytest.fixture
def nodes(tmp_path, monkeypatch, capsys):
    """KOR and JPN key directories that trust each other, after fingerprint comparison."""
    monkeypatch.setenv("GSOMIA_KEY_PASSPHRASE", PASS)
    monkeypatch.chdir(tmp_path)
    prints = {}
    for party in ("KOR", "JPN", "USA"):
        d = party.lower()
        assert main(["keys", "init", "--party", party, "--dir", d, "--json"], now=NOW) == 0
        prints[party] = json.loads(capsys.readouterr().out)["fingerprint"]
        assert main(["keys", "export", "--dir", d, "--out", f"{d}.pub"], now=NOW) == 0
        assert capsys.readouterr().out == f"public keys written to {d}.pub\n"
    for me, other in (("kor", "JPN"), ("jpn", "KOR"), ("kor", "USA")):
        assert (
            main(
                [
                    "trust",
                    "add",
                    "--dir",
                    me,
                    "--file",
                    f"{other.lower()}.pub",
                    "--fingerprint",
                    prints[other],
                ],
                now=NOW,
            )
            == 0
        )
    capsys.readouterr()
    shutil.copy(VECTORS / "kor-originator.json", "label.json")
    Path("secret.bin").write_bytes(os.urandom(200_000))  # several 64 KiB segments
    return tmp_path


def seal(capsys, to, out, *extra):
    """KOR seals secret.bin under label.json to ``to``; ``extra`` adds options such as --data."""
    return run(
        capsys,
        "envelope",
        "seal",
        "--keys",
        "kor",
        "--label",
        "label.json",
        "--to",
        to,
        "--in",
        "secret.bin",
        "--out",
        out,
        *extra,
    )


def run(capsys, *argv):
    code = main(list(argv), now=NOW)
    out, err = capsys.readouterr()
    return code, out, err


def test_seal_open_round_trip_with_audit(nodes, capsys):
    code, out, _ = seal(capsys, "JPN", "item.gsm", "--data", "kor-data", "--json")
    assert code == 0
    sealed = json.loads(out)
    assert sealed["agreement"] == "kor-jpn-gsomia-2016"
    code, out, _ = run(
        capsys,
        "envelope",
        "open",
        "--keys",
        "jpn",
        "--in",
        "item.gsm",
        "--out",
        "got.bin",
        "--data",
        "jpn-data",
        "--json",
    )
    assert code == 0
    opened = json.loads(out)
    assert opened["item_id"] == sealed["item_id"]
    assert opened["label"]["classification"] == "군사II급비밀"
    assert Path("got.bin").read_bytes() == Path("secret.bin").read_bytes()
    code, out, _ = run(capsys, "audit", "verify", "--data", "jpn-data", "--json")
    assert code == 0
    assert json.loads(out)["size"] == 1
    code, out, _ = run(capsys, "audit", "proof", "--data", "kor-data", "--index", "0", "--json")
    assert json.loads(out)["verified"] is True


def test_tampered_item_writes_nothing_and_audits_the_cause(nodes, capsys):
    assert seal(capsys, "JPN", "item.gsm")[0] == 0
    data = bytearray(Path("item.gsm").read_bytes())
    data[len(data) // 2] ^= 0x40
    Path("bad.gsm").write_bytes(bytes(data))
    code, out, _ = run(
        capsys,
        "envelope",
        "open",
        "--keys",
        "jpn",
        "--in",
        "bad.gsm",
        "--out",
        "got.bin",
        "--data",
        "jpn-data",
        "--json",
    )
    assert code == 5
    assert json.loads(out)["error"]["detail"] == "sealed item rejected"
    assert not Path("got.bin").exists()
    assert [p.name for p in Path().iterdir() if p.name.startswith(".got")] == []
    code, out, _ = run(capsys, "audit", "verify", "--data", "jpn-data", "--json")
    assert json.loads(out)["size"] == 1  # the rejection is in the log


def test_seal_to_a_party_not_in_releasable_to_is_refused(nodes, capsys):
    code, out, _ = seal(capsys, "USA", "x.gsm", "--json")
    assert code == 7
    problem = json.loads(out)["error"]
    assert problem["code"] == "RELEASE_DENIED"
    assert problem["reasons"][0]["code"] == "NOT_RELEASABLE_TO"
    assert not Path("x.gsm").exists()


def test_wrong_fingerprint_changes_nothing(nodes, capsys):
    before = Path("jpn/trust.json").read_bytes()
    code, out, _ = run(
        capsys,
        "trust",
        "add",
        "--dir",
        "jpn",
        "--file",
        "usa.pub",
        "--fingerprint",
        "00" * 32,
        "--json",
    )
    assert code == 2
    assert json.loads(out)["error"]["code"] == "KEY_FINGERPRINT_MISMATCH"
    assert Path("jpn/trust.json").read_bytes() == before


def test_wrong_passphrase_is_refused(nodes, capsys, monkeypatch):
    monkeypatch.setenv("GSOMIA_KEY_PASSPHRASE", "not the passphrase at all")
    code, out, _ = run(
        capsys, "envelope", "open", "--keys", "jpn", "--in", "secret.bin", "--out", "x", "--json"
    )
    assert code == 2
    assert json.loads(out)["error"]["code"] == "KEY_PASSPHRASE"


def test_rotation_keeps_old_items_readable(nodes, capsys):
    assert seal(capsys, "JPN", "old.gsm")[0] == 0
    code, out, _ = run(capsys, "keys", "rotate", "--dir", "jpn", "--json")
    assert code == 0
    assert json.loads(out)["generations"] == 2
    assert (
        run(capsys, "envelope", "open", "--keys", "jpn", "--in", "old.gsm", "--out", "got.bin")[0]
        == 0
    )


def test_bdo_export(nodes, capsys):
    assert seal(capsys, "JPN", "item.gsm")[0] == 0
    code, out, _ = run(capsys, "envelope", "bdo", "--in", "item.gsm")
    assert code == 0
    bdo = json.loads(out)
    assert bdo["bindingInformation"]["metadataBindingContainer"]


def test_audit_verify_detects_tampering(nodes, capsys):
    _seal_into(capsys, "d", 3)
    db = sqlite3.connect("d/audit.sqlite")
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        db.execute(f"DROP TRIGGER {name}")
    db.execute("UPDATE audit_entries SET entry = replace(entry, 'allow', 'deny!') WHERE idx = 1")
    db.commit()
    db.close()
    code, out, _ = run(capsys, "audit", "verify", "--data", "d", "--json")
    assert code == 8
    assert json.loads(out)["ok"] is False


def _seal_into(capsys, data: str, times: int) -> None:
    for _ in range(times):
        assert seal(capsys, "JPN", "i.gsm", "--data", data)[0] == 0


def test_partner_checks_signed_checkpoints_and_catches_a_rewrite(nodes, capsys):
    _seal_into(capsys, "kor-data", 2)
    assert (
        run(
            capsys,
            "audit",
            "checkpoint",
            "--data",
            "kor-data",
            "--keys",
            "kor",
            "--out",
            "old.note",
        )[0]
        == 0
    )
    _seal_into(capsys, "kor-data", 3)
    assert (
        run(
            capsys,
            "audit",
            "checkpoint",
            "--data",
            "kor-data",
            "--keys",
            "kor",
            "--out",
            "new.note",
        )[0]
        == 0
    )
    code, out, _ = run(capsys, "audit", "proof", "--data", "kor-data", "--old-size", "2", "--json")
    Path("proof.json").write_text(out, encoding="utf-8")
    code, out, _ = run(
        capsys,
        "audit",
        "check",
        "--note",
        "new.note",
        "--previous",
        "old.note",
        "--proof",
        "proof.json",
        "--trust",
        "jpn",
        "--json",
    )
    assert code == 0, out
    checked = json.loads(out)
    assert checked["consistent"] is True
    assert checked["size"] == 5
    assert checked["signers"] == ["gsomia/KOR/audit"]

    # KOR rewrites history: another log of two entries, signed with the same key.
    _seal_into(capsys, "rewritten", 2)
    assert (
        run(
            capsys,
            "audit",
            "checkpoint",
            "--data",
            "rewritten",
            "--keys",
            "kor",
            "--out",
            "forged.note",
        )[0]
        == 0
    )
    code, out, _ = run(
        capsys,
        "audit",
        "check",
        "--note",
        "forged.note",
        "--previous",
        "old.note",
        "--trust",
        "jpn",
        "--json",
    )
    assert code == 5, out
    assert json.loads(out)["error"]["code"] == "LOG_FORK"


def test_checkpoint_signed_by_an_untrusted_key_is_refused(nodes, capsys):
    _seal_into(capsys, "kor-data", 1)
    assert (
        run(
            capsys, "audit", "checkpoint", "--data", "kor-data", "--keys", "kor", "--out", "cp.note"
        )[0]
        == 0
    )
    code, out, _ = run(capsys, "audit", "check", "--note", "cp.note", "--trust", "usa", "--json")
    assert code == 5
    assert json.loads(out)["error"]["code"].startswith("NOTE_")
