"""Sealing sessions (one ephemeral key per batch) and the opening cache (ADR 0015).

What must hold: an item sealed in a session is an ordinary item (opens with ``open_item`` alone,
byte for byte what the known-answer vectors say); each item's key-encryption key and nonce are its
own; the session and the cache are bounded; a cache hit skips the X25519 exchange and nothing
else; a failed unwrap stores nothing.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.envelope import OpenCache, SealSession, segments
from gsomia.envelope import _primitives as prim
from gsomia.envelope.errors import Cause, EnvelopeError, SealError
from gsomia.envelope.item import SealedItem
from gsomia.envelope.opening import open_item, open_stream
from gsomia.envelope.seal import seal
from gsomia.envelope.session import SharedSecretCache
from gsomia.errors import InputError
from tests.unit.envelope import sealed_vectors as sv
from tests.unit.envelope.test_seal import JPN, KOR, NOW, TRUST, USA, rejected, sealed


def batch(n: int, session: SealSession, **kw: object) -> list[SealedItem]:
    return [sealed(b"track %d" % i, session=session, **kw) for i in range(n)]


# ------------------------------------------------------------------ sealing sessions


def test_items_of_a_session_open_standalone_for_every_recipient() -> None:
    items = batch(4, SealSession())
    for i, item in enumerate(items):
        data = item.to_bytes()
        for keys in (JPN, USA):
            assert open_item(data, keys, TRUST, NOW).payload == b"track %d" % i
            out = io.BytesIO()
            open_stream(io.BytesIO(data), out, keys, TRUST, NOW)
            assert out.getvalue() == b"track %d" % i
        with pytest.raises(EnvelopeError):  # not a recipient
            open_item(data, KOR, TRUST, NOW)


def test_a_session_shares_the_ephemeral_key_and_nothing_else() -> None:
    items = batch(6, SealSession())
    assert len({item.header.ephemeral for item in items}) == 1
    assert len({item.header.item_id for item in items}) == 6
    assert len({item.header.nonce_prefix for item in items}) == 6
    assert len({item.header.key_commitment for item in items}) == 6
    for party, keys in (("JPN", JPN), ("USA", USA)):
        kek_nonces = set()
        wraps = set()
        for item in items:
            header = item.header
            entry = next(r for r in header.recipients if r.party == party)
            private = keys.agreement_key_for(entry.kid)
            assert private is not None
            shared = prim.x25519_exchange(private, header.ephemeral)
            info = segments.wrap_info(prim.sha256(header.core_bytes()), party, entry.kid)
            okm = prim.hkdf_sha256(
                shared, salt=header.ephemeral + private.public_raw(), info=info, length=44
            )
            kek_nonces.add(okm[:32])
            kek_nonces.add(okm[32:])
            wraps.add(entry.wrapped)
        assert len(kek_nonces) == 12  # six distinct KEKs and six distinct nonces
        assert len(wraps) == 6


def test_without_a_session_every_item_has_its_own_ephemeral_key() -> None:
    assert len({sealed().header.ephemeral for _ in range(3)}) == 3


def test_a_session_seals_the_known_answer_items_byte_for_byte() -> None:
    """The session path (a wrapper, a remembered PRK) changes no byte of the wire."""
    vectors = sv.load()
    nodes = sv.nodes(vectors)
    for case in vectors["cases"]:
        with sv.fixed_randomness(
            bytes.fromhex(case["content_key"]),
            bytes.fromhex(case["nonce_prefix"]),
            bytes.fromhex(case["ephemeral_scalar"]),
        ):
            session = SealSession()
            for _ in range(2):  # the second seal wraps with the remembered PRKs
                item = seal(
                    bytes.fromhex(case["payload"]),
                    sv.label_of(case),
                    {p: nodes[p].current.enc for p in case["recipients"]},
                    (case["agreement_id"], case["table_version"]),
                    nodes[case["sender"]],
                    datetime.fromisoformat(case["created"]),
                    case["item_id"],
                    segment_size=case["segment_size"],
                    session=session,
                )
                assert item.to_bytes().hex() == case["item"]


def test_a_session_bounds_the_items_per_ephemeral_key() -> None:
    session = SealSession(max_items=3)
    items = batch(7, session)
    eph = [item.header.ephemeral for item in items]
    assert eph[0] == eph[1] == eph[2] != eph[3]
    assert eph[3] == eph[4] == eph[5] != eph[6]
    assert len(set(eph)) == 3
    for item in items:
        assert open_item(item.to_bytes(), JPN, TRUST, NOW).payload.startswith(b"track ")
    session.close()  # drops the key: the next item draws a new one
    assert sealed(session=session).header.ephemeral not in eph


def test_a_refused_seal_does_not_use_up_the_session() -> None:
    session = SealSession(max_items=2)
    first = sealed(session=session)
    with pytest.raises(SealError):
        sealed(session=session, recipients={})
    assert sealed(session=session).header.ephemeral == first.header.ephemeral


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "3"])
def test_a_session_needs_a_positive_bound(bad: Any) -> None:
    with pytest.raises(SealError) as err:
        SealSession(max_items=bad)
    assert err.value.code == "SEAL_SESSION"


def test_session_must_be_a_session() -> None:
    with pytest.raises(SealError) as err:
        sealed(session=object())
    assert err.value.code == "SEAL_SESSION"


def test_a_wrapper_refuses_a_low_order_key_every_time_and_remembers_nothing() -> None:
    wrapper = prim.KeyWrapper()
    for _ in range(2):
        with pytest.raises(prim.CryptoError) as err:
            wrapper.wrap(bytes(32), bytes(32), b"info")  # u = 0: all-zero output (RFC 7748 §6.1)
        assert err.value.code == "CRYPTO_KEY_INVALID"
    assert wrapper._prks == {}
    assert "secret" in repr(wrapper)
    assert wrapper.public_raw().hex() not in repr(wrapper)


def test_a_wrapper_forgets_its_secrets_past_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prim, "WRAPPER_PEERS", 2)
    wrapper = prim.KeyWrapper()
    peers = [prim.AgreementKey.generate() for _ in range(3)]
    for peer in peers:
        wrapped = wrapper.wrap(peer.public_raw(), b"k" * 32, b"info")
        assert prim.unwrap_key(peer, wrapper.public_raw(), wrapped, b"info") == b"k" * 32
        assert len(wrapper._prks) <= 2
    assert list(wrapper._prks) == [peers[2].public_raw()]


@settings(max_examples=50, deadline=None)
@given(
    secret=st.binary(min_size=0, max_size=64),
    infos=st.lists(st.binary(max_size=200), min_size=1, max_size=4),
)
def test_wrapper_wraps_exactly_as_wrap_key(secret: bytes, infos: list[bytes]) -> None:
    """Same ephemeral key, same recipient, same info: the same bytes (AES-GCM is deterministic
    under a given key and nonce), remembered PRK or not."""
    wrapper = prim.KeyWrapper()
    recipient = JPN.current.enc.public
    for info in infos:
        expected = prim.wrap_key(wrapper._ephemeral, recipient, secret, info)
        assert wrapper.wrap(recipient, secret, info) == expected


# ------------------------------------------------------------------ HKDF in two steps

# RFC 5869 Appendix A, test cases 1-3: (IKM, salt, info, L, PRK, OKM).
RFC5869 = [
    (
        b"\x0b" * 22,
        bytes(range(13)),
        bytes(range(0xF0, 0xFA)),
        42,
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
    ),
    (
        bytes(range(0x00, 0x50)),
        bytes(range(0x60, 0xB0)),
        bytes(range(0xB0, 0x100)),
        82,
        "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
        "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
        "cc30c58179ec3e87c14c01d5c1f3434f1d87",
    ),
    (  # no salt: HashLen zero bytes (RFC 5869 §2.2)
        b"\x0b" * 22,
        bytes(32),
        b"",
        42,
        "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
    ),
]


@pytest.mark.parametrize(("ikm", "salt", "info", "length", "prk", "okm"), RFC5869)
def test_extract_then_expand_gives_the_rfc5869_answers(
    ikm: bytes, salt: bytes, info: bytes, length: int, prk: str, okm: str
) -> None:
    assert prim._hkdf_extract(salt, ikm).hex() == prk
    assert prim._hkdf_expand(bytes.fromhex(prk), info, length).hex() == okm


@settings(max_examples=200, deadline=None)
@given(
    ikm=st.binary(max_size=100),
    salt=st.binary(min_size=1, max_size=100),
    info=st.binary(max_size=200),
    length=st.integers(1, 255 * 32),
)
def test_extract_then_expand_is_pycas_hkdf(
    ikm: bytes, salt: bytes, info: bytes, length: int
) -> None:
    expected = HKDF(hashes.SHA256(), length, salt, info).derive(ikm)
    assert prim._hkdf_expand(prim._hkdf_extract(salt, ikm), info, length) == expected
    assert prim.hkdf_sha256(ikm, salt=salt, info=info, length=length) == expected


# ------------------------------------------------------------------ the opening cache


def test_cache_misses_once_per_batch_and_recipient_then_hits() -> None:
    items = [item.to_bytes() for item in batch(5, SealSession())]
    cache = OpenCache()
    for i, data in enumerate(items):
        assert open_item(data, JPN, TRUST, NOW, cache=cache).payload == b"track %d" % i
    assert (cache.misses, cache.hits, len(cache)) == (1, 4, 1)
    for data in items:  # another recipient: another PRK, another entry
        open_item(data, USA, TRUST, NOW, cache=cache)
    assert (cache.misses, cache.hits, len(cache)) == (2, 8, 2)
    out = io.BytesIO()
    open_stream(io.BytesIO(items[0]), out, JPN, TRUST, NOW, cache=cache)
    assert out.getvalue() == b"track 0"
    assert cache.hits == 9


def test_items_without_a_session_miss_every_time() -> None:
    cache = OpenCache()
    for _ in range(3):
        open_item(sealed().to_bytes(), JPN, TRUST, NOW, cache=cache)
    assert (cache.misses, cache.hits, len(cache)) == (3, 0, 3)


def test_cache_evicts_the_least_recently_used() -> None:
    cache = OpenCache(maxsize=2)
    one, two, three = (batch(2, SealSession()) for _ in range(3))
    open_item(one[0], JPN, TRUST, NOW, cache=cache)
    open_item(two[0], JPN, TRUST, NOW, cache=cache)
    open_item(one[1], JPN, TRUST, NOW, cache=cache)  # a hit: ``one`` is now the most recent
    assert (cache.misses, cache.hits) == (2, 1)
    open_item(three[0], JPN, TRUST, NOW, cache=cache)  # evicts ``two``
    assert len(cache) == 2
    open_item(one[0], JPN, TRUST, NOW, cache=cache)
    assert cache.hits == 2
    open_item(two[1], JPN, TRUST, NOW, cache=cache)  # evicted: computed again, still opens
    assert (cache.misses, cache.hits, len(cache)) == (4, 2, 2)
    cache.clear()
    assert len(cache) == 0


def test_a_hit_skips_no_check() -> None:
    session = SealSession()
    good, other = batch(2, session)
    cache = OpenCache()
    open_item(good, JPN, TRUST, NOW, cache=cache)  # warm
    data = bytearray(other.to_bytes())
    data[-1] ^= 1  # the signature
    assert rejected(lambda: open_item(bytes(data), JPN, TRUST, NOW, cache=cache)) is (
        Cause.SIGNATURE_INVALID
    )
    data = bytearray(other.to_bytes())
    data[len(other.header_bytes) + 20] ^= 1  # a payload byte: signature first
    assert rejected(lambda: open_item(bytes(data), JPN, TRUST, NOW, cache=cache)) is (
        Cause.SIGNATURE_INVALID
    )
    assert open_item(other, JPN, TRUST, NOW, cache=cache).payload == b"track 1"
    assert (cache.misses, cache.hits) == (1, 1)


def _lying_sender(monkeypatch: pytest.MonkeyPatch, victim: bytes) -> None:
    """The (trusted) sender wraps garbage to ``victim``: the item is signed, the wrap is bad."""
    real = prim.KeyWrapper.wrap

    def lying(self: prim.KeyWrapper, public: bytes, secret: bytes, info: bytes) -> bytes:
        wrapped = real(self, public, secret, info)
        return bytes(48) if public == victim else wrapped

    monkeypatch.setattr(prim.KeyWrapper, "wrap", lying)


def test_a_failed_unwrap_does_not_poison_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    session = SealSession()
    _lying_sender(monkeypatch, USA.current.enc.public)
    bad = sealed(session=session)
    monkeypatch.undo()
    good = sealed(session=session)
    assert bad.header.ephemeral == good.header.ephemeral
    cache = OpenCache()
    assert rejected(lambda: open_item(bad, USA, TRUST, NOW, cache=cache)) is Cause.DECRYPT_FAILED
    assert len(cache) == 0  # computed, not verified: not stored
    assert open_item(good, USA, TRUST, NOW, cache=cache).payload == b"launch detected"
    assert (cache.misses, cache.hits, len(cache)) == (2, 0, 1)
    # Warm now: the bad wrap still fails on a hit (the AEAD runs), and changes nothing.
    assert rejected(lambda: open_item(bad, USA, TRUST, NOW, cache=cache)) is Cause.DECRYPT_FAILED
    assert open_item(good, USA, TRUST, NOW, cache=cache).payload == b"launch detected"
    assert (cache.misses, cache.hits, len(cache)) == (2, 2, 1)
    assert open_item(bad, JPN, TRUST, NOW).payload == b"launch detected"  # JPN's wrap is fine


def test_a_low_order_ephemeral_key_is_refused_and_not_stored() -> None:
    cache = SharedSecretCache(4)
    recipient = prim.AgreementKey.generate()
    for _ in range(2):
        with pytest.raises(prim.CryptoError) as err:
            prim.unwrap_key(recipient, bytes(32), bytes(48), b"info", cache)
        assert err.value.code == "CRYPTO_TAG_INVALID"
    assert len(cache) == 0


def test_the_cache_is_keyed_by_our_key_too() -> None:
    """One ephemeral key, two recipients: neither is served the other's secret."""
    wrapper = prim.KeyWrapper()
    a, b = prim.AgreementKey.generate(), prim.AgreementKey.generate()
    to_a = wrapper.wrap(a.public_raw(), b"a" * 32, b"info")
    to_b = wrapper.wrap(b.public_raw(), b"b" * 32, b"info")
    cache = SharedSecretCache(8)
    assert prim.unwrap_key(a, wrapper.public_raw(), to_a, b"info", cache) == b"a" * 32
    with pytest.raises(prim.CryptoError):
        prim.unwrap_key(b, wrapper.public_raw(), to_a, b"info", cache)
    assert prim.unwrap_key(b, wrapper.public_raw(), to_b, b"info", cache) == b"b" * 32
    assert (cache.misses, cache.hits, len(cache)) == (3, 0, 2)


@pytest.mark.parametrize("bad", [0, -3, True, 1.5, None])
def test_a_cache_needs_a_positive_size(bad: Any) -> None:
    with pytest.raises(prim.CryptoError):
        OpenCache(bad)


def test_cache_must_be_a_cache() -> None:
    with pytest.raises(InputError):
        open_item(sealed(), JPN, TRUST, NOW, cache={})  # type: ignore[arg-type]
    with pytest.raises(InputError):
        open_stream(io.BytesIO(), io.BytesIO(), JPN, TRUST, NOW, cache={})  # type: ignore[arg-type]


def test_cache_repr_shows_no_secret() -> None:
    cache = OpenCache(4)
    item = sealed(session=SealSession())
    open_item(item, JPN, TRUST, NOW, cache=cache)
    (secret,) = cache._entries.values()
    assert secret.hex() not in repr(cache)
    assert repr(cache) == "OpenCache(<1 of 4 secrets>)"


@settings(max_examples=15, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=300), min_size=1, max_size=6),
    max_items=st.integers(1, 4),
    cache_size=st.integers(1, 3),
)
def test_any_batch_opens_alike_with_and_without_the_cache(
    payloads: list[bytes], max_items: int, cache_size: int
) -> None:
    session = SealSession(max_items=max_items)
    items = [sealed(p, session=session).to_bytes() for p in payloads]
    cache = OpenCache(cache_size)
    for p, data in zip(payloads, items, strict=True):
        cached = open_item(data, JPN, TRUST, NOW, cache=cache)
        plain = open_item(data, JPN, TRUST, NOW)
        assert cached.payload == plain.payload == p
        assert cached.seal_digest == plain.seal_digest
    keys = -(-len(payloads) // max_items)
    assert cache.misses == keys  # one exchange per ephemeral key (batches open in order)
    assert len(cache) == min(keys, cache_size)
