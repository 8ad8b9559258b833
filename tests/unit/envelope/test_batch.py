"""Batch signatures, suite 2 (ADR 0019; docs/wire-format.md §4.1).

What must hold: every item of a signed batch opens on its own, whole or streamed, with or without
a cache; its signature block has exactly one encoding; any change to a block, a swap of blocks
between items or batches, or a change of suite is refused; the cache stores only signatures that
verified and never lets an item skip its own path; the STANAG 4778 export carries and checks the
path; the root is the RFC 9162 root of the items' to-be-signed bytes.
"""

from __future__ import annotations

import hashlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.audit.merkle import inclusion_proof_length
from gsomia.envelope import (
    BatchSigner,
    OpenCache,
    PendingItem,
    SealSession,
    batch,
    seal_in_batch,
    wire,
)
from gsomia.envelope import _primitives as prim
from gsomia.envelope.bdo import binding_data_object, verify_binding_data_object
from gsomia.envelope.errors import Cause, SealError
from gsomia.envelope.item import SealedItem
from gsomia.envelope.opening import open_item, open_stream
from tests.unit.envelope.test_seal import (
    AGREEMENT,
    JPN,
    KOR,
    LABEL,
    NOW,
    TO_BOTH,
    TRUST,
    USA,
    rejected,
    sealed,
)


def signed_batch(n: int, signer: BatchSigner | None = None, **kw: object) -> list[PendingItem]:
    signer = signer or BatchSigner()
    session = SealSession()
    items = [
        seal_in_batch(b"track %d" % i, LABEL, TO_BOTH, AGREEMENT, KOR, NOW, signer=signer,
                      session=session, **kw)  # type: ignore[arg-type]
        for i in range(n)
    ]  # fmt: skip
    signer.sign()
    return items


def opened(data: bytes, cache: OpenCache | None = None) -> bytes:
    return open_item(data, JPN, TRUST, NOW, cache=cache).payload


def with_block(data: bytes, block: bytes) -> bytes:
    """``data`` with its signature block replaced by ``block``."""
    item = SealedItem.from_bytes(data)
    return b"".join((item.header_bytes, *item.segments, block))


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17])
def test_every_item_of_a_batch_opens_on_its_own(n: int) -> None:
    items = signed_batch(n)
    for i, pending in enumerate(items):
        data = pending.to_bytes()
        parsed = SealedItem.from_bytes(data)
        assert parsed.to_bytes() == data  # one spelling
        assert parsed.header.suite == wire.SUITE_BATCH
        assert data[5] == wire.SUITE_BATCH
        size, index, path, _ = batch.split_block(parsed.signature)
        assert (size, index, len(path)) == (n, i, inclusion_proof_length(i, n))
        result = open_item(data, JPN, TRUST, NOW)  # no cache: the item alone
        assert result.payload == b"track %d" % i
        assert result.seal_digest == pending.seal_digest
        assert open_item(data, USA, TRUST, NOW).payload == b"track %d" % i
        out = io.BytesIO()
        info = open_stream(io.BytesIO(data), out, JPN, TRUST, NOW)
        assert out.getvalue() == b"track %d" % i
        assert info.seal_digest == pending.seal_digest


def test_one_signature_per_batch_and_the_cache_verifies_it_once() -> None:
    items = signed_batch(10)
    signatures = {
        batch.split_block(SealedItem.from_bytes(p.to_bytes()).signature)[3] for p in items
    }
    assert len(signatures) == 1
    cache = OpenCache()
    for i, pending in enumerate(items):
        assert opened(pending.to_bytes(), cache) == b"track %d" % i
    assert (cache.signatures.misses, cache.signatures.hits, len(cache.signatures)) == (1, 9, 1)


def test_the_root_is_the_rfc9162_root_of_the_to_be_signed_bytes() -> None:
    items = signed_batch(3)

    def leaf(tbs: bytes) -> bytes:
        return hashlib.sha256(b"\x00" + tbs).digest()

    def node(left: bytes, right: bytes) -> bytes:
        return hashlib.sha256(b"\x01" + left + right).digest()

    l0, l1, l2 = (leaf(p.tbs) for p in items)
    root = node(node(l0, l1), l2)  # RFC 9162 §2.1.1, k = 2
    _, _, path, signature = batch.split_block(SealedItem.from_bytes(items[0].to_bytes()).signature)
    assert path == [l1, l2]
    message = b"gsomia-envelope/1 batch signature\x00" + (3).to_bytes(4, "big") + root
    prim.ed25519_verify(KOR.current.sig.public, signature, message)  # raises if not
    assert items[0].seal_digest == hashlib.sha256(items[0].tbs).digest()


# ------------------------------------------------------------------ refusals


def test_a_changed_path_signature_or_index_is_refused() -> None:
    items = signed_batch(5)
    data = items[2].to_bytes()
    block = SealedItem.from_bytes(data).signature
    size, index, path, signature = batch.split_block(block)
    changed_path = batch.join_block(size, index, [path[0][:-1] + b"\x00", *path[1:]], signature)
    if changed_path == block:  # the last byte was 0 already
        changed_path = batch.join_block(size, index, [path[0][:-1] + b"\x01", *path[1:]], signature)
    assert rejected(lambda: opened(with_block(data, changed_path))) is Cause.SIGNATURE_INVALID
    forged = batch.join_block(size, index, path, bytes(64))
    assert rejected(lambda: opened(with_block(data, forged))) is Cause.SIGNATURE_INVALID
    # index 3 of 5 has a path of the same length as index 2: the walk gives another root
    assert inclusion_proof_length(3, 5) == len(path)
    moved = batch.join_block(size, 3, path, signature)
    assert rejected(lambda: opened(with_block(data, moved))) is Cause.SIGNATURE_INVALID
    # a batch size of 4 fixes another path length for index 2 (2, not 3): malformed
    resized = batch.join_block(4, index, path, signature)
    assert rejected(lambda: opened(with_block(data, resized))) is Cause.MALFORMED


def test_blocks_do_not_move_between_items_or_batches() -> None:
    first, second = signed_batch(4), signed_batch(4)
    a = first[0].to_bytes()
    sibling = SealedItem.from_bytes(first[1].to_bytes()).signature
    other = SealedItem.from_bytes(second[0].to_bytes()).signature
    assert rejected(lambda: opened(with_block(a, sibling))) is Cause.SIGNATURE_INVALID
    assert rejected(lambda: opened(with_block(a, other))) is Cause.SIGNATURE_INVALID


@pytest.mark.parametrize(
    ("head", "cause"),
    [
        (b"\x00\x00\x00\x00", Cause.MALFORMED),  # a batch of 0
        (b"\x00\x04\x00\x04", Cause.MALFORMED),  # index = size
        (b"\x00\x04\x00\x09", Cause.MALFORMED),  # index > size
    ],
)
def test_impossible_heads_are_malformed(head: bytes, cause: Cause) -> None:
    data = signed_batch(4)[0].to_bytes()
    block = SealedItem.from_bytes(data).signature
    assert rejected(lambda: opened(with_block(data, head + block[4:]))) is cause
    assert rejected(lambda: open_stream(io.BytesIO(with_block(data, head + block[4:])),
                                        io.BytesIO(), JPN, TRUST, NOW)) is cause  # fmt: skip


def test_a_cut_or_lengthened_block_is_refused() -> None:
    data = signed_batch(4)[1].to_bytes()
    for cut in (1, 4, 63, 64, 65, len(SealedItem.from_bytes(data).signature) - 1):
        short = data[:-cut]
        assert rejected(lambda short=short: opened(short)) is Cause.SEGMENT_TRUNCATED
        assert (
            rejected(
                lambda short=short: open_stream(io.BytesIO(short), io.BytesIO(), JPN, TRUST, NOW)
            )
            is Cause.SEGMENT_TRUNCATED
        )
    assert rejected(lambda: opened(data + b"\x00")) is Cause.MALFORMED
    assert rejected(lambda: SealedItem.from_bytes(data + b"\x00")) is Cause.MALFORMED


def test_the_suite_byte_cannot_be_changed() -> None:
    batched = signed_batch(2)[0].to_bytes()
    single = sealed().to_bytes()
    as_single = batched[:5] + bytes([wire.SUITE]) + batched[6:]
    as_batched = single[:5] + bytes([wire.SUITE_BATCH]) + single[6:]
    for data in (as_single, as_batched):
        rejected(lambda data=data: opened(data))
    assert rejected(lambda: opened(batched[:5] + b"\x03" + batched[6:])) is (
        Cause.UNSUPPORTED_VERSION
    )


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 12), data=st.data())
def test_any_changed_byte_of_a_block_is_refused(n: int, data: st.DataObject) -> None:
    items = signed_batch(n)
    i = data.draw(st.integers(0, n - 1))
    good = items[i].to_bytes()
    block = SealedItem.from_bytes(good).signature
    at = data.draw(st.integers(0, len(block) - 1))
    flip = data.draw(st.integers(1, 255))
    bad = bytearray(block)
    bad[at] ^= flip
    rejected(lambda: opened(with_block(good, bytes(bad)), OpenCache()))


# ------------------------------------------------------------------ the cache


def test_the_cache_keeps_only_verified_signatures_and_never_skips_a_path() -> None:
    items = signed_batch(4)
    cache = OpenCache()
    data = items[0].to_bytes()
    size, index, path, _signature = batch.split_block(SealedItem.from_bytes(data).signature)
    forged = with_block(data, batch.join_block(size, index, path, bytes(64)))
    rejected(lambda: opened(forged, cache))
    assert len(cache.signatures) == 0
    assert opened(data, cache) == b"track 0"
    assert len(cache.signatures) == 1
    # the batch signature is now cached; an item whose ciphertext changed has another leaf,
    # so another root: no cache entry matches and the signature does not verify
    other = SealedItem.from_bytes(items[1].to_bytes())
    segment = bytearray(other.segments[0])
    segment[-1] ^= 1
    tampered = b"".join((other.header_bytes, bytes(segment), other.signature))
    assert rejected(lambda: opened(tampered, cache)) is Cause.SIGNATURE_INVALID
    cache.clear()
    assert len(cache.signatures) == 0


# ------------------------------------------------------------------ the signer


def test_a_pending_item_has_no_bytes_before_its_batch_is_signed() -> None:
    signer = BatchSigner()
    pending = seal_in_batch(b"x", LABEL, TO_BOTH, AGREEMENT, KOR, NOW, signer=signer)
    assert len(signer) == 1
    assert "unsigned" in repr(pending)
    with pytest.raises(SealError) as err:
        pending.to_bytes()
    assert err.value.code == "SEAL_UNSIGNED"
    signer.sign()
    assert "signed" in repr(pending)
    assert len(signer) == 0
    assert opened(pending.to_bytes()) == b"x"
    signer.sign()  # nothing left: no signature, nothing changes
    assert opened(pending.to_bytes()) == b"x"


def test_one_batch_one_signing_key() -> None:
    signer = BatchSigner()
    seal_in_batch(b"x", LABEL, TO_BOTH, AGREEMENT, KOR, NOW, signer=signer)
    to_kor = {"KOR": KOR.current.enc}
    with pytest.raises(SealError) as err:
        seal_in_batch(b"y", LABEL, to_kor, AGREEMENT, USA, NOW, signer=signer)
    assert err.value.code == "SEAL_SENDER"
    with pytest.raises(SealError) as err:
        seal_in_batch(b"y", LABEL, TO_BOTH, AGREEMENT, KOR, NOW, signer="signer")  # type: ignore[arg-type]
    assert err.value.code == "SEAL_BATCH"


def test_a_signer_signs_each_batch_apart() -> None:
    signer = BatchSigner()
    first = signed_batch(3, signer)
    second = signed_batch(2, signer)
    assert [
        batch.split_block(SealedItem.from_bytes(p.to_bytes()).signature)[0] for p in first + second
    ] == [3, 3, 3, 2, 2]
    for pending in first + second:
        opened(pending.to_bytes())


# ------------------------------------------------------------------ STANAG 4778 export


def test_the_binding_data_object_carries_and_checks_the_path() -> None:
    item = signed_batch(5)[3].item
    bdo = binding_data_object(item)
    crypto = bdo["bindingInformation"]["cryptographicBinding"]
    assert crypto["batch"]["size"] == 5
    assert crypto["batch"]["index"] == 3
    assert len(crypto["batch"]["path"]) == inclusion_proof_length(3, 5)
    verify_binding_data_object(bdo, TRUST)
    crypto["batch"]["index"] = 2
    assert rejected(lambda: verify_binding_data_object(bdo, TRUST)) is Cause.SIGNATURE_INVALID
    for bad in (True, -1, "3", 2**16):
        crypto["batch"]["index"] = bad
        assert rejected(lambda: verify_binding_data_object(bdo, TRUST)) is Cause.MALFORMED
    crypto["batch"]["index"] = 3
    crypto["batch"]["path"] = [*crypto["batch"]["path"][:-1], "AAAA"]
    assert rejected(lambda: verify_binding_data_object(bdo, TRUST)) is Cause.MALFORMED
    single = binding_data_object(sealed())
    single["bindingInformation"]["cryptographicBinding"]["batch"] = {"size": 1, "index": 0}
    assert rejected(lambda: verify_binding_data_object(single, TRUST)) is Cause.MALFORMED
