"""``gsomia simulate launch``: messages as JSON lines or CoT, the --json summary, --out."""

from __future__ import annotations

import json

from gsomia.cli.main import main
from gsomia.tracks import CotFramer, decode_event
from gsomia.tracks.json_codec import loads
from tests.conftest import at
from tests.unit.tracks.helpers import SCHEMES

NOW = at("2026-11-23T06:00:00Z")
ARGS = ["simulate", "launch", "--from", "wonsan", "--class", "SRBM", "--rate", "0.5", "--seed", "7"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), now=NOW)
    out, err = capsys.readouterr()
    return code, out, err


def test_json_lines_by_default_starting_now(capsys):
    code, out, _ = run(capsys, *ARGS)
    assert code == 0
    messages = [loads(line) for line in out.splitlines()]
    assert messages[0].kind.value == "launch"
    assert messages[0].label.created >= NOW
    assert {m.originator for m in messages} == {"KOR", "JPN"}


def test_cot_events_one_per_line(capsys):
    code, out, _ = run(capsys, *ARGS, "--format", "cot", "--start", "2024-05-01T09:00:00+09:00")
    assert code == 0
    lines = out.encode().splitlines()
    assert all(line.startswith(b"<event ") and line.endswith(b"</event>") for line in lines)
    framed = CotFramer().feed(out.encode())
    assert len(framed) == len(lines)
    assert all(decode_event(e, SCHEMES) for e in framed)  # type: ignore[arg-type]


def test_summary_and_out_file(capsys, tmp_path):
    target = tmp_path / "launch.jsonl"
    code, out, _ = run(
        capsys, *ARGS, "--out", str(target), "--json", "--start", "2024-05-01T00:00:00Z"
    )
    assert code == 0
    summary = json.loads(out)
    for key in ("count", "duration_s", "apogee_m", "range_m", "impact", "launch", "tracks"):
        assert key in summary
    assert summary["launch"]["area"] == "wonsan"
    assert summary["count"] == len(target.read_text(encoding="utf-8").splitlines())
    assert sum(t["messages"] for t in summary["tracks"]) == summary["count"]
    assert {t["party"] for t in summary["tracks"]} == {"KOR", "JPN"}
    code, again, _ = run(capsys, *ARGS, "--json", "--start", "2024-05-01T00:00:00Z")
    assert json.loads(again) == summary  # same seed and start: same flight, same messages


def test_text_summary_with_out(capsys, tmp_path):
    code, out, _ = run(capsys, *ARGS, "--out", str(tmp_path / "x.xml"), "--format", "cot")
    assert code == 0
    assert "messages in 2 tracks written to" in out


def test_an_unwritable_out_is_an_input_error(capsys, tmp_path):
    code, _, err = run(capsys, *ARGS, "--out", str(tmp_path / "missing" / "x.jsonl"))
    assert code == 2
    assert "cannot write" in err
