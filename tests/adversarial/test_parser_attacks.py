"""Hostile documents for every parser of untrusted input (boundary: anything a partner, a
sensor, a TAK client or an API caller hands us as bytes).

Parsers are pure: they hold no state, so "no partial state" is that they raise their own error
type with its stable code, and nothing else, quickly and within bounded memory.  Where a node
or the API parses (labels in a release, items and tokens on the channel), the refusal is
audited there: see test_api_attacks.py and test_custody_attacks.py.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import timedelta

import pytest

from gsomia.audit.checkpoint import Checkpoint
from gsomia.envelope import NodeKeys, TrustStore
from gsomia.errors import CotError, LabelError
from gsomia.labels import LabelSet, OriginatorLabel, json_codec, xml_codec
from gsomia.node import FrameError
from gsomia.node.framing import decode, item_frame
from gsomia.policy import Consent, ConsentKind
from gsomia.proofs import (
    NoteError,
    NoteVerifier,
    TokenError,
    _token,
    issue_consent,
    open_checkpoint,
    sign_checkpoint,
    tokens,
    verify_consent,
    verify_receipt,
)
from gsomia.tracks import CotFramer, decode_event
from tests.conftest import at, make_label
from tests.fuzz.fuzz_cot import SCHEMES
from tests.fuzz.test_fuzz_cot import seed_events

LABEL_XML = xml_codec.to_xml(make_label())
NOW = at("2026-11-23T12:00:00+09:00")


def _label_code(data: bytes) -> str:
    started = time.perf_counter()
    with pytest.raises(LabelError) as err:
        xml_codec.from_xml(data)
    assert time.perf_counter() - started < 2.0, "the refusal took too long"
    return err.value.code


def _after_declaration(doctype: bytes, body: bytes = LABEL_XML) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>' + doctype + body


LAUGHS = (
    b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]>"
)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (_after_declaration(LAUGHS, b"<a>&lol9;</a>"), "LABEL_XML_ENTITY_FORBIDDEN"),
        (
            _after_declaration(b'<!DOCTYPE a [<!ENTITY big "' + b"x" * 50_000 + b'">]>', b"<a>" + b"&big;" * 100 + b"</a>"),
            "LABEL_XML_ENTITY_FORBIDDEN",
        ),  # quadratic blow-up
        (
            _after_declaration(b'<!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', b"<a>&xxe;</a>"),
            "LABEL_XML_ENTITY_FORBIDDEN",
        ),  # XXE
        (
            _after_declaration(b'<!DOCTYPE a [<!ENTITY % p SYSTEM "http://example.invalid/p"> %p;]>'),
            "LABEL_XML_ENTITY_FORBIDDEN",
        ),  # parameter entity
        (_after_declaration(b'<!DOCTYPE a SYSTEM "http://example.invalid/x.dtd">'), "LABEL_XML_DTD_FORBIDDEN"),
        (LABEL_XML.replace(b"</slab:Classification>", b"&undeclared;</slab:Classification>", 1), "LABEL_XML_ENTITY_FORBIDDEN"),
        (LABEL_XML + b" " * (256 * 1024), "LABEL_XML_TOO_LARGE"),
        (b"<a>" * 9 + b"</a>" * 9, "LABEL_XML_TOO_DEEP"),
        (b"<a>" * 20_000 + b"</a>" * 20_000, "LABEL_XML_TOO_DEEP"),
        (b"<a>" + b"<b/>" * 5000 + b"</a>", "LABEL_XML_TOO_MANY_ELEMENTS"),
        (b'<?xml version="1.0" encoding="UTF-16"?><a/>', "LABEL_XML_ENCODING"),
        (b"\xff\xfe<\x00a\x00/\x00>\x00", "LABEL_XML_ENCODING"),
        (LABEL_XML[: len(LABEL_XML) // 2], "LABEL_XML_MALFORMED"),
    ],
    ids=[
        "billion-laughs", "quadratic-blowup", "xxe", "parameter-entity", "external-dtd",
        "undeclared-entity", "oversized", "deep", "very-deep", "too-many-elements",
        "utf16-declared", "utf16-bytes", "truncated",
    ],
)  # fmt: skip
def test_hostile_4774_xml_label(data: bytes, code: str) -> None:
    assert _label_code(data) == code


def test_4774_xml_label_downgraded_in_a_namespace_trick() -> None:
    """A second Classification in another namespace, or an element of none, is not read past."""
    twice = LABEL_XML.replace(
        b"</slab:Classification>",
        b'</slab:Classification><x:Classification xmlns:x="urn:evil">UNCLASSIFIED</x:Classification>',
        1,
    )
    assert _label_code(twice) in ("LABEL_XML_NAMESPACE", "LABEL_XML_ELEMENT_UNEXPECTED")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'{"a":' * 9 + b"1" + b"}" * 9, "LABEL_JSON_TOO_DEEP"),
        (b"[" * 150_000 + b"]" * 150_000, "LABEL_JSON_TOO_LARGE"),
        (b"[" * 50_000 + b"]" * 50_000, "LABEL_JSON_TOO_DEEP"),
        (b'{"policy_id":"KOR","policy_id":"USA"}', "LABEL_JSON_DUPLICATE_KEY"),
        (b'{"table_version":NaN}', "LABEL_JSON_NUMBER_INVALID"),
        (b'{"table_version":12345678901234567890}', "LABEL_JSON_NUMBER_INVALID"),
        (b"\xef\xbb\xbf{}", "LABEL_JSON_MALFORMED"),
        (b"[]", "LABEL_JSON_NOT_OBJECT"),
    ],
    ids=["deep", "oversized", "very-deep", "duplicate", "nan", "huge-int", "bom", "array"],
)
def test_hostile_json_label(data: bytes, code: str) -> None:
    with pytest.raises(LabelError) as err:
        json_codec.loads(data, OriginatorLabel)
    assert err.value.code == code


def test_json_label_with_a_smuggled_member() -> None:
    good = json_codec.to_dict(make_label())
    with pytest.raises(LabelError) as err:
        json_codec.from_dict({**good, "effective_classification": "UNCLASSIFIED"}, OriginatorLabel)
    assert err.value.code == "LABEL_FIELD_UNKNOWN"
    with pytest.raises(LabelError) as err:
        json_codec.from_dict({"originator": good, "alternatives": [], "x": 1}, LabelSet)
    assert err.value.code == "LABEL_FIELD_UNKNOWN"


# -- tokens (docs/wire-format.md §9.1) ----------------------------------------------------------


@pytest.fixture(scope="module")
def kor() -> NodeKeys:
    return NodeKeys.generate("KOR", NOW - timedelta(days=1))


def _consent(kor: NodeKeys, **changes: object) -> bytes:
    consent = Consent(
        ConsentKind.FORWARD, "c-1", "item-1", "ab" * 32, "KOR", "JPN", "USA",
        "joint assessment", NOW, NOW + timedelta(days=1),
    )  # fmt: skip
    return issue_consent(replace(consent, **changes), kor)  # type: ignore[arg-type]


def _token_code(token: bytes, trust: TrustStore, *, receipt: bool = False) -> str:
    with pytest.raises(TokenError) as err:
        (verify_receipt if receipt else verify_consent)(token, trust, NOW)
    return err.value.code


def test_hostile_tokens(kor: NodeKeys) -> None:
    trust = TrustStore().add_bundle(kor.public_bundle())
    token = _consent(kor)
    assert verify_consent(token, trust, NOW).consent_id == "c-1"
    spaced = token.replace(b'","', b'", "', 1)
    assert _token_code(spaced, trust) == "TOKEN_MALFORMED"  # not the canonical spelling
    assert _token_code(token, trust, receipt=True) == "TOKEN_WRONG_TYPE"
    assert _token_code(token + b" " * 17_000, trust) == "TOKEN_TOO_LARGE"
    assert _token_code(token, TrustStore()) == "TOKEN_UNKNOWN_KEY"
    at_sig = token.index(b'"sig":"') + 8
    bad = (
        token[:at_sig]
        + (b"A" if token[at_sig : at_sig + 1] != b"A" else b"B")
        + token[at_sig + 1 :]
    )
    assert _token_code(bad, trust) == "TOKEN_SIGNATURE_INVALID"
    future = _consent(kor, issued=NOW + timedelta(hours=1), expires=NOW + timedelta(days=2))
    assert _token_code(future, trust) == "TOKEN_FROM_FUTURE"
    retired = trust.retire(kor.signing_kid, NOW - timedelta(hours=1))
    assert _token_code(token, retired) == "TOKEN_KEY_NOT_VALID"  # signed after the rotation
    forged_claims = token.replace(b'"third_party":"USA"', b'"third_party":"JPN"')
    assert _token_code(forged_claims, trust) == "TOKEN_SIGNATURE_INVALID"


def test_token_signed_by_another_party(kor: NodeKeys) -> None:
    """JPN's key signing a consent that names KOR as originator."""
    jpn = NodeKeys.generate("JPN", NOW - timedelta(days=1))
    consent = Consent(
        ConsentKind.FORWARD, "c-1", "item-1", "ab" * 32, "KOR", "JPN", "USA",
        "joint assessment", NOW, NOW + timedelta(days=1),
    )  # fmt: skip
    forged = _token.issue(
        _token.CONSENT, consent, tokens._consent_claims(consent), tokens._consent_from, jpn,
        "JPN", NOW,
    )  # fmt: skip
    trust = TrustStore().add_bundle(kor.public_bundle()).add_bundle(jpn.public_bundle())
    assert _token_code(forged, trust) == "TOKEN_SIGNER_MISMATCH"


# -- signed checkpoints (docs/wire-format.md §9.2) --------------------------------------------


def test_hostile_signed_checkpoints(kor: NodeKeys) -> None:
    origin = "gsomia/kor/audit"
    note = sign_checkpoint(Checkpoint(origin, 5, b"\x11" * 32), kor)
    verifier = NoteVerifier.from_record(origin, kor.current.sig)
    assert open_checkpoint(note, [verifier])[0].size == 5

    def code(data: bytes, verifiers: list[NoteVerifier] | None = None) -> str:
        with pytest.raises((NoteError, Exception)) as err:
            open_checkpoint(data, [verifier] if verifiers is None else verifiers)
        return getattr(err.value, "code", type(err.value).__name__)

    assert code(note.replace(b"\n5\n", b"\n6\n", 1)) == "NOTE_SIGNATURE_INVALID"
    assert code(note[:-10]) == "NOTE_MALFORMED"
    assert code(note, []) == "NOTE_UNVERIFIED"
    stranger = NoteVerifier.from_record(origin, NodeKeys.generate("KOR", NOW).current.sig)
    assert code(note, [stranger]) == "NOTE_UNVERIFIED"
    assert code(note + b"\xe2\x80\x94 x " + b"A" * (64 * 1024) + b"\n") == "NOTE_TOO_LARGE"
    assert code(b"\x00" + note) == "NOTE_MALFORMED"


# -- Cursor on Target (docs/wire-format.md §12) -------------------------------------------------


def _event() -> bytes:
    return next(e for e in seed_events() if b"a-h-A-W-M" in e)


def _cot_code(data: bytes) -> str:
    with pytest.raises(CotError) as err:
        decode_event(data, SCHEMES)
    return err.value.code


def test_hostile_cot_events() -> None:
    event = _event()
    decode_event(event, SCHEMES)
    doctype = b'<!DOCTYPE event [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    assert _cot_code(doctype + event) in ("COT_ENTITY_FORBIDDEN", "COT_DTD_FORBIDDEN")
    assert _cot_code(b'<!DOCTYPE event SYSTEM "http://example.invalid/e.dtd">' + event) == (
        "COT_DTD_FORBIDDEN"
    )
    assert _cot_code(event + b" " * (64 * 1024)) == "COT_TOO_LARGE"
    deep = event.replace(b"<detail>", b"<detail>" + b"<x>" * 20 + b"</x>" * 20, 1)
    assert _cot_code(deep) == "COT_TOO_DEEP"
    aircraft = event.replace(b'type="a-h-A-W-M', b'type="a-h-A-M-F', 1)
    assert _cot_code(aircraft) in ("COT_TYPE_UNKNOWN", "COT_TYPE_MISMATCH")
    start = event.index(b'access="') + 8
    end = event.index(b'"', start)
    downgraded = event[:start] + b"UNCLASSIFIED" + event[end:]
    assert _cot_code(downgraded) == "COT_ACCESS_MISMATCH"
    widened = event[:start] + event[start:end].replace(b"REL TO ", b"REL TO CHN, ") + event[end:]
    assert _cot_code(widened) == "COT_ACCESS_MISMATCH"
    no_access = event[: start - 8] + event[end + 1 :]
    assert _cot_code(no_access) == "COT_ACCESS_MISSING"
    assert _cot_code(event.replace(b'lat="', b'lat="NaN', 1)) == "COT_POINT_INVALID"


def test_hostile_cot_stream() -> None:
    framer = CotFramer(max_event_bytes=4096)
    huge = b'<event version="2.0" ' + b"x" * 10_000 + b"</event>"
    out = framer.feed(b"garbage" + _event() + huge + _event())
    codes = [o.code for o in out if isinstance(o, CotError)]
    events = [o for o in out if isinstance(o, bytes)]
    assert "COT_FRAME_TOO_LARGE" in codes
    assert events == [_event(), _event()]  # framing resynchronises on the next </event>


# -- node frames (docs/wire-format.md §10) ------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x09",
        b"\x17" + b"{}",
        b"\x01\x00",
        b"\x01\x02nk\x00\x01p" + b"x",  # a lower-case topic
        b"\x01\x02NK\x00\x05p\x00rp" + b"x",  # a control character in the purpose
        b"\x01\x02NK\xff\xffp",  # a purpose longer than the frame
        b"\x03\x02NK\x00\x01p\x09" + b"\x00\x01x" * 9 + b"sealed",  # 9 proofs
        b"\x03\x02NK\x00\x01p\x01\xff\xff{}",  # a proof longer than the frame
    ],
)
def test_hostile_node_frames(data: bytes) -> None:
    with pytest.raises(FrameError) as err:
        decode(data)
    assert err.value.code == "NODE_FRAME_INVALID"


def test_frame_round_trip_stays_exact() -> None:
    frame = item_frame("NK-MISSILE", "p", b"sealed", (b"{}",))
    assert decode(frame).proofs == (b"{}",)
