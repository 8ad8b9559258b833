"""Visits by one party's personnel to the other (Art. 8): an official purpose, the host's
approval, and the highest level of CMI that may be disclosed to the visitor.

Request (:func:`request`)
  A security officer of the requesting node names the visitor (name, nationality = this party,
  national clearance, post), the host party, the purpose and the dates.  The core
  (:func:`gsomia.policy.visit.visit`) requires an agreement between the two that allows
  exchanges now (Art. 21) and a clearance that is a level of this party's scheme.  In ONE unit of
  work: the :class:`~gsomia.ports.VisitRecord`, a ``visit`` audit record and a signed VISIT_REQUEST
  to the host's node in the outbox.

At the host (:func:`on_request`, :func:`decide`)
  The host records the request once by visit id.  If the core already says no (no agreement in
  force between the two, an unknown clearance level), the host node denies it at once with a
  signed decision naming the reason codes.  Otherwise a security officer of the host approves,
  naming the highest level that may be disclosed *under the host's scheme* (which the core checks
  has an equivalent under the agreement and is within the visitor's clearance, Arts. 4, 7), or
  denies.  The decision is final, audited and sent back as a signed VISIT_DECISION, which the
  requesting node records (:func:`on_decision`).  :func:`listing` shows visits at both nodes.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from gsomia.audit.records import AuditKind
from gsomia.errors import GsomiaError
from gsomia.node import _acts
from gsomia.node._acts import SECURITY, Handled, may, refuse, refused
from gsomia.node._context import Context, ident
from gsomia.node.errors import (
    NodeAccessDeniedError,
    NodeConflictError,
    NodeForbiddenError,
    NodeInputError,
    NodeRecordNotFoundError,
)
from gsomia.policy.visit import visit as decide_visit
from gsomia.ports import OfficialRecord, UnitOfWork, Visitor, VisitRecord, VisitState, check_limit
from gsomia.ports.cases import MAX_PURPOSE
from gsomia.proofs.notices import FieldValue, Notice, NoticeKind

__all__ = ["decide", "listing", "on_decision", "on_request", "request"]

_VISIT = AuditKind.VISIT


def _dates_problem(start: object, end: object, now: datetime) -> str | None:
    if not all(isinstance(d, datetime) and d.tzinfo is not None for d in (start, end)):
        return "start and end are instants with a time zone"
    assert isinstance(start, datetime)
    assert isinstance(end, datetime)
    if end <= start or end <= now:
        return "a visit ends after it starts, and in the future"
    return None


def request(
    ctx: Context,
    actor: OfficialRecord | str,
    visitor: Visitor,
    host: str,
    purpose: str,
    start: datetime,
    end: datetime,
) -> VisitRecord:
    """Ask ``host`` to receive ``visitor`` for ``purpose`` from ``start`` to ``end`` (Art. 8)."""
    now = ctx.clock.now()
    who, official = _acts.resolve(ctx, actor)
    subject = f"visit:{ident(host, 'unknown-party')}"
    if not may(official, ctx.party, SECURITY):
        refuse(ctx, _VISIT, now, who, subject, NodeForbiddenError(f"{who} may not request visits"))
    problem = None if isinstance(visitor, Visitor) else "visitor must be a Visitor"
    if problem is None and visitor.nationality != ctx.party:
        problem = f"a visit request of {ctx.party} is for {ctx.party} personnel (Art. 8)"
    problem = problem or _acts.text_problem(purpose, "purpose", MAX_PURPOSE)
    problem = problem or _dates_problem(start, end, now)
    if problem is None and not isinstance(host, str):
        problem = "host must be a party code"
    if problem is not None:
        refuse(ctx, _VISIT, now, who, subject, NodeInputError(problem), {"problem": problem})
    decision = decide_visit(ctx.registry, ctx.party, host, visitor.clearance, now)
    if not decision.allowed:
        error = NodeAccessDeniedError(
            f"no visit to {host} now",
            code="NODE_POLICY_DENIED",
            detail={"reasons": list(decision.codes)},
        )
        refuse(ctx, _VISIT, now, who, subject, error, {"host": host}, decision.codes)
    visit_id = str(uuid.uuid4())
    fields: dict[str, FieldValue] = {
        "visitor_name": visitor.name,
        "visitor_nationality": visitor.nationality,
        "visitor_clearance": visitor.clearance,
        "purpose": purpose,
        "start": start,
        "end": end,
    }
    if visitor.post:
        fields["visitor_post"] = visitor.post
    try:
        notice, token = _acts.notice(ctx, NoticeKind.VISIT_REQUEST, host, visit_id, fields, now)
    except NodeInputError as exc:
        refuse(ctx, _VISIT, now, who, subject, exc)
    record = VisitRecord(visit_id, ctx.party, host, visitor, purpose, start, end, now, token)
    with ctx.store.unit_of_work() as uow:
        uow.put_visit(record)
        _acts.enqueue(uow, notice, token)
        ctx.audit(
            uow, _VISIT, now, who, visit_id, "requested", decision.codes,
            agreement=decision.agreement, table_version=decision.table_version,
            detail={"host": host, "start": start.isoformat(), "end": end.isoformat()},
        )  # fmt: skip
    return record


def _decided(
    ctx: Context,
    uow: UnitOfWork,
    record: VisitRecord,
    level: str | None,
    note: str,
    who: str,
    codes: tuple[str, ...],
) -> VisitRecord:
    """In ``uow``: the host's signed decision, recorded, enqueued to the requester, audited."""
    now = ctx.clock.now()
    state = VisitState.APPROVED if level is not None else VisitState.DENIED
    fields: dict[str, FieldValue] = {"decision": str(state)}
    if level is not None:
        fields["level"] = level
    if note:
        fields["note"] = note
    notice, token = _acts.notice(
        ctx, NoticeKind.VISIT_DECISION, record.requester, record.visit_id, fields, now
    )
    new = uow.decide_visit(record.visit_id, state, at=now, decision=token, level=level, note=note)
    _acts.enqueue(uow, notice, token)
    ctx.audit(
        uow, _VISIT, now, who, record.visit_id, str(state), codes,
        detail={"requester": record.requester, "level": level, "notice_id": notice.notice_id},
    )  # fmt: skip
    return new


def decide(
    ctx: Context,
    actor: OfficialRecord | str,
    visit_id: str,
    *,
    approve: bool,
    level: str | None = None,
    note: str = "",
) -> VisitRecord:
    """The host's security officer approves (with the highest level that may be disclosed, in
    the host's scheme) or denies a visit (Art. 8)."""
    now = ctx.clock.now()
    who, official = _acts.resolve(ctx, actor)
    subject = ident(visit_id, "unknown-visit")
    error: GsomiaError
    if not may(official, ctx.party, SECURITY):
        refuse(ctx, _VISIT, now, who, subject, NodeForbiddenError(f"{who} may not decide visits"))
    problem = _acts.text_problem(note, "note", MAX_PURPOSE, empty=True)
    if problem is None and not isinstance(approve, bool):
        problem = "approve is true or false"
    if problem is None and approve and not isinstance(level, str):
        problem = "an approval names the highest level that may be disclosed (Art. 8)"
    if problem is not None:
        refuse(ctx, _VISIT, now, who, subject, NodeInputError(problem), {"problem": problem})
    with ctx.store.read() as reader:
        record = reader.visit(visit_id) if isinstance(visit_id, str) else None
    if record is None:
        error = NodeRecordNotFoundError(f"no visit {subject}", code="NODE_VISIT_NOT_FOUND")
        refuse(ctx, _VISIT, now, who, subject, error)
    if record.host != ctx.party:
        error = NodeForbiddenError(f"{record.host} hosts visit {subject}", code="NODE_NOT_HOST")
        refuse(ctx, _VISIT, now, who, subject, error)
    if record.state is not VisitState.REQUESTED:
        error = NodeConflictError(f"visit {subject} is {record.state}", code="NODE_VISIT_DECIDED")
        refuse(ctx, _VISIT, now, who, subject, error)
    codes: tuple[str, ...] = ("VISIT_DENIED",)
    native = None
    if approve:
        decision = decide_visit(
            ctx.registry, record.requester, ctx.party, record.visitor.clearance, now, level
        )
        if not decision.allowed:
            error = NodeAccessDeniedError(
                f"{level!r} may not be disclosed to this visitor",
                code="NODE_POLICY_DENIED",
                detail={"reasons": list(decision.codes)},
            )
            refuse(ctx, _VISIT, now, who, subject, error, {"level": level}, decision.codes)
        native, codes = decision.markings[0].level, decision.codes
    try:
        with ctx.store.unit_of_work() as uow:
            return _decided(ctx, uow, record, native, note, who, codes)
    except NodeInputError as exc:
        refuse(ctx, _VISIT, now, who, subject, exc)


def listing(
    ctx: Context, actor: OfficialRecord | str, *, after: str | None = None, limit: int = 100
) -> list[VisitRecord]:
    """Visits requested by or to this node, with their decisions (security officers)."""
    who, official = _acts.resolve(ctx, actor)
    if not may(official, ctx.party, SECURITY):
        error = NodeForbiddenError(f"{who} may not list visits at {ctx.party}")
        refuse(ctx, _VISIT, ctx.clock.now(), who, "visits", error)
    with ctx.store.read() as reader:
        return reader.visits(after=after, limit=check_limit(limit))


# -- at the host, and back at the requester ------------------------------------------------------


def on_request(ctx: Context, notice: Notice, token: bytes, now: datetime) -> Handled:
    """A partner asks this node to host a visit (Art. 8)."""
    with ctx.store.read() as reader:
        stored = reader.visit(notice.subject)
    if stored is not None:
        return _acts.DUPLICATE if stored.requester == notice.issuer else refused("NODE_CONFLICT")
    visitor = Visitor(
        notice.text("visitor_name"),
        notice.text("visitor_nationality"),
        notice.text("visitor_clearance"),
        notice.text("visitor_post"),
    )
    record = VisitRecord(
        notice.subject, notice.issuer, ctx.party, visitor, notice.text("purpose"),
        notice.instant("start"), notice.instant("end"), notice.issued, token,
    )  # fmt: skip
    decision = decide_visit(ctx.registry, notice.issuer, ctx.party, visitor.clearance, now)
    with ctx.store.unit_of_work() as uow:
        uow.put_visit(record)
        ctx.audit(
            uow, _VISIT, now, notice.issuer, record.visit_id, "received", decision.codes,
            agreement=decision.agreement, table_version=decision.table_version,
            detail={"visitor_nationality": visitor.nationality, "notice_id": notice.notice_id},
        )  # fmt: skip
        if not decision.allowed:  # the core already says no: deny at once, with the reasons
            note = "refused: " + ", ".join(decision.codes)
            _decided(ctx, uow, record, None, note, ctx.party, decision.codes)
    return _acts.APPLIED


def on_decision(ctx: Context, notice: Notice, token: bytes, now: datetime) -> Handled:
    """The host's decision on a visit this node requested (Art. 8)."""
    with ctx.store.read() as reader:
        stored = reader.visit(notice.subject)
    if stored is None or stored.requester != ctx.party:
        return refused("NODE_VISIT_NOT_FOUND")
    if stored.host != notice.issuer:
        return refused("NODE_CONFLICT")
    if stored.state is not VisitState.REQUESTED:
        return _acts.DUPLICATE
    decision, level = notice.text("decision"), notice.fields.get("level")
    approved = decision == VisitState.APPROVED and isinstance(level, str)
    if not approved and (decision != VisitState.DENIED or level is not None):
        return refused("NODE_NOTICE_INVALID")
    state = VisitState.APPROVED if approved else VisitState.DENIED
    disclosed = level if approved and isinstance(level, str) else None
    with ctx.store.unit_of_work() as uow:
        uow.decide_visit(
            stored.visit_id, state, at=notice.issued, decision=token, level=disclosed,
            note=notice.text("note"),
        )  # fmt: skip
        ctx.audit(
            uow, _VISIT, now, notice.issuer, stored.visit_id, str(state), ("VISIT_DECIDED",),
            detail={"host": notice.issuer, "level": disclosed, "notice_id": notice.notice_id},
        )  # fmt: skip
    return _acts.APPLIED
