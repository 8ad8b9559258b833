"""Properties of the two label encodings: lossless round trips, and fuzzed input fails only cleanly.

For every valid label L (random text in any script, including the Korean and Japanese levels):
``from_dict(to_dict(L)) == L``, ``from_xml(to_xml(L)) == L``, and JSON → XML → JSON keeps the
canonical bytes.  Any bytes or text given to the decoders either decode or raise ``LabelError``.
"""

from __future__ import annotations

import contextlib
import json
import string
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gsomia.errors import LabelError
from gsomia.labels.json_codec import (
    AnyLabel,
    canonical_bytes,
    dumps,
    from_dict,
    label_digest,
    loads,
    to_dict,
)
from gsomia.labels.model import (
    RELEASABLE_TO,
    TOPIC,
    AlternativeLabel,
    Category,
    CategoryType,
    LabelSet,
    OriginatorLabel,
)
from gsomia.labels.xml_codec import from_xml, to_xml

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ = settings(max_examples=150, deadline=None)
MUTATE = settings(max_examples=100, deadline=None)

LEVELS = ["군사II급비밀", "군사III급비밀", "極秘", "特定秘密", "秘", "SECRET", "제3국 제공 금지"]

# Any character a label may hold: no C0 controls, no surrogates, no U+FFFE/U+FFFF.
_chars = st.characters(codec="utf-8", min_codepoint=0x20, exclude_characters="\ufffe\uffff")
texts = st.one_of(
    st.sampled_from(LEVELS),
    st.text(_chars, min_size=1, max_size=24),
).filter(lambda s: bool(s.strip()))
parties = st.one_of(
    st.sampled_from(["KOR", "JPN", "USA"]),
    st.text(alphabet=string.ascii_uppercase, min_size=3, max_size=3),
)
topics = st.from_regex(r"[A-Z0-9][A-Z0-9-]{0,15}", fullmatch=True)
zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5, minutes=-30))]
)
instants = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=zones
)


@st.composite
def categories(draw: st.DrawFn) -> tuple[Category, ...]:
    cats: list[Category] = []
    if draw(st.booleans()):
        values = draw(st.lists(parties, min_size=1, max_size=4))
        cats.append(Category(RELEASABLE_TO, CategoryType.PERMISSIVE, tuple(values)))
    if draw(st.booleans()):
        values = draw(st.lists(topics, min_size=1, max_size=3))
        cats.append(Category(TOPIC, CategoryType.RESTRICTIVE, tuple(values)))
    names = draw(
        st.lists(texts.filter(lambda n: n not in (RELEASABLE_TO, TOPIC)), unique=True, max_size=3)
    )
    for name in names:
        kind = draw(st.sampled_from(CategoryType))
        values = draw(st.lists(texts, min_size=1, max_size=4))
        cats.append(Category(name, kind, tuple(values)))
    return tuple(draw(st.permutations(cats)))


@st.composite
def originator_labels(draw: st.DrawFn, originator: str | None = None) -> OriginatorLabel:
    created = draw(instants)
    delay = draw(st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)))
    return OriginatorLabel(
        policy_id=draw(texts),
        classification=draw(texts),
        originator=originator or draw(parties),
        created=created,
        categories=draw(categories()),
        review=None if delay is None else created + delay,
    )


@st.composite
def alternative_labels(
    draw: st.DrawFn, originator: str | None = None, applied_by: str | None = None
) -> AlternativeLabel:
    return AlternativeLabel(
        policy_id=draw(texts),
        classification=draw(texts),
        originator=originator or draw(parties),
        applied_by=applied_by or draw(parties),
        agreement=draw(texts),
        table_version=draw(st.integers(min_value=1, max_value=2**53 - 1)),
        applied=draw(instants),
    )


@st.composite
def label_sets(draw: st.DrawFn) -> LabelSet:
    originator = draw(originator_labels())
    drawn = draw(st.lists(parties, unique=True, max_size=3))
    others = [party for party in drawn if party != originator.originator]
    alts = tuple(draw(alternative_labels(originator.originator, party)) for party in others)
    return LabelSet(originator, alts)


labels = st.one_of(originator_labels(), alternative_labels(), label_sets())


# --- round trips ------------------------------------------------------------------------------


@FAST
@given(labels)
def test_json_round_trip(label: AnyLabel) -> None:
    kind = type(label)
    assert from_dict(to_dict(label), kind) == label
    assert loads(dumps(label), kind) == label
    assert loads(dumps(label, indent=2), kind) == label
    assert loads(canonical_bytes(label), kind) == label


@FAST
@given(labels)
def test_canonical_bytes_are_canonical(label: AnyLabel) -> None:
    data = canonical_bytes(label)
    assert rfc8785.dumps(json.loads(data)) == data
    assert canonical_bytes(loads(data, type(label))) == data


@FAST
@given(labels)
def test_xml_round_trip(label: AnyLabel) -> None:
    data = to_xml(label)
    assert from_xml(data) == label
    assert from_xml(data, type(label)) == label
    assert to_xml(from_xml(data)) == data  # deterministic


@FAST
@given(labels)
def test_json_to_xml_to_json_keeps_canonical_bytes(label: AnyLabel) -> None:
    kind = type(label)
    from_json = loads(canonical_bytes(label), kind)
    through_xml = from_xml(to_xml(from_json), kind)
    assert canonical_bytes(through_xml) == canonical_bytes(label)
    assert label_digest(through_xml) == label_digest(label)


@FAST
@given(st.sampled_from(LEVELS), alternative_labels())
def test_korean_and_japanese_levels_survive_both_encodings(
    level: str, alt: AlternativeLabel
) -> None:
    alt = AlternativeLabel(
        alt.policy_id, level, alt.originator, alt.applied_by, alt.agreement,
        alt.table_version, alt.applied,
    )  # fmt: skip
    assert from_xml(to_xml(alt), AlternativeLabel).classification == level
    assert loads(dumps(alt), AlternativeLabel).classification == level


# --- fuzz: only LabelError ------------------------------------------------------------------


def only_label_errors(decode: Any, *args: Any) -> None:
    with contextlib.suppress(LabelError):  # anything else fails the test
        decode(*args)


KINDS = st.sampled_from([OriginatorLabel, AlternativeLabel, LabelSet])


@FUZZ
@given(st.binary(max_size=512))
def test_from_xml_on_arbitrary_bytes(data: bytes) -> None:
    only_label_errors(from_xml, data)


@FUZZ
@given(st.binary(max_size=512) | st.text(max_size=512), KINDS)
def test_loads_on_arbitrary_input(data: bytes | str, kind: type[Any]) -> None:
    only_label_errors(loads, data, kind)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=16,
)  # fmt: skip


@FUZZ
@given(json_values, KINDS)
def test_from_dict_on_arbitrary_values(obj: Any, kind: type[Any]) -> None:
    only_label_errors(from_dict, obj, kind)


@st.composite
def mutated(draw: st.DrawFn, encode: Any) -> bytes:
    data = bytearray(encode(draw(labels)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        action = draw(st.sampled_from(["delete", "insert", "replace"]))
        if action == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=16))]
        elif action == "insert":
            data[at:at] = draw(
                st.binary(min_size=1, max_size=8)
                | st.sampled_from([b"<", b">", b"&", b"<!DOCTYPE x>", b'"', b"{", b"]", b"\\u0000"])
            )
        else:
            data[at : at + 1] = draw(st.binary(min_size=1, max_size=1))
    return bytes(data)


@MUTATE
@given(mutated(to_xml))
def test_from_xml_on_mutated_labels(data: bytes) -> None:
    only_label_errors(from_xml, data)


@MUTATE
@given(mutated(canonical_bytes), KINDS)
def test_loads_on_mutated_labels(data: bytes, kind: type[Any]) -> None:
    only_label_errors(loads, data, kind)
