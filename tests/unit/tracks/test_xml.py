"""The bounded CoT parser (ADR 0014): the DTD gate, the scan, limits on the C-built tree, and the
canonical fast path's boundaries.  The differential test checks all of it against the old parser;
these are the cases worth naming."""

from __future__ import annotations

import pytest

from gsomia.errors import CotError
from gsomia.labels.xml_codec import MAX_XML_DEPTH
from gsomia.tracks import decode_event, encode_event
from gsomia.tracks._canonical import _LABELS, canonical_fields
from gsomia.tracks._xml import MAX_DEPTH, MAX_ELEMENTS, MAX_EVENT_BYTES, LabelMemo, parse_event
from tests.unit.tracks import old_cot
from tests.unit.tracks.helpers import SCHEMES, message

EVENT = encode_event(message("update"), SCHEMES)


def code_of(data: bytes) -> str:
    with pytest.raises(CotError) as info:
        parse_event(data)
    return info.value.code


def both(data: bytes) -> str:
    """The refusal code of the new decoder, checked against the old one."""
    with pytest.raises(CotError) as new:
        decode_event(data, SCHEMES)
    with pytest.raises(CotError) as old:
        old_cot.decode_event(data, SCHEMES)
    assert new.value.code == old.value.code
    return new.value.code


def test_a_doctype_that_is_only_text_in_a_comment_is_no_dtd():
    data = EVENT.replace(b"<detail>", b"<detail><!-- <!DOCTYPE event [<!ENTITY a 'b'>]> -->", 1)
    assert decode_event(data, SCHEMES) == message("update") == old_cot.decode_event(data, SCHEMES)


@pytest.mark.parametrize(
    ("prefix", "code"),
    [
        (b'<!DOCTYPE event [<!ENTITY a "b">]>', "COT_ENTITY_FORBIDDEN"),
        (b"<!DOCTYPE event>", "COT_DTD_FORBIDDEN"),
        (b'<?xml version="1.0"?><!DOCTYPE event SYSTEM "file:///etc/passwd">', "COT_DTD_FORBIDDEN"),
        (b'<!DOCTYPE event [<!ENTITY % p SYSTEM "http://example.invalid/">%p;]>',
         "COT_ENTITY_FORBIDDEN"),
    ],
)  # fmt: skip
def test_a_real_doctype_never_reaches_the_c_parser(prefix: bytes, code: str):
    assert code_of(prefix + EVENT) == code
    assert both(prefix + EVENT) == code


def test_a_doctype_after_the_root_is_malformed_as_before():
    assert both(EVENT.replace(b"<detail>", b"<detail><!DOCTYPE x>", 1)) == "COT_MALFORMED"


def test_utf16_in_disguise_is_not_read_as_utf16():
    # ASCII-only UTF-16LE without a byte-order mark is valid UTF-8 (with NULs); expat would detect
    # UTF-16 from "<\0" and the byte check for <!DOCTYPE would not see one.  The NUL sends it to
    # the scan, which refuses it whatever it declares.
    doc = '<!DOCTYPE event [<!ENTITY a "b">]><event version="2.0" uid="&a;"/>'.encode("utf-16-le")
    doc.decode("utf-8")  # passes the encoding check
    assert code_of(doc) in ("COT_DTD_FORBIDDEN", "COT_ENTITY_FORBIDDEN")
    assert both(doc) == code_of(doc)
    assert code_of(b"\x00" + EVENT) == "COT_MALFORMED"


def test_an_undeclared_entity_is_named_as_such():
    data = EVENT.replace(b'sensor="KOR-RADAR-1"', b'sensor="&xxe;"', 1)
    assert code_of(data) == "COT_ENTITY_FORBIDDEN"


def test_the_first_limit_passed_in_document_order_is_named():
    deep_then_many = b"<a>" * MAX_DEPTH + b"</a>" * MAX_DEPTH + b"<b/>" * MAX_ELEMENTS
    many_then_deep = b"<b/>" * MAX_ELEMENTS + b"<a>" * MAX_DEPTH + b"</a>" * MAX_DEPTH
    for body, code in ((deep_then_many, "COT_TOO_DEEP"), (many_then_deep, "COT_TOO_MANY_ELEMENTS")):
        data = EVENT.replace(b"<detail>", b"<detail>" + body, 1)
        assert code_of(data) == code
        assert both(data) == code
    # A limit passed before a syntax error is named, not the syntax error.
    unfinished = b'<event version="2.0">' + b"<a>" * (MAX_DEPTH + 1) + b"</oops>"
    assert code_of(unfinished) == "COT_TOO_DEEP"
    assert both(unfinished) == "COT_TOO_DEEP"


def test_what_encode_event_writes_takes_the_fast_path():
    fields = canonical_fields(EVENT)
    assert fields is not None
    attrs, point, detail = fields
    assert attrs["uid"] == "KOR-20240501T0900-1"
    assert point["lat"] == "39.3"
    assert detail.track == {"course": "80.0", "speed": "1800.0", "slope": "30.0"}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"<event ", b'<?xml version="1.0"?><event '),  # a declaration
        (b"<point ", b" <point "),  # white space between elements
        (b'how="m-s"', b'how="m-s" qos="1-r-c"'),  # another (allowed) attribute
        (b"KOR-RADAR-1", b"KOR&#45;RADAR-1"),  # a character reference
        (
            b"<slab:PolicyIdentifier>",
            b"<!-- c --><slab:PolicyIdentifier>",
        ),  # a comment in the label
        (b'<slab:Category Type="', b'<slab:Category xmlns:x="urn:x" Type="'),  # a declaration in it
        (b"NK-MISSILE</slab:GenericValue>", b"NK-MISSILE</slab:GenericValue><x/>"),  # not slab
    ],
)
def test_anything_else_takes_the_general_path(old: bytes, new: bytes):
    data = EVENT.replace(old, new, 1)
    assert data != EVENT
    assert canonical_fields(data) is None
    outcome = [None, None]
    for i, decode in enumerate((decode_event, old_cot.decode_event)):
        try:
            outcome[i] = decode(data, SCHEMES)
        except CotError as exc:
            outcome[i] = exc.code
    assert outcome[0] == outcome[1]


def test_only_label_text_that_matched_and_decoded_is_memoized():
    bad = EVENT.replace(b"urn:gsomia:party:KOR", b"urn:gsomia:party:kor", 1)
    assert canonical_fields(bad) is None  # the label does not decode: the general path says why
    assert both(bad) == "COT_LABEL_INVALID"
    text = bad.decode()
    start = text.index("<slab:originator")
    assert _LABELS.get(text[start : text.index("</detail>")]) is None


def test_the_label_memo_is_bounded():
    memo = LabelMemo(2)
    first = message().label
    for key in ("a", "b", "c"):
        assert memo.put(key, first) is first
    assert memo.get("c") is first
    assert memo.get("a") is None  # emptied when full: never more than its size


def test_the_fast_path_keeps_the_limits():
    # The callsign is not read: only the size limit stands between it and the fast path.
    callsign = b'callsign="' + b"C" * MAX_EVENT_BYTES + b'"'
    big = EVENT.replace(b'callsign="KOR-20240501T0900-1"', callsign, 1)
    assert len(big) > MAX_EVENT_BYTES
    assert canonical_fields(big) is None
    assert both(big) == "COT_TOO_LARGE"
    # A label the 4774 codec accepts sits in the event within the CoT depth limit.
    assert MAX_XML_DEPTH + 2 <= MAX_DEPTH
