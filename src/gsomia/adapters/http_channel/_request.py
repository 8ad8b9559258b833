"""The signed request of the node channel: headers, canonical string, checks and refusals.

No I/O and no clock: the instant to check against is an argument.  The HTTP server
(:mod:`._server`) calls these checks in order, and answers each refusal with the RFC 9457
problem details of the error raised here (:meth:`~gsomia.errors.GsomiaError.to_problem`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.envelope.signing import SIGNATURE_SIZE, SignatureError, SigningContext, sign, verify
from gsomia.errors import InputError, InstantError, PeerError
from gsomia.instants import format_instant, parse_instant

METHOD: Final = "POST"
PATH: Final = "/v1/channel/messages"
CONTENT_TYPE: Final = "application/octet-stream"
PROBLEM_TYPE: Final = "application/problem+json"
DEFAULT_SKEW: Final = timedelta(minutes=5)
DEFAULT_MAX_BODY: Final = 8 * 1024 * 1024

#: Domain separation (ADR 0005): requests are signed under their own context, whose prefix
#: ``gsomia-channel/1 request\0`` no receipt, consent, signed note or cosignature starts with.
CONTEXT: Final = SigningContext.CHANNEL

H_SENDER: Final = "Gsomia-Sender"
H_RECIPIENT: Final = "Gsomia-Recipient"
H_KID: Final = "Gsomia-Key-Id"
H_INSTANT: Final = "Gsomia-Instant"
H_NONCE: Final = "Gsomia-Nonce"
H_KEY: Final = "Idempotency-Key"
H_SIGNATURE: Final = "Gsomia-Signature"

_PARTY = re.compile(r"[A-Z]{3}")
_KID = re.compile(r"[0-9a-f]{16}")
_NONCE = re.compile(r"[A-Za-z0-9_-]{22}")  # 16 random bytes, unpadded base64url
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,256}")  # visible ASCII: no space, no newline
_SIGNATURE = re.compile(r"[A-Za-z0-9_-]{86}")  # 64 bytes, unpadded base64url
_INSTANT = re.compile(r"[0-9T:.+Z-]{20,32}")


class ChannelRefusal(PeerError):
    """A request to our channel endpoint is refused; nothing is queued (codes ``CHANNEL_*``)."""

    code = "CHANNEL_REQUEST_INVALID"
    status = 400
    title = "Channel request refused"


class ChannelUnauthenticated(ChannelRefusal):
    """The request is not proven to come from a trusted partner node, now (RFC 9110 §15.5.2)."""

    code = "CHANNEL_UNAUTHENTICATED"
    status = 401
    title = "Partner node not authenticated"


class ChannelPathUnknown(ChannelRefusal):
    """The request names another resource than the channel's one."""

    code = "CHANNEL_PATH_UNKNOWN"
    status = 404
    title = "No such channel resource"


class ChannelMethodNotAllowed(ChannelRefusal):
    """The channel resource only takes POST."""

    code = "CHANNEL_METHOD_NOT_ALLOWED"
    status = 405
    title = "Method not allowed"


class ChannelReplayed(ChannelRefusal):
    """The nonce was already used within the replay window."""

    code = "CHANNEL_REPLAYED"
    status = 409
    title = "Replayed request"


class ChannelLengthRequired(ChannelRefusal):
    """No ``Content-Length`` (chunked bodies are refused)."""

    code = "CHANNEL_LENGTH_REQUIRED"
    status = 411
    title = "Content-Length required"


class ChannelBodyTooLarge(ChannelRefusal):
    """The declared body is larger than the channel takes."""

    code = "CHANNEL_BODY_TOO_LARGE"
    status = 413
    title = "Body too large"


class ChannelMediaType(ChannelRefusal):
    """The body is not ``application/octet-stream``."""

    code = "CHANNEL_MEDIA_TYPE_UNSUPPORTED"
    status = 415
    title = "Unsupported media type"


class ChannelMisdirected(ChannelRefusal):
    """The request was signed for another recipient party (RFC 9110 §15.5.20)."""

    code = "CHANNEL_WRONG_RECIPIENT"
    status = 421
    title = "Misdirected request"


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def check_idempotency_key(key: object) -> str:
    """``key`` if it can travel in a header and the canonical string, else ``InputError``."""
    if not isinstance(key, str) or not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InputError(
            "an idempotency key is 1 to 256 visible ASCII characters",
            code="CHANNEL_INPUT_INVALID",
        )
    return key


def canonical(
    *,
    method: str,
    path: str,
    recipient: str,
    sender: str,
    kid: str,
    instant: str,
    nonce: str,
    idempotency_key: str,
    body: bytes,
) -> bytes:
    """The bytes signed: the domain, then one field a line (no field may hold a newline)."""
    fields = (method, path, recipient, sender, kid, instant, nonce, idempotency_key)
    digest = hashlib.sha256(body).hexdigest()
    return "\n".join((*fields, digest)).encode("ascii")


def sign_request(
    keys: NodeKeys,
    *,
    recipient: str,
    now: datetime,
    nonce: str,
    idempotency_key: str,
    body: bytes,
    path: str = PATH,
) -> dict[str, str]:
    """The headers of a request from ``keys.party`` to ``recipient`` carrying ``body`` to
    ``path`` (the single message's, or the batch's: :mod:`._batch`)."""
    instant = format_instant(now)
    message = canonical(
        method=METHOD,
        path=path,
        recipient=recipient,
        sender=keys.party,
        kid=keys.signing_kid,
        instant=instant,
        nonce=nonce,
        idempotency_key=idempotency_key,
        body=body,
    )
    kid, signature = sign(keys, message, context=CONTEXT)
    return {
        H_SENDER: keys.party,
        H_RECIPIENT: recipient,
        H_KID: kid,
        H_INSTANT: instant,
        H_NONCE: nonce,
        H_KEY: idempotency_key,
        H_SIGNATURE: _b64u(signature),
        "Content-Type": CONTENT_TYPE,
    }


def check_framing(content_length: str | None, transfer_encoding: str | None, max_body: int) -> int:
    """The body length, checked before a byte of the body is read (RFC 9112 §6)."""
    if transfer_encoding is not None:
        raise ChannelLengthRequired(
            "Transfer-Encoding is refused; send the body with a Content-Length",
            code="CHANNEL_LENGTH_REQUIRED",
        )
    if content_length is None:
        raise ChannelLengthRequired("a Content-Length is required")
    if not content_length.isascii() or not content_length.isdigit() or len(content_length) > 18:
        raise ChannelRefusal("Content-Length is not a decimal number")
    length = int(content_length)
    if length > max_body:
        raise ChannelBodyTooLarge(
            f"the body of {length} bytes exceeds the limit of {max_body}",
            detail={"max_body": max_body},
        )
    return length


def check_media_type(content_type: str | None) -> None:
    """Refuse any body but ``application/octet-stream`` (parameters are ignored)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != CONTENT_TYPE:
        raise ChannelMediaType(f"the body must be {CONTENT_TYPE}")


@dataclass(frozen=True, slots=True)
class SignedHeaders:
    """The authentication headers of a request, each well-formed (not yet verified)."""

    sender: str
    recipient: str
    kid: str
    instant: str
    nonce: str
    idempotency_key: str
    signature: bytes


def parse_headers(get: Callable[[str], str | None]) -> SignedHeaders:
    """Read the authentication headers with ``get`` (a header look-up); refuse missing ones."""
    names = (H_SENDER, H_RECIPIENT, H_KID, H_INSTANT, H_NONCE, H_KEY, H_SIGNATURE)
    values = {name: get(name) for name in names}
    missing = [name for name, value in values.items() if value is None]
    if missing:
        raise ChannelUnauthenticated(
            "the request is not signed", detail={"missing_headers": missing}
        )
    checks = (
        (H_SENDER, _PARTY),
        (H_RECIPIENT, _PARTY),
        (H_KID, _KID),
        (H_INSTANT, _INSTANT),
        (H_NONCE, _NONCE),
        (H_KEY, _IDEMPOTENCY_KEY),
        (H_SIGNATURE, _SIGNATURE),
    )
    for name, pattern in checks:
        if not pattern.fullmatch(values[name] or ""):
            raise ChannelRefusal(
                f"the {name} header is malformed",
                code="CHANNEL_HEADER_INVALID",
                detail={"header": name},
            )
    try:
        signature = base64.urlsafe_b64decode(str(values[H_SIGNATURE]) + "==")
    except (binascii.Error, ValueError):  # pragma: no cover - the pattern admits only base64url
        signature = b""
    if len(signature) != SIGNATURE_SIZE:  # pragma: no cover - 86 digits are always 64 bytes
        raise ChannelRefusal("the signature is malformed", code="CHANNEL_HEADER_INVALID")
    return SignedHeaders(
        sender=str(values[H_SENDER]),
        recipient=str(values[H_RECIPIENT]),
        kid=str(values[H_KID]),
        instant=str(values[H_INSTANT]),
        nonce=str(values[H_NONCE]),
        idempotency_key=str(values[H_KEY]),
        signature=signature,
    )


def authenticate(
    signed: SignedHeaders,
    body: bytes,
    *,
    party: str,
    trust: TrustStore,
    now: datetime,
    skew: timedelta,
    path: str = PATH,
) -> datetime:
    """Check instant, recipient, key, signature and sender; return the signed instant.

    ``path`` is the resource the request was sent to, which the signature covers.

    Raises :class:`ChannelUnauthenticated` (codes ``CHANNEL_INSTANT_SKEWED``,
    ``SIGNATURE_UNKNOWN_KEY``, ``SIGNATURE_KEY_NOT_VALID``, ``SIGNATURE_INVALID``,
    ``CHANNEL_SENDER_MISMATCH``) or :class:`ChannelMisdirected`.  The replay check follows,
    in the server, under the lock of the queue.
    """
    try:
        instant = parse_instant(signed.instant)
    except InstantError:
        instant = None
    if instant is None or format_instant(instant) != signed.instant:
        raise ChannelRefusal(
            "the instant is not a canonical UTC instant",
            code="CHANNEL_HEADER_INVALID",
            detail={"header": H_INSTANT},
        )
    if abs(instant - now) > skew:
        raise ChannelUnauthenticated(
            f"the request instant {signed.instant} is outside the window of {skew} around "
            f"{format_instant(now)}",
            code="CHANNEL_INSTANT_SKEWED",
        )
    if signed.recipient != party:
        raise ChannelMisdirected(
            f"the request is signed for {signed.recipient}, not {party}",
            detail={"recipient": signed.recipient},
        )
    message = canonical(
        method=METHOD,
        path=path,
        recipient=signed.recipient,
        sender=signed.sender,
        kid=signed.kid,
        instant=signed.instant,
        nonce=signed.nonce,
        idempotency_key=signed.idempotency_key,
        body=body,
    )
    try:
        record = verify(trust, signed.kid, message, signed.signature, instant, context=CONTEXT)
    except SignatureError as err:
        raise ChannelUnauthenticated(err.message, code=err.code, detail=err.detail) from None
    if record.party != signed.sender:
        raise ChannelUnauthenticated(
            f"key {record.kid} belongs to {record.party}, not {signed.sender}",
            code="CHANNEL_SENDER_MISMATCH",
        )
    return instant
