"""Breaches (Art. 17): any actual or possible loss or compromise of CMI is notified to the
originator immediately; the recipient investigates and reports the results and the measures taken
against recurrence.  The status is visible to both nodes.

Report (:func:`report`)
  Any active official of this node may report (Art. 17 says "any"; no role is needed) a breach of
  an item this node holds or held, whatever its state, that the official may see: officers see
  every item, anyone else only items Art. 7 would let them read (clearance, duty, register; the
  item's state aside).  An item one may not see is answered as unknown (``NODE_ITEM_NOT_FOUND``),
  so a report is no oracle for which item ids exist.  In ONE unit of work: the
  :class:`~gsomia.ports.BreachRecord` (status ``reported``, version 1), a ``breach`` audit record
  and, unless this node is the originator, a signed BREACH_REPORT notice to the originator's node
  in the outbox, which is then tried at once (:func:`gsomia.node._acts.send_now`) and retried with
  backoff until acknowledged.

Investigation (:func:`update`)
  Only a security officer of the *reporting* node updates a breach: investigation, results,
  measures, and a status from :data:`~gsomia.ports.BREACH_TRANSITIONS` (closed is final).  Each
  update is the next version, audited and sent as a signed BREACH_UPDATE.

At the originator (:func:`on_report`, :func:`on_update`)
  A report is recorded once by breach id (a replay is a duplicate) if it names an item this node
  originated; updates are applied once and in version order (an earlier version is a duplicate, a
  later one waits until the one before it arrived).  The reporter's latest signed statement is
  kept with the record as evidence.  :func:`listing` shows breaches to security officers at both
  nodes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from gsomia.audit.records import AuditKind
from gsomia.errors import GsomiaError
from gsomia.node import _acts
from gsomia.node._acts import OFFICERS, SECURITY, Handled, may, refuse, refused
from gsomia.node._context import Context, ident
from gsomia.node.errors import (
    NodeConflictError,
    NodeForbiddenError,
    NodeInputError,
    NodeItemNotFoundError,
    NodeRecordNotFoundError,
)
from gsomia.policy import access
from gsomia.ports import (
    BREACH_TRANSITIONS,
    BreachKind,
    BreachRecord,
    BreachStatus,
    HeldItem,
    OfficialRecord,
    check_limit,
)
from gsomia.ports.cases import MAX_LONG_TEXT
from gsomia.proofs.notices import FieldValue, Notice, NoticeKind

__all__ = ["listing", "on_report", "on_update", "report", "update"]

_BREACH = AuditKind.BREACH


def _visible(ctx: Context, official: OfficialRecord | None, item: HeldItem) -> bool:
    """Whether ``official`` may see ``item`` at all: an officer, or Art. 7 on its labels."""
    if may(official, ctx.party, OFFICERS):
        return True
    return official is not None and (
        access(ctx.registry, official.official, item.labels, ctx.party, item.topic).allowed
    )


def report(
    ctx: Context, actor: OfficialRecord | str, item_id: str, kind: str, description: str
) -> BreachRecord:
    """Report an actual or possible loss or compromise of a held item (Art. 17)."""
    now = ctx.clock.now()
    who, official = _acts.resolve(ctx, actor)
    subject = ident(item_id, "unknown-item")
    if not may(official, ctx.party, None):
        refuse(ctx, _BREACH, now, who, subject, NodeForbiddenError(f"{who} may not report"))
    problem = None if _acts.member(kind, BreachKind) else "kind must be 'actual' or 'possible'"
    problem = problem or _acts.text_problem(description, "description", MAX_LONG_TEXT)
    if problem is not None:
        refuse(ctx, _BREACH, now, who, subject, NodeInputError(problem), {"problem": problem})
    with ctx.store.read() as reader:
        item = reader.item(item_id) if isinstance(item_id, str) else None
    if item is None or not _visible(ctx, official, item):
        error = NodeItemNotFoundError(f"{ctx.party} holds no item {subject} you may see")
        refuse(ctx, _BREACH, now, who, subject, error)
    breach_id = str(uuid.uuid4())
    notice: Notice | None = None
    token: bytes | None = None
    if item.originator != ctx.party:
        fields = {
            "breach_id": breach_id,
            "breach_kind": kind,
            "description": description,
            "reported_by": who,
        }
        notice, token = _signed(
            ctx, who, NoticeKind.BREACH_REPORT, item.originator, item_id, fields
        )
    record = BreachRecord(
        breach_id, item.item_id, item.originator, ctx.party, who, BreachKind(kind), description,
        now, now, token=token,
    )  # fmt: skip
    key = None
    with ctx.store.unit_of_work() as uow:
        uow.put_breach(record)
        if notice is not None and token is not None:
            key = _acts.enqueue(uow, notice, token)
        ctx.audit(
            uow, _BREACH, now, who, item.item_id, "reported", ("BREACH_REPORTED",),
            detail={
                "breach_id": breach_id, "kind": kind, "originator": item.originator,
                "notified": notice is not None,
            },
        )  # fmt: skip
    if key is not None:
        _acts.send_now(ctx, key)  # Art. 17: immediately
    return record


def update(
    ctx: Context,
    actor: OfficialRecord | str,
    breach_id: str,
    *,
    status: str,
    investigation: str | None = None,
    results: str | None = None,
    measures: str | None = None,
) -> BreachRecord:
    """The reporting node's security officer records findings (Art. 17); sent to the originator."""
    now = ctx.clock.now()
    who, official = _acts.resolve(ctx, actor)
    subject = ident(breach_id, "unknown-breach")
    error: GsomiaError
    if not may(official, ctx.party, SECURITY):
        error = NodeForbiddenError(f"{who} may not investigate breaches at {ctx.party}")
        refuse(ctx, _BREACH, now, who, subject, error)
    texts = {"investigation": investigation, "results": results, "measures": measures}
    problem = None if _acts.member(status, BreachStatus) else f"unknown status {status!r}"
    for name, value in texts.items():
        if problem is None and value is not None:
            problem = _acts.text_problem(value, name, MAX_LONG_TEXT, empty=True)
    if problem is not None:
        refuse(ctx, _BREACH, now, who, subject, NodeInputError(problem), {"problem": problem})
    with ctx.store.read() as reader:
        stored = reader.breach(breach_id) if isinstance(breach_id, str) else None
    if stored is None:
        error = NodeRecordNotFoundError(f"no breach {subject}", code="NODE_BREACH_NOT_FOUND")
        refuse(ctx, _BREACH, now, who, subject, error)
    if stored.reporter != ctx.party:
        error = NodeForbiddenError(
            f"{stored.reporter} reported breach {subject}: only it investigates (Art. 17)",
            code="NODE_NOT_REPORTER",
        )
        refuse(ctx, _BREACH, now, who, subject, error)
    target = BreachStatus(status)
    if (stored.status, target) not in BREACH_TRANSITIONS:
        code = "NODE_BREACH_CLOSED" if stored.status is BreachStatus.CLOSED else "NODE_CONFLICT"
        error = NodeConflictError(f"breach {subject} is {stored.status}", code=code)
        refuse(ctx, _BREACH, now, who, subject, error, {"status": str(stored.status)})
    new = replace(
        stored,
        status=target,
        version=stored.version + 1,
        updated=now,
        investigation=stored.investigation if investigation is None else investigation,
        results=stored.results if results is None else results,
        measures=stored.measures if measures is None else measures,
        token=None,
    )
    notice: Notice | None = None
    if stored.originator != ctx.party:
        fields: dict[str, FieldValue] = {
            "breach_id": new.breach_id,
            "version": new.version,
            "status": str(new.status),
        }
        fields.update({k: getattr(new, k) for k in texts if getattr(new, k)})
        to = stored.originator
        notice, token = _signed(ctx, who, NoticeKind.BREACH_UPDATE, to, new.item_id, fields)
        new = replace(new, token=token)
    key = None
    with ctx.store.unit_of_work() as uow:
        uow.update_breach(new)
        if notice is not None and new.token is not None:
            key = _acts.enqueue(uow, notice, new.token)
        ctx.audit(
            uow, _BREACH, now, who, new.item_id, "updated", ("BREACH_UPDATED",),
            detail={"breach_id": new.breach_id, "status": str(new.status), "version": new.version},
        )  # fmt: skip
    if key is not None:
        _acts.send_now(ctx, key)
    return new


def listing(
    ctx: Context,
    actor: OfficialRecord | str,
    *,
    item_id: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[BreachRecord]:
    """Breaches reported here or notified to this node, with their status (security officers)."""
    who, official = _acts.resolve(ctx, actor)
    if not may(official, ctx.party, SECURITY):
        error = NodeForbiddenError(f"{who} may not list breaches at {ctx.party}")
        refuse(ctx, _BREACH, ctx.clock.now(), who, "breaches", error)
    with ctx.store.read() as reader:
        return reader.breaches(item_id=item_id, after=after, limit=check_limit(limit))


def _signed(
    ctx: Context,
    who: str,
    kind: NoticeKind,
    to: str,
    subject: str,
    fields: Mapping[str, FieldValue],
) -> tuple[Notice, bytes]:
    now = ctx.clock.now()
    try:
        return _acts.notice(ctx, kind, to, subject, fields, now)
    except NodeInputError as error:
        refuse(ctx, _BREACH, now, who, subject, error)


# -- at the originator ---------------------------------------------------------------------------


def on_report(ctx: Context, notice: Notice, token: bytes, now: datetime) -> Handled:
    """A partner reports a breach of an item this node originated (Art. 17)."""
    breach_id = notice.text("breach_id")
    with ctx.store.read() as reader:
        stored = reader.breach(breach_id)
        item = reader.item(notice.subject)
    if stored is not None:
        return _acts.DUPLICATE if stored.reporter == notice.issuer else refused("NODE_CONFLICT")
    if item is None or item.originator != ctx.party or item.received_from is not None:
        return refused("NODE_NOT_ORIGINATOR")
    kind = notice.text("breach_kind")
    if not _acts.member(kind, BreachKind):
        return refused("NODE_NOTICE_INVALID")
    record = BreachRecord(
        breach_id, item.item_id, ctx.party, notice.issuer, notice.text("reported_by"),
        BreachKind(kind), notice.text("description"), notice.issued, notice.issued, token=token,
    )  # fmt: skip
    with ctx.store.unit_of_work() as uow:
        uow.put_breach(record)
        ctx.audit(
            uow, _BREACH, now, notice.issuer, item.item_id, "notified", ("BREACH_NOTIFIED",),
            detail={
                "breach_id": breach_id, "kind": kind, "reporter": notice.issuer,
                "reported_by": record.reported_by, "notice_id": notice.notice_id,
            },
        )  # fmt: skip
    return _acts.APPLIED


def on_update(ctx: Context, notice: Notice, token: bytes, now: datetime) -> Handled:
    """The reporter's next finding on a breach of an item this node originated (Art. 17)."""
    with ctx.store.read() as reader:
        stored = reader.breach(notice.text("breach_id"))
    if stored is None:
        return _acts.deferred("NODE_BREACH_NOT_FOUND")  # the report itself is still on its way
    if stored.reporter != notice.issuer or stored.originator != ctx.party:
        return refused("NODE_CONFLICT")
    version = notice.integer("version")
    if version <= stored.version:
        return _acts.DUPLICATE
    if version > stored.version + 1:
        return _acts.deferred("NODE_NOTICE_OUT_OF_ORDER")
    status = notice.text("status")
    if not _acts.member(status, BreachStatus) or (stored.status, status) not in BREACH_TRANSITIONS:
        return refused("NODE_BREACH_CLOSED")
    new = replace(
        stored,
        status=BreachStatus(status),
        version=version,
        updated=notice.issued,
        investigation=notice.text("investigation"),
        results=notice.text("results"),
        measures=notice.text("measures"),
        token=token,
    )
    with ctx.store.unit_of_work() as uow:
        uow.update_breach(new)
        ctx.audit(
            uow, _BREACH, now, notice.issuer, new.item_id, "updated", ("BREACH_UPDATED",),
            detail={
                "breach_id": new.breach_id, "status": status, "version": version,
                "notice_id": notice.notice_id,
            },
        )  # fmt: skip
    return _acts.APPLIED
