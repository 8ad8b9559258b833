"""The notice frames 0x10-0x1F (docs/wire-format.md §11): pure framing, bytes in, values out."""

from __future__ import annotations

import pytest

from gsomia.node import FrameError, FrameKind
from gsomia.node.framing import decode, notice_ack_frame, notice_frame


def test_notice_frames_round_trip() -> None:
    frame = decode(notice_frame(FrameKind.VISIT_REQUEST, b'{"typ":"gsomia-notice/1"}'))
    assert (frame.kind, frame.body) == (FrameKind.VISIT_REQUEST, b'{"typ":"gsomia-notice/1"}')
    ack = decode(notice_ack_frame("2f1c-notice.1"))
    assert (ack.kind, ack.body) == (FrameKind.NOTICE_ACK, b"2f1c-notice.1")


@pytest.mark.parametrize(
    "payload",
    [
        b"\x17reserved",  # 0x17-0x1E are reserved
        b"\x1fnot an id",  # an ack names a notice id
        b"\x1fid\n",
        b"\x1f\xff\xfe",
    ],
)
def test_reserved_kinds_and_bad_acks_are_not_frames(payload: bytes) -> None:
    with pytest.raises(FrameError):
        decode(payload)


def test_only_notice_kinds_frame_a_notice() -> None:
    with pytest.raises(ValueError, match="notice kind"):
        notice_frame(FrameKind.RECEIPT, b"token")
    with pytest.raises(ValueError, match="notice id"):
        notice_ack_frame("")
