"""The framing of the two kinds of payload nodes exchange on the channel (Arts. 9-12).

A :class:`~gsomia.ports.Channel` carries opaque bytes.  A node sends two kinds, told apart by
the first byte::

    ITEM     0x01 | topic length (1 byte) | topic (ASCII) | purpose length (2 bytes, big-endian)
                  | purpose (UTF-8) | sealed item (docs/wire-format.md)
    RECEIPT  0x02 | receipt token (gsomia-receipt/1, canonical JSON; gsomia.proofs.tokens)

The topic and purpose of an item travel beside the sealed item, not inside it: the receiver needs
the topic to decide acceptance (the label's own Topic category, which the seal binds, still
restricts it) and quotes the purpose in its Art. 7 assurance.  Neither grants anything: the
channel authenticates the sending node, and acceptance is decided again by the receiver.

Any other first byte, a truncated frame, an ill-formed topic or purpose, or an empty body is a
:class:`~gsomia.node.errors.FrameError` (``NODE_FRAME_INVALID``).  Pure: bytes in, values out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from gsomia.node.errors import FrameError

__all__ = ["MAX_PURPOSE_BYTES", "Frame", "FrameKind", "decode", "item_frame", "receipt_frame"]

MAX_PURPOSE_BYTES: Final = 1024
_TOPIC = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FrameKind(IntEnum):
    """The first byte of a frame."""

    ITEM = 0x01
    RECEIPT = 0x02


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame: a sealed item with its topic and purpose, or a receipt token."""

    kind: FrameKind
    body: bytes
    topic: str = ""
    purpose: str = ""


def check_purpose(purpose: object) -> str:
    """``purpose`` if it is 1-1024 bytes of UTF-8 without control characters, else ValueError."""
    if not isinstance(purpose, str) or not purpose or _CONTROL.search(purpose):
        raise ValueError("a purpose is non-empty text without control characters")
    if len(purpose.encode("utf-8")) > MAX_PURPOSE_BYTES:
        raise ValueError(f"a purpose is at most {MAX_PURPOSE_BYTES} bytes")
    return purpose


def item_frame(topic: str, purpose: str, sealed: bytes) -> bytes:
    """Frame a sealed item with its topic and purpose."""
    if not _TOPIC.match(topic) or not sealed:
        raise ValueError("an item frame needs a topic code and a sealed item")
    raw_purpose = check_purpose(purpose).encode("utf-8")
    raw_topic = topic.encode("ascii")
    return b"".join(
        (
            bytes((FrameKind.ITEM, len(raw_topic))),
            raw_topic,
            len(raw_purpose).to_bytes(2, "big"),
            raw_purpose,
            sealed,
        )
    )


def receipt_frame(token: bytes) -> bytes:
    """Frame a signed receipt token."""
    if not token:
        raise ValueError("a receipt frame needs a token")
    return bytes((FrameKind.RECEIPT,)) + token


def decode(payload: bytes) -> Frame:
    """The frame ``payload`` holds; :class:`FrameError` if it holds none."""
    if not isinstance(payload, bytes) or len(payload) < 2:
        raise FrameError("the message is too short to be a frame")
    kind = payload[0]
    if kind == FrameKind.RECEIPT:
        return Frame(FrameKind.RECEIPT, payload[1:])
    if kind != FrameKind.ITEM:
        raise FrameError(f"unknown frame kind 0x{kind:02x}")
    topic_end = 2 + payload[1]
    purpose_end = topic_end + 2 + int.from_bytes(payload[topic_end : topic_end + 2], "big")
    if len(payload) <= purpose_end:
        raise FrameError("the item frame is truncated")
    try:
        topic = payload[2:topic_end].decode("ascii")
        purpose = check_purpose(payload[topic_end + 2 : purpose_end].decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        raise FrameError("the item frame's topic or purpose is ill-formed") from None
    if not _TOPIC.match(topic):
        raise FrameError("the item frame's topic is ill-formed")
    return Frame(FrameKind.ITEM, payload[purpose_end:], topic, purpose)
