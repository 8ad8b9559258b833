"""The envelope recipe: round trips, and every tampering rejected with one opaque error."""

from __future__ import annotations

import base64
import io
import pickle
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import rfc8785

from gsomia.envelope import _primitives as prim
from gsomia.envelope import wire
from gsomia.envelope.bdo import BDO_MEDIA_TYPE, binding_data_object, verify_binding_data_object
from gsomia.envelope.errors import REJECTED, Cause, EnvelopeError, SealError
from gsomia.envelope.info import AgreementRef
from gsomia.envelope.item import SealedItem
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.envelope.opening import open_item, open_stream
from gsomia.envelope.seal import seal, seal_stream
from gsomia.labels import json_codec
from gsomia.labels.model import (
    RELEASABLE_TO,
    TOPIC,
    AlternativeLabel,
    Category,
    CategoryType,
    LabelSet,
    OriginatorLabel,
)

T0 = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)
AGREEMENT = ("ROK-JPN-GSOMIA-2016", 1)

KOR = NodeKeys.generate("KOR", T0)
JPN = NodeKeys.generate("JPN", T0)
USA = NodeKeys.generate("USA", T0)
TRUST = TrustStore().add_bundle(KOR.public_bundle()).add_bundle(USA.public_bundle())


def make_label(
    level: str = "군사II급비밀", rel_to: tuple[str, ...] = ("KOR", "JPN", "USA")
) -> OriginatorLabel:
    return OriginatorLabel(
        policy_id="KOR",
        classification=level,
        originator="KOR",
        created=T0,
        categories=(
            Category(RELEASABLE_TO, CategoryType.PERMISSIVE, rel_to),
            Category(TOPIC, CategoryType.RESTRICTIVE, ("NK-MISSILE",)),
        ),
    )


LABEL = make_label()
TO_BOTH = {"JPN": JPN.current.enc, "USA": USA.current.enc}


def sealed(payload: bytes | Iterable[bytes] = b"launch detected", **kw: object) -> SealedItem:
    args: dict[str, object] = {
        "label": LABEL,
        "recipients": TO_BOTH,
        "agreement_ref": AGREEMENT,
        "sender": KOR,
        "now": NOW,
    }
    args.update(kw)
    return seal(payload, **args)  # type: ignore[arg-type]


def rejected(action: Callable[[], object]) -> Cause:
    """Run ``action``; it must raise the one opaque EnvelopeError. Return the audit cause."""
    with pytest.raises(EnvelopeError) as err:
        action()
    exc = err.value
    assert str(exc) == REJECTED
    assert exc.code == "ENVELOPE_REJECTED"
    assert exc.cause.value not in str(exc)
    assert exc.cause.value not in repr(exc)
    assert "cause" not in exc.to_problem()
    assert exc.cause.value not in str(exc.to_problem())
    return exc.cause


# ------------------------------------------------------------------ round trips


def test_round_trip_1_kib_to_two_recipients() -> None:
    payload = bytes(range(256)) * 4
    item = sealed(payload)
    data = item.to_bytes()
    for node in (JPN, USA):
        opened = open_item(data, node, TRUST, NOW)
        assert opened.payload == payload
        assert opened.label == LABEL
        assert opened.originator == "KOR"
        assert opened.sender == "KOR"
        assert opened.kid == KOR.signing_kid
        assert opened.created == NOW
        assert opened.agreement_ref == AgreementRef(*AGREEMENT)
        assert opened.recipients == ("JPN", "USA")
        assert opened.item_id == item.header.item_id
    assert SealedItem.from_bytes(data) == item
    assert SealedItem.from_bytes(data).to_bytes() == data


def test_item_id_is_uuid4_unless_given() -> None:
    a, b = sealed(), sealed()
    assert a.header.item_id != b.header.item_id
    assert len(a.header.item_id) == 36
    assert sealed(item_id="KOR-2024-000042").header.item_id == "KOR-2024-000042"


@pytest.mark.parametrize("size", [0, 1, 63, 64, 65, 640, 1000])
def test_multi_segment_round_trip(size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    item = sealed(payload, segment_size=64)
    assert len(item.segments) == max(1, -(-size // 64))
    assert open_item(item.to_bytes(), JPN, TRUST, NOW).payload == payload


def test_iterable_payload_is_recut_into_segments() -> None:
    chunks = [b"a" * 10, b"b" * 100, b"", b"c" * 30]
    item = sealed(iter(chunks), segment_size=64)
    assert len(item.segments) == 3
    assert open_item(item, JPN, TRUST, NOW).payload == b"".join(chunks)


def test_label_set_round_trip() -> None:
    alt = AlternativeLabel("JPN", "秘", "KOR", "JPN", AGREEMENT[0], 1, T0)
    labels = LabelSet(LABEL, (alt,))
    opened = open_item(sealed(label=labels).to_bytes(), USA, TRUST, NOW)
    assert opened.label == labels
    assert opened.originator == "KOR"


class Trickle:
    """A reader that returns at most 7 bytes per call (like a pipe)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1, /) -> bytes:
        return self._data.read(min(size, 7) if size >= 0 else 7)


def test_stream_round_trip_matches_in_memory_format() -> None:
    payload = bytes(i % 253 for i in range(5000))
    out = io.BytesIO()
    info = seal_stream(Trickle(payload), out, LABEL, TO_BOTH, AGREEMENT, KOR, NOW, segment_size=256)
    data = out.getvalue()
    opened = open_item(data, JPN, TRUST, NOW)
    assert opened.payload == payload
    assert opened.seal_digest == info.seal_digest
    plain = io.BytesIO()
    info2 = open_stream(Trickle(data), plain, USA, TRUST, NOW)
    assert plain.getvalue() == payload
    assert info2.seal_digest == info.seal_digest
    assert info2.item_id == info.item_id


def test_stream_of_exact_segment_multiple_and_empty() -> None:
    for payload in (b"", b"x" * 512):
        out = io.BytesIO()
        seal_stream(io.BytesIO(payload), out, LABEL, TO_BOTH, AGREEMENT, KOR, NOW, segment_size=256)
        plain = io.BytesIO()
        open_stream(io.BytesIO(out.getvalue()), plain, JPN, TRUST, NOW)
        assert plain.getvalue() == payload


# ------------------------------------------------------------------ tampering


def test_flipping_any_byte_is_rejected_with_the_same_error() -> None:
    data = sealed(b"launch point 39.0N 125.7E").to_bytes()
    causes = set()
    for i in range(len(data)):
        tampered = bytearray(data)
        tampered[i] ^= 0xFF
        causes.add(rejected(lambda t=bytes(tampered): open_item(t, JPN, TRUST, NOW)))
    assert Cause.SIGNATURE_INVALID in causes
    assert Cause.MALFORMED in causes


def test_flipping_bytes_of_a_stream_is_rejected() -> None:
    out = io.BytesIO()
    seal_stream(io.BytesIO(b"z" * 300), out, LABEL, TO_BOTH, AGREEMENT, KOR, NOW, segment_size=128)
    data = out.getvalue()
    for i in range(0, len(data), 7):
        tampered = bytearray(data)
        tampered[i] ^= 0x01
        rejected(
            lambda t=bytes(tampered): open_stream(io.BytesIO(t), io.BytesIO(), JPN, TRUST, NOW)
        )


def with_label(item: SealedItem, label_bytes: bytes, *, fix_digest: bool = True) -> bytes:
    header = replace(
        item.header,
        label_bytes=label_bytes,
        label_digest=prim.sha256(label_bytes) if fix_digest else item.header.label_digest,
    )
    return SealedItem(header, header.encode(), item.segments, item.signature).to_bytes()


def test_swapping_labels_between_items_is_rejected() -> None:
    a = sealed(b"A", label=make_label("군사II급비밀"))
    b = sealed(b"B", label=make_label("군사III급비밀"))
    assert rejected(lambda: open_item(with_label(a, b.header.label_bytes), JPN, TRUST, NOW)) == (
        Cause.SIGNATURE_INVALID
    )
    assert rejected(lambda: open_item(with_label(b, a.header.label_bytes), JPN, TRUST, NOW)) == (
        Cause.SIGNATURE_INVALID
    )


def test_downgrading_the_label_is_rejected() -> None:
    item = sealed()
    lower = json_codec.canonical_bytes(make_label("군사III급비밀"))
    assert rejected(lambda: open_item(with_label(item, lower), JPN, TRUST, NOW)) == (
        Cause.SIGNATURE_INVALID
    )
    cause = rejected(lambda: open_item(with_label(item, lower, fix_digest=False), JPN, TRUST, NOW))
    assert cause == Cause.LABEL_BINDING


def test_widening_releasable_to_is_rejected() -> None:
    item = sealed(label=make_label(rel_to=("KOR", "JPN")), recipients={"JPN": JPN.current.enc})
    wider = json_codec.canonical_bytes(make_label(rel_to=("KOR", "JPN", "USA")))
    rejected(lambda: open_item(with_label(item, wider), JPN, TRUST, NOW))


def test_non_canonical_label_is_rejected() -> None:
    item = sealed()
    spaced = json_codec.dumps(LABEL, indent=1).encode()
    rejected(lambda: open_item(with_label(item, spaced), JPN, TRUST, NOW))


def reassemble(item: SealedItem, segments: list[bytes]) -> bytes:
    return b"".join((item.header_bytes, *segments, item.signature))


def test_cut_reordered_and_duplicated_segments_are_rejected() -> None:
    item = sealed(bytes(300), segment_size=64)  # 5 segments
    seg = list(item.segments)
    assert len(seg) == 5
    cases = {
        # the signature that follows is read as a segment head: not a well-formed item
        "cut tail": (seg[:-1], {Cause.MALFORMED, Cause.SEGMENT_REORDERED}),
        "cut middle": ([*seg[:2], *seg[3:]], {Cause.SEGMENT_REORDERED}),
        "swap": ([seg[1], seg[0], *seg[2:]], {Cause.SEGMENT_REORDERED}),
        "duplicate": ([seg[0], *seg], {Cause.SEGMENT_REORDERED}),
        "final twice": ([*seg, seg[-1]], {Cause.MALFORMED}),
    }
    for segments, expected in cases.values():
        data = reassemble(item, segments)
        assert rejected(lambda d=data: open_item(d, JPN, TRUST, NOW)) in expected
        rejected(lambda d=data: open_stream(io.BytesIO(d), io.BytesIO(), JPN, TRUST, NOW))
    # Cut at a segment boundary, signature and all: the final segment never arrives.
    data = b"".join((item.header_bytes, *seg[:3]))
    assert rejected(lambda: open_item(data, JPN, TRUST, NOW)) == Cause.SEGMENT_TRUNCATED
    cause = rejected(lambda: open_stream(io.BytesIO(data), io.BytesIO(), JPN, TRUST, NOW))
    assert cause == Cause.SEGMENT_TRUNCATED


def test_truncation_at_a_segment_boundary_marked_final_is_rejected() -> None:
    item = sealed(bytes(300), segment_size=64)
    head = item.segments[1][: wire.SEGMENT_HEAD_SIZE]
    forged = b"\x01" + head[1:] + item.segments[1][wire.SEGMENT_HEAD_SIZE :]
    data = reassemble(item, [item.segments[0], forged])
    assert rejected(lambda: open_item(data, JPN, TRUST, NOW)) == Cause.SIGNATURE_INVALID
    cause = rejected(lambda: open_stream(io.BytesIO(data), io.BytesIO(), JPN, TRUST, NOW))
    assert cause == Cause.DECRYPT_FAILED  # the final flag is in the STREAM nonce


def test_stream_cut_before_the_signature_is_rejected() -> None:
    out = io.BytesIO()
    seal_stream(io.BytesIO(b"q" * 1000), out, LABEL, TO_BOTH, AGREEMENT, KOR, NOW, segment_size=128)
    data = out.getvalue()
    for cut in (5, 200, len(data) - 64, len(data) - 1):
        rejected(lambda c=cut: open_stream(io.BytesIO(data[:c]), io.BytesIO(), JPN, TRUST, NOW))
    rejected(lambda: open_stream(io.BytesIO(data + b"\x00"), io.BytesIO(), JPN, TRUST, NOW))


def test_wrong_recipient_is_rejected() -> None:
    item = sealed(recipients={"JPN": JPN.current.enc})
    assert rejected(lambda: open_item(item, USA, TRUST, NOW)) == Cause.NOT_A_RECIPIENT
    impostor = NodeKeys.generate("JPN", T0)  # right party, key not among the recipients
    assert rejected(lambda: open_item(item, impostor, TRUST, NOW)) == Cause.NOT_A_RECIPIENT


def test_unknown_kid_is_rejected() -> None:
    item = sealed()
    assert rejected(lambda: open_item(item, JPN, TrustStore(), NOW)) == Cause.UNKNOWN_KID
    stranger = NodeKeys.generate("KOR", T0)
    forged = sealed(sender=stranger)
    assert rejected(lambda: open_item(forged, JPN, TRUST, NOW)) == Cause.UNKNOWN_KID


def test_sender_claiming_another_party_is_rejected() -> None:
    item = sealed()
    header = replace(item.header, sender="USA")
    data = SealedItem(header, header.encode(), item.segments, item.signature).to_bytes()
    assert rejected(lambda: open_item(data, JPN, TRUST, NOW)) == Cause.UNKNOWN_KID


def test_clock_skew_is_rejected() -> None:
    item = sealed(now=NOW + timedelta(minutes=10))
    assert rejected(lambda: open_item(item, JPN, TRUST, NOW)) == Cause.CLOCK_SKEW
    assert open_item(item, JPN, TRUST, NOW, max_skew=timedelta(minutes=15)).payload
    old = sealed()
    later = NOW + timedelta(days=2)
    cause = rejected(lambda: open_item(old, JPN, TRUST, later, max_age=timedelta(days=1)))
    assert cause == Cause.CLOCK_SKEW


def test_rotated_key_still_verifies_old_item() -> None:
    t1, t2 = NOW + timedelta(days=1), NOW + timedelta(days=2)
    old_item = sealed()
    kor2 = KOR.rotate(t1)
    trust = TRUST.add_bundle(kor2.public_bundle())
    assert open_item(old_item, JPN, trust, t2).payload == b"launch detected"
    new_item = sealed(sender=kor2, now=t2)
    assert new_item.header.sender_kid != old_item.header.sender_kid
    assert open_item(new_item, JPN, trust, t2).kid == kor2.signing_kid
    # The retired key cannot vouch for an item dated after the rotation.
    late = sealed(sender=KOR, now=t2)
    assert rejected(lambda: open_item(late, JPN, trust, t2)) == Cause.KEY_NOT_VALID


def test_recipient_rotation_keeps_items_in_flight_readable() -> None:
    item = sealed()
    jpn2 = JPN.rotate(NOW + timedelta(minutes=1))
    assert open_item(item, jpn2, TRUST, NOW + timedelta(minutes=2)).payload == b"launch detected"


def test_key_commitment_catches_a_sender_giving_recipients_different_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = prim.wrap_key

    def split_brain(eph: prim.AgreementKey, public: bytes, secret: bytes, info: bytes) -> bytes:
        if public == USA.current.enc.public:
            secret = bytes(32)  # USA gets another content key than the header commits to
        return real(eph, public, secret, info)

    monkeypatch.setattr(prim, "wrap_key", split_brain)
    item = sealed()
    monkeypatch.undo()
    assert open_item(item, JPN, TRUST, NOW).payload
    assert rejected(lambda: open_item(item, USA, TRUST, NOW)) == Cause.KEY_COMMITMENT


def test_wrap_moved_between_recipients_is_rejected() -> None:
    item = sealed()
    jpn_entry, usa_entry = item.header.recipients
    moved = (replace(jpn_entry, wrapped=usa_entry.wrapped), usa_entry)
    header = replace(item.header, recipients=moved)
    data = SealedItem(header, header.encode(), item.segments, item.signature).to_bytes()
    rejected(lambda: open_item(data, JPN, TRUST, NOW))


@pytest.mark.parametrize(
    ("data", "cause"),
    [
        (b"", Cause.MALFORMED),
        (b"GSMA", Cause.SEGMENT_TRUNCATED),
        (b"XXXX\x01\x01\x00\x00\x00\x00", Cause.MALFORMED),
        (b"GSMA\x02\x01\x00\x00\x00\x00", Cause.UNSUPPORTED_VERSION),
        (b"GSMA\x01\x01\xff\xff\xff\xff", Cause.TOO_LARGE),
    ],
)
def test_malformed_preambles(data: bytes, cause: Cause) -> None:
    assert rejected(lambda: open_item(data, JPN, TRUST, NOW)) == cause


def test_size_limit_and_trailing_bytes() -> None:
    data = sealed(bytes(2000)).to_bytes()
    assert rejected(lambda: SealedItem.from_bytes(data, max_size=1000)) == Cause.TOO_LARGE
    assert rejected(lambda: open_item(data + b"\x00", JPN, TRUST, NOW)) == Cause.MALFORMED


def test_every_failure_has_the_same_message() -> None:
    item = sealed()
    attempts: list[Callable[[], object]] = [
        lambda: open_item(item, USA, TrustStore(), NOW),
        lambda: open_item(item.to_bytes()[:-1], JPN, TRUST, NOW),
        lambda: open_item(b"garbage", JPN, TRUST, NOW),
        lambda: open_item(sealed(now=NOW + timedelta(hours=1)), JPN, TRUST, NOW),
        lambda: open_item(sealed(recipients={"USA": USA.current.enc}), JPN, TRUST, NOW),
    ]
    messages = set()
    for attempt in attempts:
        with pytest.raises(EnvelopeError) as err:
            attempt()
        messages.add((str(err.value), repr(err.value), err.value.args))
    assert len(messages) == 1


def test_envelope_error_pickles_with_its_cause() -> None:
    exc = pickle.loads(pickle.dumps(EnvelopeError(Cause.DECRYPT_FAILED)))
    assert isinstance(exc, EnvelopeError)
    assert exc.cause is Cause.DECRYPT_FAILED


# ------------------------------------------------------------------ our own mistakes


def test_seal_refuses_bad_calls() -> None:
    retired = JPN.rotate(NOW - timedelta(minutes=1)).generations[0].enc
    bad_calls: list[dict[str, object]] = [
        {"recipients": {}},
        {"recipients": {"USA": JPN.current.enc}},
        {"recipients": {"JPN": JPN.current.sig}},
        {"recipients": {"JPN": retired}},
        {"agreement_ref": ("", 1)},
        {"agreement_ref": ("X", 0)},
        {"agreement_ref": "X"},
        {"item_id": "has space"},
        {"now": datetime(2024, 5, 1)},
        {"now": T0 - timedelta(days=1)},  # before the sender's key is valid
        {"segment_size": 8},
        {"label": "SECRET"},
    ]
    for kw in bad_calls:
        with pytest.raises(SealError):
            sealed(**kw)
    with pytest.raises(SealError):
        sealed("text")  # type: ignore[arg-type]


# ------------------------------------------------------------------ STANAG 4778 export


def test_binding_data_object_export_and_verification() -> None:
    item = sealed()
    bdo = binding_data_object(item, signer=KOR)
    assert BDO_MEDIA_TYPE == "application/vnd.nato.bindingdataobject+json"
    binding = bdo["bindingInformation"]["metadataBindingContainer"][0]["metadataBinding"]
    assert binding["metadata"]["originatorConfidentialityLabel"] == json_codec.to_dict(LABEL)
    assert binding["dataReference"][0]["uri"] == f"urn:gsomia:item:{item.header.item_id}"
    verify_binding_data_object(bdo, TRUST)
    # The detached JWS verifies over the canonical container (RFC 7515 appendix F).
    jws = bdo["bindingInformation"]["jws"]
    payload = base64.urlsafe_b64encode(
        rfc8785.dumps(bdo["bindingInformation"]["metadataBindingContainer"])
    ).rstrip(b"=")
    signature = base64.urlsafe_b64decode(jws["signature"] + "==")
    prim.ed25519_verify(
        KOR.current.sig.public, signature, jws["protected"].encode() + b"." + payload
    )
    # A downgraded label in the export no longer matches what the originator signed.
    binding["metadata"]["originatorConfidentialityLabel"]["classification"] = "군사III급비밀"
    assert rejected(lambda: verify_binding_data_object(bdo, TRUST)) == Cause.LABEL_BINDING
    with pytest.raises(SealError):
        binding_data_object(item, signer=USA)


def test_sealed_item_object_whose_fields_differ_from_its_bytes_is_rejected() -> None:
    item = sealed()
    lying = SealedItem(
        replace(item.header, agreement_id="OTHER"), item.header_bytes, item.segments, item.signature
    )
    assert rejected(lambda: open_item(lying, JPN, TRUST, NOW)) == Cause.MALFORMED


def test_open_stream_can_leave_the_reader_after_the_item() -> None:
    first, second = sealed(b"one").to_bytes(), sealed(b"two").to_bytes()
    reader = io.BytesIO(first + second)
    out = io.BytesIO()
    open_stream(reader, out, JPN, TRUST, NOW, require_eof=False)
    assert out.getvalue() == b"one"
    assert reader.read() == second
