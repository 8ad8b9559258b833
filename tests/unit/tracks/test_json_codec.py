"""Track messages as strict JSON: round trips and refusals with their codes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gsomia.errors import TrackError
from gsomia.tracks import Kind
from gsomia.tracks.json_codec import MAX_JSON_BYTES, dumps, from_dict, loads, to_dict
from tests.unit.tracks.helpers import message


def code_of(data: Any) -> str:
    with pytest.raises(TrackError) as info:
        loads(data) if isinstance(data, str | bytes) else from_dict(data)
    return info.value.code


@pytest.mark.parametrize("kind", [k.value for k in Kind])
def test_round_trip(kind):
    m = message(kind)
    text = dumps(m)
    assert "\n" not in text
    assert loads(text) == m
    assert loads(text.encode()) == m
    assert from_dict(json.loads(text)) == m


def test_the_documented_members():
    obj = to_dict(message("impact"))
    assert list(obj) == ["track", "seq", "kind", "time", "stale", "sensor", "weapon", "simulated",
                         "ce", "le", "label", "body"]  # fmt: skip
    assert obj["kind"] == "impact"
    assert obj["time"] == "2024-05-01T00:00:30Z"
    assert set(obj["body"]) == {"point", "ellipse", "impact_time"}
    assert obj["label"]["classification"] == "군사II급비밀"


def test_malformed_json_is_refused():
    assert code_of("not json") == "TRACK_JSON_MALFORMED"
    assert code_of("[]") == "TRACK_JSON_MALFORMED"
    assert code_of('{"a": 1, "a": 2}') == "TRACK_JSON_MALFORMED"
    assert code_of('{"seq": NaN}') == "TRACK_JSON_MALFORMED"
    assert code_of(b"{" + b" " * MAX_JSON_BYTES + b"}") == "TRACK_JSON_MALFORMED"
    assert code_of("[" * 50 + "]" * 50) == "TRACK_JSON_MALFORMED"


def mutate(path: list[str], value: Any, *, delete: bool = False) -> dict[str, Any]:
    obj = to_dict(message())
    target = obj
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return obj


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["seq"], True, "TRACK_FIELD_INVALID"),
        (["seq"], 0, "TRACK_SEQ_INVALID"),
        (["seq"], "2", "TRACK_FIELD_INVALID"),
        (["kind"], "boom", "TRACK_FIELD_INVALID"),
        (["weapon"], "ICBM", "TRACK_FIELD_INVALID"),
        (["simulated"], 1, "TRACK_FIELD_INVALID"),
        (["time"], "2024-05-01T09:00:30", "TRACK_TIME_INVALID"),
        (["ce"], "250", "TRACK_FIELD_INVALID"),
        (["body", "position", "lat"], 91.0, "TRACK_POSITION_INVALID"),
        (["body", "position", "lon"], 1e400, "TRACK_POSITION_INVALID"),
        (["body", "position", "hae"], None, "TRACK_FIELD_INVALID"),
        (["body", "velocity", "speed"], -1, "TRACK_VELOCITY_INVALID"),
        (["body", "velocity"], [1, 2, 3], "TRACK_FIELD_INVALID"),
        (["label", "originator"], "kor", "TRACK_LABEL_INVALID"),
        (["body", "extra"], 1, "TRACK_JSON_FIELD_UNKNOWN"),
        (["extra"], 1, "TRACK_JSON_FIELD_UNKNOWN"),
    ],
)
def test_bad_members_are_refused(path, value, expected):
    assert code_of(mutate(path, value)) == expected


@pytest.mark.parametrize("path", [["track"], ["body", "velocity"], ["body", "position", "lat"]])
def test_missing_members_are_refused(path):
    assert code_of(mutate(path, None, delete=True)) == "TRACK_JSON_FIELD_MISSING"


def test_a_body_of_another_kind_is_refused():
    obj = to_dict(message("update"))
    obj["kind"] = "end"
    assert code_of(obj) == "TRACK_JSON_FIELD_MISSING"
