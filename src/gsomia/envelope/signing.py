"""Sign and verify with a node's Ed25519 keys: the public signing API over the envelope's keys.

Other packages (:mod:`gsomia.proofs`: consent, revocation and receipt tokens, signed checkpoints)
sign through this module and never touch :mod:`gsomia.envelope._primitives`.  Pure: no I/O, no
clock; the instant a key must be valid at is an argument.

Domain separation
-----------------
One Ed25519 key (RFC 8032 §5.1) per node generation signs sealed items, tokens and checkpoints, so
every signed message starts with the prefix of its :class:`SigningContext`, and the sets of
messages the contexts admit are pairwise disjoint:

==================  ==================================  =========================================
context             prefix                              message that follows
==================  ==================================  =========================================
``CONSENT``         ``gsomia-proof/1 consent\\0``        canonical JSON of a consent token (Art. 6,
                                                        TISA relay approval)
``REVOCATION``      ``gsomia-proof/1 revocation\\0``     canonical JSON of a revocation token
``RECEIPT``         ``gsomia-proof/1 receipt\\0``        canonical JSON of a receipt (Art. 7)
``RECEIPTS``        ``gsomia-proof/1 receipts\\0``       canonical JSON of a batch receipt's head,
                                                        naming the Merkle root of its entries
                                                        (:mod:`gsomia.proofs.receipt_batch`)
``LINK``            ``gsomia-link/1 handshake\\0``     the SHA-256 of a partner track link's
                                                        handshake transcript (ADR 0012,
                                                        :mod:`gsomia.streaming.link_wire`)
``NOTE``            (none)                              a C2SP signed-note text (c2sp.org/signed-
                                                        note, type 0x01): no NUL byte, and not
                                                        starting with ``cosignature/v1\\n``
``COSIGNATURE``     ``cosignature/v1\\n``                ``time <n>\\n`` then a checkpoint body
                                                        (c2sp.org/tlog-cosignature, type 0x04)
==================  ==================================  =========================================

Why they cannot collide: each ``gsomia-proof/1`` prefix ends in its only NUL byte, so none is a
prefix of another; note texts and cosigned bodies contain no NUL (C2SP forbids control
characters), so they never start with a token prefix; a note text may not start with
``cosignature/v1\\n`` (refused by :func:`sign` and :func:`verify`).  The envelope's own signature
(``gsomia-envelope/1 signature\\0``, docs/wire-format.md §6) is another NUL-terminated prefix.  The
C2SP contexts keep the exact bytes the C2SP specifications sign, so notes and cosignatures
interoperate with golang.org/x/mod/sumdb/note and transparency-dev witnesses.

Errors
------
:class:`SignatureError` (a :class:`~gsomia.errors.PeerError`: what we verify comes from a
partner) with the codes ``SIGNATURE_UNKNOWN_KEY`` (no trusted signing key has this kid),
``SIGNATURE_KEY_NOT_VALID`` (the key was not valid at the instant given: rotation, see
:mod:`gsomia.envelope.keys`) and ``SIGNATURE_INVALID`` (the signature does not verify, or the
message is not one the context admits).  :class:`SigningError` (an
:class:`~gsomia.errors.InputError`, code ``SIGN_INPUT_INVALID``) when our own call is wrong.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Final

from gsomia.envelope import _primitives as prim
from gsomia.envelope.keys import NodeKeys, PublicKeyRecord, TrustStore
from gsomia.errors import InputError, PeerError
from gsomia.instants import format_instant, require_aware

__all__ = [
    "SIGNATURE_SIZE",
    "SignatureError",
    "SigningContext",
    "SigningError",
    "is_ed25519_public_key",
    "sign",
    "verify",
    "verify_public",
]

#: Bytes in an Ed25519 signature (RFC 8032 §5.1.6).
SIGNATURE_SIZE: Final = prim.ED25519_SIGNATURE_SIZE
_COSIGNATURE_HEADER: Final = b"cosignature/v1\n"


class SigningContext(Enum):
    """What a signature is for; its value is the prefix of the signed bytes (see above)."""

    CONSENT = b"gsomia-proof/1 consent\x00"
    REVOCATION = b"gsomia-proof/1 revocation\x00"
    RECEIPT = b"gsomia-proof/1 receipt\x00"
    RECEIPTS = b"gsomia-proof/1 receipts\x00"  # batch receipts (ADR 0011)
    CHANNEL = b"gsomia-channel/1 request\x00"
    LINK = b"gsomia-link/1 handshake\x00"  # partner track links (ADR 0012)
    NOTE = b""
    COSIGNATURE = _COSIGNATURE_HEADER

    @property
    def prefix(self) -> bytes:
        """The bytes prepended to the message before signing."""
        return self.value


class SignatureError(PeerError):
    """A partner's signature cannot be accepted (codes ``SIGNATURE_*``, see the module)."""

    code = "SIGNATURE_INVALID"
    status = 422
    title = "Signature rejected"


class SigningError(InputError):
    """Our own call to :func:`sign` or :func:`verify` is wrong (``SIGN_INPUT_INVALID``)."""

    code = "SIGN_INPUT_INVALID"


def _admissible(context: SigningContext, message: bytes) -> bool:
    """Whether ``message`` belongs to the set of messages ``context`` admits (disjointness)."""
    if context is SigningContext.NOTE:
        return b"\x00" not in message and not message.startswith(_COSIGNATURE_HEADER)
    if context is SigningContext.COSIGNATURE:
        return b"\x00" not in message and message.startswith(b"time ")
    return True  # token contexts: the prefix alone separates them


def _signed_bytes(context: object, message: object) -> bytes:
    if not isinstance(context, SigningContext):
        raise SigningError("context must be a SigningContext", code="SIGN_INPUT_INVALID")
    if not isinstance(message, bytes | bytearray | memoryview):
        raise SigningError("the message must be bytes", code="SIGN_INPUT_INVALID")
    return context.prefix + bytes(message)


def sign(keys: NodeKeys, message: bytes, *, context: SigningContext) -> tuple[str, bytes]:
    """Sign ``context.prefix || message`` with the node's current Ed25519 key.

    Returns ``(kid, signature)``: the kid of the current signing key (a partner looks it up in
    its :class:`~gsomia.envelope.keys.TrustStore`) and the 64-byte signature.
    """
    if not isinstance(keys, NodeKeys):
        raise SigningError("keys must be the node's NodeKeys", code="SIGN_INPUT_INVALID")
    data = _signed_bytes(context, message)
    if not _admissible(context, bytes(message)):
        raise SigningError(
            f"this message is not one the {context.name} context may sign (domain separation)",
            code="SIGN_INPUT_INVALID",
        )
    return keys.signing_kid, keys.signing_key.sign(data)


def verify_public(
    public: bytes, message: bytes, signature: bytes, *, context: SigningContext
) -> None:
    """Verify ``signature`` over ``context.prefix || message`` with a raw Ed25519 public key.

    For keys known by other means than a trust store (a C2SP verifier key of a witness).  Raises
    :class:`SignatureError` ``SIGNATURE_INVALID`` if it does not hold.
    """
    data = _signed_bytes(context, message)
    if not isinstance(public, bytes | bytearray) or not isinstance(signature, bytes | bytearray):
        raise SignatureError("signature invalid", code="SIGNATURE_INVALID")
    if not _admissible(context, bytes(message)):
        raise SignatureError("signature invalid", code="SIGNATURE_INVALID")
    try:
        prim.ed25519_verify(bytes(public), bytes(signature), data)
    except prim.CryptoError:
        raise SignatureError("signature invalid", code="SIGNATURE_INVALID") from None


def verify(
    trust: TrustStore,
    kid: str,
    message: bytes,
    signature: bytes,
    at: datetime,
    *,
    context: SigningContext,
) -> PublicKeyRecord:
    """Verify a partner's signature made with the key ``kid`` at the instant ``at``.

    ``at`` is when the signed object says it was signed (a token's issue time): a retired key
    still verifies what it signed while current, and nothing dated after its retirement
    (rotation, :mod:`gsomia.envelope.keys`).  Returns the key's record, whose ``party`` is the
    signer.  Raises :class:`SignatureError` with ``SIGNATURE_UNKNOWN_KEY``,
    ``SIGNATURE_KEY_NOT_VALID`` or ``SIGNATURE_INVALID``.
    """
    if not isinstance(trust, TrustStore):
        raise SigningError("trust must be a TrustStore", code="SIGN_INPUT_INVALID")
    try:
        at = require_aware(at, "the signing instant")
    except InputError as exc:
        raise SigningError(exc.message, code="SIGN_INPUT_INVALID") from None
    record = trust.get(kid) if isinstance(kid, str) else None
    if record is None or record.use != "sig":
        raise SignatureError(
            f"no trusted signing key has kid {kid!r}",
            code="SIGNATURE_UNKNOWN_KEY",
            detail={"kid": kid if isinstance(kid, str) else None},
        )
    if not record.valid_at(at):
        raise SignatureError(
            f"key {record.kid} of {record.party} was not valid at {format_instant(at)}",
            code="SIGNATURE_KEY_NOT_VALID",
            detail={"kid": record.kid, "party": record.party},
        )
    verify_public(record.public, message, signature, context=context)
    return record


def is_ed25519_public_key(public: object) -> bool:
    """Whether ``public`` is 32 bytes that decode as an Ed25519 public key (RFC 8032 §5.1.3)."""
    if not isinstance(public, bytes | bytearray):
        return False
    try:
        prim.validate_ed25519_public(bytes(public))
    except prim.CryptoError:
        return False
    return True
