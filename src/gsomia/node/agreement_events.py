"""Agreement events recorded by a security officer take effect on the very next decision (Art. 21;
PRODUCT.md §4: an agreement's status at an instant is a pure function of its recorded events).

Each node keeps its own record of the events of the agreements it is party to (the store's
``agreement_events``, numbered by ``seq``).  The node's registry is the built-in registry (the
data shipped with gsomia: ``RegistryHolder.base``) with those events appended to each agreement's
history, in ``seq`` order (:func:`rebuild`); an event already in the built-in history (same kind,
instant and party) is not applied twice, so a later release of the data that ships it changes
nothing.

Recording (:func:`record`)
  A security officer of this node records an event (:class:`gsomia.agreements.Event`, not
  hypothetical) of an agreement this node's party is party to, dated no later than now.  The
  lifecycle decides whether the history stays possible: the new registry is built *before*
  anything is stored, and an impossible history (:class:`~gsomia.errors.EventSequenceError`:
  events out of time order, a withdrawal without a notice, anything after termination, …) or an
  ill-formed event (:class:`~gsomia.errors.AgreementError`) is refused, audited, nothing stored.
  Otherwise the event and an ``agreement_event`` audit record commit together, then the node's
  registry is replaced (:class:`~gsomia.node._context.RegistryHolder`): the next release, accept,
  relay or forward decides against the new history.  Items already held stay readable: access
  (Art. 7) does not depend on the agreement's state (Art. 21: CMI already provided stays
  protected).

Startup (:func:`load`)
  A node applies its stored events over the built-in agreements when it is built.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from typing import Final

from gsomia.agreements import Event
from gsomia.audit.records import AuditKind
from gsomia.errors import GsomiaError
from gsomia.node import _acts
from gsomia.node._acts import OFFICERS, SECURITY, may, refuse
from gsomia.node._context import Context, ident
from gsomia.node.errors import (
    NodeForbiddenError,
    NodeInputError,
    NodeRecordNotFoundError,
)
from gsomia.ports import MAX_PAGE, AgreementEventRecord, OfficialRecord, StoreReader, check_limit
from gsomia.registry import Registry

__all__ = ["listing", "load", "rebuild", "record"]

_EVENT = AuditKind.AGREEMENT_EVENT
SKEW: Final = timedelta(minutes=5)
"""How far after the node's clock an event may be dated (clock skew); later is refused."""


def _stored(reader: StoreReader) -> list[AgreementEventRecord]:
    out: list[AgreementEventRecord] = []
    while page := reader.agreement_events(after=out[-1].seq if out else 0, limit=MAX_PAGE):
        out.extend(page)
    return out


def rebuild(base: Registry, records: Iterable[AgreementEventRecord]) -> Registry:
    """``base`` with the recorded events appended to each agreement's history, in order.

    Raises :class:`~gsomia.errors.EventSequenceError` or
    :class:`~gsomia.errors.AgreementError` if a history becomes impossible, and
    ``AGREEMENT_NOT_FOUND`` for an agreement ``base`` does not know.
    """
    extra: dict[str, list[Event]] = {}
    for rec in records:
        known = base.agreement(rec.agreement_id).events
        if not any(
            (e.kind, e.at, e.by) == (rec.event.kind, rec.event.at, rec.event.by) for e in known
        ):
            extra.setdefault(rec.agreement_id, []).append(rec.event)
    if not extra:
        return base
    changed = [
        replace(base.agreement(i), events=(*base.agreement(i).events, *events))
        for i, events in extra.items()
    ]
    return base.replace_agreements(changed)


def load(ctx: Context) -> None:
    """At startup: apply the events this node recorded over the built-in agreements."""
    with ctx.store.read() as reader:
        _install(ctx, _stored(reader))


def refresh(ctx: Context) -> None:
    """Before a decision: apply the events another process of this node recorded since.

    A node may run as several processes sharing one store (issue 7: workers on PostgreSQL and
    JetStream); an event recorded through one must govern the very next
    decision of every other (Art. 21), as it does in the process that recorded it.  One indexed
    read when nothing changed; a decision already in progress keeps the registry it read.
    """
    with ctx.store.read() as reader:
        if not reader.agreement_events(after=ctx.registries.last_seq, limit=1):
            return
        records = _stored(reader)
    _install(ctx, records)


def _install(ctx: Context, records: list[AgreementEventRecord]) -> None:
    try:
        registry = rebuild(ctx.registries.base, records)
    except GsomiaError as exc:
        raise NodeInputError(
            f"the agreement events recorded at {ctx.party} no longer apply: {exc.message}",
            code="NODE_MISCONFIGURED",
            detail={"cause": exc.code},
        ) from None
    ctx.registries.install(registry, len(records), records[-1].seq if records else 0)


def record(
    ctx: Context, actor: OfficialRecord | str, agreement_id: str, event: Event
) -> AgreementEventRecord:
    """Record an agreement event; it takes effect on the very next decision (Art. 21)."""
    now = ctx.clock.now()
    who, official = _acts.resolve(ctx, actor)
    subject = ident(agreement_id, "unknown-agreement")
    error: GsomiaError
    if not may(official, ctx.party, SECURITY):
        error = NodeForbiddenError(f"{who} may not record agreement events at {ctx.party}")
        refuse(ctx, _EVENT, now, who, subject, error)
    problem = None
    if not isinstance(event, Event) or event.hypothetical:
        problem = "the event must be a recorded (not hypothetical) agreement Event"
    elif event.at > now + SKEW:
        problem = "an event is recorded once it happened, not before"
    if problem is not None:
        refuse(ctx, _EVENT, now, who, subject, NodeInputError(problem), {"problem": problem})
    agreement = ctx.registry.agreements.get(agreement_id) if isinstance(agreement_id, str) else None
    if agreement is None:
        error = NodeRecordNotFoundError(f"no agreement {subject}", code="NODE_AGREEMENT_NOT_FOUND")
        refuse(ctx, _EVENT, now, who, subject, error)
    if ctx.party not in agreement.parties:
        error = NodeForbiddenError(
            f"{ctx.party} is not party to {agreement_id}", code="NODE_NOT_A_PARTY"
        )
        refuse(ctx, _EVENT, now, who, subject, error)
    detail = {"event": str(event.kind), "at": event.at.isoformat(), "by": event.by}
    with ctx.store.read() as reader:
        records = _stored(reader)
    try:  # the lifecycle decides: an impossible history is refused before anything is stored
        provisional = AgreementEventRecord(len(records) + 1, agreement_id, event, now, who)
        registry = rebuild(ctx.registries.base, [*records, provisional])
    except GsomiaError as exc:
        refuse(ctx, _EVENT, now, who, subject, exc, detail)
    with ctx.store.unit_of_work() as uow:
        stored = uow.record_agreement_event(agreement_id, event, recorded=now, recorded_by=who)
        now_stored = _stored(uow)
        if len(now_stored) != len(records) + 1:  # another unit recorded meanwhile: build on it
            registry = rebuild(ctx.registries.base, now_stored)
        state = registry.timeline(agreement_id).segment_at(now).state
        ctx.audit(
            uow, _EVENT, now, who, agreement_id, "recorded", ("AGREEMENT_EVENT_RECORDED",),
            agreement=agreement_id,
            detail={**detail, "seq": stored.seq, "state_now": str(state)},
        )  # fmt: skip
    ctx.registries.install(registry, len(now_stored), now_stored[-1].seq)
    return stored


def listing(
    ctx: Context,
    actor: OfficialRecord | str,
    *,
    agreement_id: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[AgreementEventRecord]:
    """The agreement events recorded here, by ``seq`` (security and release officers)."""
    who, official = _acts.resolve(ctx, actor)
    if not may(official, ctx.party, OFFICERS):
        error = NodeForbiddenError(f"{who} may not list agreement events at {ctx.party}")
        refuse(ctx, _EVENT, ctx.clock.now(), who, "agreement-events", error)
    with ctx.store.read() as reader:
        return reader.agreement_events(
            agreement_id=agreement_id, after=after, limit=check_limit(limit)
        )
