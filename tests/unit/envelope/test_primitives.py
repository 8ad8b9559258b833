"""Known-answer tests for the primitives, and that every foreign failure is wrapped."""

from __future__ import annotations

import pytest

from gsomia.envelope import _primitives as prim

h = bytes.fromhex

# RFC 8032 §7.1, TEST 1-3: (secret key, public key, message, signature)
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
        "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_ed25519_rfc8032_vectors(secret: str, public: str, message: str, signature: str) -> None:
    key = prim.SigningKey.from_raw(h(secret))
    assert key.public_raw() == h(public)
    assert key.raw() == h(secret)
    assert key.sign(h(message)) == h(signature)  # Ed25519 is deterministic
    prim.ed25519_verify(h(public), h(signature), h(message))


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_ed25519_rejects_altered_message_or_signature(
    secret: str, public: str, message: str, signature: str
) -> None:
    sig = bytearray(h(signature))
    sig[0] ^= 1
    with pytest.raises(prim.CryptoError) as err:
        prim.ed25519_verify(h(public), bytes(sig), h(message))
    assert err.value.code == "CRYPTO_SIGNATURE_INVALID"
    with pytest.raises(prim.CryptoError):
        prim.ed25519_verify(h(public), h(signature), h(message) + b"x")
    with pytest.raises(prim.CryptoError):
        prim.ed25519_verify(h(public), h(signature)[:63], h(message))


def test_x25519_rfc7748_section_6_1() -> None:
    alice = prim.AgreementKey.from_raw(
        h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    )
    bob = prim.AgreementKey.from_raw(
        h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    )
    assert alice.public_raw() == h(
        "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    )
    assert bob.public_raw() == h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    shared = h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
    assert alice.exchange(bob.public_raw()) == shared
    assert bob.exchange(alice.public_raw()) == shared


def test_x25519_rfc7748_section_5_2() -> None:
    key = prim.AgreementKey.from_raw(
        h("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
    )
    u = h("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
    assert key.exchange(u) == h("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")


def test_x25519_refuses_low_order_point() -> None:
    key = prim.AgreementKey.generate()
    with pytest.raises(prim.CryptoError) as err:
        key.exchange(bytes(32))  # the all-zero output is refused (RFC 7748 §6.1)
    assert err.value.code == "CRYPTO_KEY_INVALID"


def test_chacha20_poly1305_rfc8439_section_2_8_2() -> None:
    plaintext = (
        b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
        b"future, sunscreen would be it."
    )
    key = bytes(range(0x80, 0xA0))
    nonce = h("070000004041424344454647")
    aad = h("50515253c0c1c2c3c4c5c6c7")
    expected = h(
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
        "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
        "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
        "3ff4def08e4b7a9de576d26586cec64b6116"
        "1ae10b594f09e26a7e902ecbd0600691"
    )
    assert prim.chacha20_poly1305_encrypt(key, nonce, plaintext, aad) == expected
    assert prim.chacha20_poly1305_decrypt(key, nonce, expected, aad) == plaintext
    with pytest.raises(prim.CryptoError) as err:
        prim.chacha20_poly1305_decrypt(key, nonce, expected, aad + b"!")
    assert err.value.code == "CRYPTO_TAG_INVALID"


def test_aes_256_gcm_mcgrew_viega_test_cases_13_and_14() -> None:
    # "The Galois/Counter Mode of Operation", McGrew & Viega, appendix B, test cases 13 and 14.
    key, nonce = bytes(32), bytes(12)
    assert prim.aes_gcm_encrypt(key, nonce, b"", b"") == h("530f8afbc74536b9a963b4f1c4cb738b")
    sealed = prim.aes_gcm_encrypt(key, nonce, bytes(16), b"")
    assert sealed == h("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919")
    assert prim.aes_gcm_decrypt(key, nonce, sealed, b"") == bytes(16)


def test_aes_gcm_failures_are_wrapped() -> None:
    key, nonce = bytes(32), bytes(12)
    sealed = bytearray(prim.aes_gcm_encrypt(key, nonce, b"payload", b"ad"))
    sealed[-1] ^= 1
    with pytest.raises(prim.CryptoError) as err:
        prim.aes_gcm_decrypt(key, nonce, bytes(sealed), b"ad")
    assert err.value.code == "CRYPTO_TAG_INVALID"
    with pytest.raises(prim.CryptoError) as err:
        prim.aes_gcm_encrypt(b"short", nonce, b"x", b"")
    assert err.value.code == "CRYPTO_PARAMS_INVALID"


def test_hkdf_sha256_rfc5869_test_case_1() -> None:
    okm = prim.hkdf_sha256(
        b"\x0b" * 22, salt=bytes(range(13)), info=bytes(range(0xF0, 0xFA)), length=42
    )
    assert okm == h(
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_hkdf_sha256_rfc5869_test_case_2_long_inputs() -> None:
    okm = prim.hkdf_sha256(
        bytes(range(0x00, 0x50)),
        salt=bytes(range(0x60, 0xB0)),
        info=bytes(range(0xB0, 0x100)),
        length=82,
    )
    assert okm == h(
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
        "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
        "cc30c58179ec3e87c14c01d5c1f3434f1d87"
    )


def test_hkdf_sha256_rfc5869_test_case_3_no_salt() -> None:
    okm = prim.hkdf_sha256(b"\x0b" * 22, salt=None, info=b"", length=42)
    assert okm == h(
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"
    )


def test_key_wrap_round_trip_and_binding() -> None:
    ephemeral, recipient = prim.AgreementKey.generate(), prim.AgreementKey.generate()
    secret = bytes(range(32))
    wrapped = prim.wrap_key(ephemeral, recipient.public_raw(), secret, b"context")
    assert len(wrapped) == 48
    assert prim.unwrap_key(recipient, ephemeral.public_raw(), wrapped, b"context") == secret
    with pytest.raises(prim.CryptoError):
        prim.unwrap_key(recipient, ephemeral.public_raw(), wrapped, b"other context")
    with pytest.raises(prim.CryptoError):
        prim.unwrap_key(prim.AgreementKey.generate(), ephemeral.public_raw(), wrapped, b"context")
    with pytest.raises(prim.CryptoError):
        prim.unwrap_key(recipient, bytes(32), wrapped, b"context")


def test_passphrase_box_round_trip_and_wrong_passphrase() -> None:
    box = prim.encrypt_with_passphrase(b"secret keys", b"correct horse", b"header", log2_n=12)
    assert prim.decrypt_with_passphrase(box, b"correct horse", b"header") == b"secret keys"
    with pytest.raises(prim.CryptoError) as err:
        prim.decrypt_with_passphrase(box, b"wrong horse", b"header")
    assert err.value.code == "CRYPTO_PASSPHRASE"
    with pytest.raises(prim.CryptoError) as err:
        prim.decrypt_with_passphrase(box, b"correct horse", b"altered header")
    assert err.value.code == "CRYPTO_PASSPHRASE"


def test_passphrase_box_refuses_weak_parameters() -> None:
    box = prim.encrypt_with_passphrase(b"s", b"pw", b"", log2_n=12)
    weak = prim.PassphraseBox(4, box.r, box.p, box.salt, box.nonce, box.ciphertext)
    with pytest.raises(prim.CryptoError) as err:
        prim.decrypt_with_passphrase(weak, b"pw", b"")
    assert err.value.code == "CRYPTO_PARAMS_INVALID"
    with pytest.raises(prim.CryptoError):
        prim.encrypt_with_passphrase(b"s", b"", b"")


def test_bad_key_bytes_are_wrapped() -> None:
    with pytest.raises(prim.CryptoError):
        prim.SigningKey.from_raw(b"short")
    with pytest.raises(prim.CryptoError):
        prim.AgreementKey.from_raw(b"\x00" * 31)
    with pytest.raises(prim.CryptoError):
        prim.validate_x25519_public(b"\x01" * 33)


def test_private_key_repr_hides_secret() -> None:
    key = prim.SigningKey.generate()
    assert key.raw().hex() not in repr(key)
    assert "secret" in repr(prim.AgreementKey.generate())
