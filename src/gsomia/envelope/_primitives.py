"""The only module of gsomia that touches ``cryptography.hazmat``: thin, typed wrappers.

Everything above this module handles raw bytes and the two opaque private-key handles defined
here (:class:`SigningKey`, :class:`AgreementKey`); it never sees a pyca object or a pyca
exception.  Every foreign exception is wrapped into :class:`CryptoError` with a stable code, so
callers can map failures onto their own error without leaking detail (the pyca "recipes over
hazmat" rule: the recipe, :mod:`gsomia.envelope.seal`, turns every failure into one opaque error).

Primitives and the documents that define them:

- Ed25519 signatures, RFC 8032 §5.1 (pure Ed25519, no prehash, no context).
- X25519 Diffie-Hellman, RFC 7748 §5 and §6.1.
- HKDF-SHA256, RFC 5869.
- AES-256-GCM, NIST SP 800-38D, 96-bit nonces; ChaCha20-Poly1305 (RFC 8439) is offered for the
  known-answer test and as the stated fallback on hardware without AES instructions.
- Key wrapping (:func:`wrap_key`): ephemeral-static X25519, HKDF-SHA256 over the shared secret
  with ``salt = ephemeral public || recipient public`` (HPKE's ``kem_context``, RFC 9180 §4.1) and
  the caller's context as ``info``, then AES-256-GCM under the derived key and nonce — the DHIES /
  ECIES-KEM pattern (Abdalla, Bellare, Rogaway, CT-RSA 2001; ISO/IEC 18033-2), with one ephemeral
  key per item shared by its recipients as CMS does (RFC 5753 §3.1.1, RFC 8418), or one per batch
  of items (:class:`KeyWrapper`; docs/adr/0015-sealing-sessions.md).
  *Why not HPKE?*  pyca/cryptography 50 does expose RFC 9180 (``hazmat.primitives.hpke.Suite``),
  but only single-shot with a fresh ephemeral key per call: for two recipients that is two key
  generations and six DH-KEM/HMAC rounds where we need one key generation and two exchanges.
  Measured on the project's 2-core machine (bench/envelope.py), HPKE wrap costs ~106 µs per
  recipient against ~45 µs, which alone breaks the 0.5 ms seal+open target.  The construction
  keeps HPKE's bindings (both public keys in the KDF, the caller's context in ``info``); see
  docs/wire-format.md §4.
- Private keys at rest: scrypt (RFC 7914) → 256-bit key → AES-256-GCM, with the file's public
  header as associated data.  scrypt is memory-hard, so a stolen key file resists offline guessing
  far better than PKCS#8's PBKDF2; cost parameters are stored beside the ciphertext.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Protocol

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.backends.openssl.backend import backend as _backend
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from gsomia.errors import GsomiaError

__all__ = [
    "AEAD_KEY_SIZE",
    "AEAD_NONCE_SIZE",
    "AEAD_TAG_SIZE",
    "ED25519_SIGNATURE_SIZE",
    "KEY_SIZE",
    "WRAPPER_PEERS",
    "AgreementKey",
    "CryptoError",
    "KeyWrapper",
    "PassphraseBox",
    "PrkCache",
    "SigningKey",
    "aes_gcm_decrypt",
    "aes_gcm_encrypt",
    "chacha20_poly1305_decrypt",
    "chacha20_poly1305_encrypt",
    "constant_time_equal",
    "decrypt_with_passphrase",
    "ed25519_verify",
    "encrypt_with_passphrase",
    "hkdf_sha256",
    "random_bytes",
    "sha256",
    "unwrap_key",
    "validate_ed25519_public",
    "validate_x25519_public",
    "wrap_key",
    "x25519_exchange",
]

KEY_SIZE: Final = 32  # raw Ed25519 / X25519 private and public keys (RFC 8032 §5.1.5, RFC 7748 §5)
ED25519_SIGNATURE_SIZE: Final = 64
AEAD_KEY_SIZE: Final = 32
AEAD_NONCE_SIZE: Final = 12
AEAD_TAG_SIZE: Final = 16
_SCRYPT_R: Final = 8
_SCRYPT_P: Final = 1
SCRYPT_LOG2_N_RANGE: Final = range(12, 21)  # 2**12 (tests) … 2**20; default 2**15 (~0.1 s)


class CryptoError(GsomiaError):
    """A primitive failed: bad key bytes, a tag or signature that does not verify, bad passphrase.

    Codes: ``CRYPTO_KEY_INVALID``, ``CRYPTO_TAG_INVALID``, ``CRYPTO_SIGNATURE_INVALID``,
    ``CRYPTO_PASSPHRASE``, ``CRYPTO_PARAMS_INVALID``.  Messages never contain key material.
    """

    code = "CRYPTO_FAILED"


def _require_bytes(value: object, size: int | None, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise CryptoError(f"{what} must be bytes", code="CRYPTO_PARAMS_INVALID")
    data = bytes(value)
    if size is not None and len(data) != size:
        raise CryptoError(f"{what} must be {size} bytes", code="CRYPTO_PARAMS_INVALID")
    return data


# --------------------------------------------------------------------------- hashing, randomness


def sha256(data: bytes) -> bytes:
    """SHA-256 (FIPS 180-4) of ``data``."""
    return hashlib.sha256(data).digest()


_system_random_bytes: Final = secrets.SystemRandom().randbytes  # os.urandom: what secrets uses


def random_bytes(size: int) -> bytes:
    """``size`` bytes from the operating system's CSPRNG."""
    return _system_random_bytes(size)


#: ``constant_time_equal(a, b)``: compare two byte strings without a timing side channel.
constant_time_equal: Final = hmac.compare_digest


_SHA256: Final = hashes.SHA256()  # an algorithm descriptor, stateless: one serves every call


def hkdf_sha256(ikm: bytes, *, salt: bytes | None, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 extract-and-expand (RFC 5869 §2).

    pyca's HKDF (compiled) rather than RFC 5869 spelled out over the standard library's
    ``hmac.digest``: measured on the project's machine (OpenSSL 3.0, whose one-shot ``HMAC()``
    fetches the digest on every call), a 44-byte derivation costs ~4.7 µs here against ~7.6 µs
    for three ``hmac.digest`` calls (docs/adr/0015-sealing-sessions.md).
    """
    try:
        return HKDF(_SHA256, length, salt, info).derive(ikm)
    except (ValueError, TypeError) as exc:
        raise CryptoError(f"HKDF parameters invalid: {exc}", code="CRYPTO_PARAMS_INVALID") from None


# The public X25519 constructors import the backend and ask it whether X25519 is available (not
# in FIPS mode) on every call, then call these two functions of pyca's compiled core; the answer
# cannot change while the process runs, so it is asked once here and, where it is yes, the hot path
# (one key generation per seal, one peer key per open) calls them directly.  Any other pyca
# (without them, or in FIPS mode) keeps the public constructors.
_x25519_generate = x25519.X25519PrivateKey.generate
_x25519_from_public = x25519.X25519PublicKey.from_public_bytes
if _backend.x25519_supported():
    try:
        from cryptography.hazmat.bindings._rust import openssl as _rust_openssl

        _x25519_generate = _rust_openssl.x25519.generate_key
        _x25519_from_public = _rust_openssl.x25519.from_public_bytes
    except (ImportError, AttributeError):  # pragma: no cover - depends on the pyca version
        pass


# --------------------------------------------------------------------------- Ed25519 (RFC 8032)


class SigningKey:
    """An Ed25519 private key (RFC 8032 §5.1.5).  Opaque: its repr never shows the secret."""

    __slots__ = ("_key", "_public")

    def __init__(self, key: ed25519.Ed25519PrivateKey) -> None:
        self._key = key
        self._public = key.public_key().public_bytes_raw()

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key from the OS CSPRNG."""
        return cls(ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def from_raw(cls, seed: bytes) -> SigningKey:
        """The key whose 32-byte seed (RFC 8032 §5.1.5 "private key") is ``seed``."""
        data = _require_bytes(seed, KEY_SIZE, "Ed25519 private key")
        try:
            return cls(ed25519.Ed25519PrivateKey.from_private_bytes(data))
        except ValueError:
            raise CryptoError("Ed25519 private key invalid", code="CRYPTO_KEY_INVALID") from None

    def raw(self) -> bytes:
        """The 32-byte seed.  Only the key store calls this, to encrypt it at rest."""
        return self._key.private_bytes_raw()

    def public_raw(self) -> bytes:
        """The 32-byte public key."""
        return self._public

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return self._key.sign(message)

    def __repr__(self) -> str:
        return "SigningKey(<secret>)"


def validate_ed25519_public(public: bytes) -> bytes:
    """``public`` if it decodes as an Ed25519 public key, else ``CRYPTO_KEY_INVALID``."""
    data = _require_bytes(public, KEY_SIZE, "Ed25519 public key")
    try:
        ed25519.Ed25519PublicKey.from_public_bytes(data)
    except ValueError:
        raise CryptoError("Ed25519 public key invalid", code="CRYPTO_KEY_INVALID") from None
    return data


@lru_cache(maxsize=1024)
def _ed25519_public(public: bytes) -> ed25519.Ed25519PublicKey:
    # Partners' keys are few and long-lived: decode each once (bounded cache of immutable keys).
    return ed25519.Ed25519PublicKey.from_public_bytes(public)


def ed25519_verify(public: bytes, signature: bytes, message: bytes) -> None:
    """Verify an Ed25519 signature; raise ``CRYPTO_SIGNATURE_INVALID`` if it does not hold."""
    if len(signature) != ED25519_SIGNATURE_SIZE or len(public) != KEY_SIZE:
        raise CryptoError("signature invalid", code="CRYPTO_SIGNATURE_INVALID")
    try:
        _ed25519_public(bytes(public)).verify(signature, message)
    except (InvalidSignature, ValueError):
        raise CryptoError("signature invalid", code="CRYPTO_SIGNATURE_INVALID") from None


# --------------------------------------------------------------------------- X25519 (RFC 7748)


class AgreementKey:
    """An X25519 private key (RFC 7748 §6.1).  Opaque: its repr never shows the secret."""

    __slots__ = ("_key", "_public")

    def __init__(self, key: x25519.X25519PrivateKey) -> None:
        self._key = key
        self._public = key.public_key().public_bytes_raw()

    @classmethod
    def generate(cls) -> AgreementKey:
        """A fresh key from the OS CSPRNG."""
        return cls(_x25519_generate())

    @classmethod
    def from_raw(cls, scalar: bytes) -> AgreementKey:
        """The key whose 32-byte scalar is ``scalar`` (clamped per RFC 7748 §5)."""
        data = _require_bytes(scalar, KEY_SIZE, "X25519 private key")
        try:
            return cls(x25519.X25519PrivateKey.from_private_bytes(data))
        except ValueError:
            raise CryptoError("X25519 private key invalid", code="CRYPTO_KEY_INVALID") from None

    def raw(self) -> bytes:
        """The 32-byte scalar.  Only the key store calls this, to encrypt it at rest."""
        return self._key.private_bytes_raw()

    def public_raw(self) -> bytes:
        """The 32-byte public key (the u-coordinate)."""
        return self._public

    def exchange(self, peer_public: bytes) -> bytes:
        """X25519(k, u) (RFC 7748 §6.1); an all-zero result is refused as §6.1 advises."""
        return x25519_exchange(self, peer_public)

    def __repr__(self) -> str:
        return "AgreementKey(<secret>)"


def validate_x25519_public(public: bytes) -> bytes:
    """``public`` if it decodes as an X25519 public key, else ``CRYPTO_KEY_INVALID``."""
    data = _require_bytes(public, KEY_SIZE, "X25519 public key")
    try:
        x25519.X25519PublicKey.from_public_bytes(data)
    except ValueError:
        raise CryptoError("X25519 public key invalid", code="CRYPTO_KEY_INVALID") from None
    return data


@lru_cache(maxsize=1024)
def _x25519_public(public: bytes) -> x25519.X25519PublicKey:
    return _x25519_from_public(public)


def x25519_exchange(private: AgreementKey, peer_public: bytes, *, cache: bool = False) -> bytes:
    """The X25519 shared secret; raises ``CRYPTO_KEY_INVALID`` on a low-order peer key.

    ``cache`` keeps the decoded peer key (for partners' long-lived keys, not ephemeral ones).
    """
    if type(peer_public) is not bytes or len(peer_public) != KEY_SIZE:  # else already checked
        peer_public = _require_bytes(peer_public, KEY_SIZE, "X25519 public key")
    try:
        peer = _x25519_public(peer_public) if cache else _x25519_from_public(peer_public)
        return private._key.exchange(peer)
    except ValueError:  # pyca refuses the all-zero output (RFC 7748 §6.1)
        raise CryptoError("X25519 exchange failed", code="CRYPTO_KEY_INVALID") from None


# --------------------------------------------------------------------------- AEAD


def aes_gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM: ciphertext || 16-byte tag."""
    try:
        return AESGCM(key).encrypt(nonce, plaintext, aad)
    except (ValueError, TypeError, OverflowError) as exc:
        raise CryptoError(
            f"AES-GCM parameters invalid: {exc}", code="CRYPTO_PARAMS_INVALID"
        ) from None


def aes_gcm_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM open; ``CRYPTO_TAG_INVALID`` if the tag does not verify."""
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise CryptoError("authentication failed", code="CRYPTO_TAG_INVALID") from None
    except (ValueError, TypeError, OverflowError):
        raise CryptoError("AES-GCM parameters invalid", code="CRYPTO_PARAMS_INVALID") from None


def chacha20_poly1305_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """ChaCha20-Poly1305 (RFC 8439 §2.8): ciphertext || 16-byte tag."""
    try:
        return ChaCha20Poly1305(key).encrypt(nonce, plaintext, aad)
    except (ValueError, TypeError, OverflowError) as exc:
        raise CryptoError(
            f"ChaCha20-Poly1305 parameters invalid: {exc}", code="CRYPTO_PARAMS_INVALID"
        ) from None


def chacha20_poly1305_decrypt(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    """ChaCha20-Poly1305 open; ``CRYPTO_TAG_INVALID`` if the tag does not verify."""
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise CryptoError("authentication failed", code="CRYPTO_TAG_INVALID") from None
    except (ValueError, TypeError, OverflowError):
        raise CryptoError(
            "ChaCha20-Poly1305 parameters invalid", code="CRYPTO_PARAMS_INVALID"
        ) from None


# --------------------------------------------------------------------------- key wrap


_WRAP_OKM_SIZE: Final = AEAD_KEY_SIZE + AEAD_NONCE_SIZE  # HKDF output: key-encryption key, nonce


def _hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869 §2.2): ``PRK = HMAC-SHA256(salt, IKM)``."""
    return hmac.digest(salt, ikm, "sha256")


def _hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand (RFC 5869 §2.3) of ``prk`` (a :func:`_hkdf_extract` output)."""
    return HKDFExpand(_SHA256, length, info).derive(prk)


def _wrap_with(prk: bytes, secret: bytes, info: bytes) -> bytes:
    """HKDF-Expand of the wrap's PRK, then AES-256-GCM of ``secret`` (see :func:`wrap_key`)."""
    try:
        okm = _hkdf_expand(prk, info, _WRAP_OKM_SIZE)
        return AESGCM(okm[:AEAD_KEY_SIZE]).encrypt(okm[AEAD_KEY_SIZE:], secret, b"")
    except (ValueError, TypeError, OverflowError):
        raise CryptoError("key wrap parameters invalid", code="CRYPTO_PARAMS_INVALID") from None


def _sender_exchange(ephemeral: AgreementKey, recipient_public: bytes) -> bytes:
    """X25519(ephemeral, recipient); the recipient's decoded key is cached (a partner's long-lived
    key).  pyca refuses an all-zero output (a low-order recipient key, RFC 7748 §6.1)."""
    try:
        return ephemeral._key.exchange(_x25519_public(recipient_public))
    except ValueError:
        raise CryptoError("X25519 exchange failed", code="CRYPTO_KEY_INVALID") from None


def wrap_key(ephemeral: AgreementKey, recipient_public: bytes, secret: bytes, info: bytes) -> bytes:
    """Wrap ``secret`` to one recipient: X25519(ephemeral, recipient) → HKDF-SHA256 → AES-256-GCM.

    ``kek || nonce = HKDF-SHA256(ikm = shared secret, salt = ephemeral public || recipient
    public, info)``: the salt is HPKE's ``kem_context = enc || pkR`` (RFC 9180 §4.1), so the
    derived key is bound to both public keys, which is what makes re-using one ephemeral key safe.
    One ephemeral key may serve every recipient of one item (the KeyAgreeRecipientInfo pattern of
    CMS, RFC 5753 §3.1.1 and RFC 8418; proven safe for DHIES-style schemes by Bellare, Boldyreva
    and Staddon, "Randomness Re-use in Multi-recipient Encryption Schemes", PKC 2003), and, with a
    distinct ``info`` per item, every item of a batch (:class:`KeyWrapper`).  Output:
    ``len(secret) + 16`` bytes.
    """
    if type(recipient_public) is not bytes or len(recipient_public) != KEY_SIZE:
        recipient_public = _require_bytes(recipient_public, KEY_SIZE, "X25519 public key")
    shared = _sender_exchange(ephemeral, recipient_public)
    try:
        okm = HKDF(_SHA256, _WRAP_OKM_SIZE, ephemeral._public + recipient_public, info).derive(
            shared
        )
        return AESGCM(okm[:AEAD_KEY_SIZE]).encrypt(okm[AEAD_KEY_SIZE:], secret, b"")
    except (ValueError, TypeError, OverflowError):
        raise CryptoError("key wrap parameters invalid", code="CRYPTO_PARAMS_INVALID") from None


#: The most recipient keys a :class:`KeyWrapper` remembers a secret for (then it forgets them all
#: and starts again: a batch goes to a handful of partners).
WRAPPER_PEERS: Final = 64


class KeyWrapper:
    """One ephemeral X25519 key and, for each recipient key it has wrapped to, the wrap's PRK.

    :meth:`wrap` is :func:`wrap_key` with this object's ephemeral key (same bytes), except that the
    X25519 exchange with a given recipient key and the HKDF-Extract over it (``PRK =
    HMAC-SHA256(salt = ephemeral public || recipient public, shared secret)``, RFC 5869 §2.2) run
    once, on the first wrap to that key (where the all-zero check of RFC 7748 §6.1 runs; a refused
    exchange is not remembered).  Every later wrap to that key costs HKDF-Expand (RFC 5869 §2.3) and
    the AES-GCM only; the raw shared secret is not kept.  Safe only if every wrap's ``info`` is
    unique (then each one derives an independent key-encryption key and nonce, ephemeral-static
    ECDH-ES as in RFC 8418 §2 / NIST SP 800-56A §6.2.2): the envelope's wrap info holds the item's
    header core, so each item's differs.  The caller (:class:`gsomia.envelope.session.SealSession`)
    bounds how many items one wrapper serves.  Opaque: its repr never shows the secrets.
    """

    __slots__ = ("_ephemeral", "_prks")

    def __init__(self) -> None:
        self._ephemeral = AgreementKey.generate()
        self._prks: dict[bytes, bytes] = {}

    def public_raw(self) -> bytes:
        """The ephemeral public key (the header's ``ephemeral`` field)."""
        return self._ephemeral._public

    def wrap(self, recipient_public: bytes, secret: bytes, info: bytes) -> bytes:
        """:func:`wrap_key` with this wrapper's ephemeral key."""
        if type(recipient_public) is not bytes or len(recipient_public) != KEY_SIZE:
            recipient_public = _require_bytes(recipient_public, KEY_SIZE, "X25519 public key")
        prk = self._prks.get(recipient_public)
        if prk is None:
            shared = _sender_exchange(self._ephemeral, recipient_public)
            prk = _hkdf_extract(self._ephemeral._public + recipient_public, shared)
            if len(self._prks) >= WRAPPER_PEERS:
                self._prks.clear()
            self._prks[recipient_public] = prk
        return _wrap_with(prk, secret, info)

    def __repr__(self) -> str:
        return "KeyWrapper(<secret>)"


class PrkCache(Protocol):
    """Where :func:`unwrap_key` remembers PRKs by (ephemeral public, own public):
    :class:`gsomia.envelope.session.SharedSecretCache`, the primitives' only outside state."""

    def _get(self, key: bytes) -> bytes | None: ...

    def _put(self, key: bytes, prk: bytes) -> None: ...


def unwrap_key(
    private: AgreementKey,
    ephemeral_public: bytes,
    wrapped: bytes,
    info: bytes,
    cache: PrkCache | None = None,
) -> bytes:
    """Undo :func:`wrap_key`; ``CRYPTO_TAG_INVALID`` on any failure.

    With ``cache``, the wrap's PRK is looked up by (ephemeral public, our public) before the
    exchange runs, and stored only once the wrap has decrypted (see
    :class:`gsomia.envelope.session.SharedSecretCache`).
    """
    prk = None
    try:
        if type(ephemeral_public) is not bytes or len(ephemeral_public) != KEY_SIZE:
            ephemeral_public = _require_bytes(ephemeral_public, KEY_SIZE, "X25519 public key")
        salt = ephemeral_public + private._public  # also the cache key: both public keys
        if cache is not None:
            prk = cache._get(salt)
        if prk is None:
            # One item's (or one batch's) key: not worth the decoded-key cache.
            shared = private._key.exchange(_x25519_from_public(ephemeral_public))
    except (CryptoError, ValueError):  # pyca refuses the all-zero output (RFC 7748 §6.1)
        raise CryptoError("key unwrap failed", code="CRYPTO_TAG_INVALID") from None
    try:
        if cache is None:  # extract and expand in one call (RFC 5869 §2)
            okm = HKDF(_SHA256, _WRAP_OKM_SIZE, salt, info).derive(shared)
            return AESGCM(okm[:AEAD_KEY_SIZE]).decrypt(okm[AEAD_KEY_SIZE:], wrapped, b"")
        computed = prk is None
        if prk is None:
            prk = _hkdf_extract(salt, shared)
        okm = _hkdf_expand(prk, info, _WRAP_OKM_SIZE)
        secret = AESGCM(okm[:AEAD_KEY_SIZE]).decrypt(okm[AEAD_KEY_SIZE:], wrapped, b"")
    except InvalidTag:
        raise CryptoError("key unwrap failed", code="CRYPTO_TAG_INVALID") from None
    except (ValueError, TypeError, OverflowError):
        raise CryptoError("key unwrap parameters invalid", code="CRYPTO_PARAMS_INVALID") from None
    if computed:
        cache._put(salt, prk)
    return secret


# --------------------------------------------------------------------------- secrets at rest


@dataclass(frozen=True, slots=True)
class PassphraseBox:
    """A secret encrypted under a passphrase: scrypt (RFC 7914) then AES-256-GCM."""

    log2_n: int
    r: int
    p: int
    salt: bytes
    nonce: bytes
    ciphertext: bytes


def _scrypt_key(passphrase: bytes, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    if log2_n not in SCRYPT_LOG2_N_RANGE or r != _SCRYPT_R or p != _SCRYPT_P:
        raise CryptoError("scrypt parameters out of range", code="CRYPTO_PARAMS_INVALID")
    if len(salt) < 16:
        raise CryptoError("scrypt salt too short", code="CRYPTO_PARAMS_INVALID")
    try:
        return Scrypt(salt=salt, length=AEAD_KEY_SIZE, n=2**log2_n, r=r, p=p).derive(passphrase)
    except (ValueError, TypeError, MemoryError):
        raise CryptoError("scrypt failed", code="CRYPTO_PARAMS_INVALID") from None


def encrypt_with_passphrase(
    secret: bytes, passphrase: bytes, aad: bytes, *, log2_n: int = 15
) -> PassphraseBox:
    """Encrypt ``secret`` under ``passphrase``; ``aad`` (the file's header) is authenticated."""
    if not passphrase:
        raise CryptoError("the passphrase is empty", code="CRYPTO_PASSPHRASE")
    salt = random_bytes(16)
    nonce = random_bytes(AEAD_NONCE_SIZE)
    key = _scrypt_key(passphrase, salt, log2_n, _SCRYPT_R, _SCRYPT_P)
    return PassphraseBox(
        log2_n, _SCRYPT_R, _SCRYPT_P, salt, nonce, aes_gcm_encrypt(key, nonce, secret, aad)
    )


def decrypt_with_passphrase(box: PassphraseBox, passphrase: bytes, aad: bytes) -> bytes:
    """The secret in ``box``; ``CRYPTO_PASSPHRASE`` if the passphrase (or the header) is wrong."""
    key = _scrypt_key(passphrase, box.salt, box.log2_n, box.r, box.p)
    if len(box.nonce) != AEAD_NONCE_SIZE:
        raise CryptoError("nonce has the wrong size", code="CRYPTO_PARAMS_INVALID")
    try:
        return aes_gcm_decrypt(key, box.nonce, box.ciphertext, aad)
    except CryptoError:
        raise CryptoError(
            "wrong passphrase, or the key file was altered", code="CRYPTO_PASSPHRASE"
        ) from None
