"""The originator's continuing rights over CMI it provided (Art. 6): reclassification, and return
or destruction (Art. 6: no longer needed; Art. 13: destruction).

Reclassification (:func:`reclassify`, :func:`on_reclassification`)
  A release or security officer of the originating node changes the level of an item it
  originated.  The core (:func:`gsomia.policy.remark.remark`) must give every holder an
  equivalent of the new level (else ``NODE_POLICY_DENIED``: such an item cannot stay with them;
  request its return or destruction).  In ONE unit of work the node relabels its own copy (a new
  originator label at the new level, ADR 0006), records the reclassification (``seq``), audits
  ``reclassify`` and enqueues one signed RECLASSIFICATION notice per holder.  A holder checks the
  notice is signed by the item's originator and sent by its node, recomputes its equivalent marking
  under the agreement the item came under (Art. 4), relabels its copy and audits, once per
  ``seq`` and in order; an item not arrived yet defers the notice (the originator retries).

Return or destruction (:func:`request_disposal`, :func:`execute`, :func:`destroy`)
  The originator's release or security officer requests a holder (a party it provided the item to)
  to return or destroy its copy: a signed DISPOSAL_REQUEST.  The holder records it; its security
  officer executes it: the item goes to ``returned`` or ``destroyed``
  (:data:`~gsomia.ports.ITEM_TRANSITIONS`; the sealed bytes are erased and reads answer
  ``NODE_ITEM_NOT_HELD``) and a signed certificate of return or destruction goes back to the
  originator, which records it (:func:`on_certificate`).  A holder's security officer may also
  destroy an item no longer needed on its own (:func:`destroy`), with a certificate all the same.
  Returning an electronic copy is erasing it here and certifying so: the originator keeps the
  original.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from gsomia.audit.records import AuditKind
from gsomia.errors import GsomiaError
from gsomia.labels import AlternativeLabel, LabelSet
from gsomia.node import _acts
from gsomia.node._acts import OFFICERS, SECURITY, Handled, may, refuse, refused
from gsomia.node._context import Context, ident
from gsomia.node.errors import (
    NodeAccessDeniedError,
    NodeConflictError,
    NodeForbiddenError,
    NodeInputError,
    NodeItemNotFoundError,
    NodeRecordNotFoundError,
)
from gsomia.policy import Decision
from gsomia.policy.remark import remark
from gsomia.ports import (
    DisposalAction,
    DisposalRecord,
    DisposalState,
    HeldItem,
    ItemState,
    OfficialRecord,
    ReclassificationRecord,
    UnitOfWork,
    check_limit,
)
from gsomia.ports.cases import MAX_PURPOSE
from gsomia.proofs.notices import FieldValue, Notice, NoticeKind

__all__ = [
    "destroy",
    "execute",
    "listing",
    "on_certificate",
    "on_reclassification",
    "on_request",
    "reclassify",
    "request_disposal",
]

_RECLASSIFY, _DESTROY = AuditKind.RECLASSIFY, AuditKind.DESTROY


def _own_item(
    ctx: Context, kind: AuditKind, now: datetime, who: str, item: HeldItem | None, subject: str
) -> HeldItem:
    """The item, if this node originated it and still holds it; else an audited refusal."""
    error: GsomiaError
    if item is None:
        refuse(ctx, kind, now, who, subject, NodeItemNotFoundError(f"no item {subject}"))
    if item.originator != ctx.party or item.received_from is not None:
        error = NodeForbiddenError(
            f"{ctx.party} did not originate item {subject} (Art. 6)", code="NODE_NOT_ORIGINATOR"
        )
        refuse(ctx, kind, now, who, subject, error)
    if item.state is not ItemState.HELD:
        error = NodeConflictError(f"item {subject} is {item.state}", code="NODE_ITEM_NOT_HELD")
        refuse(ctx, kind, now, who, subject, error)
    return item


# -- reclassification (Art. 6) -------------------------------------------------------------------


def _remark_for(ctx: Context, holder: str, level: str, now: datetime) -> Decision:
    """The first agreement between this node and ``holder`` that gives an equivalent."""
    reg = ctx.registry
    found: Decision | None = None
    for agreement in (*reg.between(ctx.party, holder), *reg.hub_arrangements(ctx.party, holder)):
        decision = remark(reg, agreement.id, ctx.party, level, holder, now)
        if decision.allowed:
            return decision
        found = found or decision
    return found or remark(reg, "none", ctx.party, level, holder, now)


def reclassify(ctx: Context, actor: OfficialRecord | str, item_id: str, level: str) -> HeldItem:
    """The originator changes an item's level; every holder re-marks it (Art. 6)."""
    now = ctx.clock.now()
    who, official = _acts.resolve(ctx, actor)
    subject = ident(item_id, "unknown-item")
    error: GsomiaError
    if not may(official, ctx.party, OFFICERS):
        refuse(ctx, _RECLASSIFY, now, who, subject, NodeForbiddenError(f"{who} may not reclassify"))
    problem = _acts.text_problem(level, "level", 256)
    if problem is not None:
        refuse(ctx, _RECLASSIFY, now, who, subject, NodeInputError(problem))
    with ctx.store.read() as reader:
        found_item = reader.item(item_id) if isinstance(item_id, str) else None
        holders = sorted(_acts.holders(reader, subject, ctx.party))
        seq = len(reader.reclassifications(subject)) + 1
    item = _own_item(ctx, _RECLASSIFY, now, who, found_item, subject)
    found = ctx.registry.schemes[ctx.party].find(level)
    previous = item.labels.originator.classification
    if found is None or found.native == previous:
        code = "NODE_UNKNOWN_LEVEL" if found is None else "NODE_SAME_LEVEL"
        error = NodeInputError(f"{level!r} is not a new level of {ctx.party}", code=code)
        refuse(ctx, _RECLASSIFY, now, who, subject, error)
    decisions = {holder: _remark_for(ctx, holder, found.native, now) for holder in holders}
    denied = {h: d.codes for h, d in decisions.items() if not d.allowed}
    if denied:
        codes = tuple(dict.fromkeys(c for h in sorted(denied) for c in denied[h]))
        error = NodeAccessDeniedError(
            f"{', '.join(sorted(denied))} cannot hold item {subject} at {found.native}",
            code="NODE_POLICY_DENIED",
            detail={"reasons": list(codes)},
        )
        refuse(ctx, _RECLASSIFY, now, who, subject, error, {"level": found.native}, codes)
    labels = LabelSet(
        replace(item.labels.originator, classification=found.native), item.labels.alternatives
    )
    fields: dict[str, FieldValue] = {"seq": seq, "previous": previous, "level": found.native}
    signed = []
    for holder in holders:
        try:
            signed.append(
                _acts.notice(ctx, NoticeKind.RECLASSIFICATION, holder, item.item_id, fields, now)
            )
        except NodeInputError as error:
            refuse(ctx, _RECLASSIFY, now, who, subject, error)
    with ctx.store.unit_of_work() as uow:
        new = uow.relabel(item.item_id, labels)
        uow.record_reclassification(
            ReclassificationRecord(item.item_id, seq, ctx.party, previous, found.native, now)
        )
        for notice, token in signed:
            _acts.enqueue(uow, notice, token)
        ctx.audit(
            uow, _RECLASSIFY, now, who, item.item_id, "reclassified", ("RECLASSIFIED",),
            detail={
                "seq": seq, "previous": previous, "level": found.native,
                "holders": ",".join(holders) or None,
            },
        )  # fmt: skip
    return new


def on_reclassification(ctx: Context, notice: Notice, token: bytes, now: datetime) -> Handled:
    """The originator reclassified an item this node holds: re-mark it (Arts. 4, 6)."""
    with ctx.store.read() as reader:
        item = reader.item(notice.subject)
        first = reader.inbox_entry(notice.subject)
        done = len(reader.reclassifications(notice.subject))
    if item is None:  # rejected here for good, or not arrived yet
        return (
            refused("NODE_ITEM_NOT_HELD")
            if first is not None
            else _acts.deferred("NODE_ITEM_NOT_HELD")
        )
    if item.originator != notice.issuer or item.received_from is None:
        return refused("NODE_NOT_ORIGINATOR")
    if item.state is not ItemState.HELD:
        return refused("NODE_ITEM_NOT_HELD")
    seq = notice.integer("seq")
    if seq <= done:
        return _acts.DUPLICATE
    if seq > done + 1:
        return _acts.deferred("NODE_NOTICE_OUT_OF_ORDER")
    previous, level = notice.text("previous"), notice.text("level")
    if previous != item.labels.originator.classification or item.agreement is None:
        return refused("NODE_CONFLICT")
    decision = remark(
        ctx.registry, item.agreement, item.originator, level, ctx.party, now,
        table_version=item.table_version,
    )  # fmt: skip
    if not decision.allowed or decision.agreement is None or decision.table_version is None:
        return refused(decision.codes[0] if decision.codes else "NODE_POLICY_DENIED")
    mine = AlternativeLabel(  # Art. 4: the originator's name and our equivalent of the new level
        policy_id=ctx.registry.schemes[ctx.party].id,
        classification=decision.markings[-1].level,
        originator=item.originator,
        applied_by=ctx.party,
        agreement=decision.agreement,
        table_version=decision.table_version,
        applied=now,
    )
    others = item.labels.alternatives
    alternatives = tuple(mine if a.applied_by == ctx.party else a for a in others)
    if mine not in alternatives:
        alternatives = (*alternatives, mine)
    originator = replace(item.labels.originator, classification=decision.markings[0].level)
    with ctx.store.unit_of_work() as uow:
        uow.relabel(item.item_id, LabelSet(originator, alternatives))
        uow.record_reclassification(
            ReclassificationRecord(
                item.item_id,
                seq,
                notice.issuer,
                previous,
                originator.classification,
                notice.issued,
                token,
            )
        )
        ctx.audit(
            uow, _RECLASSIFY, now, notice.issuer, item.item_id, "remarked", decision.codes,
            agreement=decision.agreement, table_version=decision.table_version,
            detail={
                "seq": seq, "previous": previous, "level": originator.classification,
                "marking": mine.classification, "notice_id": notice.notice_id,
            },
        )  # fmt: skip
    return _acts.APPLIED


# -- return or destruction (Art. 6, Art. 13) -----------------------------------------------------


def request_disposal(
    ctx: Context, actor: OfficialRecord | str, item_id: str, holder: str, action: str, reason: str
) -> DisposalRecord:
    """The originator asks ``holder`` to return or destroy its copy of an item (Art. 6)."""
    now = ctx.clock.now()
    who, official = _acts.resolve(ctx, actor)
    subject = ident(item_id, "unknown-item")
    error: GsomiaError
    if not may(official, ctx.party, OFFICERS):
        refuse(ctx, _DESTROY, now, who, subject, NodeForbiddenError(f"{who} may not request"))
    problem = None if _acts.member(action, DisposalAction) else "action is 'return' or 'destroy'"
    problem = problem or _acts.text_problem(reason, "reason", 256)
    if problem is None and (not isinstance(holder, str) or holder not in ctx.registry.parties):
        problem = f"unknown party {holder!r}"
    if problem is not None:
        refuse(ctx, _DESTROY, now, who, subject, NodeInputError(problem), {"problem": problem})
    with ctx.store.read() as reader:
        found_item = reader.item(item_id) if isinstance(item_id, str) else None
        holders = _acts.holders(reader, subject, ctx.party)
        earlier = [d for d in reader.disposals(item_id=subject) if d.holder == holder]
    item = _own_item(ctx, _DESTROY, now, who, found_item, subject)
    if holder not in holders:
        error = NodeInputError(f"{holder} was not given item {subject}", code="NODE_NOT_A_HOLDER")
        refuse(ctx, _DESTROY, now, who, subject, error)
    if earlier:
        done = any(d.state is DisposalState.COMPLETED for d in earlier)
        code = "NODE_DISPOSAL_DONE" if done else "NODE_DISPOSAL_PENDING"
        error = NodeConflictError(f"{holder}'s copy of {subject}: {code}", code=code)
        refuse(ctx, _DESTROY, now, who, subject, error)
    disposal_id = str(uuid.uuid4())
    fields = {"disposal_id": disposal_id, "action": action, "reason": reason}
    try:
        notice, token = _acts.notice(
            ctx, NoticeKind.DISPOSAL_REQUEST, holder, item.item_id, fields, now
        )
    except NodeInputError as exc:
        refuse(ctx, _DESTROY, now, who, subject, exc)
    record = DisposalRecord(
        disposal_id, item.item_id, ctx.party, holder, DisposalAction(action), reason, now,
        request=token,
    )  # fmt: skip
    with ctx.store.unit_of_work() as uow:
        uow.put_disposal(record)
        _acts.enqueue(uow, notice, token)
        ctx.audit(
            uow, _DESTROY, now, who, item.item_id, "requested", ("DISPOSAL_REQUESTED",),
            detail={"disposal_id": disposal_id, "holder": holder, "action": action},
        )  # fmt: skip
    return record


def on_request(ctx: Context, notice: Notice, token: bytes, now: datetime) -> Handled:
    """The originator asks this node to return or destroy its copy (Art. 6)."""
    disposal_id = notice.text("disposal_id")
    with ctx.store.read() as reader:
        stored = reader.disposal(disposal_id)
        item = reader.item(notice.subject)
        first = reader.inbox_entry(notice.subject)
    if stored is not None:
        same = (stored.originator, stored.item_id) == (notice.issuer, notice.subject)
        return _acts.DUPLICATE if same else refused("NODE_CONFLICT")
    if item is None:
        return (
            refused("NODE_ITEM_NOT_HELD")
            if first is not None
            else _acts.deferred("NODE_ITEM_NOT_HELD")
        )
    if item.originator != notice.issuer or item.received_from is None:
        return refused("NODE_NOT_ORIGINATOR")
    action = notice.text("action")
    if not _acts.member(action, DisposalAction):
        return refused("NODE_NOTICE_INVALID")
    record = DisposalRecord(
        disposal_id, item.item_id, notice.issuer, ctx.party, DisposalAction(action),
        notice.text("reason"), notice.issued, request=token,
    )  # fmt: skip
    with ctx.store.unit_of_work() as uow:
        uow.put_disposal(record)
        if item.state is not ItemState.HELD:  # disposed of here already: certify at once
            reason = record.reason
            _certify(ctx, uow, disposal_id, item, reason, _done(item), ctx.party, requested=True)
        else:
            ctx.audit(
                uow, _DESTROY, now, notice.issuer, item.item_id, "requested",
                ("DISPOSAL_REQUEST_RECEIVED",),
                detail={"disposal_id": disposal_id, "action": action, "notice_id": notice.notice_id},
            )  # fmt: skip
    return _acts.APPLIED


def _certify(
    ctx: Context,
    uow: UnitOfWork,
    disposal_id: str,
    item: HeldItem,
    reason: str,
    done: tuple[DisposalAction, datetime],
    who: str,
    *,
    requested: bool,
) -> DisposalRecord:
    """In ``uow``: the holder's signed certificate of ``done`` (action, when) to the originator,
    recorded (completing the originator's request, if any) and enqueued; audited."""
    now = ctx.clock.now()
    action, executed = done
    fields: dict[str, FieldValue] = {
        "disposal_id": disposal_id,
        "action": str(action),
        "executed": executed,
        "reason": reason,
    }
    first = uow.inbox_entry(item.item_id)
    if first is not None:
        fields["item_digest"] = first.digest.hex()  # which copy: the sealed bytes we received
    notice, token = _acts.notice(
        ctx, NoticeKind.DISPOSAL_CERTIFICATE, item.originator, item.item_id, fields, now
    )
    if requested:
        record = uow.complete_disposal(disposal_id, at=executed, certificate=token)
    else:
        record = DisposalRecord(
            disposal_id, item.item_id, item.originator, ctx.party, action, reason, None,
            DisposalState.COMPLETED, executed, certificate=token,
        )  # fmt: skip
        uow.put_disposal(record)
    _acts.enqueue(uow, notice, token)
    ctx.audit(
        uow, _DESTROY, now, who, item.item_id, str(action.item_state), ("DISPOSAL_CERTIFIED",),
        detail={
            "disposal_id": disposal_id, "originator": item.originator, "requested": requested,
            "certificate": notice.notice_id,
        },
    )  # fmt: skip
    return record


def _done(item: HeldItem) -> tuple[DisposalAction, datetime]:
    """What was done to an item no longer held, and when."""
    assert item.state_changed is not None
    action = DisposalAction.RETURN if item.state is ItemState.RETURNED else DisposalAction.DESTROY
    return action, item.state_changed


def execute(ctx: Context, actor: OfficialRecord | str, disposal_id: str) -> DisposalRecord:
    """The holder's security officer returns or destroys the copy as requested (Arts. 6, 13)."""
    now = ctx.clock.now()
    who, official = _acts.resolve(ctx, actor)
    subject = ident(disposal_id, "unknown-disposal")
    error: GsomiaError
    if not may(official, ctx.party, SECURITY):
        refuse(ctx, _DESTROY, now, who, subject, NodeForbiddenError(f"{who} may not dispose"))
    with ctx.store.read() as reader:
        record = reader.disposal(disposal_id) if isinstance(disposal_id, str) else None
        item = None if record is None else reader.item(record.item_id)
    if record is None or item is None:
        error = NodeRecordNotFoundError(f"no disposal {subject}", code="NODE_DISPOSAL_NOT_FOUND")
        refuse(ctx, _DESTROY, now, who, subject, error)
    if record.holder != ctx.party:
        error = NodeForbiddenError(f"{ctx.party} does not hold that copy", code="NODE_NOT_HOLDER")
        refuse(ctx, _DESTROY, now, who, subject, error)
    if record.state is DisposalState.COMPLETED:
        error = NodeConflictError(f"disposal {subject} is done", code="NODE_DISPOSAL_DONE")
        refuse(ctx, _DESTROY, now, who, subject, error)
    try:
        with ctx.store.unit_of_work() as uow:
            done = (record.action, now)
            if item.state is ItemState.HELD:
                uow.set_item_state(item.item_id, record.action.item_state, at=now)
            else:  # disposed of on its own meanwhile: certify what was done
                done = _done(item)
            return _certify(
                ctx, uow, record.disposal_id, item, record.reason, done, who, requested=True
            )
    except NodeInputError as exc:
        refuse(ctx, _DESTROY, now, who, subject, exc)


def destroy(ctx: Context, actor: OfficialRecord | str, item_id: str, reason: str) -> DisposalRecord:
    """The holder's security officer destroys a copy no longer needed (Arts. 6, 13)."""
    now = ctx.clock.now()
    who, official = _acts.resolve(ctx, actor)
    subject = ident(item_id, "unknown-item")
    error: GsomiaError
    if not may(official, ctx.party, SECURITY):
        refuse(ctx, _DESTROY, now, who, subject, NodeForbiddenError(f"{who} may not destroy"))
    problem = _acts.text_problem(reason, "reason", MAX_PURPOSE)
    if problem is not None:
        refuse(ctx, _DESTROY, now, who, subject, NodeInputError(problem))
    with ctx.store.read() as reader:
        item = reader.item(item_id) if isinstance(item_id, str) else None
        pending = [] if item is None else reader.disposals(item_id=item.item_id)
    if item is None:
        refuse(ctx, _DESTROY, now, who, subject, NodeItemNotFoundError(f"no item {subject}"))
    if item.originator == ctx.party or item.received_from is None:
        error = NodeInputError(
            "an originator's own copy is not disposed of under the agreement", code="NODE_OWN_ITEM"
        )
        refuse(ctx, _DESTROY, now, who, subject, error)
    if item.state is not ItemState.HELD:
        error = NodeConflictError(f"item {subject} is {item.state}", code="NODE_ITEM_NOT_HELD")
        refuse(ctx, _DESTROY, now, who, subject, error)
    if any(d.state is DisposalState.REQUESTED for d in pending):
        error = NodeConflictError(
            f"the originator asked for item {subject}: execute its request",
            code="NODE_DISPOSAL_PENDING",
        )
        refuse(ctx, _DESTROY, now, who, subject, error)
    disposal_id, done = str(uuid.uuid4()), (DisposalAction.DESTROY, now)
    try:
        with ctx.store.unit_of_work() as uow:
            uow.set_item_state(item.item_id, ItemState.DESTROYED, at=now)
            return _certify(ctx, uow, disposal_id, item, reason, done, who, requested=False)
    except NodeInputError as exc:
        refuse(ctx, _DESTROY, now, who, subject, exc)


def listing(
    ctx: Context,
    actor: OfficialRecord | str,
    *,
    item_id: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[DisposalRecord]:
    """Disposals requested, executed or certified here (security and release officers)."""
    who, official = _acts.resolve(ctx, actor)
    if not may(official, ctx.party, OFFICERS):
        error = NodeForbiddenError(f"{who} may not list disposals at {ctx.party}")
        refuse(ctx, _DESTROY, ctx.clock.now(), who, "disposals", error)
    with ctx.store.read() as reader:
        return reader.disposals(item_id=item_id, after=after, limit=check_limit(limit))


def on_certificate(ctx: Context, notice: Notice, token: bytes, now: datetime) -> Handled:
    """A holder certifies it returned or destroyed its copy of an item we originated."""
    disposal_id = notice.text("disposal_id")
    with ctx.store.read() as reader:
        stored = reader.disposal(disposal_id)
        item = reader.item(notice.subject)
    if item is None or item.originator != ctx.party or item.received_from is not None:
        return refused("NODE_NOT_ORIGINATOR")
    action = notice.text("action")
    if not _acts.member(action, DisposalAction):
        return refused("NODE_NOTICE_INVALID")
    if stored is not None and (stored.holder, stored.item_id) != (notice.issuer, notice.subject):
        return refused("NODE_CONFLICT")
    if stored is not None and stored.state is DisposalState.COMPLETED:
        return _acts.DUPLICATE
    executed = notice.instant("executed")
    with ctx.store.unit_of_work() as uow:
        if stored is None:  # the holder disposed of it on its own ("no longer needed")
            uow.put_disposal(
                DisposalRecord(
                    disposal_id,
                    item.item_id,
                    ctx.party,
                    notice.issuer,
                    DisposalAction(action),
                    notice.text("reason"),
                    None,
                    DisposalState.COMPLETED,
                    executed,
                    certificate=token,
                )
            )
        else:
            uow.complete_disposal(disposal_id, at=executed, certificate=token)
        ctx.audit(
            uow, _DESTROY, now, notice.issuer, item.item_id, "certified", ("DISPOSAL_CERTIFIED",),
            detail={
                "disposal_id": disposal_id, "holder": notice.issuer, "action": action,
                "requested": stored is not None, "notice_id": notice.notice_id,
            },
        )  # fmt: skip
    return _acts.APPLIED
