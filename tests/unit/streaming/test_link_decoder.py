"""The link decodes track frames with ``gsomia.strictjson.loads``, as its old private decoder did.

The link carried its own strict decoder (``json.loads`` with a duplicate-member hook and no
NaN); it now uses the shared strict parser.  The reference below is that old decoder, verbatim.
On every input both refuse the same frames with the same code (``TRACK_JSON_MALFORMED`` for the
JSON, the field's code after it) and decode the others to the same message, labels and relays.
The one difference is deliberate: the shared parser also refuses, as JSON ingest over HTTP
always did (:func:`gsomia.tracks.json_codec.loads`), an integer of more than 16 digits (I-JSON,
RFC 7493 §2.2), and nesting deeper than 16 (the link's bound; a message nests 5 deep, a header
6).  The old decoder passed those on and the message checks refused them later under a field's
code (``TRACK_SEQ_INVALID``, …): they are now ``TRACK_JSON_MALFORMED``, and no frame the old
decoder let through to a message is lost.
"""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.errors import LabelError, TrackError
from gsomia.labels import LabelSet
from gsomia.streaming import link
from gsomia.streaming.lens import held_labels
from gsomia.streaming.link import decode_track, encode_track
from gsomia.tracks.simulate import KOR_SENSOR, Scenario, simulate
from tests.unit.node.cluster import NOW, build

# -- the reference: the link's decoder before it used gsomia.strictjson ---------------------------


class _Duplicate(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Duplicate("a member appears twice in one object")
    return out


def _constant(text: str) -> Any:
    raise ValueError(f"{text} is not a number JSON allows")


def old_object(data: bytes, limit: int, what: str) -> dict[str, Any]:
    """The link's private strict decoder as it was (the reference)."""
    try:
        if len(data) > limit:
            raise ValueError(f"more than {limit} bytes")
        obj = json.loads(data.decode("utf-8"), object_pairs_hook=_pairs, parse_constant=_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError included
        raise TrackError(f"{what}: {exc}", code="TRACK_JSON_MALFORMED") from None
    if not isinstance(obj, dict):
        raise TrackError(f"{what} is not a JSON object", code="TRACK_JSON_MALFORMED")
    return obj


# -- what the shared parser refuses on top ------------------------------------------------------


def _beyond(value: object, depth: int = 0) -> bool:
    """Whether a decoded value holds an integer of more than 16 digits or nests deeper than 16."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) >= 10**16
    if isinstance(value, dict | list):
        if depth + 1 > 16:
            return True
        items = value.values() if isinstance(value, dict) else value
        return any(_beyond(item, depth + 1) for item in items)
    return False


def _json_outcome(decode: Any, data: bytes, limit: int) -> tuple[str, object]:
    try:
        return ("parsed", repr(decode(data, limit, "x")))
    except TrackError as exc:
        return ("refused", exc.code)


def _frame_outcome(payload: bytes) -> tuple[str, object]:
    try:
        return ("decoded", decode_track(payload))
    except (TrackError, LabelError) as exc:
        return ("refused", exc.code)


def _old_frame_outcome(payload: bytes) -> tuple[str, object]:
    with mock.patch.object(link, "_object", old_object):
        return _frame_outcome(payload)


def _old_beyond(payload: bytes) -> bool:
    """Whether the old decoder took a part of ``payload`` that the shared parser refuses."""
    head, _, body = payload.partition(b"\n")
    for part, limit in ((head, 8192), (body, link.MAX_JSON_BYTES)):
        try:
            if _beyond(old_object(part, limit, "x")):
                return True
        except TrackError:
            return False  # refused there by both: decode_track stops at the first part
    return False


def _agree(payload: bytes) -> None:
    new, old = _frame_outcome(payload), _old_frame_outcome(payload)
    if _old_beyond(payload):
        assert new == ("refused", "TRACK_JSON_MALFORMED")
        assert old[0] == "refused"  # the message checks refused it later, under a field's code
    else:
        assert new == old


# -- frames to mutate ------------------------------------------------------------------------------


def _frames() -> list[bytes]:
    messages = list(simulate(Scenario(NOW, rate_hz=1.0, sensors=(KOR_SENSOR,))))
    kinds = {m.kind: m for m in messages}  # launch, update, impact, end
    usa = build().nodes["USA"]
    frames = []
    for message in kinds.values():
        labels = held_labels(usa, message.label, "NK-MISSILE", NOW)
        assert labels is not None
        frames.append(encode_track(message, LabelSet(message.label), ()))
        frames.append(encode_track(message, labels, ("JPN",)))
    return frames


FRAMES = _frames()
_PIECES = [
    b"{", b"}", b"[", b"]", b'"', b",", b":", b"\\", b"NaN", b"-Infinity", b"1e999", b"\xff",
    b"12345678901234567", b"9999999999999999", b"-0", b"1.5", b"null", b"true", b" ", b"\n",
    b'"seq":1,', b'"via":[],', b'"alt":[],', b'"x":1,',
]  # fmt: skip


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    frame = draw(st.sampled_from(FRAMES))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(frame)))
        edit = draw(st.sampled_from(["insert", "delete", "replace-number", "nest", "dup"]))
        if edit == "insert":
            frame = frame[:at] + draw(st.sampled_from(_PIECES)) + frame[at:]
        elif edit == "delete":
            frame = frame[:at] + frame[at + draw(st.integers(1, 8)) :]
        elif edit == "replace-number":  # the next integer or float, replaced
            digits = b"-0123456789.eE"
            start = next((i for i in range(at, len(frame)) if frame[i] in b"0123456789"), None)
            if start is not None:
                end = start
                while end < len(frame) and frame[end] in digits:
                    end += 1
                number = draw(st.sampled_from([*_PIECES[10:16], b"99999999999999999999"]))
                frame = frame[:start] + number + frame[end:]
        elif edit == "nest":  # a member whose value is wrapped in n lists
            brace = frame.find(b"{", at)
            if brace != -1:
                n = draw(st.integers(1, 18))
                member = b'"zz":' + b"[" * n + b"0" + b"]" * n + b","
                frame = frame[: brace + 1] + member + frame[brace + 1 :]
        else:  # a member written twice
            frame = frame.replace(b'"seq":', b'"seq":1,"seq":', 1)
    return frame


@settings(max_examples=400)
@given(_mutated())
def test_the_link_decodes_frames_as_its_old_decoder_did(payload):
    _agree(payload)


@pytest.mark.parametrize("frame", FRAMES)
def test_every_real_frame_decodes_as_before(frame):
    new, old = _frame_outcome(frame), _old_frame_outcome(frame)
    assert new[0] == "decoded"
    assert new == old


@pytest.mark.parametrize(
    "payload",
    [b"", b"{}", b"[]\n{}", b'{"alt": 1}\n{}', b'{"via": ["JAPAN"]}\n{}', b"{}\nnot json",
     b'{"x": 1}\n{}', b'{}\n{"seq": 1, "seq": 2}', b'{}\n{"ce": NaN}', b"{}\n\xff\xfe",
     b'{"via": [], "via": []}\n{}', b"{}\n" + b"[" * 100_000, b"{}\n" + b" " * 20_000,
     b"\xef\xbb\xbf{}\n{}", b"{}\n\xef\xbb\xbf{}", b'{}\n{"a": 1} x', b"{}\n{} ", b"{}\n 1"],
)  # fmt: skip
def test_malformed_frames_are_refused_as_before(payload):
    _agree(payload)
    assert _frame_outcome(payload)[0] == "refused"


@pytest.mark.parametrize("limit", [0, 10, 8192])
@given(
    data=st.binary(max_size=64) | st.text(alphabet='{}[]":,0123456789-.eE nulNa').map(str.encode)
)
def test_the_json_of_a_frame_is_refused_with_the_same_code(limit, data):
    new, old = _json_outcome(link._object, data, limit), _json_outcome(old_object, data, limit)
    if old[0] == "parsed" and _beyond(old_object(data, limit, "x")):
        assert new == ("refused", "TRACK_JSON_MALFORMED")
    else:
        assert new == old


def test_a_long_sequence_number_is_now_malformed_json_as_over_http():
    frame = FRAMES[0].replace(b'"seq":1,', b'"seq":12345678901234567,', 1)
    assert b"12345678901234567" in frame
    assert _old_frame_outcome(frame) == ("refused", "TRACK_SEQ_INVALID")
    assert _frame_outcome(frame) == ("refused", "TRACK_JSON_MALFORMED")
