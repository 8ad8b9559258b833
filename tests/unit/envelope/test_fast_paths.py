"""The seal/open fast paths (memos, lazy header, Structs) behave as the plain code they replace."""

from __future__ import annotations

import copy
import pickle
from dataclasses import FrozenInstanceError, replace
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gsomia.envelope import _primitives as prim
from gsomia.envelope import label_memo, wire
from gsomia.envelope.errors import Cause, EnvelopeError, SealError
from gsomia.envelope.info import AgreementRef
from gsomia.envelope.item import SealedItem, parse_item
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.envelope.opening import open_item
from gsomia.envelope.seal import seal
from gsomia.labels import json_codec
from gsomia.labels.model import RELEASABLE_TO, Category, CategoryType, OriginatorLabel

T0 = datetime(2024, 5, 1, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)
KOR = NodeKeys.generate("KOR", T0)
JPN = NodeKeys.generate("JPN", T0)
USA = NodeKeys.generate("USA", T0)
TRUST = TrustStore().add_bundle(KOR.public_bundle())
TO_BOTH = {"JPN": JPN.current.enc, "USA": USA.current.enc}
AGREEMENT = ("ROK-JPN-GSOMIA-2016", 1)


def _label(level: str = "군사II급비밀") -> OriginatorLabel:
    return OriginatorLabel(
        policy_id="KOR",
        classification=level,
        originator="KOR",
        created=T0,
        categories=(Category(RELEASABLE_TO, CategoryType.PERMISSIVE, ("KOR", "JPN", "USA")),),
    )


LABEL = _label()


def _seal(**kw: object) -> SealedItem:
    args: dict[str, object] = {
        "payload": b"track 42",
        "label": LABEL,
        "recipients": TO_BOTH,
        "agreement_ref": AGREEMENT,
        "sender": KOR,
        "now": NOW,
    }
    args.update(kw)
    return seal(**args)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the header, built and parsed


@given(
    item_id=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", fullmatch=True),
    micros=st.integers(0, 2**50),
    agreement=st.text(st.characters(blacklist_categories=("C", "Z")), min_size=1, max_size=32),
    table_version=st.integers(1, 2**32 - 1),
    segment_size=st.integers(wire.MIN_SEGMENT_SIZE, wire.MAX_SEGMENT_SIZE),
    nonce=st.binary(min_size=7, max_size=7),
    label=st.binary(min_size=1, max_size=300),
)
def test_built_header_is_encode_core_and_parses_back(
    item_id: str,
    micros: int,
    agreement: str,
    table_version: int,
    segment_size: int,
    nonce: bytes,
    label: bytes,
) -> None:
    created = wire._EPOCH + timedelta(microseconds=micros)
    fixed = wire.fixed_fields("KOR", "0123456789abcdef", agreement, table_version, segment_size)
    fields = wire.label_fields(wire.LabelKind.ORIGINATOR, prim.sha256(label), label)
    entry = wire.RecipientFields("JPN", "fedcba9876543210", bytes(range(48)))
    built = wire.build_header(
        item_id, created, fixed, nonce, b"c" * 32, b"e" * 32, fields, lambda _: (entry,)
    )
    values = (item_id, created, "KOR", "0123456789abcdef", agreement, table_version, segment_size)
    values += (nonce, b"c" * 32, b"e" * 32, wire.LabelKind.ORIGINATOR, prim.sha256(label), label)
    assert built.core == wire.encode_core(*values)
    assert tuple(built[:13]) == values
    parsed, end = wire._parse_header(built.encoded)
    assert end == len(built.encoded)
    assert parsed == built
    assert parsed.to_header().fields() == built
    assert replace(parsed.to_header()).encode() == built.encoded  # encoded afresh: same bytes


def test_parsed_fixed_fields_are_memoized_only_when_valid() -> None:
    data = _seal().to_bytes()
    good, _, _ = parse_item(data)
    assert good.sender == "KOR"
    # The same bytes under another agreement length byte, or an invalid table version: refused
    # every time, memo or not.
    header = replace(SealedItem.from_bytes(data).header, table_version=0)
    for _ in range(2):
        with pytest.raises(EnvelopeError) as err:
            wire.decode_header(header.encode())
        assert err.value.cause is Cause.MALFORMED
    again, _, _ = parse_item(data)
    assert again == good


@pytest.mark.parametrize("party", ["jpn", "JP1", "J\x00N"])
def test_recipient_parties_are_still_checked(party: str) -> None:
    item = _seal()
    entry = replace(item.header.recipients[0], party=party)
    header = replace(item.header, recipients=(entry, item.header.recipients[1]))
    with pytest.raises(EnvelopeError) as err:
        wire.decode_header(header.encode())
    assert err.value.cause is Cause.MALFORMED


def test_recipients_out_of_order_are_refused() -> None:
    item = _seal()
    jpn, usa = item.header.recipients
    header = replace(item.header, recipients=(usa, jpn))
    with pytest.raises(EnvelopeError):
        wire.decode_header(header.encode())


# ------------------------------------------------------------------ the sealed item value


def test_sealed_item_is_an_immutable_value_with_a_lazy_header() -> None:
    item = _seal()
    assert item.header_fields is not None
    assert item.header_bytes == item.header_fields.encoded
    parsed = SealedItem.from_bytes(item.to_bytes())
    assert parsed == item
    assert hash(parsed) == hash(item)
    assert item.header is item.header  # built once
    built = SealedItem(item.header, item.header_bytes, item.segments, item.signature)
    assert built.header_fields is None
    assert built == item
    assert hash(built) == hash(item)
    assert repr(built) == repr(item)
    for other in (pickle.loads(pickle.dumps(item)), copy.copy(item), copy.deepcopy(item)):
        assert other == item
    with pytest.raises(FrozenInstanceError):
        item.signature = b""  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del item.segments  # type: ignore[misc]
    assert item != item.to_bytes()


def test_opening_a_sealed_item_object_checks_it_as_the_parser_would() -> None:
    item = _seal(payload=bytes(300), segment_size=64)
    assert open_item(item, JPN, TRUST, NOW).payload == bytes(300)
    assert open_item(pickle.loads(pickle.dumps(item)), JPN, TRUST, NOW).payload == bytes(300)
    cut = SealedItem(item.header, item.header_bytes, item.segments[:-1], item.signature)
    with pytest.raises(EnvelopeError):
        open_item(cut, JPN, TRUST, NOW)


# ------------------------------------------------------------------ memos on sealing


def test_agreement_memo_never_admits_what_the_checks_refuse() -> None:
    _seal(agreement_ref=("X", 1))  # memoized with the int 1
    for bad in (("X", True), ("X", 1.0), ("X", 0), ("X\n", 1), ("", 1)):
        with pytest.raises(SealError):
            _seal(agreement_ref=bad)
    _seal(segment_size=64)
    with pytest.raises(SealError):
        _seal(segment_size=True)
    # An agreement ref given as any 2-item iterable is unpacked once.
    item = _seal(agreement_ref=iter(("X", 2)))
    assert (item.header.agreement_id, item.header.table_version) == ("X", 2)


def test_fixed_fields_follow_the_sender_key() -> None:
    a = _seal()
    kor2 = KOR.rotate(NOW)
    b = _seal(sender=kor2, now=NOW + timedelta(seconds=1))
    assert a.header.sender_kid == KOR.signing_kid
    assert b.header.sender_kid == kor2.signing_kid != a.header.sender_kid


# ------------------------------------------------------------------ the label memo


def test_label_memo_gives_what_the_codec_gives() -> None:
    for level in ("군사II급비밀", "군사III급비밀"):
        label = _label(level)
        fields = label_memo.encode(label)
        data = json_codec.canonical_bytes(label)
        assert fields.data == data
        assert fields.digest == prim.sha256(data)
        assert label_memo.encode(_label(level)) == fields  # an equal object: the same entry
        assert label_memo.digest(data) == prim.sha256(data)
        assert label_memo.decode(fields.kind, data) == (label, "KOR")
        assert label_memo.digest(data) == prim.sha256(data)  # now from the memo


def test_label_memo_never_admits_a_non_canonical_spelling() -> None:
    canonical = json_codec.canonical_bytes(LABEL)
    label_memo.decode(wire.LabelKind.ORIGINATOR, canonical)  # memoized
    spaced = json_codec.dumps(LABEL, indent=1).encode()
    for _ in range(2):
        with pytest.raises(EnvelopeError) as err:
            label_memo.decode(wire.LabelKind.ORIGINATOR, spaced)
        assert err.value.cause is Cause.LABEL_BINDING
    with pytest.raises(EnvelopeError):
        label_memo.decode(wire.LabelKind.LABEL_SET, canonical)  # the bytes, as another kind


# ------------------------------------------------------------------ results and primitives


def test_opened_item_is_an_immutable_value() -> None:
    data = _seal().to_bytes()
    a, b = open_item(data, JPN, TRUST, NOW), open_item(data, JPN, TRUST, NOW)
    assert a == b
    assert hash(a) == hash(b)
    assert a.agreement_ref == AgreementRef(*AGREEMENT)
    assert type(a.agreement_ref) is AgreementRef
    assert a.recipients == ("JPN", "USA")
    assert a.seal_digest == prim.sha256(SealedItem.from_bytes(data).to_be_signed())
    with pytest.raises(AttributeError):
        a.payload = b""  # type: ignore[misc]
    assert msgspec.structs.replace(a, payload=b"x").payload == b"x"


def test_direct_x25519_calls_agree_with_the_public_constructors() -> None:
    a, b = prim.AgreementKey.generate(), prim.AgreementKey.generate()
    assert prim.x25519_exchange(a, b.public_raw()) == prim.x25519_exchange(b, a.public_raw())
    assert prim._x25519_from_public(a.public_raw()).public_bytes_raw() == a.public_raw()
    wrapped = prim.wrap_key(a, b.public_raw(), b"k" * 32, b"info")
    assert prim.unwrap_key(b, a.public_raw(), wrapped, b"info") == b"k" * 32
    assert len(prim.random_bytes(55)) == 55
    assert prim.constant_time_equal(b"a", b"a")
    assert not prim.constant_time_equal(b"a", b"b")
