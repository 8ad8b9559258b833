"""The framing of the payloads nodes exchange on the channel (Arts. 9-12).

A :class:`~gsomia.ports.Channel` carries opaque bytes, told apart by the first byte::

    ITEM     0x01 | topic length (1 byte) | topic (ASCII) | purpose length (2 bytes, big-endian)
                  | purpose (UTF-8) | sealed item (docs/wire-format.md)
    RECEIPT  0x02 | receipt token (gsomia-receipt/1, canonical JSON; gsomia.proofs.tokens)

Custody beyond the first recipient (TISA relay, Art. 6 forward; :mod:`gsomia.node.relay`,
:mod:`gsomia.node.consent`; docs/wire-format.md §10)::

    ITEM_WITH_PROOF     0x03 | as ITEM up to the purpose | proof count (1 byte, 1-8)
                             | per proof: length (2 bytes) | gsomia-consent/1 token | sealed item
    CONSENT_REQUEST     0x04 | RFC 8785 JSON of the holder's request (gsomia.node.consent)
    CONSENT_GRANTED     0x05 | the originator's gsomia-consent/1 token
    CONSENT_REFUSED     0x06 | the originator's gsomia-revocation/1 token naming the request id
    CONSENT_REVOKED     0x07 | consent token length (2 bytes) | gsomia-consent/1 token
                             | gsomia-revocation/1 token
    ACK                 0x08 | the idempotency key (ASCII) of the message acknowledged
    RECEIPTS            0x09 | a batch receipt (gsomia-receipts/1, full or extract;
                             gsomia.proofs.receipt_batch, ADR 0011): one signature for every
                             item of a run, each accepted or refused (a negative receipt)

An ITEM_WITH_PROOF is an ITEM to which the originator's signed proofs are attached: a node that
does not know it refuses it as an unknown kind, and a plain ITEM keeps its meaning.  Kinds
0x10-0x1F are reserved for the Art. 6, 8, 13 and 17 messages of :mod:`gsomia.node.breach` and its
kin; 0x0A-0x0F for later custody messages.

Signed notices (Arts. 6, 8, 13, 17; :mod:`gsomia.node.breach`, :mod:`gsomia.node.disposal`,
:mod:`gsomia.node.visits`; docs/wire-format.md §11)::

    BREACH_REPORT         0x10 | gsomia-notice/1 token (gsomia.proofs.notices), kind breach_report
    BREACH_UPDATE         0x11 | … breach_update
    RECLASSIFICATION      0x12 | … reclassification
    DISPOSAL_REQUEST      0x13 | … disposal_request
    DISPOSAL_CERTIFICATE  0x14 | … disposal_certificate
    VISIT_REQUEST         0x15 | … visit_request
    VISIT_DECISION        0x16 | … visit_decision
    NOTICE_ACK            0x1F | the notice id (ASCII) the receiver handled for good

The frame kind must match the notice's own kind (checked by the node, which verifies the
token).  0x17-0x1E are reserved; a frame of a reserved kind is refused.

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

__all__ = [
    "MAX_PROOFS",
    "MAX_PURPOSE_BYTES",
    "Frame",
    "FrameKind",
    "ack_frame",
    "decode",
    "item_frame",
    "notice_ack_frame",
    "notice_frame",
    "receipt_frame",
    "receipts_frame",
    "revoked_frame",
    "token_frame",
]

MAX_PURPOSE_BYTES: Final = 1024
_TOPIC = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,63}\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FrameKind(IntEnum):
    """The first byte of a frame."""

    ITEM = 0x01
    RECEIPT = 0x02
    # custody beyond the first recipient (node/relay.py, node/consent.py)
    ITEM_WITH_PROOF = 0x03
    CONSENT_REQUEST = 0x04
    CONSENT_GRANTED = 0x05
    CONSENT_REFUSED = 0x06
    CONSENT_REVOKED = 0x07
    ACK = 0x08
    RECEIPTS = 0x09
    # signed notices (node/breach.py, node/disposal.py, node/visits.py)
    BREACH_REPORT = 0x10
    BREACH_UPDATE = 0x11
    RECLASSIFICATION = 0x12
    DISPOSAL_REQUEST = 0x13
    DISPOSAL_CERTIFICATE = 0x14
    VISIT_REQUEST = 0x15
    VISIT_DECISION = 0x16
    NOTICE_ACK = 0x1F


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded frame: a sealed item with its topic and purpose, or a receipt token.

    ``proofs`` holds the signed tokens an ITEM_WITH_PROOF carries (or the consent token of a
    CONSENT_REVOKED); they are verified by the node, never by the framing.
    """

    kind: FrameKind
    body: bytes
    topic: str = ""
    purpose: str = ""
    proofs: tuple[bytes, ...] = ()


def check_purpose(purpose: object) -> str:
    """``purpose`` if it is 1-1024 bytes of UTF-8 without control characters, else ValueError."""
    if not isinstance(purpose, str) or not purpose or _CONTROL.search(purpose):
        raise ValueError("a purpose is non-empty text without control characters")
    if len(purpose.encode("utf-8")) > MAX_PURPOSE_BYTES:
        raise ValueError(f"a purpose is at most {MAX_PURPOSE_BYTES} bytes")
    return purpose


def item_frame(topic: str, purpose: str, sealed: bytes, proofs: tuple[bytes, ...] = ()) -> bytes:
    """Frame a sealed item with its topic and purpose; with ``proofs``, an ITEM_WITH_PROOF."""
    if not _TOPIC.match(topic) or not sealed:
        raise ValueError("an item frame needs a topic code and a sealed item")
    if len(proofs) > MAX_PROOFS or not all(0 < len(p) <= MAX_PROOF_BYTES for p in proofs):
        raise ValueError(f"an item carries at most {MAX_PROOFS} proofs of 1-65535 bytes")
    raw_purpose = check_purpose(purpose).encode("utf-8")
    raw_topic = topic.encode("ascii")
    kind = FrameKind.ITEM_WITH_PROOF if proofs else FrameKind.ITEM
    attached = [bytes((len(proofs),))] if proofs else []
    for proof in proofs:
        attached += [len(proof).to_bytes(2, "big"), proof]
    return b"".join(
        (
            bytes((kind, len(raw_topic))),
            raw_topic,
            len(raw_purpose).to_bytes(2, "big"),
            raw_purpose,
            *attached,
            sealed,
        )
    )


# -- custody frames (node/relay.py, node/consent.py) ---------------------------------------------

MAX_PROOFS: Final = 8
MAX_PROOF_BYTES: Final = 0xFFFF
_TOKEN_KINDS: Final = frozenset(
    {FrameKind.CONSENT_REQUEST, FrameKind.CONSENT_GRANTED, FrameKind.CONSENT_REFUSED}
)
_ACK_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}\Z")  # an outbox key


def token_frame(kind: FrameKind, body: bytes) -> bytes:
    """A CONSENT_REQUEST, CONSENT_GRANTED or CONSENT_REFUSED frame around ``body``."""
    if kind not in _TOKEN_KINDS or not body:
        raise ValueError("a consent frame needs its kind and a non-empty body")
    return bytes((kind,)) + body


def revoked_frame(consent_token: bytes, revocation_token: bytes) -> bytes:
    """A CONSENT_REVOKED frame: the consent and the originator's revocation of it."""
    if not 0 < len(consent_token) <= MAX_PROOF_BYTES or not revocation_token:
        raise ValueError("a revocation frame needs a consent token and a revocation token")
    return b"".join(
        (
            bytes((FrameKind.CONSENT_REVOKED,)),
            len(consent_token).to_bytes(2, "big"),
            consent_token,
            revocation_token,
        )
    )


def ack_frame(key: str) -> bytes:
    """An ACK of the message with idempotency key ``key``."""
    if not _ACK_KEY.match(key):
        raise ValueError("an ack names an outbox key")
    return bytes((FrameKind.ACK,)) + key.encode("ascii")


def _proofs(payload: bytes, start: int, count: int) -> tuple[tuple[bytes, ...], int]:
    """``count`` length-prefixed proofs from ``start``; the offset after them."""
    proofs = []
    for _ in range(count):
        end = start + 2 + int.from_bytes(payload[start : start + 2], "big")
        if end > len(payload) or end == start + 2:
            raise FrameError("a proof is truncated or empty")
        proofs.append(payload[start + 2 : end])
        start = end
    return tuple(proofs), start


def _custody(kind: int, payload: bytes) -> Frame:
    """Decode the frames of kinds 0x04-0x08 (ITEM_WITH_PROOF is decoded with ITEM)."""
    if kind in _TOKEN_KINDS:
        return Frame(FrameKind(kind), payload[1:])
    if kind == FrameKind.CONSENT_REVOKED:
        (consent,), end = _proofs(payload, 1, 1)
        if end >= len(payload):
            raise FrameError("the revocation frame is truncated")
        return Frame(FrameKind.CONSENT_REVOKED, payload[end:], proofs=(consent,))
    try:
        key = payload[1:].decode("ascii")
    except UnicodeDecodeError:
        key = ""
    if not _ACK_KEY.match(key):
        raise FrameError("an ack names an outbox key")
    return Frame(FrameKind.ACK, payload[1:])


# -- end custody frames ---------------------------------------------------------------------------

# -- signed notices (node/breach.py, node/disposal.py, node/visits.py) ----------------------------

NOTICE_KINDS: Final = frozenset(
    {
        FrameKind.BREACH_REPORT,
        FrameKind.BREACH_UPDATE,
        FrameKind.RECLASSIFICATION,
        FrameKind.DISPOSAL_REQUEST,
        FrameKind.DISPOSAL_CERTIFICATE,
        FrameKind.VISIT_REQUEST,
        FrameKind.VISIT_DECISION,
    }
)
_NOTICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")  # a token id (fullmatch)


def notice_frame(kind: FrameKind, token: bytes) -> bytes:
    """A notice frame of ``kind`` around a signed notice token."""
    if kind not in NOTICE_KINDS or not token:
        raise ValueError("a notice frame needs a notice kind and a token")
    return bytes((kind,)) + token


def notice_ack_frame(notice_id: str) -> bytes:
    """A NOTICE_ACK of the notice ``notice_id``."""
    if not _NOTICE_ID.fullmatch(notice_id):
        raise ValueError("a notice ack names a notice id")
    return bytes((FrameKind.NOTICE_ACK,)) + notice_id.encode("ascii")


def _notice(kind: int, payload: bytes) -> Frame:
    """Decode the frames of kinds 0x10-0x1F."""
    if kind in NOTICE_KINDS:
        return Frame(FrameKind(kind), payload[1:])
    if kind != FrameKind.NOTICE_ACK:
        raise FrameError(f"unknown frame kind 0x{kind:02x}")
    try:
        notice_id = payload[1:].decode("ascii")
    except UnicodeDecodeError:
        notice_id = ""
    if not _NOTICE_ID.fullmatch(notice_id):
        raise FrameError("a notice ack names a notice id")
    return Frame(FrameKind.NOTICE_ACK, payload[1:])


# -- end signed notices ---------------------------------------------------------------------------


def receipt_frame(token: bytes) -> bytes:
    """Frame a signed receipt token."""
    if not token:
        raise ValueError("a receipt frame needs a token")
    return bytes((FrameKind.RECEIPT,)) + token


def receipts_frame(token: bytes) -> bytes:
    """Frame a batch receipt token (full or extract)."""
    if not token:
        raise ValueError("a receipts frame needs a token")
    return bytes((FrameKind.RECEIPTS,)) + token


def decode(payload: bytes) -> Frame:
    """The frame ``payload`` holds; :class:`FrameError` if it holds none."""
    if not isinstance(payload, bytes) or len(payload) < 2:
        raise FrameError("the message is too short to be a frame")
    kind = payload[0]
    if kind == FrameKind.RECEIPT:
        return Frame(FrameKind.RECEIPT, payload[1:])
    if kind == FrameKind.RECEIPTS:
        return Frame(FrameKind.RECEIPTS, payload[1:])
    if FrameKind.CONSENT_REQUEST <= kind <= FrameKind.ACK:
        return _custody(kind, payload)
    if FrameKind.BREACH_REPORT <= kind <= FrameKind.NOTICE_ACK:
        return _notice(kind, payload)
    if kind not in (FrameKind.ITEM, FrameKind.ITEM_WITH_PROOF):
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
    if kind == FrameKind.ITEM_WITH_PROOF:
        count = payload[purpose_end]
        if not 1 <= count <= MAX_PROOFS:
            raise FrameError(f"an item carries 1-{MAX_PROOFS} proofs")
        proofs, start = _proofs(payload, purpose_end + 1, count)
        if start >= len(payload):
            raise FrameError("the item frame is truncated")
        return Frame(FrameKind.ITEM_WITH_PROOF, payload[start:], topic, purpose, proofs)
    return Frame(FrameKind.ITEM, payload[purpose_end:], topic, purpose)
