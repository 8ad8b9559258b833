"""STANAG 4774 XML of labels: vectors, structure, round trips and one test per malformed class."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from gsomia.errors import LabelError
from gsomia.labels import xml_codec
from gsomia.labels.json_codec import MAX_JSON_BYTES, canonical_bytes, loads
from gsomia.labels.model import (
    AlternativeLabel,
    Category,
    CategoryType,
    LabelSet,
    OriginatorLabel,
)
from gsomia.labels.xml_codec import (
    EXT_NS,
    MAX_XML_BYTES,
    MAX_XML_ELEMENTS,
    SLAB_NS,
    from_xml,
    to_xml,
)

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "labels"
KST = timezone(timedelta(hours=9))
NAMES = ["kor-originator", "jpn-alternative", "kor-jpn-labelset"]
KINDS: dict[str, type[Any]] = {
    "kor-originator": OriginatorLabel,
    "jpn-alternative": AlternativeLabel,
    "kor-jpn-labelset": LabelSet,
}


def vector(name: str) -> str:
    return (VECTORS / f"{name}.xml").read_text(encoding="utf-8")


def json_vector(name: str) -> Any:
    return loads((VECTORS / f"{name}.json").read_bytes(), KINDS[name])


ORIGINATOR_XML = vector("kor-originator")
ALTERNATIVE_XML = vector("jpn-alternative")
SET_XML = vector("kor-jpn-labelset")


def edit(text: str, old: str, new: str, count: int = 1) -> bytes:
    assert old in text, old
    return text.replace(old, new, count).encode("utf-8")


def code_of(data: bytes, kind: type[Any] | None = None) -> str:
    with pytest.raises(LabelError) as info:
        from_xml(data, kind)
    return info.value.code


# --- vectors and structure -------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_vector_decodes_to_the_json_vector(name: str) -> None:
    label = json_vector(name)
    assert from_xml(vector(name).encode("utf-8")) == label
    assert from_xml(vector(name).encode("utf-8"), KINDS[name]) == label


@pytest.mark.parametrize("name", NAMES)
def test_vector_is_exactly_what_to_xml_writes(name: str) -> None:
    assert to_xml(json_vector(name)) == (VECTORS / f"{name}.xml").read_bytes()


@pytest.mark.parametrize("name", NAMES)
def test_json_to_xml_to_json_keeps_canonical_bytes(name: str) -> None:
    label = json_vector(name)
    assert canonical_bytes(from_xml(to_xml(label))) == canonical_bytes(label)


def test_structure_follows_adatp_4774_appendix_1() -> None:
    root = ET.fromstring(ORIGINATOR_XML.encode())  # trusted: our own vector
    s = f"{{{SLAB_NS}}}"
    assert root.tag == s + "originatorConfidentialityLabel"
    assert [c.tag for c in root] == [
        s + "ConfidentialityInformation",
        s + "OriginatorID",
        s + "CreationDateTime",
    ]
    info = root[0]
    assert [c.tag for c in info][:2] == [s + "PolicyIdentifier", s + "Classification"]
    assert info[1].text == "군사II급비밀"
    releasable = next(c for c in info if c.get("TagName") == "Releasable To")
    assert releasable.get("Type") == "PERMISSIVE"
    assert [v.text for v in releasable] == ["JPN", "KOR"]
    assert all(v.tag == s + "GenericValue" for v in releasable)
    assert root.get("ReviewDateTime") == "2034-04-30T15:00:00Z"
    assert root[1].get("IDType") == "uniformResourceIdentifier"
    assert root[1].text == "urn:gsomia:party:KOR"


def test_alternative_carries_the_equivalence_in_the_gsomia_namespace() -> None:
    root = ET.fromstring(ALTERNATIVE_XML.encode())
    eq = root[-1]
    assert eq.tag == f"{{{EXT_NS}}}Equivalence"
    assert [c.text for c in eq] == ["KOR", "kor-jpn-gsomia-2016", "1"]
    assert root[1].text == "urn:gsomia:party:JPN"  # the label's creator is the re-marking party


def test_xml_is_utf8_not_character_references() -> None:
    data = to_xml(json_vector("kor-jpn-labelset"))
    assert "군사II급비밀".encode() in data
    assert "極秘".encode() in data
    assert b"&#" not in data


@pytest.mark.parametrize("level", ["極秘", "特定秘密", "秘"])
def test_japanese_levels_survive(level: str) -> None:
    alt = AlternativeLabel("JPN", level, "KOR", "JPN", "kor-jpn-gsomia-2016", 1,
                           datetime(2024, 5, 1, tzinfo=UTC))  # fmt: skip
    assert from_xml(to_xml(alt), AlternativeLabel).classification == level


def test_markup_characters_are_escaped() -> None:
    label = OriginatorLabel(
        policy_id="A&B",
        classification="<SECRET> & \"x\" 'y' ]]>",
        originator="KOR",
        created=datetime(2024, 5, 1, tzinfo=UTC),
        categories=(Category('Tag "&<>"', CategoryType.INFORMATIVE, ("]]>", "&amp;", " a ")),),
    )
    assert from_xml(to_xml(label)) == label


def test_other_prefixes_default_namespace_comments_and_cdata_are_read() -> None:
    text = (
        ORIGINATOR_XML.replace("slab:", "")
        .replace('xmlns:slab="', '  xmlns="')
        .replace(
            "<Classification>군사II급비밀</Classification>",
            "<!-- level --><Classification><![CDATA[군사II급비밀]]></Classification><?pi x?>",
        )
    )
    text = text.replace('<?xml version="1.0" encoding="UTF-8"?>\n', "\ufeff")
    assert from_xml(text.encode("utf-8")) == json_vector("kor-originator")


def test_offsets_in_times_are_accepted() -> None:
    data = edit(ORIGINATOR_XML, "2024-05-01T00:30:00Z", "2024-05-01T09:30:00+09:00")
    assert from_xml(data) == json_vector("kor-originator")


def test_kind_mismatch() -> None:
    assert code_of(ORIGINATOR_XML.encode(), LabelSet) == "LABEL_XML_ELEMENT_UNEXPECTED"
    assert code_of(SET_XML.encode(), AlternativeLabel) == "LABEL_XML_ELEMENT_UNEXPECTED"


def test_to_xml_refuses_a_non_label() -> None:
    with pytest.raises(TypeError):
        to_xml({"policy_id": "KOR"})  # type: ignore[arg-type]


# --- the largest valid labels fit both codecs' limits ------------------------------------------


def _largest_by_count() -> LabelSet:
    # 32 categories of 64 one-character values: the most elements a valid label can have.
    cats = tuple(
        Category(f"C{i:02}", CategoryType.INFORMATIVE, tuple(chr(0x4E00 + j) for j in range(64)))
        for i in range(32)
    )
    return _with_alternatives(OriginatorLabel("&", "&", "KOR", _T, cats, _T))


def _largest_by_text() -> LabelSet:
    # 4,096 characters, all of them the costliest to write: '"' and '&' in XML attributes and
    # text, four-byte characters in UTF-8.
    heavy = '"&' * 128
    cats = tuple(
        Category(
            heavy[:-1] + str(i), CategoryType.INFORMATIVE, (("&" if i % 2 else "\U0001f512") * 256,)
        )
        for i in range(7)
    )
    label = OriginatorLabel(heavy, heavy, "KOR", _T, cats, _T)
    assert len(heavy) * 2 + sum(len(c.name) + len(c.values[0]) for c in cats) == 4096
    return _with_alternatives(label)


_T = datetime(2024, 5, 1, 0, 0, 0, 123456, tzinfo=UTC)


def _with_alternatives(label: OriginatorLabel) -> LabelSet:
    heavy = '"&' * 128
    parties = [f"J{chr(65 + i)}N" for i in range(16)]
    return LabelSet(
        label,
        tuple(AlternativeLabel(heavy, heavy, "KOR", p, heavy, 2**53 - 1, _T) for p in parties),
    )


@pytest.mark.parametrize("build", [_largest_by_count, _largest_by_text])
def test_largest_label_sets_fit_the_limits(build: Any) -> None:
    label = build()
    xml = to_xml(label)
    assert len(xml) <= MAX_XML_BYTES
    assert len(canonical_bytes(label)) <= MAX_JSON_BYTES
    assert len(ET.fromstring(xml).findall(".//*")) + 1 <= MAX_XML_ELEMENTS
    assert from_xml(xml) == label
    assert loads(canonical_bytes(label), LabelSet) == label


# --- limits, encoding and well-formedness ---------------------------------------------------


def test_too_large() -> None:
    data = SET_XML.replace("</gs:LabelSet>", "<!--" + "x" * MAX_XML_BYTES + "--></gs:LabelSet>")
    assert code_of(data.encode()) == "LABEL_XML_TOO_LARGE"


@pytest.mark.parametrize(
    "data",
    [
        ORIGINATOR_XML.encode("utf-16"),
        b"\xff" + ORIGINATOR_XML.encode(),
        edit(ORIGINATOR_XML, 'encoding="UTF-8"', 'encoding="ISO-8859-1"'),
        edit(ORIGINATOR_XML, 'encoding="UTF-8"', "encoding='Shift_JIS'"),
    ],
)
def test_encoding(data: bytes) -> None:
    assert code_of(data) == "LABEL_XML_ENCODING"


def test_dtd_forbidden() -> None:
    data = edit(ORIGINATOR_XML, "?>\n", "?>\n<!DOCTYPE slab:originatorConfidentialityLabel>\n")
    assert code_of(data) == "LABEL_XML_DTD_FORBIDDEN"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<slab:originatorConfidentialityLabel xmlns:slab="{ns}">&lol9;</slab:originatorConfidentialityLabel>
"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE x [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<slab:originatorConfidentialityLabel xmlns:slab="{ns}">
  <slab:ConfidentialityInformation>
    <slab:PolicyIdentifier>KOR</slab:PolicyIdentifier>
    <slab:Classification>&xxe;</slab:Classification>
  </slab:ConfidentialityInformation>
</slab:originatorConfidentialityLabel>
"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE x [ <!ENTITY % remote SYSTEM "http://example.invalid/x.dtd"> %remote; ]>
<x/>
"""


@pytest.mark.parametrize("template", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY])
def test_entity_forbidden(template: str) -> None:
    assert code_of(template.format(ns=SLAB_NS).encode()) == "LABEL_XML_ENTITY_FORBIDDEN"


def test_undeclared_entity_reference_is_forbidden() -> None:
    data = edit(ORIGINATOR_XML, "군사II급비밀", "&xxe;")
    assert code_of(data) == "LABEL_XML_ENTITY_FORBIDDEN"


@pytest.mark.parametrize(
    "data",
    [
        ORIGINATOR_XML.encode()[: len(ORIGINATOR_XML.encode()) // 2],  # truncated
        ORIGINATOR_XML.encode()[:-2],  # truncated in the last end tag
        b"",
        b"   ",
        (ORIGINATOR_XML + "<x/>").encode(),  # junk after the document element
        edit(ORIGINATOR_XML, "</slab:Classification>", "</slab:Classificatio>"),
        edit(ORIGINATOR_XML, "군사II급비밀", "&#0;"),  # not an XML character
        edit(ORIGINATOR_XML, "군사II급비밀", "\x01"),
        edit(ORIGINATOR_XML, "군사II급비밀", "\ufffe"),
        edit(ORIGINATOR_XML, "<slab:Classification>", "<slab:Classification a='1' a='2'>"),
        edit(ORIGINATOR_XML, "<slab:PolicyIdentifier>", "<undeclared:PolicyIdentifier>"),
    ],
)
def test_malformed(data: bytes) -> None:
    assert code_of(data) == "LABEL_XML_MALFORMED"


def test_malformed_reports_position() -> None:
    with pytest.raises(LabelError) as info:
        from_xml(ORIGINATOR_XML.encode()[:200])
    assert info.value.detail["line"] >= 1


def test_not_bytes() -> None:
    assert code_of(ORIGINATOR_XML) == "LABEL_XML_MALFORMED"  # type: ignore[arg-type]


@pytest.mark.parametrize(("depth", "tag"), [(9, "slab:Category"), (50, "slab:x"), (30_000, "a")])
def test_too_deep(depth: int, tag: str) -> None:
    data = f'<slab:originatorConfidentialityLabel xmlns:slab="{SLAB_NS}">'
    data += f"<{tag}>" * depth + f"</{tag}>" * depth
    data += "</slab:originatorConfidentialityLabel>"
    assert code_of(data.encode()) == "LABEL_XML_TOO_DEEP"


def test_too_many_elements() -> None:
    values = "<slab:GenericValue>x</slab:GenericValue>" * MAX_XML_ELEMENTS
    data = edit(ORIGINATOR_XML, "<slab:GenericValue>JPN</slab:GenericValue>", values)
    assert code_of(data) == "LABEL_XML_TOO_MANY_ELEMENTS"


# --- namespace, elements, attributes, text ---------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        edit(ORIGINATOR_XML, SLAB_NS, "urn:nato:stanag:4774:confidentialitymetadatalabel:2:0"),
        edit(ORIGINATOR_XML.replace("slab:", ""), 'xmlns:slab="' + SLAB_NS + '"', ""),
        edit(ALTERNATIVE_XML, EXT_NS, "urn:example:other"),
        edit(ORIGINATOR_XML, "<slab:PolicyIdentifier>KOR</slab:PolicyIdentifier>",
             '<PolicyIdentifier xmlns="">KOR</PolicyIdentifier>'),
        edit(ORIGINATOR_XML, "</slab:ConfidentialityInformation>",
             '<ext:Marking xmlns:ext="urn:example:ext">x</ext:Marking>'
             "</slab:ConfidentialityInformation>"),
        b"<html/>",
    ],
)  # fmt: skip
def test_namespace(data: bytes) -> None:
    assert code_of(data) == "LABEL_XML_NAMESPACE"


def test_namespace_error_names_the_element() -> None:
    data = edit(ORIGINATOR_XML, "<slab:OriginatorID", '<OriginatorID xmlns=""', 1)
    data = data.replace(b"</slab:OriginatorID>", b"</OriginatorID>")
    with pytest.raises(LabelError) as info:
        from_xml(data)
    assert info.value.code == "LABEL_XML_NAMESPACE"
    assert info.value.detail["element"] == "OriginatorID"


@pytest.mark.parametrize(
    "data",
    [
        edit(ORIGINATOR_XML, "originatorConfidentialityLabel", "metadataConfidentialityLabel", 2),
        edit(ORIGINATOR_XML, "</slab:Classification>",
             "</slab:Classification><slab:PrivacyMark>x</slab:PrivacyMark>"),
        edit(ORIGINATOR_XML, "</slab:CreationDateTime>",
             "</slab:CreationDateTime><slab:SuccessionHandling/>"),
        edit(ORIGINATOR_XML, "<slab:GenericValue>JPN</slab:GenericValue>",
             "<slab:IntegerValue>1</slab:IntegerValue>"),
        edit(ORIGINATOR_XML, "<slab:Classification>군사II급비밀</slab:Classification>",
             "<slab:Classification>군사II급비밀</slab:Classification>" * 2),
        edit(ORIGINATOR_XML,
             "<slab:PolicyIdentifier>KOR</slab:PolicyIdentifier>\n"
             "    <slab:Classification>군사II급비밀</slab:Classification>",
             "<slab:Classification>군사II급비밀</slab:Classification>\n"
             "    <slab:PolicyIdentifier>KOR</slab:PolicyIdentifier>"),
        edit(ORIGINATOR_XML, "KOR</slab:PolicyIdentifier>",
             "<slab:GenericValue>KOR</slab:GenericValue></slab:PolicyIdentifier>"),
        edit(ALTERNATIVE_XML, "</slab:Classification>",
             '</slab:Classification><slab:Category Type="PERMISSIVE" TagName="Releasable To">'
             "<slab:GenericValue>JPN</slab:GenericValue></slab:Category>"),
        edit(ORIGINATOR_XML, "</slab:CreationDateTime>",
             "</slab:CreationDateTime><gs:Equivalence xmlns:gs='" + EXT_NS + "'/>"),
    ],
)  # fmt: skip
def test_element_unexpected(data: bytes) -> None:
    assert code_of(data) == "LABEL_XML_ELEMENT_UNEXPECTED"


@pytest.mark.parametrize(
    ("text", "old", "element"),
    [
        (ORIGINATOR_XML, "<slab:CreationDateTime>2024-05-01T00:30:00Z</slab:CreationDateTime>",
         "slab:CreationDateTime"),
        (ORIGINATOR_XML, "<slab:OriginatorID IDType=\"uniformResourceIdentifier\">"
         "urn:gsomia:party:KOR</slab:OriginatorID>", "slab:OriginatorID"),
        (ORIGINATOR_XML, "<slab:PolicyIdentifier>KOR</slab:PolicyIdentifier>",
         "slab:PolicyIdentifier"),
        (ALTERNATIVE_XML, "<gs:TableVersion>1</gs:TableVersion>", "gs:TableVersion"),
    ],
)  # fmt: skip
def test_element_missing(text: str, old: str, element: str) -> None:
    with pytest.raises(LabelError) as info:
        from_xml(edit(text, old, ""))
    assert info.value.code == "LABEL_XML_ELEMENT_MISSING"
    assert info.value.detail["element"] == element


def test_element_missing_equivalence() -> None:
    start = ALTERNATIVE_XML.index("  <gs:Equivalence>")
    end = ALTERNATIVE_XML.index("</gs:Equivalence>") + len("</gs:Equivalence>\n")
    data = (ALTERNATIVE_XML[:start] + ALTERNATIVE_XML[end:]).encode()
    assert code_of(data) == "LABEL_XML_ELEMENT_MISSING"


@pytest.mark.parametrize(
    "data",
    [
        edit(ORIGINATOR_XML, "<slab:PolicyIdentifier>",
             '<slab:PolicyIdentifier URI="urn:oid:1.2.410">'),
        edit(ORIGINATOR_XML, "<slab:Classification>", '<slab:Classification URI="urn:x">'),
        edit(ORIGINATOR_XML, " ReviewDateTime=", ' Id="l1" ReviewDateTime='),
        edit(ALTERNATIVE_XML, "<slab:alternativeConfidentialityLabel ",
             '<slab:alternativeConfidentialityLabel ReviewDateTime="2030-01-01T00:00:00Z" '),
        edit(ORIGINATOR_XML, 'TagName="Topic"', 'TagName="Topic" URI="urn:oid:1.2.3"'),
        edit(ORIGINATOR_XML, "<slab:ConfidentialityInformation>",
             '<slab:ConfidentialityInformation slab:x="1">'),
    ],
)  # fmt: skip
def test_attribute_unexpected(data: bytes) -> None:
    assert code_of(data) == "LABEL_XML_ATTRIBUTE_UNEXPECTED"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('Type="RESTRICTIVE" ', ""),
        (' TagName="Topic"', ""),
        (' IDType="uniformResourceIdentifier"', ""),
    ],
)
def test_attribute_missing(old: str, new: str) -> None:
    assert code_of(edit(ORIGINATOR_XML, old, new)) == "LABEL_XML_ATTRIBUTE_MISSING"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<slab:ConfidentialityInformation>", "<slab:ConfidentialityInformation>text"),
        ("</slab:ConfidentialityInformation>", "</slab:ConfidentialityInformation>tail"),
        ("</slab:GenericValue>\n    </slab:Category>",
         "</slab:GenericValue>x\n    </slab:Category>"),
    ],
)  # fmt: skip
def test_text_unexpected(old: str, new: str) -> None:
    assert code_of(edit(ORIGINATOR_XML, old, new)) == "LABEL_XML_TEXT_UNEXPECTED"


# --- semantic errors (model codes) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('IDType="uniformResourceIdentifier"', 'IDType="rfc822Name"'),
        ("urn:gsomia:party:KOR", "KOR"),
        ("urn:gsomia:party:KOR", "urn:gsomia:party:Korea"),
        ("urn:gsomia:party:KOR", "urn:gsomia:party:"),
        (
            "<slab:GenericValue>JPN</slab:GenericValue>",
            "<slab:GenericValue>Japan</slab:GenericValue>",
        ),
    ],
)
def test_party_invalid(old: str, new: str) -> None:
    assert code_of(edit(ORIGINATOR_XML, old, new)) == "LABEL_PARTY_INVALID"


def test_originating_party_invalid() -> None:
    data = edit(ALTERNATIVE_XML, ">KOR</gs:OriginatingParty>", ">kor</gs:OriginatingParty>")
    assert code_of(data) == "LABEL_PARTY_INVALID"


@pytest.mark.parametrize("kind", ["permissive", "MANDATORY", ""])
def test_category_type(kind: str) -> None:
    assert code_of(edit(ORIGINATOR_XML, 'Type="RESTRICTIVE"', f'Type="{kind}"')) == (
        "LABEL_CATEGORY_TYPE"
    )


@pytest.mark.parametrize("version", ["01", "+1", "one", "0", "", " 1", "１", "1" * 17])
def test_table_version_invalid(version: str) -> None:
    data = edit(ALTERNATIVE_XML, ">1</gs:TableVersion>", f">{version}</gs:TableVersion>")
    assert code_of(data) == "LABEL_FIELD_INVALID"


@pytest.mark.parametrize(
    "new",
    [
        "<slab:Classification></slab:Classification>",
        "<slab:Classification/>",
        "<slab:Classification>\n   군사II급비밀\n</slab:Classification>",  # pretty-printed text
        "<slab:Classification>" + "秘" * 257 + "</slab:Classification>",
    ],
)
def test_field_invalid(new: str) -> None:
    old = "<slab:Classification>군사II급비밀</slab:Classification>"
    assert code_of(edit(ORIGINATOR_XML, old, new)) == "LABEL_FIELD_INVALID"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("2024-05-01T00:30:00Z</", "2024-05-01T09:30:00</"),  # naive
        ("2024-05-01T00:30:00Z</", "2024-05-01</"),
        ("2024-05-01T00:30:00Z</", "soon</"),
        ('ReviewDateTime="2034-04-30T15:00:00Z"', 'ReviewDateTime="2034-04-30T15:00:00"'),
        ('ReviewDateTime="2034-04-30T15:00:00Z"', 'ReviewDateTime="2020-01-01T00:00:00Z"'),
    ],
)
def test_time_invalid(old: str, new: str) -> None:
    assert code_of(edit(ORIGINATOR_XML, old, new)) == "LABEL_TIME_INVALID"


def test_category_empty() -> None:
    data = edit(ORIGINATOR_XML, "<slab:GenericValue>NK-MISSILE</slab:GenericValue>", "")
    assert code_of(data) == "LABEL_CATEGORY_EMPTY"


def test_category_duplicate() -> None:
    data = edit(ORIGINATOR_XML, 'TagName="Topic"', 'TagName="Handling"')
    assert code_of(data) == "LABEL_CATEGORY_DUPLICATE"


def _alternative_block() -> str:
    start = SET_XML.index("  <slab:alternativeConfidentialityLabel>")
    end = SET_XML.index("</gs:LabelSet>")
    return SET_XML[start:end]


def test_too_many_alternatives() -> None:
    block = _alternative_block()
    alts = "".join(block.replace("party:JPN", f"party:J{chr(65 + i)}N") for i in range(17))
    assert code_of(SET_XML.replace(block, alts).encode()) == "LABEL_TOO_LARGE"


def test_alternative_duplicate() -> None:
    block = _alternative_block()
    assert code_of(SET_XML.replace(block, block * 2).encode()) == "LABEL_ALTERNATIVE_DUPLICATE"


def test_alternative_mismatch() -> None:
    data = edit(SET_XML, ">KOR</gs:OriginatingParty>", ">USA</gs:OriginatingParty>")
    assert code_of(data) == "LABEL_ALTERNATIVE_MISMATCH"


def test_every_code_is_listed_in_the_docstring() -> None:
    doc = xml_codec.__doc__ or ""
    for code in [
        "LABEL_XML_TOO_LARGE", "LABEL_XML_ENCODING", "LABEL_XML_DTD_FORBIDDEN",
        "LABEL_XML_ENTITY_FORBIDDEN", "LABEL_XML_MALFORMED", "LABEL_XML_TOO_DEEP",
        "LABEL_XML_TOO_MANY_ELEMENTS", "LABEL_XML_NAMESPACE", "LABEL_XML_ELEMENT_UNEXPECTED",
        "LABEL_XML_ELEMENT_MISSING", "LABEL_XML_ATTRIBUTE_UNEXPECTED",
        "LABEL_XML_ATTRIBUTE_MISSING", "LABEL_XML_TEXT_UNEXPECTED", "LABEL_PARTY_INVALID",
        "LABEL_CATEGORY_TYPE", "LABEL_FIELD_INVALID", "LABEL_TIME_INVALID",
        "LABEL_CATEGORY_EMPTY", "LABEL_CATEGORY_DUPLICATE", "LABEL_TOO_LARGE",
        "LABEL_ALTERNATIVE_MISMATCH", "LABEL_ALTERNATIVE_DUPLICATE",
    ]:  # fmt: skip
        assert code in doc
