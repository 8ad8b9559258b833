"""gsomia.envelope.signing: the public signing API, domain separation and key rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.envelope.signing import (
    SIGNATURE_SIZE,
    SignatureError,
    SigningContext,
    SigningError,
    is_ed25519_public_key,
    sign,
    verify,
    verify_public,
)
from gsomia.errors import InputError, PeerError
from tests.unit.proofs.conftest import NOW, T0

C = SigningContext.CONSENT


def test_sign_then_verify_returns_the_signers_record(kor: NodeKeys, trust: TrustStore) -> None:
    kid, signature = sign(kor, b"message", context=C)
    assert kid == kor.signing_kid
    assert len(signature) == SIGNATURE_SIZE
    record = verify(trust, kid, b"message", signature, NOW, context=C)
    assert record.party == "KOR"
    assert record.kid == kid


def test_every_context_prefix_is_distinct_and_token_prefixes_end_in_nul() -> None:
    prefixes = [c.prefix for c in SigningContext]
    assert len(set(prefixes)) == len(prefixes)
    for context in (SigningContext.CONSENT, SigningContext.REVOCATION, SigningContext.RECEIPT):
        assert context.prefix.endswith(b"\x00")
        assert context.prefix.count(b"\x00") == 1


@pytest.mark.parametrize(
    ("signed_as", "verified_as"),
    [
        (SigningContext.CONSENT, SigningContext.RECEIPT),
        (SigningContext.RECEIPT, SigningContext.REVOCATION),
        (SigningContext.REVOCATION, SigningContext.CONSENT),
    ],
)
def test_a_signature_never_verifies_in_another_context(
    kor: NodeKeys, trust: TrustStore, signed_as: SigningContext, verified_as: SigningContext
) -> None:
    kid, signature = sign(kor, b"same bytes", context=signed_as)
    with pytest.raises(SignatureError) as caught:
        verify(trust, kid, b"same bytes", signature, NOW, context=verified_as)
    assert caught.value.code == "SIGNATURE_INVALID"


def test_note_context_refuses_messages_of_other_contexts(kor: NodeKeys) -> None:
    with pytest.raises(SigningError) as caught:
        sign(kor, b"cosignature/v1\ntime 1\n", context=SigningContext.NOTE)
    assert caught.value.code == "SIGN_INPUT_INVALID"
    with pytest.raises(SigningError):
        sign(kor, b"text with a \x00 byte\n", context=SigningContext.NOTE)
    with pytest.raises(SigningError):
        sign(kor, b"not a time line\n", context=SigningContext.COSIGNATURE)


def test_verify_public_refuses_inadmissible_messages(kor: NodeKeys) -> None:
    # a valid Ed25519 signature over the raw bytes still fails: the NOTE context refuses them
    public = kor.current.sig.public
    message = b"cosignature/v1\ntime 5\nx\n"
    _, signature = sign(kor, b"time 5\nx\n", context=SigningContext.COSIGNATURE)
    verify_public(public, b"time 5\nx\n", signature, context=SigningContext.COSIGNATURE)
    with pytest.raises(SignatureError):
        verify_public(public, message, signature, context=SigningContext.NOTE)


def test_unknown_kid(trust: TrustStore) -> None:
    with pytest.raises(SignatureError) as caught:
        verify(trust, "0123456789abcdef", b"m", b"\x00" * 64, NOW, context=C)
    assert caught.value.code == "SIGNATURE_UNKNOWN_KEY"
    assert isinstance(caught.value, PeerError)


def test_an_encryption_kid_is_not_a_signing_key(kor: NodeKeys, trust: TrustStore) -> None:
    _, signature = sign(kor, b"m", context=C)
    with pytest.raises(SignatureError) as caught:
        verify(trust, kor.agreement_kid, b"m", signature, NOW, context=C)
    assert caught.value.code == "SIGNATURE_UNKNOWN_KEY"


def test_bad_signature(kor: NodeKeys, trust: TrustStore) -> None:
    kid, signature = sign(kor, b"m", context=C)
    forged = bytes([signature[0] ^ 1]) + signature[1:]
    for message, sig in ((b"m", forged), (b"n", signature), (b"m", signature[:-1])):
        with pytest.raises(SignatureError) as caught:
            verify(trust, kid, message, sig, NOW, context=C)
        assert caught.value.code == "SIGNATURE_INVALID"


def test_rotation_old_key_verifies_what_it_signed_while_current(
    kor: NodeKeys, rotated: NodeKeys
) -> None:
    trust = rotated.trust_self()
    rotation = T0 + timedelta(days=100)
    old_kid, old_signature = sign(kor, b"m", context=C)
    # signed while current: still verifies after the rotation
    verify(trust, old_kid, b"m", old_signature, rotation - timedelta(seconds=1), context=C)
    # the same key vouching for something dated after its retirement is refused
    with pytest.raises(SignatureError) as caught:
        verify(trust, old_kid, b"m", old_signature, rotation, context=C)
    assert caught.value.code == "SIGNATURE_KEY_NOT_VALID"
    # and before it became valid
    with pytest.raises(SignatureError) as caught:
        verify(trust, old_kid, b"m", old_signature, T0 - timedelta(days=1), context=C)
    assert caught.value.code == "SIGNATURE_KEY_NOT_VALID"
    new_kid, new_signature = sign(rotated, b"m", context=C)
    assert new_kid != old_kid
    verify(trust, new_kid, b"m", new_signature, rotation, context=C)


def test_misuse_is_our_input_error(kor: NodeKeys, trust: TrustStore) -> None:
    with pytest.raises(SigningError):
        sign("KOR", b"m", context=C)  # type: ignore[arg-type]
    with pytest.raises(SigningError):
        sign(kor, "text", context=C)  # type: ignore[arg-type]
    with pytest.raises(SigningError):
        sign(kor, b"m", context=b"raw")  # type: ignore[arg-type]
    with pytest.raises(SigningError):
        verify(trust, kor.signing_kid, b"m", b"", NOW.replace(tzinfo=None), context=C)
    with pytest.raises(SigningError):
        verify({}, kor.signing_kid, b"m", b"", NOW, context=C)  # type: ignore[arg-type]
    assert issubclass(SigningError, InputError)


def test_is_ed25519_public_key(kor: NodeKeys) -> None:
    assert is_ed25519_public_key(kor.current.sig.public)
    assert not is_ed25519_public_key(b"\x00" * 31)
    assert not is_ed25519_public_key("key")
