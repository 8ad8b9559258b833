"""A batch of channel messages in one signed request (ADR 0005, "Batches"): the body's layout.

``POST /v1/channel/batch`` carries several messages to one partner in one request, signed once
like any channel request (the canonical string names this path, so a batch's signature can never
pass for a single message's, nor the reverse).  The body, ``application/octet-stream``::

    count                 2 bytes, big-endian, 1..MAX_BATCH_MESSAGES
    count times:
      key length          2 bytes, big-endian, 1..256
      idempotency key     that many bytes of visible ASCII (the single request's header rule)
      payload length      4 bytes, big-endian, >= 1
      payload             that many bytes (a node frame, opaque here)

and nothing after the last payload.  Each message keeps its own idempotency key; the request's
``Idempotency-Key`` header is :func:`batch_key` of the keys it carries.  The receiver checks the
whole request as a single one (framing, headers, instant, recipient, key, signature, nonce), then
decodes the body; a body that does not decode exactly is ``400 CHANNEL_BATCH_INVALID`` and queues
nothing.  Otherwise every message is queued, in order, or none (``503 CHANNEL_BUSY`` when the
queue has no room for all).  Pure: bytes in, values out.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Final

from gsomia.adapters.http_channel._request import ChannelRefusal

__all__ = ["BATCH_PATH", "MAX_BATCH_MESSAGES", "batch_key", "decode_batch", "encode_batch"]

BATCH_PATH: Final = "/v1/channel/batch"
MAX_BATCH_MESSAGES: Final = 1024
_KEY = re.compile(rb"[\x21-\x7e]{1,256}")


class ChannelBatchInvalid(ChannelRefusal):
    """The body of a batch request does not decode exactly."""

    code = "CHANNEL_BATCH_INVALID"
    status = 400
    title = "Malformed batch"


def batch_key(keys: Sequence[str]) -> str:
    """The request's ``Idempotency-Key``: ``batch:`` and SHA-256 (hex) of the keys, one a line."""
    return "batch:" + hashlib.sha256("\n".join(keys).encode("ascii")).hexdigest()


def encode_batch(messages: Sequence[tuple[bytes, str]]) -> bytes:
    """The body carrying ``(payload, idempotency key)`` pairs, in order; ValueError if it can't."""
    if not 1 <= len(messages) <= MAX_BATCH_MESSAGES:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH_MESSAGES} messages")
    parts = [len(messages).to_bytes(2, "big")]
    for payload, key in messages:
        raw = key.encode("ascii") if isinstance(key, str) and key.isascii() else b""
        if not _KEY.fullmatch(raw) or not payload or len(payload) >= 1 << 32:
            raise ValueError("each message has a key of visible ASCII and a payload")
        parts += [len(raw).to_bytes(2, "big"), raw, len(payload).to_bytes(4, "big"), payload]
    return b"".join(parts)


def decode_batch(body: bytes) -> list[tuple[str, bytes]]:
    """The ``(idempotency key, payload)`` pairs of a batch body; :class:`ChannelBatchInvalid`."""
    size = len(body)
    if size < 2:
        raise ChannelBatchInvalid("the batch is too short")
    count = int.from_bytes(body[:2], "big")
    if not 1 <= count <= MAX_BATCH_MESSAGES:
        raise ChannelBatchInvalid(f"a batch holds 1 to {MAX_BATCH_MESSAGES} messages")
    out: list[tuple[str, bytes]] = []
    pos = 2
    for _ in range(count):
        if pos + 2 > size:
            raise ChannelBatchInvalid("the batch is truncated")
        end = pos + 2 + int.from_bytes(body[pos : pos + 2], "big")
        key = body[pos + 2 : end]
        if end + 4 > size or not _KEY.fullmatch(key):
            raise ChannelBatchInvalid("a message's idempotency key is malformed or truncated")
        length = int.from_bytes(body[end : end + 4], "big")
        pos = end + 4 + length
        if length == 0 or pos > size:
            raise ChannelBatchInvalid("a message's payload is empty or truncated")
        out.append((key.decode("ascii"), body[end + 4 : pos]))
    if pos != size:
        raise ChannelBatchInvalid("bytes follow the last message")
    return out
