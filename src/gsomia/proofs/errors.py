"""The errors of signed tokens: one class for a partner's token, one for our own call.

:class:`TokenError` (a :class:`~gsomia.errors.PeerError`) is raised when a token cannot be
accepted; its stable codes, checked in this order:

=========================  ======================================================================
TOKEN_TOO_LARGE            longer than :data:`gsomia.proofs.tokens.MAX_TOKEN_BYTES`
TOKEN_MALFORMED            not canonical JSON (RFC 8785), duplicate/unknown/missing member, wrong
                           type or value (``detail["field"]`` names it)
TOKEN_WRONG_TYPE           a well-formed token of another type (a receipt given as consent)
TOKEN_UNKNOWN_KEY          no trusted signing key has the token's kid
TOKEN_KEY_NOT_VALID        the key was not valid when the token says it was signed (rotation)
TOKEN_SIGNATURE_INVALID    the Ed25519 signature does not verify (forged or altered)
TOKEN_SIGNER_MISMATCH      a valid signature, but by another party than the one the token must
                           come from (consent and revocation: the originator; receipt: the
                           recipient)
TOKEN_FROM_FUTURE          signed later than the verification instant (beyond the allowed skew)
=========================  ======================================================================

:class:`TokenInputError` (an :class:`~gsomia.errors.InputError`, code ``TOKEN_INPUT_INVALID``):
our own call is wrong: an ``issue_*`` for another party's statement, a key not valid at the issue
time, a value a token cannot carry (nothing was signed), or a naive verification instant.
"""

from __future__ import annotations

from gsomia.errors import InputError, PeerError

__all__ = ["TokenError", "TokenInputError"]


class TokenError(PeerError):
    """A signed token cannot be accepted (codes ``TOKEN_*`` above)."""

    code = "TOKEN_MALFORMED"
    status = 422
    title = "Token rejected"


class TokenInputError(InputError):
    """Our own call is wrong (``TOKEN_INPUT_INVALID``); nothing was signed."""

    code = "TOKEN_INPUT_INVALID"
