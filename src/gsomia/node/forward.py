"""Art. 6: a holder forwards a received item to a third party, carrying the originator's consent.

Art. 6: no release to a third country without the originating party's prior written consent;
PRODUCT.md §8: "a forward to a third party happens without the originator's signed consent" must
never happen.  The consent is requested and recorded by :mod:`gsomia.node.consent`.

Theory of operation
-------------------
At the holder, :func:`forward` (a release officer of the holder) decides with
:func:`gsomia.policy.forward` *at that instant*, against every consent the holder recorded for the
item (a revocation recorded since applies): the consent must be the originator's, for this item
(id and binding, :mod:`gsomia.node._custody`), this holder, this third party and this purpose,
not expired or revoked, and an agreement between holder and third party in force must give the
third party an equivalent of the holder's marking.  A refusal is audited (``forward`` ``deny``
with the policy's reason codes) and nothing is queued.  Allowed, the held copy is opened, the
item re-sealed by the holder to the third party alone (a copy in the holder's outbox that the
holder could open would outlive its own copy's return or destruction, Art. 13) under that
agreement with its label set (the originator's label, bound and unchanged, and the holder's
marking beside it, Art. 4), and in ONE
unit of work queued with the consent token (ITEM_WITH_PROOF, ``<item id>:<third party>``) and
audited (``forward`` ``allow``).  An item already sent to that party is not sent again
(``NODE_ALREADY_SENT``).

At the third party, :mod:`gsomia.node.inbound` verifies the seal and the consent (signed by the
originator's key in its trust store) and accepts with :func:`gsomia.policy.accept` (sender = the
holder, so the forward rule, with the frame's purpose), adding its own marking; its receipt goes
back to the holder.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gsomia.audit.records import AuditKind, DetailValue
from gsomia.envelope import EnvelopeError, open_item, seal
from gsomia.envelope.keys import KeyLookupError
from gsomia.node._context import Context, ident
from gsomia.node._custody import item_binding
from gsomia.node.consent import resolve
from gsomia.node.directory import may
from gsomia.node.errors import (
    NodeAccessDeniedError,
    NodeConflictError,
    NodeForbiddenError,
    NodeInputError,
    NodeItemNotFoundError,
)
from gsomia.node.framing import check_purpose, item_frame
from gsomia.policy import ConsentKind, Decision
from gsomia.policy import forward as decide_forward
from gsomia.ports import ConsentRecord, HeldItem, ItemState, OfficialRecord, OutboxMessage, Role

__all__ = ["ForwardResult", "forward"]

_NO_KEY: Final = "NODE_NO_RECIPIENT_KEY"


@dataclass(frozen=True, slots=True)
class ForwardResult:
    """The outcome of one forward (Art. 6): refused with reasons, or queued with a consent."""

    item_id: str
    third_party: str
    forwarded: bool
    decision: Decision
    reasons: tuple[str, ...] = ()
    consent_id: str | None = None
    audit_index: int | None = None


def forward(
    ctx: Context, actor: OfficialRecord | str, item_id: str, third_party: str, purpose: str
) -> ForwardResult:
    """Forward a held item to ``third_party`` under the originator's consent (see the module)."""
    now = ctx.clock.now()
    subject = ident(item_id, "unknown-item")
    who, record = resolve(ctx, actor)

    def refuse(code: str, detail: dict[str, DetailValue] | None = None) -> None:
        ctx.audit_alone(AuditKind.FORWARD, now, who, subject, "deny", (code,), detail)

    if not may(record, ctx.party, Role.RELEASE_OFFICER):
        refuse("NODE_FORBIDDEN")
        raise NodeForbiddenError(f"{who} may not forward items held by {ctx.party}")
    try:
        check_purpose(purpose)
        if not isinstance(third_party, str) or third_party not in ctx.registry.parties:
            raise ValueError("unknown third party")
    except ValueError as exc:
        refuse("NODE_INPUT_INVALID", {"problem": str(exc)})
        raise NodeInputError(str(exc)) from None
    with ctx.store.read() as reader:
        item = reader.item(item_id) if isinstance(item_id, str) else None
        sent = reader.outbox_entry(f"{subject}:{third_party}")
        consents = [] if item is None else reader.consents_for(item.item_id)
    if item is None:
        refuse("NODE_ITEM_NOT_FOUND")
        raise NodeItemNotFoundError(f"{ctx.party} holds no item {subject}")
    if item.state is not ItemState.HELD or item.sealed is None:
        refuse("NODE_ITEM_NOT_HELD", {"state": item.state.value})
        raise NodeAccessDeniedError(f"item {item_id} was {item.state}", code="NODE_ITEM_NOT_HELD")
    if sent is not None:
        refuse("NODE_ALREADY_SENT", {"third_party": third_party})
        raise NodeConflictError(
            f"item {item_id} was already sent to {third_party}", code="NODE_ALREADY_SENT"
        )
    decision, used = _decide(ctx, item, third_party, purpose, consents, now)
    detail: dict[str, DetailValue] = {
        "third_party": third_party,
        "topic": item.topic,
        "purpose": purpose,
        "consent": None if used is None else used.consent.consent_id,
    }
    if not decision.allowed:
        return _refused(ctx, now, who, item.item_id, third_party, decision, decision.codes, detail)
    assert used is not None
    try:
        key = ctx.trust.current(third_party, "enc", now)
        opened = open_item(item.sealed, ctx.keys, ctx.open_trust, now)
    except KeyLookupError:
        return _refused(ctx, now, who, item.item_id, third_party, decision, (_NO_KEY,), detail)
    except EnvelopeError as err:
        refuse("NODE_ITEM_DAMAGED", {"cause": err.cause.value})
        raise NodeAccessDeniedError(
            f"item {item_id} does not open", code="NODE_ITEM_DAMAGED"
        ) from None
    assert decision.agreement is not None
    assert decision.table_version is not None
    sealed = seal(
        opened.payload,
        item.labels,  # the originator's label, bound and unchanged, and our marking (Art. 4)
        # to the third party alone: a copy the holder could open would outlive its own copy's
        # return or destruction (Arts. 6, 13)
        {third_party: key},
        (decision.agreement, decision.table_version),
        ctx.keys,
        now,
        item.item_id,
    ).to_bytes()
    digest = hashlib.sha256(sealed).digest()  # what the third party's receipt quotes
    with ctx.store.unit_of_work() as uow:
        uow.enqueue(
            OutboxMessage(
                f"{item.item_id}:{third_party}", third_party, "item", item.item_id,
                item_frame(item.topic, purpose, sealed, (used.token,)), now,
            ),
            digest=digest,
        )  # fmt: skip
        index = ctx.audit(
            uow, AuditKind.FORWARD, now, who, item.item_id, "allow", decision.codes,
            agreement=decision.agreement, table_version=decision.table_version,
            detail={
                **detail,
                "path": ">".join(decision.path),
                "marking": decision.markings[-1].level,
                "digest": digest.hex(),
            },
        )  # fmt: skip
    return ForwardResult(
        item.item_id, third_party, True, decision, (), used.consent.consent_id, index
    )


def _decide(
    ctx: Context,
    item: HeldItem,
    third_party: str,
    purpose: str,
    consents: list[ConsentRecord],
    now: datetime,
) -> tuple[Decision, ConsentRecord | None]:
    """The first consent that allows the forward now; else the refusal closest to allowing."""
    binding = item_binding(item.item_id, item.labels.originator)

    def decide(record: ConsentRecord | None) -> Decision:
        return decide_forward(
            ctx.registry,
            item.labels,
            item_id=item.item_id,
            item_digest=binding,
            holder=ctx.party,
            third_party=third_party,
            topic=item.topic,
            purpose=purpose,
            consent=None if record is None else record.consent,  # revoked_at as recorded
            at=now,
        )

    candidates = sorted(
        (
            c
            for c in consents
            if c.consent.kind is ConsentKind.FORWARD and c.consent.holder == ctx.party
        ),
        key=lambda c: c.consent.issued,
        reverse=True,
    )
    best: tuple[Decision, ConsentRecord | None] | None = None
    for record in candidates:
        decision = decide(record)
        if decision.allowed:
            return decision, record
        if best is None or len(decision.reasons) < len(best[0].reasons):
            best = decision, record
    return best if best is not None else (decide(None), None)


def _refused(
    ctx: Context,
    now: datetime,
    who: str,
    item_id: str,
    third_party: str,
    decision: Decision,
    codes: tuple[str, ...],
    detail: dict[str, DetailValue],
) -> ForwardResult:
    index = ctx.audit_alone(AuditKind.FORWARD, now, who, item_id, "deny", codes, detail)
    consent = detail.get("consent")
    return ForwardResult(
        item_id,
        third_party,
        False,
        decision,
        codes,
        consent if isinstance(consent, str) else None,
        index,
    )
