"""What a TISA relay and an Art. 6 forward share: the item binding and verified proofs.

Both acts move an item beyond its first recipient, and both rest on a statement signed by the
originator (:func:`gsomia.proofs.issue_consent`): a relay approval (TISA) or a written consent
(Art. 6).  That statement names the item by id *and* by ``item_digest``; this module fixes what
the digest binds and turns the tokens that travel with an item into verified
:class:`~gsomia.policy.Consent` values, with any revocation the node has recorded applied.

What ``item_digest`` binds
--------------------------
Not the sealed bytes: every hop re-seals (a fresh content key, its own signature, the marking it
added), so SHA-256 of the sealed item changes at each step.  The binding is::

    item_digest = hex(SHA-256("gsomia-item-binding/1" || 0x00 || item id (ASCII) || 0x00 ||
                              RFC 8785 canonical JSON of the originator label))

Both parts are stable along the whole path and known to everyone who must check the proof: the
item id is signed into every seal and kept by every hop; the originator label is never altered
(Art. 4: alternatives are added beside it) and every seal binds it through the label digest in
its signed header.  The originator computes the binding from what it released, a hub or holder
and the final recipient from what they opened.  A reclassified item (Art. 6) has a new
originator label, so consent given for the old marking does not carry over.

The payload is deliberately *not* hashed into the binding: proofs travel in clear beside the
sealed item (docs/wire-format.md §10), and a digest of the plaintext would let anyone who sees
the channel confirm a guessed payload.  Each hop's own signature binds the payload it sends to
the label; a hop relays or forwards only what it opened and verified.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from gsomia.errors import GsomiaError
from gsomia.labels import OriginatorLabel, json_codec
from gsomia.node._context import Context
from gsomia.policy import Consent
from gsomia.ports import StoreReader
from gsomia.proofs import verify_consent

__all__ = ["Proof", "item_binding", "pick", "verify_proofs", "with_revocation"]

_BINDING_CONTEXT = b"gsomia-item-binding/1\x00"


def item_binding(item_id: str, label: OriginatorLabel) -> str:
    """The ``item_digest`` a relay approval or a forward consent names (see the module doc)."""
    data = _BINDING_CONTEXT + item_id.encode("ascii") + b"\x00" + json_codec.canonical_bytes(label)
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class Proof:
    """A verified consent or approval with the token that proves it (kept as evidence)."""

    consent: Consent
    token: bytes


def with_revocation(reader: StoreReader, consent: Consent) -> Consent:
    """``consent`` with the revocation this node recorded for it, if any (Art. 6)."""
    stored = reader.consent(consent.consent_id)
    if (
        stored is None
        or stored.consent.revoked_at is None
        or stored.consent.originator != consent.originator
    ):
        return consent
    if consent.revoked_at is not None and consent.revoked_at <= stored.consent.revoked_at:
        return consent
    return replace(consent, revoked_at=stored.consent.revoked_at)


def verify_proofs(ctx: Context, tokens: tuple[bytes, ...], now: datetime) -> list[Proof] | str:
    """Each token verified against the trust store (signed by its originator), revocations
    recorded here applied; else the error code of the first token that fails."""
    proofs = []
    for token in tokens:
        try:
            consent = verify_consent(token, ctx.trust, now)
        except GsomiaError as err:  # TokenError and its kin: the peer sent a bad token
            return err.code
        proofs.append(Proof(consent, token))
    if not proofs:
        return proofs
    with ctx.store.read() as reader:
        return [Proof(with_revocation(reader, p.consent), p.token) for p in proofs]


def pick(proofs: list[Proof], holder: str, third_party: str) -> Proof | None:
    """The proof for ``holder`` → ``third_party``; else the first one, for the policy to refuse
    with its reasons; None if there is none."""
    for proof in proofs:
        if (proof.consent.holder, proof.consent.third_party) == (holder, third_party):
            return proof
    return proofs[0] if proofs else None
