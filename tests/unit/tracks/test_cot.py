"""CoT events: round trips, the access attribute and the label in detail, and one test per
malformed class, each refused with its COT_* code."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta

import pytest

from gsomia.errors import CotError
from gsomia.labels import OriginatorLabel
from gsomia.labels.xml_codec import ORIGINATOR_LABEL, SLAB_NS, from_xml
from gsomia.tracks import Kind, Weapon, access_for, check_current, decode_event, encode_event
from gsomia.tracks._xml import MAX_DEPTH, MAX_ELEMENTS, MAX_EVENT_BYTES
from gsomia.tracks.cot import GSOMIA_NS
from tests.unit.tracks.helpers import SCHEMES, T0, TRACK, label, message

EVENT = encode_event(message("update"), SCHEMES).decode("utf-8")


def code_of(data: bytes | str) -> str:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with pytest.raises(CotError) as info:
        decode_event(raw, SCHEMES)
    return info.value.code


def edit(old: str, new: str, text: str = EVENT) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# --- encoding and round trips -----------------------------------------------------------------


@pytest.mark.parametrize("kind", [k.value for k in Kind])
@pytest.mark.parametrize("weapon", list(Weapon))
def test_round_trip_message_event_message(kind, weapon):
    m = message(kind, weapon=weapon)
    data = encode_event(m, SCHEMES)
    assert b"\n" not in data
    assert decode_event(data, SCHEMES) == m
    assert decode_event(b'<?xml version="1.0" encoding="UTF-8"?>\n' + data, SCHEMES) == m


def test_types_uids_and_how_by_kind():
    def head(m):
        root = ET.fromstring(encode_event(m, SCHEMES))
        return root.get("type"), root.get("uid"), root.get("how")

    assert head(message("update")) == ("a-h-A-W-M-S-S", TRACK, "m-s")
    assert head(message("end", weapon=Weapon.SLBM)) == ("a-h-A-W-M-U", TRACK, "m-s")
    assert head(message("launch")) == ("a-h-G-E-W-M-S", TRACK + ".launch", "m-s")
    assert head(message("launch", weapon=Weapon.SLBM))[0] == "a-h-U-S"
    assert head(message("impact", simulated=False)) == ("u-d-c-e", TRACK + ".impact", "m-f")


def test_the_event_follows_the_cot_schema():
    root = ET.fromstring(EVENT)
    assert root.tag == "event"
    assert root.get("version") == "2.0"
    assert [c.tag for c in root] == ["point", "detail"]
    assert set(root.find("point").attrib) == {"lat", "lon", "hae", "ce", "le"}  # type: ignore[union-attr]
    assert root.get("time") == root.get("start") == "2024-05-01T00:00:30Z"
    track = root.find("detail/track")
    assert track is not None
    assert track.attrib == {"course": "80.0", "speed": "1800.0", "slope": "30.0"}
    impact = ET.fromstring(encode_event(message("impact"), SCHEMES))
    ellipse = impact.find("detail/shape/ellipse")
    assert ellipse is not None
    assert ellipse.attrib == {"major": "30000.0", "minor": "10000.0", "angle": "85.0"}


def test_access_carries_the_releasability():
    root = ET.fromstring(EVENT)
    assert root.get("access") == "//KOR SECRET//REL TO USA, JPN, KOR"


@pytest.mark.parametrize(
    ("kwargs", "access"),
    [
        ({"originator": "JPN", "level": "極秘"}, "//JPN SECRET//REL TO USA, JPN, KOR"),
        ({"originator": "USA", "level": "SECRET", "rel_to": ("USA", "KOR")}, "SECRET//REL TO USA, KOR"),
        ({"level": "군사III급비밀", "rel_to": ("KOR", "USA")}, "//KOR CONFIDENTIAL//REL TO USA, KOR"),
        ({"level": "군사2급비밀", "rel_to": ("JPN", "KOR")}, "//KOR SECRET//REL TO JPN, KOR"),
        ({"originator": "JPN", "level": "特定秘密", "rel_to": ("JPN",)},
         "//JPN SPECIALLY DESIGNATED SECRET//REL TO JPN"),
    ],
)  # fmt: skip
def test_access_convention(kwargs, access):
    assert access_for(label(**kwargs), SCHEMES) == access


def test_access_without_releasable_to():
    bare = OriginatorLabel("KOR", "군사II급비밀", "KOR", T0)
    assert access_for(bare, SCHEMES) == "//KOR SECRET"


def test_an_unknown_level_is_never_encoded():
    with pytest.raises(CotError) as info:
        encode_event(message(label=label(level="대외비")), SCHEMES)
    assert info.value.code == "COT_LABEL_UNKNOWN_LEVEL"


def test_the_full_label_is_in_detail_as_4774_xml():
    detail = ET.fromstring(EVENT).find("detail")
    assert detail is not None
    elem = detail.find(ORIGINATOR_LABEL)
    assert elem is not None
    assert from_xml(ET.tostring(elem), OriginatorLabel) == label()
    assert f'xmlns:slab="{SLAB_NS}"' in EVENT
    assert f'xmlns:gsomia="{GSOMIA_NS}"' in EVENT


def test_tak_extras_and_6090_attributes_are_tolerated():
    data = edit(
        "<detail>", '<detail><_flow-tags_ TAK-Server="2024-05-01T00:00:31Z"/><remarks>x</remarks>'
    )
    data = edit(' how="', ' qos="1-r-c" opex="s" caveat="FOUO" releasableto="KOR" how="', data)
    assert decode_event(data.encode(), SCHEMES) == message()


def test_check_current():
    m = message()
    assert check_current(m, T0) is m
    with pytest.raises(CotError, match="stale") as info:
        check_current(m, m.stale)
    assert info.value.code == "COT_STALE"
    with pytest.raises(CotError) as info:
        check_current(m, T0 - timedelta(minutes=1))
    assert info.value.code == "COT_TIME_FUTURE"
    assert check_current(m, T0 - timedelta(seconds=20), max_skew=timedelta(seconds=30)) is m


# --- hostile and malformed input ----------------------------------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE event [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<event version="2.0" uid="&lol9;"/>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE event [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<event version="2.0" uid="x"><detail>&xxe;</detail></event>"""
PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE event [ <!ENTITY % remote SYSTEM "http://example.invalid/x.dtd"> %remote; ]>
<event version="2.0"/>"""


def test_a_dtd_is_refused():
    assert code_of('<!DOCTYPE event SYSTEM "cot.dtd">' + EVENT) == "COT_DTD_FORBIDDEN"
    assert code_of("<!DOCTYPE event>" + EVENT) == "COT_DTD_FORBIDDEN"


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY])
def test_entities_are_refused(doc):
    assert code_of(doc) == "COT_ENTITY_FORBIDDEN"


def test_an_undeclared_entity_reference_is_refused():
    assert code_of(edit('sensor="KOR-RADAR-1"', 'sensor="&xxe;"')) == "COT_ENTITY_FORBIDDEN"


def test_oversize_is_refused_before_parsing():
    padding = "<pad/>" * (MAX_EVENT_BYTES // 6)
    assert code_of(edit("<detail>", "<detail>" + padding)) == "COT_TOO_LARGE"


def test_deep_nesting_is_refused():
    deep = "<a>" * MAX_DEPTH + "</a>" * MAX_DEPTH
    assert code_of(edit("<detail>", "<detail>" + deep)) == "COT_TOO_DEEP"
    very_deep = "<a>" * 5_000  # never finished: refused as soon as the limit is passed
    assert code_of(f'<event version="2.0">{very_deep}') == "COT_TOO_DEEP"


def test_too_many_elements_are_refused():
    many = "<a/>" * MAX_ELEMENTS
    assert code_of(edit("<detail>", "<detail>" + many)) == "COT_TOO_MANY_ELEMENTS"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not xml",
        EVENT[:-3].encode(),
        b"<event",
        EVENT.encode() + b"<event/>",
        b"\x00<event/>",
    ],
)
def test_malformed_xml_is_refused(data):
    assert code_of(data) == "COT_MALFORMED"


def test_encodings_other_than_utf8_are_refused():
    assert code_of(b"\xff\xfe<\x00e\x00") == "COT_ENCODING"
    assert code_of('<?xml version="1.0" encoding="ISO-8859-1"?>' + EVENT) == "COT_ENCODING"


def test_not_bytes_is_refused():
    with pytest.raises(CotError) as info:
        decode_event(EVENT, SCHEMES)  # type: ignore[arg-type]
    assert info.value.code == "COT_MALFORMED"


@pytest.mark.parametrize(
    ("attr", "value"),
    [("lat", "90.0001"), ("lat", "-91"), ("lon", "180.5"), ("lon", "-200"), ("lat", "NaN"),
     ("lon", "inf"), ("lat", "1e999"), ("lat", ""), ("lon", "39,3"), ("lat", " 39.3"),
     ("lat", "0x10"), ("lat", "1_0"), ("hae", "9999999.0"), ("hae", "-5000"), ("ce", "-1")],
)  # fmt: skip
def test_bad_coordinates_are_refused(attr, value):
    data = re.sub(f' {attr}="[^"]*"', f' {attr}="{value}"', EVENT, count=1)
    assert code_of(data) == "COT_POINT_INVALID"


@pytest.mark.parametrize(
    ("attr", "value"),
    [("time", "2024-05-01T00:00:30"), ("stale", "yesterday"), ("start", ""),
     ("time", "2024-13-01T00:00:30Z")],
)  # fmt: skip
def test_unparseable_times_are_refused(attr, value):
    data = re.sub(f' {attr}="[^"]*"', f' {attr}="{value}"', EVENT, count=1)
    assert code_of(data) == "COT_TIME_INVALID"


def test_a_missing_time_is_refused():
    assert code_of(re.sub(' stale="[^"]*"', "", EVENT)) == "COT_TIME_INVALID"


@pytest.mark.parametrize(
    ("attr", "value"),
    [("start", "2024-05-01T00:00:41Z"), ("stale", "2024-05-01T00:00:30Z"),
     ("stale", "2024-05-01T00:00:29Z"), ("stale", "2024-05-02T00:00:31Z")],
)  # fmt: skip
def test_inconsistent_times_are_refused(attr, value):
    data = re.sub(f' {attr}="[^"]*"', f' {attr}="{value}"', EVENT, count=1)
    assert code_of(data) == "COT_TIME_INCONSISTENT"


def test_bad_times_in_detail_are_refused():
    launch = encode_event(message("launch"), SCHEMES).decode()
    assert code_of(re.sub(' launch="[^"]*"', ' launch="soon"', launch)) == "COT_TIME_INVALID"
    later = re.sub(' launch="[^"]*"', ' launch="2024-05-01T00:00:31Z"', launch)
    assert code_of(later) == "COT_TIME_INCONSISTENT"


@pytest.mark.parametrize(
    "cot_type", ["a-h-A-M-F-F", "a-h-A-M-H", "a-f-G-U-C", "a-h-A-W-M-S-A", "b-m-p-s-m"]
)
def test_wrong_types_are_refused(cot_type):
    assert code_of(edit('type="a-h-A-W-M-S-S"', f'type="{cot_type}"')) == "COT_TYPE_UNKNOWN"


def test_an_aircraft_type_is_named_as_such():
    with pytest.raises(CotError, match="aircraft"):
        decode_event(edit('type="a-h-A-W-M-S-S"', 'type="a-h-A-M-F"').encode(), SCHEMES)


@pytest.mark.parametrize("cot_type", ["", "a--h", "a h", "-a", "a-h-A-W-M-S-S-", "&lt;x&gt;"])
def test_malformed_types_are_refused(cot_type):
    assert code_of(edit('type="a-h-A-W-M-S-S"', f'type="{cot_type}"')) == "COT_TYPE_MALFORMED"


def test_a_type_or_uid_of_another_kind_is_refused():
    assert code_of(edit('type="a-h-A-W-M-S-S"', 'type="a-h-A-W-M-U"')) == "COT_TYPE_MISMATCH"
    assert code_of(edit('type="a-h-A-W-M-S-S"', 'type="u-d-c-e"')) == "COT_TYPE_MISMATCH"
    assert code_of(edit(f'uid="{TRACK}"', f'uid="{TRACK}.impact"')) == "COT_UID_MISMATCH"
    assert code_of(edit(f'uid="{TRACK}"', 'uid="someone-else"')) == "COT_UID_MISMATCH"


def test_a_downgraded_or_widened_access_is_refused():
    for access in ("//KOR CONFIDENTIAL//REL TO USA, JPN, KOR", "//KOR SECRET//REL TO USA, JPN, KOR, CHN",
                   "UNCLASSIFIED", "//KOR SECRET//REL TO JPN, KOR, USA", ""):  # fmt: skip
        data = re.sub(' access="[^"]*"', f' access="{access}"', EVENT)
        assert code_of(data) == "COT_ACCESS_MISMATCH", access
    assert code_of(re.sub(' access="[^"]*"', "", EVENT)) == "COT_ACCESS_MISSING"


def test_the_label_must_be_there_and_valid():
    start, end = EVENT.index("<slab:originator"), EVENT.index("</detail>")
    assert code_of(EVENT[:start] + EVENT[end:]) == "COT_LABEL_MISSING"
    assert code_of(edit("urn:gsomia:party:KOR", "urn:gsomia:party:kor")) == "COT_LABEL_INVALID"
    assert code_of(edit("군사II급비밀", "대외비")) == "COT_LABEL_UNKNOWN_LEVEL"
    assert code_of(
        edit("NK-MISSILE</slab:GenericValue>", "NK-MISSILE</slab:GenericValue><x/>")
    ) == ("COT_LABEL_INVALID")
    twice = EVENT[start:end]
    assert code_of(edit("</detail>", twice + "</detail>")) == "COT_DETAIL_INVALID"


def test_a_label_that_widens_releasability_still_needs_a_matching_access():
    # A sensor cannot smuggle a wider label under the old access: both are checked together.
    data = edit(
        "<slab:GenericValue>JPN</slab:GenericValue>", "<slab:GenericValue>CHN</slab:GenericValue>"
    )
    assert code_of(data) == "COT_ACCESS_MISMATCH"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('version="2.0"', 'version="1.0"', "COT_VERSION_UNSUPPORTED"),
        ('version="2.0"', 'version="2.0" evil="1"', "COT_ATTRIBUTE_UNEXPECTED"),
        (f'uid="{TRACK}"', 'uid=""', "COT_UID_INVALID"),
        ('how="m-s"', 'how="M S"', "COT_HOW_INVALID"),
        ("<point ", "<point/><point ", "COT_ELEMENT_UNEXPECTED"),
        ("<detail>", "<remarks/><detail>", "COT_ELEMENT_UNEXPECTED"),
        ('seq="2"', 'seq="02"', "COT_DETAIL_INVALID"),
        ('seq="2"', 'seq="0"', "COT_DETAIL_INVALID"),
        ('kind="update"', 'kind="explode"', "COT_DETAIL_INVALID"),
        ('weapon="SSM"', 'weapon="ICBM"', "COT_DETAIL_INVALID"),
        ('weapon="SSM"', 'weapon="SSM" colour="red"', "COT_DETAIL_INVALID"),
        ('speed="1800.0"', 'speed="-5"', "COT_DETAIL_INVALID"),
        ('speed="1800.0"', "", "COT_DETAIL_INVALID"),
        ('kind="update"', 'kind="launch"', "COT_TIME_INVALID"),
        ('track="KOR', 'track="K O R', "COT_TRACK_INVALID"),
        ('sensor="KOR-RADAR-1"', 'sensor=""', "COT_TRACK_INVALID"),
    ],
)
def test_structural_faults_are_refused(old, new, expected):
    assert code_of(edit(old, new)) == expected


def test_missing_parts_are_refused():
    assert code_of("<events/>") == "COT_NOT_EVENT"
    assert code_of('<x:event xmlns:x="urn:x" version="2.0"/>') == "COT_NOT_EVENT"
    point = re.search("<point [^>]*/>", EVENT)
    assert point is not None
    assert code_of(EVENT.replace(point.group(), "")) == "COT_POINT_MISSING"
    no_detail = EVENT[: EVENT.index("<detail>")] + "</event>"
    assert code_of(no_detail) == "COT_DETAIL_MISSING"
    msg = re.search("<gsomia:message [^>]*/>", EVENT)
    assert msg is not None
    assert code_of(EVENT.replace(msg.group(), "")) == "COT_MESSAGE_MISSING"
    assert code_of(EVENT.replace('<track course="80.0" speed="1800.0" slope="30.0"/>', "")) == (
        "COT_DETAIL_INVALID"
    )
    impact = encode_event(message("impact"), SCHEMES).decode()
    assert code_of(re.sub("<shape>.*</shape>", "", impact)) == "COT_DETAIL_INVALID"
    end = encode_event(message("end"), SCHEMES).decode()
    assert code_of(end.replace('reason="impact"', 'reason="boom"')) == "COT_DETAIL_INVALID"


def test_every_refusal_is_a_cot_error_with_a_stable_code():
    m = replace(message(), seq=3)
    assert decode_event(encode_event(m, SCHEMES), SCHEMES).seq == 3
    with pytest.raises(CotError) as info:
        decode_event(b"<event/>", SCHEMES)
    problem = info.value.to_problem()
    assert problem["code"] == "COT_VERSION_UNSUPPORTED"
    assert problem["status"] == 422


def test_a_large_label_round_trips_too():
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    rel_to = tuple(f"X{a}{b}" for a in letters[:6] for b in letters[:10])  # 60 trigraphs
    topics = tuple(f"NK-T{n}" for n in range(10))
    big = message(label=label(rel_to=(*rel_to, "KOR"), topics=topics))
    data = encode_event(big, SCHEMES)
    assert decode_event(data, SCHEMES) == big
    assert decode_event(data, SCHEMES) == big  # not memoized: decoded again, same value
