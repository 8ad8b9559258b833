"""The envelope's two errors: one opaque rejection for what a peer sends, one for our own input.

Opening a sealed item can fail for many reasons; telling the sender *which* one turns the
receiver into an oracle (Vaudenay, "Security Flaws Induced by CBC Padding", EUROCRYPT 2002;
Bleichenbacher, CRYPTO 1998).  So, like pyca/cryptography's Fernet (every bad token is the same
``InvalidToken``), every failure of :func:`~gsomia.envelope.opening.open_item` and
:func:`~gsomia.envelope.opening.open_stream` raises :class:`EnvelopeError` with the code
``ENVELOPE_REJECTED`` and the fixed message :data:`REJECTED`.  The precise cause is kept in the
attribute :attr:`EnvelopeError.cause` — a stable :class:`Cause` — for the node's audit log only:
it is not in ``str()``, ``repr()``, ``args``, ``detail`` or the RFC 9457 problem document.

Mistakes in *our* call (a retired recipient key, a bad item id) are not a peer's fault and are not
secret: they raise :class:`SealError`, an :class:`~gsomia.errors.InputError` with a telling message.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from gsomia.errors import InputError, PeerError

__all__ = ["REJECTED", "Cause", "EnvelopeError", "SealError"]

#: The one message of every :class:`EnvelopeError`.
REJECTED: Final = "sealed item rejected"


class Cause(StrEnum):
    """Why an item was rejected (for the audit log, never for the peer)."""

    MALFORMED = "MALFORMED"  # not a well-formed item: framing, lengths, fields, trailing bytes
    TOO_LARGE = "TOO_LARGE"  # beyond a size limit
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"  # unknown magic, version or cipher suite
    UNKNOWN_KID = "UNKNOWN_KID"  # the sender's kid is not in the trust store (or another party's)
    KEY_NOT_VALID = "KEY_NOT_VALID"  # the sender's key was not valid at the item's creation time
    CLOCK_SKEW = "CLOCK_SKEW"  # created too far in the future (or, if asked, too long ago)
    LABEL_BINDING = (
        "LABEL_BINDING"  # the label is not canonical, does not parse or match its digest
    )
    SIGNATURE_INVALID = "SIGNATURE_INVALID"  # the originator's Ed25519 signature does not verify
    NOT_A_RECIPIENT = "NOT_A_RECIPIENT"  # no key of ours among the recipients
    DECRYPT_FAILED = "DECRYPT_FAILED"  # key unwrap or a segment's AEAD tag failed
    KEY_COMMITMENT = "KEY_COMMITMENT"  # the unwrapped key is not the one the header commits to
    SEGMENT_TRUNCATED = "SEGMENT_TRUNCATED"  # the data ends before the final segment / signature
    SEGMENT_REORDERED = "SEGMENT_REORDERED"  # a segment out of order, repeated, or after the final


class EnvelopeError(PeerError):
    """A sealed item was rejected.  ``str()`` is always :data:`REJECTED`; see :attr:`cause`."""

    code = "ENVELOPE_REJECTED"
    status = 422
    title = "Sealed item rejected"

    def __init__(self, cause: Cause) -> None:
        super().__init__(REJECTED)
        #: The precise reason, for the audit log only.
        self.cause: Cause = Cause(cause)

    def __reduce__(self) -> tuple[type[EnvelopeError], tuple[Cause]]:
        return (type(self), (self.cause,))

    def __repr__(self) -> str:
        return f"EnvelopeError({REJECTED!r})"


class SealError(InputError):
    """Our own call to seal is wrong (codes ``SEAL_*``); nothing was sealed."""

    code = "SEAL_INPUT_INVALID"
