"""Coverage-guided fuzz target for the frames nodes exchange (``gsomia.node.framing.decode``).

Only :class:`~gsomia.node.FrameError` may come out of :func:`decode`; an item or receipt frame
that decodes is encoded back to the same bytes (one spelling per frame).  Run with atheris
(``bench/fuzz.sh``); the pytest runner is ``tests/fuzz/test_fuzz_parsers.py``.
"""

from __future__ import annotations

from collections.abc import Iterable

from gsomia.node import FrameError, FrameKind
from gsomia.node.framing import (
    ack_frame,
    decode,
    item_frame,
    notice_ack_frame,
    notice_frame,
    receipt_frame,
    receipts_frame,
    revoked_frame,
    token_frame,
)

SNIPPETS = [
    b"\x00", b"\x01", b"\x03", b"\x08", b"\x0f", b"\x10", b"\x17", b"\x1f", b"\xff\xff",
    b"NK-MISSILE", b"nk", b"\x7f", b"\n", "경보".encode(), b"\xc3", b"{}",
]  # fmt: skip


def seeds() -> Iterable[bytes]:
    yield item_frame("NK-MISSILE", "early warning", b"GSMA sealed")
    yield item_frame("NK-NUCLEAR", "경보 purpose", b"sealed", (b'{"a":1}', b'{"b":2}'))
    yield receipt_frame(b'{"typ":"gsomia-receipt/1"}')
    yield receipts_frame(b"gsomia-receipts/1\n{}\nkid sig\n[]")
    yield token_frame(FrameKind.CONSENT_GRANTED, b"{}")
    yield token_frame(FrameKind.CONSENT_REQUEST, b'{"request_id":"r-1"}')
    yield revoked_frame(b'{"consent":1}', b'{"revocation":1}')
    yield ack_frame("item-1:JPN")
    yield notice_frame(FrameKind.BREACH_REPORT, b"{}")
    yield notice_ack_frame("notice-1")


def TestOneInput(data: bytes) -> None:
    """One input: only FrameError escapes; item and receipt frames re-encode exactly."""
    try:
        frame = decode(data)
    except FrameError:
        return
    if frame.kind in (FrameKind.ITEM, FrameKind.ITEM_WITH_PROOF):
        assert item_frame(frame.topic, frame.purpose, frame.body, frame.proofs) == data
    elif frame.kind is FrameKind.RECEIPT:
        assert receipt_frame(frame.body) == data
    elif frame.kind is FrameKind.RECEIPTS:
        assert receipts_frame(frame.body) == data


if __name__ == "__main__":
    from tests.fuzz._atheris import main

    main(TestOneInput, seeds)
