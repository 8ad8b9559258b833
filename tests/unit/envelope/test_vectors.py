"""Known-answer sealed items: the wire format stays byte for byte what it was.

``vectors/sealed_items.json`` was sealed by the code before the seal/open fast path (see
:mod:`tests.unit.envelope.sealed_vectors`).  Every item must still open, parse and re-encode to
the same bytes, and sealing the same inputs with the same randomness must give the same bytes.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from gsomia.envelope import _primitives as prim
from gsomia.envelope import batch, wire
from gsomia.envelope.errors import Cause, EnvelopeError
from gsomia.envelope.item import SealedItem
from gsomia.envelope.opening import open_item, open_stream
from gsomia.envelope.seal import seal_stream
from tests.unit.envelope import sealed_vectors as sv

VECTORS = sv.load()
CASES = VECTORS["cases"]
NODES = sv.nodes(VECTORS)
TRUST = sv.trust(VECTORS)


def _ids(case: dict[str, Any]) -> str:
    return str(case["item_id"])


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_vector_parses_and_re_encodes_to_the_same_bytes(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["item"])
    item = SealedItem.from_bytes(data)
    assert item.to_bytes() == data
    assert item.header.encode() == item.header_bytes
    assert item.header.item_id == case["item_id"]
    assert item.header.segment_size == case["segment_size"]
    assert [r.party for r in item.header.recipients] == case["recipients"]
    assert item.header.label_bytes == case["label_json"].encode("utf-8")
    assert prim.sha256(item.to_be_signed()).hex() == case["seal_digest"]


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_vector_opens_for_each_recipient(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["item"])
    now = datetime.fromisoformat(case["created"])
    payload = bytes.fromhex(case["payload"])
    for party in case["recipients"]:
        opened = open_item(data, NODES[party], TRUST, now)
        assert opened.payload == payload
        assert opened.label == sv.label_of(case)
        assert opened.item_id == case["item_id"]
        assert opened.created == now
        assert opened.sender == case["sender"]
        assert opened.seal_digest.hex() == case["seal_digest"]
        out = io.BytesIO()
        info = open_stream(io.BytesIO(data), out, NODES[party], TRUST, now)
        assert out.getvalue() == payload
        assert info.seal_digest.hex() == case["seal_digest"]


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_vector_is_closed_to_everyone_else(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["item"])
    now = datetime.fromisoformat(case["created"])
    for party in set(NODES) - set(case["recipients"]):
        with pytest.raises(EnvelopeError) as err:
            open_item(data, NODES[party], TRUST, now)
        assert err.value.cause is Cause.NOT_A_RECIPIENT


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_sealing_again_with_the_same_randomness_gives_the_same_bytes(case: dict[str, Any]) -> None:
    assert sv.reseal(case, NODES).to_bytes().hex() == case["item"]
    # Twice in a row: nothing memoized on the first call may change the second.
    assert sv.reseal(case, NODES).to_bytes().hex() == case["item"]


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_stream_sealing_gives_the_same_bytes(case: dict[str, Any]) -> None:
    out = io.BytesIO()
    with sv.fixed_randomness(
        bytes.fromhex(case["content_key"]),
        bytes.fromhex(case["nonce_prefix"]),
        bytes.fromhex(case["ephemeral_scalar"]),
    ):
        info = seal_stream(
            io.BytesIO(bytes.fromhex(case["payload"])),
            out,
            sv.label_of(case),
            {p: NODES[p].current.enc for p in case["recipients"]},
            (case["agreement_id"], case["table_version"]),
            NODES[case["sender"]],
            datetime.fromisoformat(case["created"]),
            case["item_id"],
            segment_size=case["segment_size"],
        )
    assert out.getvalue().hex() == case["item"]
    assert info.seal_digest.hex() == case["seal_digest"]


def test_decoded_header_re_encodes_without_its_cached_core() -> None:
    # Header.encode() must not depend on the bytes it was decoded from.
    for case in CASES:
        data = bytes.fromhex(case["item"])
        header, end = wire.decode_header(data)
        rebuilt = replace(header)  # a fresh object: no cached encoding carried over
        assert rebuilt.encode() == data[:end]


# -- suite 2: the same cases sealed as one signed batch (ADR 0019) ----------------------------

BATCH = json.loads(sv.BATCH_PATH.read_text("utf-8"))


def test_batch_vectors_reseal_to_the_same_bytes() -> None:
    items = sv.reseal_batch(CASES, NODES)
    assert [item.to_bytes().hex() for item in items] == BATCH["items"]
    assert [item.seal_digest.hex() for item in items] == BATCH["seal_digests"]


@pytest.mark.parametrize("i", range(len(CASES)))
def test_batch_vectors_open_parse_and_share_one_signature(i: int) -> None:
    case, data = CASES[i], bytes.fromhex(BATCH["items"][i])
    item = SealedItem.from_bytes(data)
    assert item.to_bytes() == data
    assert item.header.suite == wire.SUITE_BATCH
    size, index, _, signature = batch.split_block(item.signature)
    assert (size, index) == (len(CASES), i)
    first = SealedItem.from_bytes(bytes.fromhex(BATCH["items"][0]))
    assert signature == batch.split_block(first.signature)[3]
    now = datetime.fromisoformat(case["created"])
    for party in case["recipients"]:
        opened = open_item(data, NODES[party], TRUST, now)
        assert opened.payload == bytes.fromhex(case["payload"])
        assert opened.seal_digest.hex() == BATCH["seal_digests"][i]
    # the header differs from the suite-1 vector's in its suite byte alone
    single = SealedItem.from_bytes(bytes.fromhex(case["item"]))
    assert item.header_bytes[6:] == single.header_bytes[6:]
    assert item.header_bytes[:5] == single.header_bytes[:5]
