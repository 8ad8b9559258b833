"""Coverage-guided fuzz target for the sealed item wire format (``gsomia.envelope``).

Each input is parsed strictly (:meth:`SealedItem.from_bytes`, which must give the same bytes
back), opened whole (:func:`open_item`) and as a stream (:func:`open_stream`) with JPN's real
keys and a trust store holding KOR's; only :class:`~gsomia.envelope.EnvelopeError` may come out,
and the two openings agree.  The seeds are items KOR sealed to JPN in this process, in both suites
(one signature each, and a signed batch), so mutations reach every check up to the signature.  Run with atheris (``bench/fuzz.sh``); the pytest runner
is ``tests/fuzz/test_fuzz_parsers.py``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import timedelta

from gsomia.envelope import (
    BatchSigner,
    EnvelopeError,
    NodeKeys,
    SealedItem,
    TrustStore,
    open_item,
    open_stream,
    seal,
    seal_in_batch,
)
from gsomia.labels import LabelSet
from tests.conftest import at, make_label

NOW = at("2026-11-23T12:00:00+09:00")
KOR = NodeKeys.generate("KOR", NOW - timedelta(days=1))
JPN = NodeKeys.generate("JPN", NOW - timedelta(days=1))
TRUST = TrustStore().add_bundle(KOR.public_bundle())
SNIPPETS = [
    b"GSMA\x01\x01", b"GSMA\x01\x02", b"GSMA\x02\x01", b"\x00\x00\x00\x00", b"\xff\xff\xff\xff", b"\x01",
    b"\x00\x00\x00\x01", b"KOR", b"JPN", b"USA", b"\x00" * 64,
]  # fmt: skip


def seeds() -> Iterable[bytes]:
    to_jpn = {"JPN": JPN.current.enc, "KOR": KOR.current.enc}
    ref = ("kor-jpn-gsomia-2016", 1)
    yield seal(b"launch detected", make_label(), to_jpn, ref, KOR, NOW).to_bytes()
    yield seal(bytes(300), make_label(), to_jpn, ref, KOR, NOW, segment_size=64).to_bytes()
    yield seal(b"", LabelSet(make_label()), {"JPN": JPN.current.enc}, ref, KOR, NOW).to_bytes()
    signer = BatchSigner()  # suite 2: a batch of three, each item with its path (ADR 0019)
    batch = [
        seal_in_batch(b"track %d" % i, make_label(), to_jpn, ref, KOR, NOW, signer=signer)
        for i in range(3)
    ]
    signer.sign()
    yield from (pending.to_bytes() for pending in batch)


def TestOneInput(data: bytes) -> None:
    """One input: only EnvelopeError escapes parsing and opening; the two openings agree."""
    try:
        item = SealedItem.from_bytes(data)
    except EnvelopeError:
        item = None
    else:
        assert item.to_bytes() == data, "a parsed item has one spelling"
    try:
        whole = open_item(data, JPN, TRUST, NOW).payload
    except EnvelopeError:
        whole = None
    staged = io.BytesIO()
    try:
        open_stream(io.BytesIO(data), staged, JPN, TRUST, NOW)
    except EnvelopeError:
        streamed = None
    else:
        streamed = staged.getvalue()
    assert whole == streamed, "whole and streamed opening disagree"
    assert whole is None or item is not None


if __name__ == "__main__":
    from tests.fuzz._atheris import main

    main(TestOneInput, seeds)
