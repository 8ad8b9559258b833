"""TAK pings are answered with a pong, never decoded as a track message (issue 5 §2)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from gsomia.errors import CotError
from gsomia.instants import parse_instant
from gsomia.tracks import decode_event, encode_event
from gsomia.tracks.ping import PONG_TYPE, Ping, pong_event, read_event
from tests.unit.tracks.helpers import SCHEMES, T0, message

# What ATAK writes (uid "<device uid>-ping", how m-g, 10 s stale), and PyTAK's form of it.
ATAK_PING = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><event version="2.0" '
    b'uid="ANDROID-589520ccfcd20f01-ping" type="t-x-c-t" time="2024-05-01T00:00:30.000Z" '
    b'start="2024-05-01T00:00:30.000Z" stale="2024-05-01T00:00:40.000Z" how="m-g">'
    b'<point lat="0.0" lon="0.0" hae="0.0" ce="9999999.0" le="9999999.0"/><detail/></event>'
)
PYTAK_PING = (
    b'<event version="2.0" type="t-x-c-t" uid="pytak-ping" how="m-g" time="2024-05-01T00:00:30Z" '
    b'start="2024-05-01T00:00:30Z" stale="2024-05-01T00:00:40Z"><point lat="0" lon="0" hae="0" '
    b'ce="9999999" le="9999999" /><detail><_flow-tags_ pytak="2024-05-01T00:00:30Z" /></detail>'
    b"</event>"
)


@pytest.mark.parametrize("data", [ATAK_PING, PYTAK_PING])
def test_a_ping_is_read_as_a_ping(data: bytes) -> None:
    assert read_event(data, SCHEMES) == Ping()
    with pytest.raises(CotError) as info:  # the strict decoder still refuses it: no track
        decode_event(data, SCHEMES)
    assert info.value.code == "COT_TYPE_UNKNOWN"


def test_a_track_message_is_read_as_before() -> None:
    assert read_event(encode_event(message(), SCHEMES), SCHEMES) == message()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'<!DOCTYPE event [<!ENTITY a "b">]>' + PYTAK_PING, "COT_ENTITY_FORBIDDEN"),
        (PYTAK_PING.replace(b'uid="pytak-ping"', b'uid="a b"'), "COT_UID_INVALID"),
        (PYTAK_PING.replace(b'version="2.0"', b'version="1.0"'), "COT_VERSION_UNSUPPORTED"),
        (PYTAK_PING.replace(b'how="m-g"', b'how="m-g" evil="1"'), "COT_ATTRIBUTE_UNEXPECTED"),
        (PYTAK_PING.replace(b"t-x-c-t", b"t-x-c-t-r"), "COT_TYPE_UNKNOWN"),  # a pong is no ping
        (PYTAK_PING.replace(b"t-x-c-t", b"t-x-d-d"), "COT_TYPE_UNKNOWN"),
        (PYTAK_PING[:-3], "COT_MALFORMED"),
    ],
)
def test_only_a_well_formed_ping_is_a_ping(data: bytes, code: str) -> None:
    with pytest.raises(CotError) as info:
        read_event(data, SCHEMES)
    assert info.value.code == code


def test_the_pong_is_what_taky_answers() -> None:
    data = pong_event(T0)
    root = ET.fromstring(data)
    assert root.tag == "event"
    assert root.attrib["type"] == PONG_TYPE == "t-x-c-t-r"
    assert root.attrib["uid"] == "takPong"
    assert root.attrib["how"] == "h-g-i-g-o"
    assert root.attrib["version"] == "2.0"
    assert parse_instant(root.attrib["time"]) == parse_instant(root.attrib["start"]) == T0
    assert parse_instant(root.attrib["stale"]) == T0 + timedelta(seconds=20)
    assert [child.tag for child in root] == ["point", "detail"]
    with pytest.raises(CotError):  # and it is never taken for a ping or a track message
        read_event(data, SCHEMES)
