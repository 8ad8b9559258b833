"""Signed tokens: written consent and relay approval, their revocation, and receipts.

Art. 6: no release to a third country, no other use, without the originator's *prior written
consent*; under TISA the hub relays only with the originator's approval.  Art. 7: before the
hand-over the recipient assures the clearance level, the official purpose and substantially
equivalent protection.  A token is the written, signed form of such a statement: it proves who
made it and that it was not altered.  Whether a consent covers an act is decided elsewhere, by
:func:`gsomia.policy.check_consent`, which fails closed (another item, party or purpose,
expired, revoked); a token only proves authorship.

Format (also docs/wire-format.md, "Signed proofs")
-------------------------------------------------
A token is the RFC 8785 canonical JSON (UTF-8) of one object::

    {"alg": "Ed25519", "claims": {…}, "kid": "<16 hex digits>", "sig": "<base64url>",
     "typ": "gsomia-consent/1" | "gsomia-revocation/1" | "gsomia-receipt/1"}

``sig`` is unpadded base64url (RFC 4648 §5) of the Ed25519 signature (RFC 8032) by the key
``kid`` over ``context || JCS(token without "sig")``, where ``context`` is the
:class:`~gsomia.envelope.signing.SigningContext` of the type (``gsomia-proof/1 consent\\0``,
``… revocation\\0``, ``… receipt\\0``), so a signature of one type never verifies as another.
Canonical JSON rather than a JWS: the signed bytes need our context prefix, which a JWS signing
input (RFC 7515 §5.1) cannot carry, and one canonical spelling makes tokens non-malleable.

Claims (every member required; instants in UTC with ``Z``, as
:func:`gsomia.instants.format_instant` writes them; ids are 1-64 characters of
``[A-Za-z0-9._:-]``; digests are 64 lower-case hex digits of SHA-256; texts are 1-256
characters without control characters)::

    consent     {"kind": "forward_consent" | "hub_approval", "consent_id", "item_id",
                 "item_digest", "originator", "holder", "third_party", "purpose",
                 "issued", "expires", "conditions": [text, …]}          signer: originator
    revocation  {"consent_id", "originator", "revoked_at"}              signer: originator
    receipt     {"item_id", "item_digest", "sender", "recipient", "received",
                 "alternative_label": (json_codec form of an AlternativeLabel),
                 "audit_log": {"origin", "index", "size", "root"},
                 "assurance": {"clearance_level", "official_purpose",
                               "substantially_equivalent_protection": true}}  signer: recipient

Verification, in order: size → canonical JSON → the envelope's members and ``typ`` → the
claims, strictly → the key ``kid`` in the trust store and valid at the token's own instant
(``issued``, ``revoked_at``, ``received``: a retired key still verifies what it signed while
current) → the signature → the signer's party → that instant is not after ``at`` plus the
allowed skew.  Issuing runs the same claim checks, and refuses a value whose token would not
decode to exactly that value.  Error codes: :mod:`gsomia.proofs.errors`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from gsomia.audit.checkpoint import Checkpoint
from gsomia.audit.merkle import verify_inclusion
from gsomia.envelope.keys import NodeKeys, TrustStore
from gsomia.errors import GsomiaError, InputError, LabelError
from gsomia.instants import format_instant, require_aware
from gsomia.labels import json_codec
from gsomia.labels.model import AlternativeLabel
from gsomia.policy.consent import Consent, ConsentKind
from gsomia.proofs import _json, _token
from gsomia.proofs._json import Fields
from gsomia.proofs._token import DEFAULT_MAX_SKEW, MAX_TOKEN_BYTES
from gsomia.proofs.errors import TokenError, TokenInputError

__all__ = [
    "DEFAULT_MAX_SKEW",
    "MAX_TOKEN_BYTES",
    "Assurance",
    "Receipt",
    "Revocation",
    "apply_revocations",
    "issue_consent",
    "issue_receipt",
    "issue_revocation",
    "receipt_includes",
    "verify_consent",
    "verify_receipt",
    "verify_revocation",
]

_MAX_CONDITIONS: Final = 32
_MAX_JSON_INT: Final = 2**53 - 1  # I-JSON, RFC 7493 §2.2
_CONSENT: Final = frozenset(
    {
        "kind",
        "consent_id",
        "item_id",
        "item_digest",
        "originator",
        "holder",
        "third_party",
        "purpose",
        "issued",
        "expires",
        "conditions",
    }
)
_REVOCATION: Final = frozenset({"consent_id", "originator", "revoked_at"})
_RECEIPT: Final = frozenset(
    {
        "item_id",
        "item_digest",
        "sender",
        "recipient",
        "received",
        "alternative_label",
        "audit_log",
        "assurance",
    }
)
_AUDIT_LOG: Final = frozenset({"origin", "index", "size", "root"})
_ASSURANCE: Final = frozenset(
    {"clearance_level", "official_purpose", "substantially_equivalent_protection"}
)

# ---------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Revocation:
    """The originator withdraws a consent from ``revoked_at`` on (Art. 6)."""

    consent_id: str
    originator: str
    revoked_at: datetime


@dataclass(frozen=True, slots=True)
class Assurance:
    """The recipient's Art. 7 assurance before hand-over."""

    clearance_level: str
    official_purpose: str
    substantially_equivalent_protection: bool = True

    def __post_init__(self) -> None:
        if self.substantially_equivalent_protection is not True:
            raise InputError(
                "a receipt assures substantially equivalent protection (Art. 7)",
                code="RECEIPT_INVALID",
                detail={"field": "substantially_equivalent_protection"},
            )


@dataclass(frozen=True, slots=True)
class Receipt:
    """A recipient node's signed acknowledgement of an item (Art. 4, Art. 7).

    It names the item (id, digest), the party it came from, the alternative label the recipient
    applied (Art. 4), the index of the acceptance record in the recipient's audit log and a
    checkpoint of that log containing it (RFC 9162; see :func:`receipt_includes`), and the
    Art. 7 assurance.
    """

    item_id: str
    item_digest: str
    sender: str
    recipient: str
    received: datetime
    alternative: AlternativeLabel
    log_index: int
    checkpoint: Checkpoint
    assurance: Assurance

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.alternative, AlternativeLabel):
            problems.append("alternative must be an AlternativeLabel")
        elif self.alternative.applied_by != self.recipient:
            problems.append("the alternative label must be the recipient's (Art. 4)")
        if not isinstance(self.checkpoint, Checkpoint) or self.checkpoint.extensions:
            problems.append("checkpoint must be a Checkpoint without extension lines")
        elif not (
            isinstance(self.log_index, int)
            and not isinstance(self.log_index, bool)
            and 0 <= self.log_index < self.checkpoint.size <= _MAX_JSON_INT
        ):
            problems.append("log_index must lie inside the checkpoint (index < size <= 2**53-1)")
        if not isinstance(self.assurance, Assurance):
            problems.append("assurance must be an Assurance")
        if problems:
            raise InputError("; ".join(problems), code="RECEIPT_INVALID")
        object.__setattr__(self, "received", require_aware(self.received, "received"))


# ---------------------------------------------------------------------------- claims


def _consent_claims(consent: Consent) -> dict[str, Any]:
    return {
        "kind": consent.kind.value,
        "consent_id": consent.consent_id,
        "item_id": consent.item_id,
        "item_digest": consent.item_digest,
        "originator": consent.originator,
        "holder": consent.holder,
        "third_party": consent.third_party,
        "purpose": consent.purpose,
        "issued": format_instant(consent.issued),
        "expires": format_instant(consent.expires),
        "conditions": list(consent.conditions),
    }


def _consent_from(claims: object) -> Consent:
    f = Fields(claims, "claims", _CONSENT)
    kind = f.raw("kind")
    if not isinstance(kind, str) or kind not in {k.value for k in ConsentKind}:
        raise _json.malformed("claims.kind must be forward_consent or hub_approval", f.path("kind"))
    issued, expires = f.instant("issued"), f.instant("expires")
    if expires <= issued:
        raise _json.malformed("a consent expires after it is issued", f.path("expires"))
    return Consent(
        kind=ConsentKind(kind),
        consent_id=f.ident("consent_id"),
        item_id=f.ident("item_id"),
        item_digest=f.digest("item_digest"),
        originator=f.party("originator"),
        holder=f.party("holder"),
        third_party=f.party("third_party"),
        purpose=f.text("purpose"),
        issued=issued,
        expires=expires,
        conditions=f.texts("conditions", _MAX_CONDITIONS),
    )


def _revocation_claims(revocation: Revocation) -> dict[str, Any]:
    return {
        "consent_id": revocation.consent_id,
        "originator": revocation.originator,
        "revoked_at": format_instant(revocation.revoked_at),
    }


def _revocation_from(claims: object) -> Revocation:
    f = Fields(claims, "claims", _REVOCATION)
    return Revocation(f.ident("consent_id"), f.party("originator"), f.instant("revoked_at"))


def _receipt_claims(receipt: Receipt) -> dict[str, Any]:
    return {
        "item_id": receipt.item_id,
        "item_digest": receipt.item_digest,
        "sender": receipt.sender,
        "recipient": receipt.recipient,
        "received": format_instant(receipt.received),
        "alternative_label": json_codec.to_dict(receipt.alternative),
        "audit_log": {
            "origin": receipt.checkpoint.origin,
            "index": receipt.log_index,
            "size": receipt.checkpoint.size,
            "root": receipt.checkpoint.root.hex(),
        },
        "assurance": {
            "clearance_level": receipt.assurance.clearance_level,
            "official_purpose": receipt.assurance.official_purpose,
            "substantially_equivalent_protection": True,
        },
    }


def _receipt_from(claims: object) -> Receipt:
    f = Fields(claims, "claims", _RECEIPT)
    log = f.object("audit_log", _AUDIT_LOG)
    assurance = f.object("assurance", _ASSURANCE)
    size = log.integer("size", 1, _MAX_JSON_INT)
    index = log.integer("index", 0, size - 1)
    try:
        alternative = json_codec.from_dict(f.raw("alternative_label"), AlternativeLabel)
        checkpoint = Checkpoint(log.text("origin", 1024), size, bytes.fromhex(log.digest("root")))
        return Receipt(
            item_id=f.ident("item_id"),
            item_digest=f.digest("item_digest"),
            sender=f.party("sender"),
            recipient=f.party("recipient"),
            received=f.instant("received"),
            alternative=alternative,
            log_index=index,
            checkpoint=checkpoint,
            assurance=Assurance(
                assurance.text("clearance_level"),
                assurance.text("official_purpose"),
                assurance.true("substantially_equivalent_protection"),
            ),
        )
    except LabelError as exc:
        field = f"claims.alternative_label.{exc.detail.get('field', '')}".rstrip(".")
        raise _json.malformed(exc.message, field) from None
    except TokenError:
        raise
    except InputError as exc:  # the model refuses a combination (e.g. applied_by ≠ recipient)
        raise _json.malformed(exc.message, "claims", reason=exc.code) from None


# ---------------------------------------------------------------------------- public API


def issue_consent(consent: Consent, keys: NodeKeys) -> bytes:
    """The originator's signed written consent or relay approval (Art. 6, TISA).

    ``keys`` must be the originator's; a consent already revoked is not issued.
    """
    if not isinstance(consent, Consent) or consent.revoked_at is not None:
        raise TokenInputError(
            "issue an unrevoked Consent (revocation is its own token)", code="TOKEN_INPUT_INVALID"
        )
    return _token.issue(
        _token.CONSENT,
        consent,
        _consent_claims(consent),
        _consent_from,
        keys,
        consent.originator,
        consent.issued,
    )


def verify_consent(
    token: bytes, trust: TrustStore, at: datetime, *, max_skew: timedelta = DEFAULT_MAX_SKEW
) -> Consent:
    """The consent a token proves, signed by its originator; raises :class:`TokenError`.

    The decision whether it covers an act is :func:`gsomia.policy.check_consent`'s.
    """
    return _token.open_token(
        token,
        _token.CONSENT,
        _consent_from,
        lambda c: c.issued,
        lambda c: c.originator,
        trust,
        at,
        max_skew,
    )


def issue_revocation(consent_id: str, keys: NodeKeys, at: datetime) -> bytes:
    """The originator (``keys``) withdraws consent ``consent_id`` from ``at`` on (Art. 6)."""
    try:
        at = require_aware(at, "revocation time")
    except InputError as exc:
        raise TokenInputError(exc.message, code="TOKEN_INPUT_INVALID") from None
    party = keys.party if isinstance(keys, NodeKeys) else ""
    revocation = Revocation(consent_id, party, at)
    return _token.issue(
        _token.REVOCATION,
        revocation,
        _revocation_claims(revocation),
        _revocation_from,
        keys,
        party,
        at,
    )


def verify_revocation(
    token: bytes, trust: TrustStore, at: datetime, *, max_skew: timedelta = DEFAULT_MAX_SKEW
) -> Revocation:
    """The revocation a token proves, signed by the consent's originator."""
    return _token.open_token(
        token,
        _token.REVOCATION,
        _revocation_from,
        lambda r: r.revoked_at,
        lambda r: r.originator,
        trust,
        at,
        max_skew,
    )


def apply_revocations(
    consent: Consent,
    revocation_tokens: Iterable[bytes],
    trust: TrustStore,
    at: datetime,
    *,
    max_skew: timedelta = DEFAULT_MAX_SKEW,
) -> Consent:
    """``consent`` with ``revoked_at`` set to the earliest verified revocation of it.

    Every token is verified (one that fails raises: an unreadable revocation is never silently
    ignored); revocations of other consents are skipped.  :func:`gsomia.policy.check_consent`
    then refuses acts from ``revoked_at`` on.
    """
    if not isinstance(consent, Consent):
        raise TokenInputError("apply revocations to a Consent", code="TOKEN_INPUT_INVALID")
    earliest = consent.revoked_at
    for token in revocation_tokens:
        revocation = verify_revocation(token, trust, at, max_skew=max_skew)
        if (revocation.consent_id, revocation.originator) != (
            consent.consent_id,
            consent.originator,
        ):
            continue
        if earliest is None or revocation.revoked_at < earliest:
            earliest = revocation.revoked_at
    return consent if earliest == consent.revoked_at else replace(consent, revoked_at=earliest)


def issue_receipt(receipt: Receipt, keys: NodeKeys) -> bytes:
    """The recipient's (``keys``) signed receipt of an item (Art. 4, Art. 7)."""
    if not isinstance(receipt, Receipt):
        raise TokenInputError("issue a Receipt", code="TOKEN_INPUT_INVALID")
    return _token.issue(
        _token.RECEIPT,
        receipt,
        _receipt_claims(receipt),
        _receipt_from,
        keys,
        receipt.recipient,
        receipt.received,
    )


def verify_receipt(
    token: bytes, trust: TrustStore, at: datetime, *, max_skew: timedelta = DEFAULT_MAX_SKEW
) -> Receipt:
    """The receipt a token proves, signed by its recipient."""
    return _token.open_token(
        token,
        _token.RECEIPT,
        _receipt_from,
        lambda r: r.received,
        lambda r: r.recipient,
        trust,
        at,
        max_skew,
    )


def receipt_includes(receipt: Receipt, entry: bytes, proof: Iterable[bytes]) -> bool:
    """Whether ``proof`` shows the audit record ``entry`` at the receipt's index in the tree of
    its checkpoint (RFC 9162 §2.1.3.2).  Never raises for well-typed arguments."""
    try:
        return verify_inclusion(
            entry, receipt.log_index, receipt.checkpoint.size, list(proof), receipt.checkpoint.root
        )
    except (GsomiaError, TypeError):
        return False
