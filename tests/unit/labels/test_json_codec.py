"""Canonical JSON of labels (RFC 8785): vectors, round trips and one test per malformed class."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from gsomia.errors import LabelError
from gsomia.labels import json_codec
from gsomia.labels.json_codec import (
    MAX_JSON_BYTES,
    canonical_bytes,
    dumps,
    from_dict,
    label_digest,
    loads,
    to_dict,
)
from gsomia.labels.model import (
    AlternativeLabel,
    Category,
    CategoryType,
    LabelSet,
    OriginatorLabel,
)

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "labels"
KST = timezone(timedelta(hours=9))


def kor_label() -> OriginatorLabel:
    return OriginatorLabel(
        policy_id="KOR",
        classification="군사II급비밀",
        originator="KOR",
        created=datetime(2024, 5, 1, 9, 30, tzinfo=KST),
        categories=(
            Category("Releasable To", CategoryType.PERMISSIVE, ("KOR", "JPN")),
            Category("Topic", CategoryType.RESTRICTIVE, ("NK-MISSILE",)),
            Category("Handling", CategoryType.INFORMATIVE, ("제3국 제공 금지",)),
        ),
        review=datetime(2034, 5, 1, tzinfo=KST),
    )


def jpn_alternative(level: str = "極秘", party: str = "JPN") -> AlternativeLabel:
    return AlternativeLabel(
        policy_id=party,
        classification=level,
        originator="KOR",
        applied_by=party,
        agreement="kor-jpn-gsomia-2016",
        table_version=1,
        applied=datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=KST),
    )


def label_set() -> LabelSet:
    return LabelSet(kor_label()).with_alternative(jpn_alternative())


VECTOR_LABELS: dict[str, Any] = {
    "kor-originator": (OriginatorLabel, kor_label),
    "jpn-alternative": (AlternativeLabel, jpn_alternative),
    "kor-jpn-labelset": (LabelSet, label_set),
}

# Known answers: the RFC 8785 bytes of each vector and their SHA-256.
ORIGINATOR_CANONICAL = (
    '{"categories":[{"name":"Handling","type":"INFORMATIVE","values":["제3국 제공 금지"]},'
    '{"name":"Releasable To","type":"PERMISSIVE","values":["JPN","KOR"]},'
    '{"name":"Topic","type":"RESTRICTIVE","values":["NK-MISSILE"]}],'
    '"classification":"군사II급비밀","created":"2024-05-01T00:30:00Z","originator":"KOR",'
    '"policy_id":"KOR","review":"2034-04-30T15:00:00Z"}'
).encode()
ALTERNATIVE_CANONICAL = (
    '{"agreement":"kor-jpn-gsomia-2016","applied":"2024-05-01T01:00:00.250000Z",'
    '"applied_by":"JPN","classification":"極秘","originator":"KOR","policy_id":"JPN",'
    '"table_version":1}'
).encode()
SET_CANONICAL = (
    b'{"alternatives":[' + ALTERNATIVE_CANONICAL + b'],"originator":' + ORIGINATOR_CANONICAL + b"}"
)
KNOWN_ANSWERS = {
    "kor-originator": (
        ORIGINATOR_CANONICAL,
        "e3cdbbc9a8b220f300b8a63ff828fac4e10c730db8cbeb458107329f56fcab45",
    ),
    "jpn-alternative": (
        ALTERNATIVE_CANONICAL,
        "f5914cc5fa5cb943f41f43bbcd534415c6fb40a58bacbb590419e1841bfced0b",
    ),
    "kor-jpn-labelset": (
        SET_CANONICAL,
        "85f72143be527f3e075f56548a0ee478921e896a7781faa7b17af0c26d9c895c",
    ),
}


def code_of(data: str | bytes, kind: type[Any] = OriginatorLabel) -> str:
    with pytest.raises(LabelError) as info:
        loads(data, kind)
    return info.value.code


def originator_obj() -> dict[str, Any]:
    return to_dict(kor_label())


def alternative_obj() -> dict[str, Any]:
    return to_dict(jpn_alternative())


# --- vectors and known answers -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VECTOR_LABELS))
def test_vector_file_decodes_to_the_label(name: str) -> None:
    kind, build = VECTOR_LABELS[name]
    text = (VECTORS / f"{name}.json").read_text(encoding="utf-8")
    assert loads(text, kind) == build()


@pytest.mark.parametrize("name", sorted(VECTOR_LABELS))
def test_vector_file_is_what_dumps_writes(name: str) -> None:
    _, build = VECTOR_LABELS[name]
    text = (VECTORS / f"{name}.json").read_text(encoding="utf-8")
    assert text == dumps(build(), indent=2) + "\n"


@pytest.mark.parametrize("name", sorted(KNOWN_ANSWERS))
def test_canonical_bytes_known_answer(name: str) -> None:
    kind, _ = VECTOR_LABELS[name]
    expected, digest_hex = KNOWN_ANSWERS[name]
    label = loads((VECTORS / f"{name}.json").read_bytes(), kind)
    assert canonical_bytes(label) == expected
    assert hashlib.sha256(expected).hexdigest() == digest_hex
    assert label_digest(label).hex() == digest_hex


def test_dumps_is_the_canonical_text() -> None:
    label = label_set()
    assert dumps(label).encode("utf-8") == canonical_bytes(label)
    assert loads(dumps(label), LabelSet) == label


def test_canonical_bytes_do_not_depend_on_input_order_or_offsets() -> None:
    obj = originator_obj()
    obj["categories"] = list(reversed(obj["categories"]))
    obj["categories"][0]["values"] = list(reversed(obj["categories"][0]["values"]))
    obj["created"] = "2024-05-01T09:30:00+09:00"
    text = json.dumps(obj, indent=4, ensure_ascii=True)
    assert canonical_bytes(loads(text, OriginatorLabel)) == ORIGINATOR_CANONICAL


# --- round trips and text --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(VECTOR_LABELS))
def test_dict_round_trip(name: str) -> None:
    kind, build = VECTOR_LABELS[name]
    label = build()
    assert from_dict(to_dict(label), kind) == label
    assert loads(dumps(label), kind) == label


@pytest.mark.parametrize("level", ["極秘", "特定秘密", "秘"])
def test_japanese_levels_survive(level: str) -> None:
    alt = jpn_alternative(level)
    back = loads(canonical_bytes(alt), AlternativeLabel)
    assert back.classification == level
    assert level.encode("utf-8") in canonical_bytes(
        alt
    )  # UTF-8, not \u escapes (RFC 8785 §3.2.2.2)


def test_korean_level_survives() -> None:
    assert loads(dumps(kor_label()), OriginatorLabel).classification == "군사II급비밀"


def test_instants_are_utc_with_z_and_microseconds_only_when_set() -> None:
    obj = originator_obj()
    assert obj["created"] == "2024-05-01T00:30:00Z"
    assert alternative_obj()["applied"] == "2024-05-01T01:00:00.250000Z"


def test_review_is_omitted_when_absent() -> None:
    label = OriginatorLabel("KOR", "군사III급비밀", "KOR", datetime(2024, 1, 1, tzinfo=UTC))
    obj = to_dict(label)
    assert "review" not in obj
    assert obj["categories"] == []
    assert from_dict(obj, OriginatorLabel) == label


def test_from_dict_refuses_an_unknown_kind() -> None:
    with pytest.raises(TypeError):
        from_dict({}, dict)  # type: ignore[type-var]


def test_to_dict_refuses_a_non_label() -> None:
    with pytest.raises(TypeError):
        to_dict("KOR")  # type: ignore[arg-type]


# --- limits and syntax -------------------------------------------------------------------------


def test_too_large_bytes() -> None:
    assert code_of(b" " * (MAX_JSON_BYTES + 1)) == "LABEL_JSON_TOO_LARGE"


def test_too_large_text_counts_utf8_bytes() -> None:
    text = '{"policy_id":"' + "秘" * (MAX_JSON_BYTES // 3) + '"}'
    assert len(text) < MAX_JSON_BYTES
    assert code_of(text) == "LABEL_JSON_TOO_LARGE"


@pytest.mark.parametrize(
    "data",
    [
        '{"policy_id": "KOR", ',  # truncated
        "{} {}",  # junk after the value
        "{'policy_id': 'KOR'}",  # not JSON quotes
        "",
        b"\xff\xfe{}",  # not UTF-8
        "\ufeff{}",  # byte order mark
        b"\xef\xbb\xbf{}",
        '{"a": "\ud800"}'.encode("utf-8", "surrogatepass"),  # surrogate in UTF-8
        "\ud800",  # unencodable text
    ],
)
def test_malformed(data: str | bytes) -> None:
    assert code_of(data) == "LABEL_JSON_MALFORMED"


def test_malformed_reports_position() -> None:
    with pytest.raises(LabelError) as info:
        loads('{\n  "policy_id": }', OriginatorLabel)
    assert info.value.detail["line"] == 2


def test_not_text_or_bytes() -> None:
    assert code_of(123) == "LABEL_JSON_MALFORMED"  # type: ignore[arg-type]


@pytest.mark.parametrize("data", ["[" * 9 + "]" * 9, '{"a":' * 9 + "1" + "}" * 9, "[" * 100_000])
def test_too_deep(data: str) -> None:
    assert code_of(data) == "LABEL_JSON_TOO_DEEP"


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    obj = originator_obj()
    obj["categories"][0]["values"] = ['[[[[[[[[[[{{{{{{{{{{ \\" ]]']
    label = loads(json.dumps(obj), OriginatorLabel)
    assert label.caveats == {'[[[[[[[[[[{{{{{{{{{{ \\" ]]'}


def test_duplicate_key() -> None:
    text = json.dumps(originator_obj())[:-1] + ', "policy_id": "JPN"}'
    with pytest.raises(LabelError) as info:
        loads(text, OriginatorLabel)
    assert info.value.code == "LABEL_JSON_DUPLICATE_KEY"
    assert info.value.detail["field"] == "policy_id"


def test_duplicate_key_in_a_nested_object() -> None:
    text = json.dumps(originator_obj()).replace('"name": "Topic"', '"name": "Topic", "name": "X"')
    assert code_of(text) == "LABEL_JSON_DUPLICATE_KEY"


@pytest.mark.parametrize(
    "number", ["NaN", "Infinity", "-Infinity", "12345678901234567", "1" * 5000]
)
def test_number_invalid(number: str) -> None:
    text = json.dumps(alternative_obj()).replace('"table_version": 1', f'"table_version": {number}')
    assert code_of(text, AlternativeLabel) == "LABEL_JSON_NUMBER_INVALID"


@pytest.mark.parametrize("data", ["[]", '"KOR"', "1", "null", "true"])
def test_not_object(data: str) -> None:
    assert code_of(data) == "LABEL_JSON_NOT_OBJECT"


# --- fields ------------------------------------------------------------------------------------


def decode_code(obj: Any, kind: type[Any] = OriginatorLabel) -> tuple[str, Any]:
    with pytest.raises(LabelError) as info:
        loads(json.dumps(obj, ensure_ascii=False), kind)
    return info.value.code, info.value.detail.get("field")


@pytest.mark.parametrize(
    "field", ["policy_id", "classification", "originator", "created", "categories"]
)
def test_field_missing(field: str) -> None:
    obj = originator_obj()
    del obj[field]
    assert decode_code(obj) == ("LABEL_FIELD_MISSING", field)


def test_field_missing_in_a_category() -> None:
    obj = originator_obj()
    del obj["categories"][1]["type"]
    assert decode_code(obj) == ("LABEL_FIELD_MISSING", "categories[1].type")


@pytest.mark.parametrize("field", ["version", "Policy_Id", "releasable_to"])
def test_field_unknown(field: str) -> None:
    obj = originator_obj()
    obj[field] = 1
    assert decode_code(obj) == ("LABEL_FIELD_UNKNOWN", field)


def test_field_unknown_in_an_alternative_of_a_set() -> None:
    obj = to_dict(label_set())
    obj["alternatives"][0]["review"] = "2030-01-01T00:00:00Z"
    assert decode_code(obj, LabelSet) == ("LABEL_FIELD_UNKNOWN", "alternatives[0].review")


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("policy_id",), 1, "policy_id"),
        (("classification",), None, "classification"),
        (("categories",), {}, "categories"),
        (("categories", 0), "Handling", "categories[0]"),
        (("categories", 0, "values"), "KOR", "categories[0].values"),
        (("categories", 1, "values", 0), 410, "categories[1].values[0]"),
        (("review",), None, "review"),
        (("created",), 1714523400, "created"),
    ],
)
def test_field_invalid_type(path: tuple[Any, ...], value: Any, field: str) -> None:
    obj = originator_obj()
    target: Any = obj
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    assert decode_code(obj) == ("LABEL_FIELD_INVALID", field)


@pytest.mark.parametrize("version", ["1", True, 1.0, 0, -3, None])
def test_table_version_invalid(version: Any) -> None:
    obj = alternative_obj()
    obj["table_version"] = version
    assert decode_code(obj, AlternativeLabel)[0] == "LABEL_FIELD_INVALID"


@pytest.mark.parametrize("value", ["", "   ", "a\nb", "x" * 257])
def test_model_text_rules_apply(value: str) -> None:
    obj = originator_obj()
    obj["classification"] = value
    assert decode_code(obj)[0] == "LABEL_FIELD_INVALID"


def test_set_originator_must_be_an_object() -> None:
    assert decode_code({"originator": [], "alternatives": []}, LabelSet) == (
        "LABEL_FIELD_INVALID",
        "originator",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created", "2024-05-01T09:30:00"),  # naive
        ("created", "2024-05-01"),  # a date is not an instant
        ("created", "yesterday"),
        ("review", "2024-04-30T00:00:00Z"),  # before creation
        ("review", ""),
    ],
)
def test_time_invalid(field: str, value: str) -> None:
    obj = originator_obj()
    obj[field] = value
    assert decode_code(obj)[0] == "LABEL_TIME_INVALID"


def test_naive_applied_time() -> None:
    obj = alternative_obj()
    obj["applied"] = "2024-05-01T10:00:00.25"
    assert decode_code(obj, AlternativeLabel) == ("LABEL_TIME_INVALID", "applied")


@pytest.mark.parametrize("party", ["Korea", "kor", "KR", "KORE", "K0R", "한국"])
def test_party_invalid(party: str) -> None:
    obj = originator_obj()
    obj["originator"] = party
    assert decode_code(obj)[0] == "LABEL_PARTY_INVALID"


def test_applied_by_invalid() -> None:
    obj = alternative_obj()
    obj["applied_by"] = "JP"
    assert decode_code(obj, AlternativeLabel)[0] == "LABEL_PARTY_INVALID"


def test_releasable_to_values_must_be_parties() -> None:
    obj = originator_obj()
    obj["categories"][1]["values"] = ["KOR", "Japan"]
    assert decode_code(obj)[0] == "LABEL_PARTY_INVALID"


@pytest.mark.parametrize("kind", ["permissive", "MANDATORY", ""])
def test_category_type(kind: str) -> None:
    obj = originator_obj()
    obj["categories"][0]["type"] = kind
    assert decode_code(obj) == ("LABEL_CATEGORY_TYPE", "categories[0].type")


def test_category_empty() -> None:
    obj = originator_obj()
    obj["categories"][0]["values"] = []
    assert decode_code(obj)[0] == "LABEL_CATEGORY_EMPTY"


def test_category_duplicate() -> None:
    obj = originator_obj()
    obj["categories"].append(copy.deepcopy(obj["categories"][0]))
    assert decode_code(obj)[0] == "LABEL_CATEGORY_DUPLICATE"


def test_too_many_categories() -> None:
    obj = originator_obj()
    obj["categories"] = [
        {"name": f"C{i}", "type": "INFORMATIVE", "values": ["x"]} for i in range(33)
    ]
    assert decode_code(obj)[0] == "LABEL_TOO_LARGE"


def test_alternative_mismatch() -> None:
    obj = to_dict(label_set())
    obj["alternatives"][0]["originator"] = "USA"
    assert decode_code(obj, LabelSet)[0] == "LABEL_ALTERNATIVE_MISMATCH"


def test_alternative_duplicate() -> None:
    obj = to_dict(label_set())
    obj["alternatives"].append(copy.deepcopy(obj["alternatives"][0]))
    assert decode_code(obj, LabelSet)[0] == "LABEL_ALTERNATIVE_DUPLICATE"


def test_wrong_kind_is_refused_as_fields() -> None:
    assert decode_code(alternative_obj(), OriginatorLabel)[0] == "LABEL_FIELD_UNKNOWN"
    assert decode_code(originator_obj(), LabelSet)[0] == "LABEL_FIELD_UNKNOWN"


def test_every_documented_code_is_listed_in_the_docstring() -> None:
    doc = json_codec.__doc__ or ""
    for code in [
        "LABEL_JSON_TOO_LARGE", "LABEL_JSON_MALFORMED", "LABEL_JSON_TOO_DEEP",
        "LABEL_JSON_DUPLICATE_KEY", "LABEL_JSON_NUMBER_INVALID", "LABEL_JSON_NOT_OBJECT",
        "LABEL_FIELD_MISSING", "LABEL_FIELD_UNKNOWN", "LABEL_FIELD_INVALID", "LABEL_TIME_INVALID",
        "LABEL_PARTY_INVALID", "LABEL_CATEGORY_TYPE", "LABEL_CATEGORY_EMPTY",
        "LABEL_CATEGORY_DUPLICATE", "LABEL_TOO_LARGE", "LABEL_ALTERNATIVE_",
    ]:  # fmt: skip
        assert code in doc
