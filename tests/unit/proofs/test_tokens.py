"""gsomia.proofs.tokens: consent, relay approval, revocation and receipt tokens."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import rfc8785

from gsomia.audit.checkpoint import Checkpoint
from gsomia.audit.merkle import MerkleTree
from gsomia.envelope import signing
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.errors import InputError, PeerError
from gsomia.labels import AlternativeLabel
from gsomia.policy import Code, Consent, ConsentKind, check_consent
from gsomia.proofs.errors import TokenError, TokenInputError
from gsomia.proofs.tokens import (
    MAX_TOKEN_BYTES,
    Assurance,
    Receipt,
    Revocation,
    apply_revocations,
    issue_consent,
    issue_receipt,
    issue_revocation,
    receipt_includes,
    verify_consent,
    verify_receipt,
    verify_revocation,
)
from tests.unit.proofs.conftest import NOW, T0

DIGEST = "ab" * 32


def consent(**overrides: Any) -> Consent:
    values: dict[str, Any] = {
        "kind": ConsentKind.FORWARD,
        "consent_id": "c-1",
        "item_id": "item-1",
        "item_digest": DIGEST,
        "originator": "KOR",
        "holder": "JPN",
        "third_party": "USA",
        "purpose": "missile defence",
        "issued": NOW - timedelta(days=1),
        "expires": NOW + timedelta(days=30),
        "conditions": ("no further release",),
    }
    values.update(overrides)
    return Consent(**values)


def receipt(**overrides: Any) -> Receipt:
    tree = MerkleTree.from_entries([b"a", b"b", b"accept item-1"])
    values: dict[str, Any] = {
        "item_id": "item-1",
        "item_digest": DIGEST,
        "sender": "KOR",
        "recipient": "JPN",
        "received": NOW,
        "alternative": AlternativeLabel("JPN", "極秘", "KOR", "JPN", "kor-jpn-gsomia-2016", 1, NOW),
        "log_index": 2,
        "checkpoint": Checkpoint("gsomia.jpn/audit", tree.size, tree.root()),
        "assurance": Assurance("SECRET (特定秘密)", "missile defence analysis"),
    }
    values.update(overrides)
    return Receipt(**values)


def decode(token: bytes) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(token)
    return obj


def forge(obj: dict[str, Any], keys: NodeKeys, context: signing.SigningContext) -> bytes:
    """Re-sign a token object as ``keys`` would: a valid signature over chosen claims."""
    unsigned = {k: v for k, v in obj.items() if k != "sig"}
    unsigned["kid"] = keys.signing_kid
    _, sig = signing.sign(keys, rfc8785.dumps(unsigned), context=context)
    out = {**unsigned, "sig": base64.urlsafe_b64encode(sig).rstrip(b"=").decode()}
    return bytes(rfc8785.dumps(out))


def reencode(token: bytes, **claims: Any) -> bytes:
    """The token with its claims changed and the signature kept (a tampered token)."""
    obj = decode(token)
    obj["claims"].update(claims)
    return bytes(rfc8785.dumps(obj))


def code_of(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(TokenError) as caught:
        call(*args, **kwargs)
    assert isinstance(caught.value, PeerError)
    return caught.value.code


# -- consent and relay approval -------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ConsentKind))
def test_consent_round_trip(kind: ConsentKind, kor: NodeKeys, trust: TrustStore) -> None:
    original = consent(kind=kind, holder="USA", third_party="JPN")
    token = issue_consent(original, kor)
    assert verify_consent(token, trust, NOW) == original
    obj = decode(token)
    assert obj["typ"] == "gsomia-consent/1"
    assert obj["alg"] == "Ed25519"
    assert obj["kid"] == kor.signing_kid
    assert obj["claims"]["issued"].endswith("Z")
    assert token == bytes(rfc8785.dumps(obj))  # canonical


def test_a_verified_consent_feeds_check_consent(kor: NodeKeys, trust: TrustStore) -> None:
    verified = verify_consent(issue_consent(consent(), kor), trust, NOW)
    act = {
        "kind": ConsentKind.FORWARD,
        "item_id": "item-1",
        "item_digest": DIGEST,
        "originator": "KOR",
        "holder": "JPN",
        "third_party": "USA",
        "purpose": "missile defence",
        "at": NOW,
    }
    assert check_consent(verified, **act) == ()
    # consent for another item: the token is genuine, the decision still refuses
    other_item = check_consent(verified, **{**act, "item_id": "item-2"})
    assert [r.code for r in other_item] == [Code.CONSENT_OTHER_ITEM]
    expired = check_consent(verified, **{**act, "at": NOW + timedelta(days=31)})
    assert [r.code for r in expired] == [Code.CONSENT_EXPIRED]
    wrong_kind = check_consent(verified, **{**act, "kind": ConsentKind.HUB_APPROVAL})
    assert [r.code for r in wrong_kind] == [Code.CONSENT_WRONG_KIND]


def test_forged_signature(kor: NodeKeys, trust: TrustStore) -> None:
    token = issue_consent(consent(), kor)
    obj = decode(token)
    sig = base64.urlsafe_b64decode(obj["sig"] + "==")
    obj["sig"] = base64.urlsafe_b64encode(bytes([sig[0] ^ 1]) + sig[1:]).rstrip(b"=").decode()
    assert code_of(verify_consent, rfc8785.dumps(obj), trust, NOW) == "TOKEN_SIGNATURE_INVALID"


@pytest.mark.parametrize(
    "change",
    [
        {"third_party": "CHN"},
        {"purpose": "another purpose"},
        {"expires": "2099-01-01T00:00:00Z"},
        {"item_digest": "cd" * 32},
        {"conditions": []},
    ],
)
def test_altered_claims_break_the_signature(
    change: dict[str, Any], kor: NodeKeys, trust: TrustStore
) -> None:
    token = reencode(issue_consent(consent(), kor), **change)
    assert code_of(verify_consent, token, trust, NOW) == "TOKEN_SIGNATURE_INVALID"


def test_signer_is_not_the_originator(kor: NodeKeys, jpn: NodeKeys, trust: TrustStore) -> None:
    # JPN, the holder, signs a "consent" naming KOR as originator: a valid JPN signature
    forged = forge(decode(issue_consent(consent(), kor)), jpn, signing.SigningContext.CONSENT)
    with pytest.raises(TokenError) as caught:
        verify_consent(forged, trust, NOW)
    assert caught.value.code == "TOKEN_SIGNER_MISMATCH"
    assert caught.value.detail == {"signer": "JPN", "expected": "KOR"}
    # and the issuing side refuses outright
    with pytest.raises(TokenInputError):
        issue_consent(consent(), jpn)


def test_unknown_key(kor: NodeKeys, jpn: NodeKeys) -> None:
    token = issue_consent(consent(), kor)
    assert code_of(verify_consent, token, jpn.trust_self(), NOW) == "TOKEN_UNKNOWN_KEY"


def test_rotation(kor: NodeKeys, rotated: NodeKeys) -> None:
    trust = rotated.trust_self()
    rotation = T0 + timedelta(days=100)
    before = consent(issued=rotation - timedelta(days=1), expires=rotation + timedelta(days=9))
    # issued while the old key was current: verifies long after the rotation
    assert verify_consent(issue_consent(before, kor), trust, NOW) == before
    # the old key vouching for a consent dated after its retirement
    after = consent(issued=rotation + timedelta(days=1))
    assert code_of(verify_consent, issue_consent(after, kor), trust, NOW) == "TOKEN_KEY_NOT_VALID"
    assert verify_consent(issue_consent(after, rotated), trust, NOW) == after
    with pytest.raises(TokenInputError):  # the new key cannot sign before it existed
        issue_consent(before, rotated)


def test_from_the_future(kor: NodeKeys, trust: TrustStore) -> None:
    token = issue_consent(consent(issued=NOW + timedelta(hours=1)), kor)
    assert code_of(verify_consent, token, trust, NOW) == "TOKEN_FROM_FUTURE"
    assert verify_consent(token, trust, NOW, max_skew=timedelta(hours=2)).issued > NOW
    assert verify_consent(token, trust, NOW + timedelta(hours=1)).consent_id == "c-1"


@pytest.mark.parametrize(
    "bad",
    [
        {"revoked_at": NOW},  # revocation is its own token
        {"item_digest": "AB" * 32},
        {"item_digest": "ab" * 31},
        {"consent_id": "has space"},
        {"item_id": ""},
        {"holder": "jpn"},
        {"purpose": " "},
        {"purpose": "x" * 257},
        {"purpose": "line\nbreak"},
        {"purpose": "lone \ud800 surrogate"},
        {"conditions": ["a list"]},
        {"conditions": tuple(f"c{i}" for i in range(33))},
        {"expires": NOW - timedelta(days=2)},
        {"issued": T0 - timedelta(days=1)},  # before KOR's key was valid
    ],
)
def test_issue_consent_refuses(bad: dict[str, Any], kor: NodeKeys) -> None:
    with pytest.raises(TokenInputError) as caught:
        issue_consent(consent(**bad), kor)
    assert caught.value.code == "TOKEN_INPUT_INVALID"
    assert isinstance(caught.value, InputError)


def test_issue_misuse(kor: NodeKeys, trust: TrustStore) -> None:
    with pytest.raises(TokenInputError):
        issue_consent("consent", kor)  # type: ignore[arg-type]
    with pytest.raises(TokenInputError):
        issue_consent(consent(), "keys")  # type: ignore[arg-type]
    token = issue_consent(consent(), kor)
    with pytest.raises(TokenInputError):
        verify_consent(token, trust, NOW.replace(tzinfo=None))


# -- strict parsing -------------------------------------------------------------------------


def test_truncated_and_oversized_tokens(kor: NodeKeys, trust: TrustStore) -> None:
    token = issue_consent(consent(), kor)
    for cut in range(0, len(token), 7):
        assert code_of(verify_consent, token[:cut], trust, NOW) == "TOKEN_MALFORMED"
    big = consent(conditions=tuple("x" * 250 for _ in range(32)), purpose="p" * 256)
    assert len(issue_consent(big, kor)) < MAX_TOKEN_BYTES
    padded = b" " * (MAX_TOKEN_BYTES + 1)
    assert code_of(verify_consent, padded, trust, NOW) == "TOKEN_TOO_LARGE"
    assert code_of(verify_consent, "text", trust, NOW) == "TOKEN_MALFORMED"


def test_duplicate_keys_are_refused(kor: NodeKeys, trust: TrustStore) -> None:
    token = issue_consent(consent(), kor)
    doubled = token.replace(b'"holder":"JPN"', b'"holder":"JPN","holder":"JPN"')
    with pytest.raises(TokenError) as caught:
        verify_consent(doubled, trust, NOW)
    assert caught.value.code == "TOKEN_MALFORMED"
    assert caught.value.detail["field"] == "holder"
    outer = token[:-1] + b',"typ":"gsomia-consent/1"}'
    assert code_of(verify_consent, outer, trust, NOW) == "TOKEN_MALFORMED"


def test_non_canonical_spellings_are_refused(kor: NodeKeys, trust: TrustStore) -> None:
    token = issue_consent(consent(purpose="défense"), kor)
    obj = decode(token)
    typ = b',"typ":"gsomia-consent/1"'
    assert token.endswith(typ + b"}")
    variants = [
        json.dumps(obj).encode(),  # whitespace
        json.dumps(obj, separators=(",", ":")).encode(),  # \u escapes for é
        b'{"typ":"gsomia-consent/1",' + token[1:].replace(typ, b""),  # member order
        b"\xef\xbb\xbf" + token,  # byte order mark
        token + b"\n",
    ]
    for variant in variants:
        assert variant != token
        assert json.loads(variant.decode("utf-8-sig")) == obj  # the same JSON value
        assert code_of(verify_consent, variant, trust, NOW) == "TOKEN_MALFORMED"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("claims", "unknown"), "x", "claims.unknown"),
        (("extra",), 1, "extra"),
        (("claims", "item_id"), 5, "claims.item_id"),
        (("claims", "conditions"), "one", "claims.conditions"),
        (("claims", "conditions"), [1], "claims.conditions[0]"),
        (("claims", "kind"), "blanket_consent", "claims.kind"),
        (("claims", "kind"), ["forward_consent"], "claims.kind"),
        (("claims", "issued"), "2026-11-22T12:00:00+09:00", "claims.issued"),  # not in Z
        (("claims", "issued"), "2026-11-22", "claims.issued"),
        (("claims", "originator"), None, "claims.originator"),
        (("claims",), [], "claims"),
    ],
)
def test_strict_fields(
    path: tuple[str, ...], value: Any, field: str, kor: NodeKeys, trust: TrustStore
) -> None:
    obj = decode(issue_consent(consent(), kor))
    target = obj
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(TokenError) as caught:
        verify_consent(rfc8785.dumps(obj), trust, NOW)
    assert caught.value.code == "TOKEN_MALFORMED"
    assert caught.value.detail.get("field") == field


def test_missing_members_floats_and_big_integers(kor: NodeKeys, trust: TrustStore) -> None:
    token = issue_consent(consent(), kor)
    obj = decode(token)
    del obj["claims"]["purpose"]
    with pytest.raises(TokenError) as caught:
        verify_consent(rfc8785.dumps(obj), trust, NOW)
    assert caught.value.detail["field"] == "claims.purpose"
    for raw in (b'"purpose":1.5', b'"purpose":12345678901234567', b'"purpose":NaN'):
        bad = token.replace(b'"purpose":"missile defence"', raw)
        assert code_of(verify_consent, bad, trust, NOW) == "TOKEN_MALFORMED"
    deep = b"[" * 5000 + b"]" * 5000
    assert code_of(verify_consent, deep, trust, NOW) == "TOKEN_MALFORMED"
    assert code_of(verify_consent, b'"a string"', trust, NOW) == "TOKEN_MALFORMED"
    assert code_of(verify_consent, b'{"a":"\\ud800"}', trust, NOW) == "TOKEN_MALFORMED"


def test_envelope_members(kor: NodeKeys, trust: TrustStore) -> None:
    obj = decode(issue_consent(consent(), kor))
    for key, value in (("alg", "EdDSA"), ("kid", 7), ("typ", "gsomia-consent/2"), ("sig", "!")):
        bad = {**obj, key: value}
        assert code_of(verify_consent, rfc8785.dumps(bad), trust, NOW) == "TOKEN_MALFORMED"
    short = {**obj, "sig": obj["sig"][:-4]}
    assert code_of(verify_consent, rfc8785.dumps(short), trust, NOW) == "TOKEN_MALFORMED"


def test_wrong_type(kor: NodeKeys, jpn: NodeKeys, trust: TrustStore) -> None:
    revocation = issue_revocation("c-1", kor, NOW)
    assert code_of(verify_consent, revocation, trust, NOW) == "TOKEN_WRONG_TYPE"
    assert code_of(verify_receipt, revocation, trust, NOW) == "TOKEN_WRONG_TYPE"
    token = issue_receipt(receipt(), jpn)
    assert code_of(verify_revocation, token, trust, NOW) == "TOKEN_WRONG_TYPE"
    # relabelling the type keeps the claims but the signature context differs
    consent_obj = decode(issue_consent(consent(), kor))
    relabelled = {**consent_obj, "typ": "gsomia-revocation/1"}
    assert code_of(verify_revocation, rfc8785.dumps(relabelled), trust, NOW) == "TOKEN_MALFORMED"


# -- revocation -----------------------------------------------------------------------------


def test_revocation_round_trip(kor: NodeKeys, trust: TrustStore) -> None:
    token = issue_revocation("c-1", kor, NOW)
    assert verify_revocation(token, trust, NOW) == Revocation("c-1", "KOR", NOW)


def test_revoked_via_revocation_token(kor: NodeKeys, trust: TrustStore) -> None:
    verified = verify_consent(issue_consent(consent(), kor), trust, NOW)
    revoked_at = NOW + timedelta(days=2)
    tokens = [
        issue_revocation("c-other", kor, NOW),  # another consent: skipped
        issue_revocation("c-1", kor, revoked_at + timedelta(days=1)),
        issue_revocation("c-1", kor, revoked_at),  # the earliest wins
    ]
    later = revoked_at + timedelta(days=3)
    updated = apply_revocations(verified, tokens, trust, later)
    assert updated.revoked_at == revoked_at
    act = {
        "kind": ConsentKind.FORWARD,
        "item_id": "item-1",
        "item_digest": DIGEST,
        "originator": "KOR",
        "holder": "JPN",
        "third_party": "USA",
        "purpose": None,
    }
    assert check_consent(updated, **act, at=revoked_at - timedelta(seconds=1)) == ()
    refused = check_consent(updated, **act, at=revoked_at)
    assert [r.code for r in refused] == [Code.CONSENT_REVOKED]
    assert apply_revocations(verified, [], trust, NOW) is verified
    assert apply_revocations(verified, tokens[:1], trust, NOW) is verified


def test_revocation_by_another_party_is_refused(
    kor: NodeKeys, jpn: NodeKeys, trust: TrustStore
) -> None:
    verified = verify_consent(issue_consent(consent(), kor), trust, NOW)
    # the holder cannot "revoke" in the originator's name…
    forged = forge(
        decode(issue_revocation("c-1", kor, NOW)), jpn, signing.SigningContext.REVOCATION
    )
    assert code_of(apply_revocations, verified, [forged], trust, NOW) == "TOKEN_SIGNER_MISMATCH"
    # …and its own revocation names JPN, so it does not touch KOR's consent
    own = issue_revocation("c-1", jpn, NOW)
    assert apply_revocations(verified, [own], trust, NOW).revoked_at is None
    tampered = reencode(issue_revocation("c-1", kor, NOW), revoked_at="2027-01-01T00:00:00Z")
    assert code_of(apply_revocations, verified, [tampered], trust, NOW) == (
        "TOKEN_SIGNATURE_INVALID"
    )


def test_revocation_misuse(kor: NodeKeys, trust: TrustStore) -> None:
    with pytest.raises(TokenInputError):
        issue_revocation("c-1", kor, NOW.replace(tzinfo=None))
    with pytest.raises(TokenInputError):
        issue_revocation("bad id", kor, NOW)
    with pytest.raises(TokenInputError):
        issue_revocation("c-1", "keys", NOW)  # type: ignore[arg-type]
    with pytest.raises(TokenInputError):
        apply_revocations("consent", [], trust, NOW)  # type: ignore[arg-type]


# -- receipts -------------------------------------------------------------------------------


def test_receipt_round_trip(jpn: NodeKeys, trust: TrustStore) -> None:
    original = receipt()
    token = issue_receipt(original, jpn)
    got = verify_receipt(token, trust, NOW)
    assert got == original
    claims = decode(token)["claims"]
    assert claims["assurance"]["substantially_equivalent_protection"] is True
    assert claims["alternative_label"]["applied_by"] == "JPN"
    assert claims["audit_log"] == {
        "origin": "gsomia.jpn/audit",
        "index": 2,
        "size": 3,
        "root": original.checkpoint.root.hex(),
    }


def test_receipt_inclusion_in_the_recipients_log(jpn: NodeKeys, trust: TrustStore) -> None:
    tree = MerkleTree.from_entries([b"a", b"b", b"accept item-1"])
    got = verify_receipt(issue_receipt(receipt(), jpn), trust, NOW)
    assert receipt_includes(got, b"accept item-1", tree.inclusion_proof(2))
    assert not receipt_includes(got, b"something else", tree.inclusion_proof(2))
    assert not receipt_includes(got, b"accept item-1", [b"junk"])


@pytest.mark.parametrize(
    "change",
    [
        {"item_digest": "cd" * 32},
        {"recipient": "USA"},
        {"audit_log": {"origin": "gsomia.jpn/audit", "index": 1, "size": 3, "root": "00" * 32}},
        {
            "assurance": {
                "clearance_level": "CONFIDENTIAL",
                "official_purpose": "missile defence analysis",
                "substantially_equivalent_protection": True,
            }
        },
    ],
)
def test_tampered_receipt(change: dict[str, Any], jpn: NodeKeys, trust: TrustStore) -> None:
    token = reencode(issue_receipt(receipt(), jpn), **change)
    assert code_of(verify_receipt, token, trust, NOW) in {
        "TOKEN_SIGNATURE_INVALID",
        "TOKEN_MALFORMED",  # recipient USA no longer matches the alternative label's JPN
    }


def test_receipt_signed_by_another_party(kor: NodeKeys, jpn: NodeKeys, trust: TrustStore) -> None:
    forged = forge(decode(issue_receipt(receipt(), jpn)), kor, signing.SigningContext.RECEIPT)
    assert code_of(verify_receipt, forged, trust, NOW) == "TOKEN_SIGNER_MISMATCH"
    with pytest.raises(TokenInputError):
        issue_receipt(receipt(), kor)


def test_receipt_claims_are_strict(jpn: NodeKeys, trust: TrustStore) -> None:
    obj = decode(issue_receipt(receipt(), jpn))
    cases = [
        ("assurance", {**obj["claims"]["assurance"], "substantially_equivalent_protection": False}),
        ("audit_log", {**obj["claims"]["audit_log"], "index": 3}),
        ("audit_log", {**obj["claims"]["audit_log"], "size": 0}),
        ("audit_log", {**obj["claims"]["audit_log"], "root": "AB" * 32}),
        ("alternative_label", {**obj["claims"]["alternative_label"], "table_version": 0}),
        ("alternative_label", {**obj["claims"]["alternative_label"], "extra": 1}),
        ("alternative_label", {**obj["claims"]["alternative_label"], "applied_by": "USA"}),
    ]
    for key, value in cases:
        bad = {**obj, "claims": {**obj["claims"], key: value}}
        with pytest.raises(TokenError) as caught:
            verify_receipt(rfc8785.dumps(bad), trust, NOW)
        assert caught.value.code == "TOKEN_MALFORMED", (key, value)
        assert caught.value.detail["field"].startswith("claims"), (key, value)


@pytest.mark.parametrize(
    "bad",
    [
        {"alternative": AlternativeLabel("USA", "SECRET", "KOR", "USA", "tisa-2014", 1, NOW)},
        {"log_index": 3},
        {"log_index": -1},
        {"log_index": True},
        {"checkpoint": Checkpoint("log", 2**53, b"\x00" * 32)},
        {"checkpoint": Checkpoint("log", 3, b"\x00" * 32, ("extension",))},
        {"assurance": "assured"},
        {"alternative": "JPN SECRET"},
    ],
)
def test_invalid_receipts_cannot_be_built(bad: dict[str, Any]) -> None:
    with pytest.raises(InputError) as caught:
        receipt(**bad)
    assert caught.value.code == "RECEIPT_INVALID"


def test_assurance_needs_equivalent_protection() -> None:
    with pytest.raises(InputError) as caught:
        Assurance("SECRET", "analysis", substantially_equivalent_protection=False)
    assert caught.value.code == "RECEIPT_INVALID"


def test_issue_receipt_refuses(jpn: NodeKeys) -> None:
    for bad in (
        receipt(item_digest="not hex"),
        receipt(sender="jp"),
        receipt(assurance=Assurance(" ", "analysis")),
        receipt(received=T0 - timedelta(days=1)),
        replace(receipt(), item_id="x" * 65),
    ):
        with pytest.raises(TokenInputError):
            issue_receipt(bad, jpn)
    with pytest.raises(TokenInputError):
        issue_receipt("receipt", jpn)  # type: ignore[arg-type]


def test_errors_belong_to_the_tree() -> None:
    assert issubclass(TokenError, PeerError)
    assert issubclass(TokenInputError, InputError)
    assert TokenError("x").to_problem()["code"] == "TOKEN_MALFORMED"
