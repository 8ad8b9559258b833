"""The wire layer's fast paths agree with the plain definitions they replace."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gsomia.envelope import wire
from gsomia.envelope.errors import Cause, EnvelopeError, SealError
from gsomia.envelope.item import SealedItem, parse_item
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.envelope.opening import open_item
from gsomia.envelope.seal import seal
from gsomia.labels.model import RELEASABLE_TO, Category, CategoryType, OriginatorLabel

T0 = datetime(2024, 5, 1, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)
KOR = NodeKeys.generate("KOR", T0)
JPN = NodeKeys.generate("JPN", T0)
TRUST = TrustStore().add_bundle(KOR.public_bundle())
LABEL = OriginatorLabel(
    policy_id="KOR",
    classification="군사II급비밀",
    originator="KOR",
    created=T0,
    categories=(Category(RELEASABLE_TO, CategoryType.PERMISSIVE, ("KOR", "JPN")),),
)
AGREEMENT = ("ROK-JPN-GSOMIA-2016", 1)

# Every character class the item-id grammar distinguishes, and a few it must refuse.
_ALPHABET = "aZ09._:- \n\t/é\x00"


def _seal(item_id: str | None = None) -> SealedItem:
    return seal(b"x", LABEL, {"JPN": JPN.current.enc}, AGREEMENT, KOR, NOW, item_id)


@pytest.mark.parametrize(
    "text",
    ["".join(p) for n in range(3) for p in itertools.product(_ALPHABET, repeat=n)]
    + ["a" * 64, "a" * 65, "A" + "-" * 63, "-" + "a" * 10, "KOR-1\n"],
)
def test_item_id_check_on_bytes_is_the_grammar(text: str) -> None:
    assert wire._valid_item_id_bytes(text.encode("utf-8")) == wire.valid_item_id(text)


@given(st.text(alphabet=st.sampled_from(_ALPHABET), max_size=70))
def test_item_id_check_on_bytes_is_the_grammar_everywhere(text: str) -> None:
    assert wire._valid_item_id_bytes(text.encode("utf-8")) == wire.valid_item_id(text)


def test_item_id_with_a_trailing_newline_is_refused() -> None:
    # "^…$" with re.match let "KOR-1\n" through; the grammar has no newline.
    assert not wire.valid_item_id("KOR-1\n")
    with pytest.raises(SealError):
        _seal("KOR-1\n")
    item = _seal("KOR-1")
    header = replace(item.header, item_id="KOR-1\n")
    data = SealedItem(header, header.encode(), item.segments, item.signature).to_bytes()
    with pytest.raises(EnvelopeError) as err:
        open_item(data, JPN, TRUST, NOW)
    assert err.value.cause is Cause.MALFORMED


def test_generated_item_ids_are_canonical_uuid4() -> None:
    seen = set()
    for _ in range(200):
        item_id = _seal().header.item_id
        parsed = uuid.UUID(item_id)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == item_id
        seen.add(item_id)
    assert len(seen) == 200


def test_parsed_fields_and_header_agree() -> None:
    data = _seal().to_bytes()
    fields, segments, signature = parse_item(data)
    header = fields.to_header()
    assert header.fields() == fields
    assert replace(header).encode() == fields.encoded  # re-encoded from the fields alone
    assert replace(header).core_bytes() == fields.core
    assert fields.encoded + b"".join(segments) + signature == data
    assert SealedItem.from_bytes(data).header == header


def test_sealed_header_bytes_are_its_encoding() -> None:
    item = _seal()
    fresh = replace(item.header)  # nothing kept from sealing
    assert fresh.encode() == item.header_bytes
    assert fresh.core_bytes() == item.header.core_bytes()
