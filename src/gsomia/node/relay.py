"""TISA relay through the hub: KOR → USA → JPN and JPN → USA → KOR, with the originator's approval.

The Trilateral Information Sharing Arrangement (PRODUCT.md §3) is limited to North Korean nuclear
and missile threats; the hub (the US) passes on what a spoke gave it *only with the originator's
approval*, re-marked at the hub's level and then at the recipient's (Art. 4 at each step).

Theory of operation (three nodes, each deciding with the core at its own instant)
-------------------------------------------------------------------------------
1. **Originator** (:func:`commit_release`, called by :meth:`Node.release`).  When
   :func:`gsomia.policy.release` routes a recipient through a hub (a path of three), the item is
   sealed to the *hub* (not to the final recipient) under the hub arrangement, and the originator
   issues a signed approval (:func:`gsomia.proofs.issue_consent`, kind ``hub_approval``) naming
   the item (id and binding, :mod:`gsomia.node._custody`), itself, holder = the hub, third party
   = the final recipient, the purpose and an expiry (:data:`APPROVAL_VALIDITY` unless given).
   Recipients are grouped by first hop: a hub that is also a direct recipient gets one seal
   carrying every approval.  The approvals travel in an ITEM_WITH_PROOF frame
   (:mod:`gsomia.node.framing`), are kept in the originator's consents (so that
   :meth:`Node.revoke_consent` can withdraw them) and each recipient's ``release`` audit record
   names its path and approval; item, outbox, consents and audit are one unit of work.
2. **Hub** (:func:`plan`, :func:`commit`, :func:`refuse`, called by
   :mod:`gsomia.node.inbound`).  The hub verifies and accepts the item from the originator as
   any item (it holds it, with its alternative label, Art. 4, and receipts it to the originator).
   Every hub approval in a frame the originator sent is a request to relay: each is verified
   (the originator's signature, any revocation recorded here) and decided by
   :func:`gsomia.policy.relay` at that instant, for this hub, the approval's third party, the
   frame's topic and purpose.  If all are allowed the item is re-sealed by the hub to each final
   recipient (to it alone: the hub's copy is the one it accepted, which disposal erases, Art.
   13) under the hub arrangement, its label set now carrying the hub's marking, and queued
   in the hub's own outbox with the approval; acceptance, relays, approvals kept and the
   ``accept`` and ``relay`` audit records are ONE unit of work, so the relay happens exactly once
   however often the item arrives.  If any relay is refused, the item is rejected as a whole:
   ``relay`` ``deny`` records with the policy's reason codes, a ``reject`` record, the inbox
   entry that answers replays the same way, and nothing else.
3. **Final recipient** (:mod:`gsomia.node.inbound`).  It verifies the hub's seal, verifies the
   originator's approval that travels with it (signed by the originator's key in its trust
   store; a revocation it recorded applies) and decides with :func:`gsomia.policy.accept`
   (sender = the hub, so the relay rule: scope, approval for this item, this recipient and
   this purpose, not expired or revoked), then adds its own marking beside the originator's and
   the hub's.

Receipts flow hop by hop: each node receipts to the node it received from, and each outbox
message is settled by the receipt of its own hop (``<item id>:<party>``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.envelope import (
    BatchSigner,
    PendingItem,
    PublicKeyRecord,
    SealedItem,
    SealSession,
    seal,
    seal_in_batch,
)
from gsomia.envelope.keys import KeyLookupError
from gsomia.errors import GsomiaError
from gsomia.labels import LabelSet, OriginatorLabel
from gsomia.node._context import Context, record
from gsomia.node._custody import Proof, item_binding
from gsomia.node.framing import item_frame
from gsomia.node.results import ReleaseResult
from gsomia.policy import Consent, ConsentKind, Decision
from gsomia.policy import relay as decide_relay
from gsomia.policy import release as decide_release
from gsomia.ports import ConsentRecord, HeldItem, OutboxMessage, UnitOfWork
from gsomia.proofs import issue_consent

__all__ = [
    "APPROVAL_INVALID",
    "APPROVAL_VALIDITY",
    "Hop",
    "PreparedRelease",
    "Relay",
    "RelayPlan",
    "ReleaseWrites",
    "approval_id",
    "commit",
    "commit_release",
    "first_hops",
    "plan",
    "prepare_release",
    "refuse",
    "release_writes",
    "write_release",
]

APPROVAL_VALIDITY: Final = timedelta(days=7)
"""How long an originator's relay approval stays valid unless the release names an expiry."""
APPROVAL_INVALID: Final = "RELEASE_APPROVAL_INVALID"
"""The approval cannot be issued (for example, a purpose longer than a token's 256 characters)."""
NO_KEY: Final = "NODE_NO_RECIPIENT_KEY"
_ITEM_KIND: Final = "item"


def approval_id(item_id: str, recipient: str) -> str:
    """The id of the originator's approval to relay ``item_id`` to ``recipient``."""
    return f"approval:{item_id}:{recipient}"


# ------------------------------------------------------------------------------- originator


def decide_recipients(
    ctx: Context,
    label: OriginatorLabel,
    recipients: Sequence[str],
    topic: str,
    purpose: str,
    now: datetime,
) -> tuple[dict[str, Decision], dict[str, tuple[str, ...]], dict[str, PublicKeyRecord]]:
    """Each recipient's release decision at ``now`` (Art. 6), the refusals, and the keys.

    A recipient is refused with its decision's codes, or ``NODE_NO_RECIPIENT_KEY`` when its
    first hop (itself, or the hub that relays to it) has no current encryption key.
    """
    decisions = {
        r: decide_release(ctx.registry, label, ctx.party, r, topic, now, purpose)
        for r in sorted(recipients)
    }
    refusals: dict[str, tuple[str, ...]] = {}
    keys: dict[str, PublicKeyRecord] = {}
    for recipient, decision in decisions.items():
        if not decision.allowed:
            refusals[recipient] = decision.codes
            continue
        hop = decision.path[1]  # the recipient, or the hub that relays to it (TISA)
        try:
            keys[hop] = ctx.trust.current(hop, "enc", now)
        except KeyLookupError:
            refusals[recipient] = (NO_KEY,)
    return decisions, refusals, keys


@dataclass(frozen=True, slots=True)
class Hop:
    """A first hop of a release: the decision its seal rests on, the recipients relayed there."""

    decision: Decision
    via: tuple[str, ...] = ()


def first_hops(decisions: Mapping[str, Decision]) -> dict[str, Hop]:
    """Allowed decisions grouped by first hop (the recipient itself, or the hub), by party."""
    via: dict[str, list[str]] = {}
    for recipient, decision in decisions.items():
        hop = decision.path[1]
        via.setdefault(hop, [])
        if hop != recipient:
            via[hop].append(recipient)
    return {
        hop: Hop(decisions[hop] if hop in decisions else decisions[routed[0]], tuple(routed))
        for hop, routed in sorted(via.items())
    }


def _approve(
    ctx: Context,
    item_id: str,
    label: OriginatorLabel,
    hub: str,
    recipient: str,
    purpose: str,
    now: datetime,
    expires: datetime,
) -> Proof:
    consent = Consent(
        kind=ConsentKind.HUB_APPROVAL,
        consent_id=approval_id(item_id, recipient),
        item_id=item_id,
        item_digest=item_binding(item_id, label),
        originator=ctx.party,
        holder=hub,
        third_party=recipient,
        purpose=purpose,
        issued=now,
        expires=expires,
    )
    return Proof(consent, issue_consent(consent, ctx.keys))


@dataclass(frozen=True, slots=True)
class PreparedRelease:
    """A release decided and sealed, ready to be written (:func:`release_writes`, then
    :func:`write_release` in a unit of work).

    ``sealed`` holds the item sealed once per first hop (a :class:`PendingItem` of a batch has
    its bytes once the batch is signed, before it is written), ``approvals`` the hub approvals
    issued per first hop (empty for a direct recipient).
    """

    item_id: str
    who: str
    now: datetime
    label: OriginatorLabel
    topic: str
    purpose: str
    decisions: dict[str, Decision]
    hops: dict[str, Hop]
    approvals: dict[str, list[Proof]]
    sealed: dict[str, SealedItem | PendingItem]


def prepare_release(
    ctx: Context,
    item_id: str,
    who: str,
    now: datetime,
    payload: bytes,
    label: OriginatorLabel,
    topic: str,
    purpose: str,
    decisions: dict[str, Decision],
    keys: Mapping[str, PublicKeyRecord],
    approval_expires: datetime | None = None,
    *,
    session: SealSession | None = None,
    signer: BatchSigner | None = None,
) -> PreparedRelease | dict[str, tuple[str, ...]]:
    """Seal once per first hop and issue the hub approvals (step 1 above); nothing is written.

    ``keys`` holds the encryption key of every first hop.  Returns the refusals instead if an
    approval cannot be issued.  ``session``: a batch's sealing session (ADR 0015); ``signer``:
    the batch's signer, which signs its items at once before they are written (ADR 0019).
    """
    hops = first_hops(decisions)
    expires = approval_expires or now + APPROVAL_VALIDITY
    approvals: dict[str, list[Proof]] = {}
    try:
        for hop, h in hops.items():
            approvals[hop] = [
                _approve(ctx, item_id, label, hop, r, purpose, now, expires) for r in h.via
            ]
    except GsomiaError:  # TokenInputError: e.g. a purpose a token cannot carry, or expiry ≤ now
        return {r: (APPROVAL_INVALID,) for h in hops.values() for r in h.via}
    own = ctx.keys.current.enc
    sealed: dict[str, SealedItem | PendingItem] = {}
    for hop, h in hops.items():
        assert h.decision.agreement is not None
        assert h.decision.table_version is not None
        recipients = {hop: keys[hop], ctx.party: own}  # self too: the copy at rest
        agreement_ref = (h.decision.agreement, h.decision.table_version)
        if signer is None:
            sealed[hop] = seal(
                payload, label, recipients, agreement_ref, ctx.keys, now, item_id, session=session
            )
        else:
            sealed[hop] = seal_in_batch(
                payload, label, recipients, agreement_ref, ctx.keys, now, item_id,
                signer=signer, session=session,
            )  # fmt: skip
    return PreparedRelease(
        item_id, who, now, label, topic, purpose, decisions, hops, approvals, sealed
    )


@dataclass(frozen=True, slots=True)
class ReleaseWrites:
    """The rows of one prepared release, built before its unit of work (:func:`release_writes`):
    under the store's write lock only the writes themselves run (ADR 0022)."""

    item_id: str
    decisions: dict[str, Decision]
    held: HeldItem
    consents: tuple[ConsentRecord, ...]
    messages: tuple[tuple[OutboxMessage, bytes], ...]  # (message, digest its receipt quotes)
    records: tuple[AuditRecord, ...]  # encoded (gsomia.node._context.record)


def release_writes(release: PreparedRelease) -> ReleaseWrites:
    """The held copy, one message per first hop with its approvals, and one ``release`` audit
    record per recipient, of a prepared release (a batch's items once the batch is signed)."""
    r = release
    item_id, hops = r.item_id, r.hops
    sealed = {hop: item.to_bytes() for hop, item in r.sealed.items()}
    first = next(iter(hops))
    held = HeldItem(
        item_id,
        LabelSet(r.label),
        r.topic,
        sealed[first],
        r.now,
        agreement=hops[first].decision.agreement,
        table_version=hops[first].decision.table_version,
    )
    digests = {hop: hashlib.sha256(body).digest() for hop, body in sealed.items()}
    consents = tuple(ConsentRecord(p.consent, p.token) for hop in hops for p in r.approvals[hop])
    messages = tuple(
        (
            OutboxMessage(
                key=f"{item_id}:{hop}",
                recipient=hop,
                kind=_ITEM_KIND,
                subject=item_id,
                payload=item_frame(
                    r.topic, r.purpose, sealed[hop], tuple(p.token for p in r.approvals[hop])
                ),
                created=r.now,
            ),
            digests[hop],  # what the hop's receipt quotes: settled without a re-read
        )
        for hop in hops
    )
    records = []
    for recipient, decision in r.decisions.items():
        hop = decision.path[1]
        detail: dict[str, str | int | None] = {
            "recipient": recipient,
            "topic": r.topic,
            "purpose": r.purpose,
            "path": ">".join(decision.path),
            "marking": decision.markings[-1].level,
            "digest": digests[hop].hex(),
        }
        if hop != recipient:
            detail |= {"hub": hop, "approval": approval_id(item_id, recipient)}
        records.append(
            record(
                AuditKind.RELEASE, r.now, r.who, item_id, "allow", decision.codes,
                agreement=decision.agreement, table_version=decision.table_version,
                detail=detail,
            )
        )  # fmt: skip
    return ReleaseWrites(item_id, r.decisions, held, consents, messages, tuple(records))


def write_release(uow: UnitOfWork, w: ReleaseWrites) -> ReleaseResult:
    """Store the held copy, enqueue one message per first hop, keep the approvals and audit one
    ``release`` record per recipient, in ``uow`` (the caller's unit of work)."""
    uow.put_item(w.held)
    for consent in w.consents:
        uow.put_consent(consent)
    for message, digest in w.messages:
        uow.enqueue(message, digest=digest)
    indexes = tuple(uow.append_audit(r) for r in w.records)
    return ReleaseResult(w.item_id, True, w.decisions, (), indexes)


def commit_release(
    ctx: Context,
    item_id: str,
    who: str,
    now: datetime,
    payload: bytes,
    label: OriginatorLabel,
    topic: str,
    purpose: str,
    decisions: dict[str, Decision],
    keys: Mapping[str, PublicKeyRecord],
    approval_expires: datetime | None = None,
) -> ReleaseResult | dict[str, tuple[str, ...]]:
    """Seal once per first hop, issue the hub approvals, and commit (step 1 above): item,
    outbox, consents and audit in one unit of work, which may also hold releases other threads
    committed at the same moment (group commit, :mod:`gsomia.node._group`).

    Returns the refusals instead if an approval cannot be issued (nothing is written then).
    """
    prepared = prepare_release(
        ctx, item_id, who, now, payload, label, topic, purpose, decisions, keys, approval_expires
    )
    if not isinstance(prepared, PreparedRelease):
        return prepared
    done = release_writes(prepared)  # one commit with other threads' releases (node._group)
    return ctx.group.run(ctx.store, lambda uow: write_release(uow, done))


# ------------------------------------------------------------------------------------ hub


@dataclass(frozen=True, slots=True)
class Relay:
    """One allowed relay: the decision, the item re-sealed by the hub, the approval."""

    recipient: str
    decision: Decision
    sealed: bytes
    approval: Proof


@dataclass(frozen=True, slots=True)
class RelayPlan:
    """What the hub will relay, or why it refuses (recipient → reason codes, decisions)."""

    relays: tuple[Relay, ...] = ()
    refusals: dict[str, tuple[str, ...]] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)

    @property
    def codes(self) -> tuple[str, ...]:
        """Every refusal's reason codes, once each, by recipient."""
        return tuple(dict.fromkeys(c for r in sorted(self.refusals) for c in self.refusals[r]))


def plan(
    ctx: Context,
    item_id: str,
    labels: LabelSet,
    payload: bytes,
    topic: str,
    purpose: str,
    proofs: list[Proof],
    now: datetime,
) -> RelayPlan:
    """Decide every relay the originator's approvals ask of this hub (step 2 above).

    ``labels`` already carries this node's alternative label (its marking, Art. 4); only proofs
    in a frame from the originator are relay requests, the caller's concern.
    """
    binding = item_binding(item_id, labels.originator)
    decisions: dict[str, Decision] = {}
    refusals: dict[str, tuple[str, ...]] = {}
    keys: dict[str, PublicKeyRecord] = {}
    approvals: dict[str, Proof] = {}
    for proof in proofs:  # each one a request to relay; a written consent is CONSENT_WRONG_KIND
        recipient = proof.consent.third_party
        if recipient in approvals:
            refusals[recipient] = ("NODE_APPROVAL_REPEATED",)
            continue
        approvals[recipient] = proof
        decision = decide_relay(
            ctx.registry,
            labels,
            item_id=item_id,
            item_digest=binding,
            hub=ctx.party,
            recipient=recipient,
            topic=topic,
            approval=proof.consent,
            at=now,
            purpose=purpose,
        )
        decisions[recipient] = decision
        if not decision.allowed:
            refusals[recipient] = decision.codes
            continue
        try:
            keys[recipient] = ctx.trust.current(recipient, "enc", now)
        except KeyLookupError:
            refusals[recipient] = (NO_KEY,)
    if refusals:
        return RelayPlan((), refusals, decisions)
    relays = []
    for recipient, proof in sorted(approvals.items()):
        decision = decisions[recipient]
        assert decision.agreement is not None
        assert decision.table_version is not None
        resealed = seal(
            payload,
            labels,  # the originator's label and the hub's marking beside it (Art. 4)
            # to the recipient alone: the hub keeps the copy it accepted, and a relay copy it
            # could open would outlive that copy's return or destruction (Arts. 6, 13)
            {recipient: keys[recipient]},
            (decision.agreement, decision.table_version),
            ctx.keys,
            now,
            item_id,
        ).to_bytes()
        relays.append(Relay(recipient, decision, resealed, proof))
    return RelayPlan(tuple(relays), {}, decisions)


def commit(
    ctx: Context,
    uow: UnitOfWork,
    relays: tuple[Relay, ...],
    item_id: str,
    topic: str,
    purpose: str,
    now: datetime,
) -> None:
    """Queue every relay in the hub's outbox and audit it, inside the acceptance's unit."""
    for r in relays:
        digest = hashlib.sha256(r.sealed).digest()
        uow.enqueue(
            OutboxMessage(
                key=f"{item_id}:{r.recipient}",
                recipient=r.recipient,
                kind=_ITEM_KIND,
                subject=item_id,
                payload=item_frame(topic, purpose, r.sealed, (r.approval.token,)),
                created=now,
            ),
            digest=digest,
        )
        ctx.audit(
            uow, AuditKind.RELAY, now, ctx.party, item_id, "allow", r.decision.codes,
            agreement=r.decision.agreement, table_version=r.decision.table_version,
            detail={
                "recipient": r.recipient,
                "originator": r.approval.consent.originator,
                "approval": r.approval.consent.consent_id,
                "topic": topic,
                "purpose": purpose,
                "path": ">".join(r.decision.path),
                "marking": r.decision.markings[-1].level,
                "digest": digest.hex(),
            },
        )  # fmt: skip


def refuse(
    ctx: Context, uow: UnitOfWork, relay_plan: RelayPlan, item_id: str, now: datetime
) -> None:
    """Audit each refused relay (``relay`` ``deny``, the policy's reason codes)."""
    for recipient, codes in sorted(relay_plan.refusals.items()):
        decision = relay_plan.decisions.get(recipient)
        ctx.audit(
            uow, AuditKind.RELAY, now, ctx.party, item_id, "deny", codes,
            agreement=None if decision is None else decision.agreement,
            table_version=None if decision is None else decision.table_version,
            detail={"recipient": recipient},
        )  # fmt: skip
