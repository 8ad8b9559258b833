"""The CLI in process: outputs, --json shapes, what-if files and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gsomia.cli.main import main
from tests.conftest import at

NOW = at("2026-11-23T06:00:00Z")
EXAMPLE = Path(__file__).parents[3] / "examples" / "what-if" / "notice-2027.toml"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), now=NOW)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str):
    code, out, _ = run(capsys, *argv, "--json")
    return code, json.loads(out)


def test_status_json_has_the_documented_keys(capsys):
    code, data = run_json(capsys, "agreement", "status", "kor-jpn-gsomia-2016")
    assert code == 0
    for key in (
        "agreement",
        "at",
        "state",
        "exchange_allowed",
        "term_start",
        "term_end",
        "next_renewal",
        "notice_deadline",
        "pending_notice",
        "reasons",
    ):
        assert key in data
    assert data["state"] == "in_force"
    assert data["next_renewal"] == "2027-11-23T00:00:00+09:00"
    assert data["notice_deadline"] == "2027-08-25T00:00:00+09:00"
    assert data["reasons"][0]["code"] == "IN_FORCE"


def test_status_at_an_instant_in_2019(capsys):
    code, data = run_json(
        capsys, "agreement", "status", "kor-jpn-gsomia-2016", "--at", "2019-11-22T20:00:00+09:00"
    )
    assert code == 0
    assert data["state"] == "notice_suspended"
    assert data["pending_notice"]["disputed_by"] == "JPN"


def test_status_text_is_readable(capsys):
    code, out, _ = run(capsys, "agreement", "status", "kor-jpn-gsomia-2016")
    assert code == 0
    assert "in force" in out
    assert "2027-08-25 00:00 KST" in out


def test_history_lists_the_four_real_events(capsys):
    code, data = run_json(capsys, "agreement", "history", "kor-jpn-gsomia-2016")
    assert code == 0
    events = [e["event"] for e in data["entries"] if e["event"] != "renewed"]
    assert events == [
        "signed",
        "entered_into_force",
        "notice_given",
        "notice_suspended",
        "notice_withdrawn",
    ]


def test_what_if_notice_in_2027_ends_the_agreement_in_2028(capsys):
    code, data = run_json(
        capsys,
        "agreement",
        "status",
        "kor-jpn-gsomia-2016",
        "--with-events",
        str(EXAMPLE),
        "--at",
        "2028-06-01T00:00:00+09:00",
    )
    assert code == 0
    assert data["state"] == "notice_given"
    assert data["pending_notice"]["effective"] == "2028-11-23T00:00:00+09:00"
    assert data["hypothetical"] is True
    code, data = run_json(
        capsys,
        "agreement",
        "status",
        "kor-jpn-gsomia-2016",
        "--with-events",
        str(EXAMPLE),
        "--at",
        "2028-11-23T00:00:00+09:00",
    )
    assert data["state"] == "terminated"
    assert data["exchange_allowed"] is False


def test_what_if_changes_the_release_path(capsys):
    code, data = run_json(
        capsys,
        "decide",
        "release",
        "--from",
        "KOR",
        "--to",
        "JPN",
        "--level",
        "군사II급비밀",
        "--topic",
        "NK-MISSILE",
        "--rel-to",
        "KOR,JPN,USA",
        "--at",
        "2029-01-01T00:00:00+09:00",
        "--with-events",
        str(EXAMPLE),
    )
    assert code == 0
    assert data["allowed"] is True
    assert data["path"] == ["KOR", "USA", "JPN"]


def test_decide_release_json(capsys):
    code, data = run_json(
        capsys,
        "decide",
        "release",
        "--from",
        "KOR",
        "--to",
        "JPN",
        "--level",
        "군사II급비밀",
        "--topic",
        "NK-MISSILE",
        "--rel-to",
        "KOR,JPN,USA",
        "--at",
        "2026-11-23T00:00:00+09:00",
        "--purpose",
        "missile warning",
    )
    assert code == 0
    assert data["allowed"] is True
    assert data["agreement"] == "kor-jpn-gsomia-2016"
    assert data["path"] == ["KOR", "JPN"]
    assert all("code" in r for r in data["reasons"])


def test_a_denial_exits_zero_with_codes(capsys):
    code, data = run_json(
        capsys,
        "decide",
        "release",
        "--from",
        "KOR",
        "--to",
        "JPN",
        "--level",
        "군사I급비밀",
        "--topic",
        "NK-MISSILE",
        "--rel-to",
        "JPN",
    )
    assert code == 0
    assert data["allowed"] is False
    assert "LEVEL_NOT_COVERED" in [r["code"] for r in data["reasons"]]


def test_unknown_values_deny_rather_than_fail(capsys):
    code, data = run_json(
        capsys,
        "decide",
        "release",
        "--from",
        "KOR",
        "--to",
        "XYZ",
        "--level",
        "nonsense",
        "--topic",
        "NK-MISSILE",
        "--rel-to",
        "XYZ",
    )
    assert code == 0
    assert data["allowed"] is False
    assert "UNKNOWN_PARTY" in [r["code"] for r in data["reasons"]]


def test_markings_equivalent(capsys):
    code, data = run_json(
        capsys,
        "markings",
        "equivalent",
        "--agreement",
        "kor-jpn-gsomia-2016",
        "--from",
        "KOR",
        "--level",
        "군사II급비밀",
        "--to",
        "JPN",
    )
    assert code == 0
    assert data["equivalent"] == "極秘"
    assert data["alternatives"] == ["極秘", "特定秘密"]
    code, data = run_json(
        capsys,
        "markings",
        "equivalent",
        "--agreement",
        "kor-jpn-gsomia-2016",
        "--from",
        "KOR",
        "--level",
        "군사I급비밀",
        "--to",
        "JPN",
    )
    assert data["equivalent"] is None
    assert data["releasable"] is False


def test_agreements_list(capsys):
    code, data = run_json(capsys, "agreements", "list")
    assert code == 0
    ids = {a["id"] for a in data["agreements"]}
    assert ids == {"kor-jpn-gsomia-2016", "usa-kor-gsomia-1987", "usa-jpn-gsomia-2007", "tisa-2014"}
    tisa = next(a for a in data["agreements"] if a["id"] == "tisa-2014")
    assert tisa["hub"] == "USA"
    assert tisa["topics"] == ["NK-MISSILE", "NK-NUCLEAR"]


@pytest.mark.parametrize(
    ("argv", "exit_code", "code"),
    [
        (["agreement", "status", "no-such-agreement"], 3, "AGREEMENT_NOT_FOUND"),
        (
            [
                "markings",
                "equivalent",
                "--agreement",
                "kor-jpn-gsomia-2016",
                "--from",
                "KOR",
                "--level",
                "極秘",
                "--to",
                "JPN",
            ],
            2,
            "UNKNOWN_LEVEL",
        ),
        (
            [
                "markings",
                "equivalent",
                "--agreement",
                "kor-jpn-gsomia-2016",
                "--from",
                "USA",
                "--level",
                "SECRET",
                "--to",
                "JPN",
            ],
            2,
            "UNKNOWN_PARTY",
        ),
        (
            ["agreement", "status", "kor-jpn-gsomia-2016", "--with-events", "/nonexistent.toml"],
            4,
            "DATA_FILE_NOT_FOUND",
        ),
    ],
)
def test_errors_have_exit_codes_and_problem_details(capsys, argv, exit_code, code):
    got, out, _ = run(capsys, *argv, "--json")
    assert got == exit_code
    problem = json.loads(out)["error"]
    assert problem["code"] == code
    assert problem["status"] >= 400
    assert problem["type"].startswith("urn:gsomia:problem:")


def test_error_without_json_goes_to_stderr(capsys):
    code, out, err = run(capsys, "agreement", "status", "nope")
    assert code == 3
    assert out == ""
    assert "AGREEMENT_NOT_FOUND" in err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["agreement", "status", "kor-jpn-gsomia-2016", "--at", "2019-11-22 18:00"], "offset"),
        (["agreement", "status", "kor-jpn-gsomia-2016", "--at", "yesterday"], "ISO 8601"),
        (
            [
                "decide",
                "release",
                "--from",
                "korea",
                "--to",
                "JPN",
                "--level",
                "x",
                "--topic",
                "y",
                "--rel-to",
                "JPN",
            ],
            "alpha-3",
        ),
    ],
)
def test_malformed_arguments_exit_2(capsys, argv, fragment):
    with pytest.raises(SystemExit) as exc:
        main(argv, now=NOW)
    assert exc.value.code == 2
    assert fragment in capsys.readouterr().err


def test_bad_what_if_file_is_a_clear_data_error(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'agreement = "kor-jpn-gsomia-2016"\n[[events]]\nkind = "notice_withdrawn"\n'
        'at = 2025-01-01T00:00:00+09:00\nby = "KOR"\n',
        encoding="utf-8",
    )
    code, out, _ = run(
        capsys, "agreement", "status", "kor-jpn-gsomia-2016", "--with-events", str(bad), "--json"
    )
    assert code == 4
    problem = json.loads(out)["error"]
    assert "no notice of termination is pending" in problem["detail"]


def test_console_script_runs_as_a_process():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gsomia.cli.main",
            "agreement",
            "status",
            "kor-jpn-gsomia-2016",
            "--at",
            "2019-08-23T12:00:00+09:00",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["state"] == "notice_given"


@pytest.mark.parametrize("name", ["kor-originator.json", "kor-originator.xml"])
def test_decide_release_from_a_label_file(capsys, name):
    label = Path(__file__).parents[2] / "vectors" / "labels" / name
    code, data = run_json(
        capsys, "decide", "release", "--from", "KOR", "--to", "USA", "--label", str(label)
    )
    assert code == 0
    assert data["allowed"] is False  # the vector's Releasable To is KOR, JPN
    assert [r["code"] for r in data["reasons"]] == ["NOT_RELEASABLE_TO"]
    assert data["request"]["topic"] == "NK-MISSILE"


def test_decide_release_needs_a_label_or_flags(capsys):
    code, data = run_json(
        capsys, "decide", "release", "--from", "KOR", "--to", "JPN", "--level", "군사II급비밀"
    )
    assert code == 2
    assert data["error"]["code"] == "INPUT_INVALID"
