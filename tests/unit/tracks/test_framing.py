"""TAK protocol version 0 framing: split, merged and garbage chunks; oversize and resync."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gsomia.errors import CotError
from gsomia.tracks import CotFramer, decode_event, encode_event
from tests.unit.tracks.helpers import SCHEMES, T0, message

DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
EVENTS = [
    encode_event(message(kind, seq=n + 1, time=T0 + timedelta(seconds=n)), SCHEMES)
    for n, kind in enumerate(["launch", "update", "impact", "update", "end"])
]


def feed_all(framer: CotFramer, chunks: list[bytes]) -> list[bytes | CotError]:
    out: list[bytes | CotError] = []
    for chunk in chunks:
        out += framer.feed(chunk)
    return out


def codes(items: list[bytes | CotError]) -> list[str]:
    return [item.code if isinstance(item, CotError) else "EVENT" for item in items]


def test_several_events_in_one_chunk():
    stream = b"".join(EVENTS)
    assert CotFramer().feed(stream) == EVENTS


def test_each_event_behind_a_declaration_and_newlines():
    stream = b"".join(DECL + b"\n" + e + b"\r\n" for e in EVENTS)
    out = CotFramer().feed(stream)
    assert out == EVENTS
    assert [decode_event(e, SCHEMES).seq for e in out] == [1, 2, 3, 4, 5]  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [1, 2, 7, 8, 9, 100, 1000])
def test_events_split_across_chunks(size):
    stream = b"\n".join(DECL + e for e in EVENTS)
    framer = CotFramer()
    out = feed_all(framer, [stream[i : i + size] for i in range(0, len(stream), size)])
    assert out == EVENTS
    assert framer.buffered == 0


def test_the_end_tag_split_at_every_position():
    event = EVENTS[1]
    for cut in range(len(event) - 8, len(event)):
        framer = CotFramer()
        assert framer.feed(event[:cut]) == []
        assert framer.feed(event[cut:]) == [event]


def test_nothing_is_returned_before_the_end_tag():
    framer = CotFramer()
    assert framer.feed(EVENTS[0][:-1]) == []
    assert framer.buffered == len(EVENTS[0]) - 1
    assert framer.feed(b">" + EVENTS[1][:10]) == [EVENTS[0]]


def test_garbage_between_events_is_reported_and_skipped():
    stream = EVENTS[0] + b"\nGET / HTTP/1.1\r\n" + EVENTS[1] + b"xx" + DECL + EVENTS[2]
    out = CotFramer().feed(stream)
    assert codes(out) == ["EVENT", "COT_FRAME_GARBAGE", "EVENT", "COT_FRAME_GARBAGE", "EVENT"]
    assert [item for item in out if isinstance(item, bytes)] == EVENTS[:3]


def test_a_frame_with_no_event_start_is_garbage():
    out = CotFramer().feed(b"<not-an-event></event>" + EVENTS[0])
    assert codes(out) == ["COT_FRAME_GARBAGE", "EVENT"]


def test_a_broken_event_before_a_good_one_is_dropped_as_garbage():
    broken = EVENTS[0][:200]  # the start of an event that never ends
    out = CotFramer().feed(broken + EVENTS[1])
    assert codes(out) == ["COT_FRAME_GARBAGE", "EVENT"]
    assert out[1] == EVENTS[1]


def test_an_events_element_is_not_an_event():
    out = CotFramer().feed(b"<events><x/></event>")
    assert codes(out) == ["COT_FRAME_GARBAGE"]


def test_an_unterminated_event_past_the_limit_is_refused_then_resynchronised():
    framer = CotFramer(max_event_bytes=4096)
    huge = b'<event version="2.0"><detail>' + b"<pad/>" * 2000
    out = feed_all(framer, [huge[i : i + 500] for i in range(0, len(huge), 500)])
    assert codes(out) == ["COT_FRAME_TOO_LARGE"]
    assert framer.buffered < 8  # only what could begin an end tag is kept
    more = feed_all(framer, [b"<pad/>" * 100, b"</detail></eve", b"nt>", EVENTS[0], EVENTS[1]])
    assert more == [EVENTS[0], EVENTS[1]]


def test_a_terminated_event_past_the_limit_is_refused():
    framer = CotFramer(max_event_bytes=len(EVENTS[1]) - 1)
    out = framer.feed(EVENTS[1] + EVENTS[0][:10])
    assert codes(out) == ["COT_FRAME_TOO_LARGE"]


def test_the_buffer_stays_bounded_by_the_limit_plus_one_chunk():
    framer = CotFramer(max_event_bytes=4096)
    for _ in range(1000):
        framer.feed(b"A" * 100)
        assert framer.buffered <= 4096 + 100
    assert framer.feed(b"</event>" + EVENTS[0]) == [EVENTS[0]]


def test_whitespace_keepalives_never_accumulate():
    framer = CotFramer(max_event_bytes=64)
    for _ in range(1000):
        assert framer.feed(b"\n \r\n\t") == []
    assert framer.buffered == 0


def test_an_absurd_limit_is_refused():
    with pytest.raises(ValueError, match="small"):
        CotFramer(max_event_bytes=4)
