"""The token envelope shared by every token type: sign claims, and open a token in order.

See :mod:`gsomia.proofs.tokens` for the format.  :func:`issue` checks the claims exactly as
:func:`open_token` will before signing; :func:`open_token` runs every check in the documented
order and maps :class:`~gsomia.envelope.signing.SignatureError` codes onto ``TOKEN_*`` codes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from gsomia.envelope import signing
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.errors import InputError
from gsomia.instants import format_instant, require_aware
from gsomia.proofs import _json
from gsomia.proofs._json import Fields
from gsomia.proofs.errors import TokenError, TokenInputError

__all__ = [
    "DEFAULT_MAX_SKEW",
    "MAX_TOKEN_BYTES",
    "Kind",
    "issue",
    "open_token",
]

#: Longest token accepted (the largest valid receipt is about 3 KiB).
MAX_TOKEN_BYTES: Final = 16 * 1024
#: How far after the verification instant a token may say it was signed (clock skew).
DEFAULT_MAX_SKEW: Final = timedelta(minutes=5)
_ALG: Final = "Ed25519"
_ENVELOPE: Final = frozenset({"alg", "claims", "kid", "sig", "typ"})

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Kind:
    """A token type: its ``typ``, its signing context and who must sign it."""

    typ: str
    context: signing.SigningContext
    signer_role: str


CONSENT: Final = Kind("gsomia-consent/1", signing.SigningContext.CONSENT, "originator")
REVOCATION: Final = Kind("gsomia-revocation/1", signing.SigningContext.REVOCATION, "originator")
RECEIPT: Final = Kind("gsomia-receipt/1", signing.SigningContext.RECEIPT, "recipient")
KINDS: Final = frozenset(k.typ for k in (CONSENT, REVOCATION, RECEIPT))


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64u(text: object) -> bytes:
    if not isinstance(text, str) or not text.isascii():
        raise _json.malformed("sig must be base64url", "sig")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise _json.malformed("sig must be base64url", "sig") from None
    if _b64u(data) != text or len(data) != signing.SIGNATURE_SIZE:
        raise _json.malformed("sig must be canonical base64url of 64 bytes", "sig")
    return data


def issue(
    kind: Kind,
    value: object,
    claims: dict[str, Any],
    parse: Callable[[object], object],
    keys: NodeKeys,
    signer_party: str,
    instant: datetime,
) -> bytes:
    """Check the claims exactly as a verifier will, then sign them."""
    if not isinstance(keys, NodeKeys):
        raise TokenInputError("keys must be the node's NodeKeys", code="TOKEN_INPUT_INVALID")
    if keys.party != signer_party:
        raise TokenInputError(
            f"only the {kind.signer_role} ({signer_party}) signs this token, not {keys.party}",
            code="TOKEN_INPUT_INVALID",
        )
    if not keys.current.sig.valid_at(instant):
        raise TokenInputError(
            f"the signing key is not valid at {format_instant(instant)}",
            code="TOKEN_INPUT_INVALID",
        )
    try:
        decoded = parse(claims)
    except TokenError as exc:
        raise TokenInputError(
            f"this value cannot be a token: {exc.message}",
            code="TOKEN_INPUT_INVALID",
            detail=exc.detail,
        ) from None
    if decoded != value:
        raise TokenInputError(
            "this value would not decode to itself (e.g. conditions not a tuple)",
            code="TOKEN_INPUT_INVALID",
        )
    unsigned = {"alg": _ALG, "claims": claims, "kid": keys.signing_kid, "typ": kind.typ}
    try:
        message = _json.encode(unsigned)
    except (ValueError, TypeError):  # rfc8785 refuses it: nothing is signed
        raise TokenInputError(
            "the value cannot be canonicalized", code="TOKEN_INPUT_INVALID"
        ) from None
    kid, signature = signing.sign(keys, message, context=kind.context)
    if kid == unsigned["kid"]:
        token = _with_sig(message, kind.typ, _b64u(signature))
    else:  # pragma: no cover - the signing kid is the one the claims were written with
        token = _json.encode({**unsigned, "kid": kid, "sig": _b64u(signature)})
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenInputError(
            f"the token would exceed {MAX_TOKEN_BYTES} bytes", code="TOKEN_INPUT_INVALID"
        )
    return token


def _typ_tail(typ: str) -> bytes:
    """The last member of a canonical token, ``,"typ":"…"}`` (``typ`` needs no escape)."""
    return b',"typ":"' + typ.encode("ascii") + b'"}'


def _with_sig(message: bytes, typ: str, sig: str) -> bytes:
    """The canonical token: ``message`` (the canonical token without ``sig``) with the ``sig``
    member inserted where RFC 8785 order puts it, just before the last member, ``typ``.

    Equal to encoding the whole object again (``alg`` < ``claims`` < ``kid`` < ``sig`` <
    ``typ``; base64url and the ``typ`` names need no escape), without walking the claims twice.
    """
    tail = _typ_tail(typ)
    if not message.endswith(tail):  # pragma: no cover - message is canonical with this typ
        raise TokenInputError("the token cannot be assembled", code="TOKEN_INPUT_INVALID")
    return b"".join((message[: -len(tail)], b',"sig":"', sig.encode("ascii"), b'"', tail))


def _without_sig(token: bytes, obj: dict[str, Any]) -> bytes:
    """The signed bytes of a token already checked canonical, whose ``typ`` and base64url
    ``sig`` were checked: the token without its ``sig`` member (the inverse of
    :func:`_with_sig`; RFC 8785 writes an object as its members in order, so removing one
    member leaves the canonical form of the rest)."""
    raw = bytes(token)
    tail = b',"sig":"' + str(obj["sig"]).encode("ascii") + b'"' + _typ_tail(str(obj["typ"]))
    if raw.endswith(tail):
        return raw[: -len(tail)] + _typ_tail(str(obj["typ"]))
    return _json.encode({k: v for k, v in obj.items() if k != "sig"})  # pragma: no cover


_SIGNATURE_CODES: Final = {
    "SIGNATURE_UNKNOWN_KEY": "TOKEN_UNKNOWN_KEY",
    "SIGNATURE_KEY_NOT_VALID": "TOKEN_KEY_NOT_VALID",
    "SIGNATURE_INVALID": "TOKEN_SIGNATURE_INVALID",
}


def open_token(
    token: bytes,
    kind: Kind,
    parse: Callable[[object], T],
    signed_at: Callable[[T], datetime],
    signer_of: Callable[[T], str],
    trust: TrustStore,
    at: datetime,
    max_skew: timedelta,
) -> T:
    """Every check of the module docstring, in order; the verified value."""
    try:
        at = require_aware(at, "at")
    except InputError as exc:
        raise TokenInputError(exc.message, code="TOKEN_INPUT_INVALID") from None
    obj = _json.decode(token, MAX_TOKEN_BYTES)
    envelope = Fields(obj, "", _ENVELOPE)
    typ = envelope.raw("typ")
    if (
        envelope.raw("alg") != _ALG
        or not isinstance(typ, str)
        or not isinstance(envelope.raw("kid"), str)
    ):
        raise _json.malformed("alg must be Ed25519, typ and kid strings")
    if typ != kind.typ:
        raise TokenError(
            f"expected a {kind.typ} token, got {typ if typ in KINDS else 'an unknown type'}",
            code="TOKEN_WRONG_TYPE" if typ in KINDS else "TOKEN_MALFORMED",
            detail={"field": "typ"},
        )
    signature = _unb64u(envelope.raw("sig"))
    value = parse(envelope.raw("claims"))
    when = signed_at(value)
    try:
        record = signing.verify(
            trust, obj["kid"], _without_sig(token, obj), signature, when, context=kind.context
        )
    except signing.SignatureError as exc:
        raise TokenError(
            exc.message,
            code=_SIGNATURE_CODES.get(exc.code, "TOKEN_SIGNATURE_INVALID"),
            detail=exc.detail,
        ) from None
    signer = signer_of(value)
    if record.party != signer:
        raise TokenError(
            f"signed by {record.party}, but only the {kind.signer_role} {signer} may sign it",
            code="TOKEN_SIGNER_MISMATCH",
            detail={"signer": record.party, "expected": signer},
        )
    if when > at + max_skew:
        raise TokenError(
            f"signed at {format_instant(when)}, after {format_instant(at)}",
            code="TOKEN_FROM_FUTURE",
        )
    return value
