"""The CoT decoder against the previous one (the oracle, ``old_cot``), with Hypothesis (ADR 0014).

For generated valid events, and for the same events with attribute values replaced, bytes cut,
spliced, duplicated or inserted (hostile snippets among them), three readers must give the same
outcome: :func:`gsomia.tracks.decode_event` (canonical fast path, else the C parser), its general
path alone (:func:`~gsomia.tracks.cot.decode_tree` over :func:`~gsomia.tracks._xml.parse_event`)
and the defusedxml decoder it replaced.  The same outcome means: all accept with equal messages,
or all refuse with the same ``COT_*`` code.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gsomia.errors import CotError
from gsomia.tracks import Weapon, decode_event, encode_event
from gsomia.tracks._canonical import canonical_fields
from gsomia.tracks._xml import parse_event
from gsomia.tracks.cot import decode_tree
from gsomia.tracks.model import (
    Ellipse,
    EndOfTrack,
    EndReason,
    GeoPoint,
    ImpactPrediction,
    Launch,
    TrackMessage,
    Update,
    Velocity,
)
from tests.unit.tracks import old_cot
from tests.unit.tracks.helpers import SCHEMES, T0, label

Outcome = tuple[str, Any]

LABELS = [
    label(),
    label(originator="JPN", level="極秘"),
    label(originator="USA", level="SECRET", rel_to=("USA", "KOR")),
    label(level="군사III급비밀", rel_to=("KOR", "USA"), topics=()),
    label(rel_to=("KOR", "JPN", "USA", "GBR", "AUS"), topics=("NK-MISSILE", "NK-SLBM")),
]
SNIPPETS = [
    b'<!DOCTYPE event [<!ENTITY a "aaaa">]>', b'<!DOCTYPE event SYSTEM "x.dtd">', b"&a;",
    b"&amp;", b"&#x41;", b"&#0;", b"<!-- <!DOCTYPE x> -->", b"<![CDATA[x]]>", b"<?pi x?>",
    b"<a>" * 13, b"</a>", b"<x/>", b" ", b"\n", b"\t", b"\x00", b"\xff", b"\xef\xbf\xbe",
    b'xmlns="urn:x" ', b'xmlns:slab="urn:x" ', b"<event>", b"</event>", b"<detail>",
    b"</detail>", b'<?xml version="1.0" encoding="utf8"?>', b"\xef\xbb\xbf", b'"', b"'", b">",
]  # fmt: skip
VALUES = [
    "", "0", "-0", "1e400", "NaN", "inf", "90.0001", "-180", "1_0", " 1", "0x1", "2.0", "1.0",
    "2024-05-01T00:00:30Z", "2024-05-01T00:00:30", "2024-05-01T00:00:41Z", "9999-12-31T23:59:59Z",
    "a-h-A-M-F", "t-x-c-t", "u-d-c-e", "m-s", "M S", "update", "launch", "SLBM", "02", "1",
    "//KOR SECRET", "x" * 200, "&lt;", "&#39;", "\u00e9", "KOR-20240501T0900-1.impact",
]  # fmt: skip
ATTRIBUTE = re.compile(rb'="[^"]*"')

finite = st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def messages(draw: st.DrawFn) -> TrackMessage:
    """A valid track message of any kind, with any label of LABELS."""
    point = GeoPoint(
        draw(st.floats(-90, 90)), draw(st.floats(-180, 180)), draw(st.floats(-1_000, 8_000_000))
    )
    seconds, microseconds = draw(st.integers(-86_400, 86_400)), draw(st.integers(0, 999_999))
    time = T0 + timedelta(seconds=seconds, microseconds=microseconds)
    kind = draw(st.sampled_from(["launch", "update", "impact", "end"]))
    body: Any
    if kind == "launch":
        body = Launch(point, time - timedelta(seconds=draw(st.integers(0, 600))))
    elif kind == "update":
        velocity = Velocity(
            draw(st.floats(0, 12_000)),
            draw(st.floats(0, 360, exclude_max=True)),
            draw(st.floats(-90, 90)),
        )
        body = Update(point, velocity)
    elif kind == "impact":
        major = draw(st.floats(1, 2_000_000))
        minor = draw(st.floats(1, 2_000_000).filter(lambda m: m <= major))
        axes = Ellipse(major, minor, draw(st.floats(0, 180, exclude_max=True)))
        body = ImpactPrediction(point, axes, time + timedelta(seconds=draw(st.integers(0, 900))))
    else:
        body = EndOfTrack(point, draw(st.sampled_from(list(EndReason))))
    return TrackMessage(
        track_id=draw(st.sampled_from(["KOR-20240501T0900-1", "JPN-20240501T0900-12"])),
        seq=draw(st.integers(1, 2**53 - 1)),
        time=time,
        stale=time + timedelta(seconds=draw(st.integers(1, 86_400))),
        sensor=draw(st.sampled_from(["KOR-RADAR-1", "JPN-AEGIS-2"])),
        weapon=draw(st.sampled_from(list(Weapon))),
        label=draw(st.sampled_from(LABELS)),
        body=body,
        ce=draw(st.floats(0, 9_999_999)),
        le=draw(st.floats(0, 9_999_999)),
        simulated=draw(st.booleans()),
    )


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid event with one to three edits."""
    buf = bytearray(encode_event(draw(messages()), SCHEMES))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.integers(0, 5))
        pos = draw(st.integers(0, len(buf)))
        if op == 0:  # give an attribute another value
            found = list(ATTRIBUTE.finditer(buf))
            match = found[draw(st.integers(0, len(found) - 1))] if found else None
            if match is not None:
                value = draw(st.sampled_from(VALUES) | st.text(max_size=12))
                buf[match.start() : match.end()] = b'="' + value.encode("utf-8") + b'"'
        elif op == 1:  # insert a snippet
            buf[pos:pos] = draw(st.sampled_from(SNIPPETS))
        elif op == 2:  # delete a run
            del buf[pos : pos + draw(st.integers(1, 64))]
        elif op == 3:  # duplicate a run
            buf[pos:pos] = buf[pos : pos + draw(st.integers(1, 200))]
        elif op == 4:  # truncate
            del buf[pos:]
        else:  # flip a bit
            if buf:
                i = min(pos, len(buf) - 1)
                buf[i] ^= 1 << draw(st.integers(0, 7))
    return bytes(buf)


def outcome(decode: Any, data: bytes) -> Outcome:
    try:
        return "accepted", decode(data, SCHEMES)
    except CotError as exc:
        return "refused", exc.code


def general(data: bytes, schemes: Any) -> TrackMessage:
    return decode_tree(parse_event(data), schemes)


def assert_agree(data: bytes) -> Outcome:
    new = outcome(decode_event, data)
    assert new == outcome(old_cot.decode_event, data), data[:400]
    assert new == outcome(general, data), data[:400]
    return new


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messages())
def test_valid_events_decode_alike_and_by_the_fast_path(message: TrackMessage) -> None:
    data = encode_event(message, SCHEMES)
    assert canonical_fields(data) is not None  # what encode_event writes takes the fast path
    assert assert_agree(data) == ("accepted", message)
    # The same event behind a declaration and with a TAK server's extra: the general path.
    tak = b'<?xml version="1.0"?>\n' + data.replace(b"<detail>", b"<detail><_flow-tags_/>", 1)
    assert canonical_fields(tak) is None
    assert assert_agree(tak) == ("accepted", message)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_events_get_the_same_outcome(data: bytes) -> None:
    assert_agree(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_get_the_same_outcome(data: bytes) -> None:
    assert_agree(data)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.text(max_size=40))
def test_any_text_in_any_attribute_gets_the_same_outcome(data: st.DataObject, text: str) -> None:
    # Every character, unescaped: the fast path must not accept what a parser would not read
    # the same way (controls, U+FFFE, references, quotes, non-BMP, NEL, ...).
    event = encode_event(data.draw(messages()), SCHEMES)
    found = list(ATTRIBUTE.finditer(event))
    match = found[data.draw(st.integers(0, len(found) - 1))]
    value = text.encode("utf-8", "surrogatepass")
    assert_agree(event[: match.start()] + b'="' + value + b'"' + event[match.end() :])
