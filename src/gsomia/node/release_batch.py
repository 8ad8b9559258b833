"""Releasing many items in one unit of work: group commit of releases (issue 4 §4).

:func:`release_many` is :meth:`Node.release` for a list of requests by one official, with the same
checks and effects per item, and one durable commit for all of them.

Theory of operation
-------------------
The actor is resolved and checked once (``release_officer`` of this node, deny by default).  Then
each request, in order, is checked, decided by :func:`gsomia.policy.release` at the batch's
instant (``clock.now()`` read once when the batch is taken, Art. 21: the agreements in force
then, ADR 0024; requests alike in label, recipients, topic and purpose share one decision), and,
if every recipient is allowed, sealed once per first hop with its hub approvals
(:func:`gsomia.node.relay.prepare_release`): nothing is written yet, and sealing, the costly
part, runs outside the store's lock.  The sealed items are signed together, one Ed25519
signature over the RFC 9162 root of their to-be-signed bytes, each item carrying its path
(suite 2, ADR 0019; every item still verifies on its own).  Item ids are time-ordered
(:mod:`gsomia.ids`, ADR 0020; a batch's share its instant and differ in their random bits).
Last, ONE unit of work writes, for every item in
request order, exactly what a single release would have written: the held copy, one outbox
message per first hop and one ``release`` audit record per recipient, or, for a refused item, its
``deny`` records only.  That unit may also carry the releases other threads commit at the same
moment (group commit, :mod:`gsomia.node._group`).  The unit commits (``synchronous=FULL``) before
the results are returned, so no caller learns of a release that is not durable; a failure of the
unit rolls every item back and raises, and the caller may send the batch again (new item ids).

A refused item does not stop the others: its result says why (``reasons``; for a request that
cannot be an item, ``NODE_INPUT_INVALID`` and ``problem``), as a single release would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from gsomia.audit.records import AuditKind
from gsomia.envelope import BatchSigner, PublicKeyRecord, SealSession
from gsomia.ids import new_item_id
from gsomia.labels import OriginatorLabel
from gsomia.node import directory, relay
from gsomia.node._context import Context, ident
from gsomia.node.errors import NodeForbiddenError, NodeInputError
from gsomia.node.framing import check_purpose
from gsomia.node.results import ReleaseResult
from gsomia.policy import Decision
from gsomia.ports import OfficialRecord, Role, UnitOfWork

__all__ = [
    "MAX_RELEASE_BATCH",
    "ReleaseRequest",
    "release_input_problem",
    "release_many",
    "write_refusal",
]

MAX_RELEASE_BATCH: Final = 500
"""The most requests one :func:`release_many` takes (one unit of work)."""
WITHHELD: Final = "RELEASE_WITHHELD"
INPUT_INVALID: Final = "NODE_INPUT_INVALID"


@dataclass(frozen=True, slots=True)
class ReleaseRequest:
    """One item to release: the arguments of :meth:`Node.release` after the actor."""

    payload: bytes
    label: OriginatorLabel
    recipients: Sequence[str]
    topic: str
    purpose: str
    approval_expires: datetime | None = None


@dataclass(frozen=True, slots=True)
class _Refused:
    """An item refused before anything was sealed: its deny records are written in the unit."""

    item_id: str
    now: datetime
    topic: str
    decisions: dict[str, Decision]
    refusals: dict[str, tuple[str, ...]]
    problem: str | None = None


def release_input_problem(
    payload: object, label: object, recipients: object, purpose: object
) -> str | None:
    """Why these arguments cannot be released, or None (checked before any decision)."""
    if not isinstance(payload, bytes) or not payload:
        return "the payload must be non-empty bytes"
    if not isinstance(label, OriginatorLabel):
        return "the label must be an OriginatorLabel"
    if isinstance(recipients, str) or not isinstance(recipients, Sequence) or not recipients:
        return "recipients must be a non-empty list of parties"
    if not all(isinstance(r, str) for r in recipients) or len(set(recipients)) != len(recipients):
        return "recipients must be distinct party codes"
    try:
        check_purpose(purpose)
    except ValueError as exc:
        return str(exc)
    return None


def write_refusal(
    ctx: Context,
    uow: UnitOfWork,
    item_id: str,
    who: str,
    now: datetime,
    topic: str,
    decisions: dict[str, Decision],
    refusals: dict[str, tuple[str, ...]],
) -> ReleaseResult:
    """Audit every recipient's decision of a refused release (``deny``; a recipient that alone
    would have been allowed is ``RELEASE_WITHHELD``), in ``uow``; nothing else is written."""
    indexes = []
    for recipient, decision in decisions.items():
        codes = refusals.get(recipient, (WITHHELD,))
        indexes.append(
            ctx.audit(
                uow, AuditKind.RELEASE, now, who, item_id, "deny", codes,
                agreement=decision.agreement, table_version=decision.table_version,
                detail={"recipient": recipient, "topic": ident(topic, "unknown")},
            )
        )  # fmt: skip
    reasons = tuple(dict.fromkeys(c for r in sorted(refusals) for c in refusals[r]))
    return ReleaseResult(item_id, False, decisions, reasons, tuple(indexes))


_Decided = tuple[dict[str, Decision], dict[str, tuple[str, ...]], dict[str, PublicKeyRecord]]


def _decide(
    ctx: Context, r: ReleaseRequest, now: datetime, decided: dict[object, _Decided]
) -> _Decided:
    """:func:`gsomia.node.relay.decide_recipients` at ``now``, once per distinct label,
    recipients, topic and purpose of the batch (``decided``); each item gets its own dicts."""
    key = None
    if type(r.topic) is str:  # the others were checked (release_input_problem)
        key = (r.label, tuple(r.recipients), r.topic, r.purpose)
        found = decided.get(key)
        if found is not None:
            return dict(found[0]), dict(found[1]), dict(found[2])
    result = relay.decide_recipients(ctx, r.label, r.recipients, r.topic, r.purpose, now)
    if key is not None:
        decided[key] = result
    return dict(result[0]), dict(result[1]), dict(result[2])


def _plan(
    ctx: Context,
    who: str,
    request: object,
    now: datetime,
    decided: dict[object, _Decided],
    session: SealSession,
    signer: BatchSigner,
) -> relay.PreparedRelease | _Refused:
    """Check, decide (at ``now``, the batch's instant) and seal one request; nothing is
    written."""
    item_id = new_item_id(now)  # time-ordered: new rows land beside the last (gsomia.ids)
    if not isinstance(request, ReleaseRequest):
        return _Refused(item_id, now, "", {}, {}, "a batch holds release requests")
    r = request
    problem = release_input_problem(r.payload, r.label, r.recipients, r.purpose)
    if problem is not None:
        return _Refused(item_id, now, r.topic, {}, {}, problem)
    decisions, refusals, keys = _decide(ctx, r, now, decided)
    if not refusals:
        prepared = relay.prepare_release(
            ctx, item_id, who, now, r.payload, r.label, r.topic, r.purpose, decisions, keys,
            r.approval_expires, session=session, signer=signer,
        )  # fmt: skip
        if isinstance(prepared, relay.PreparedRelease):
            return prepared
        refusals = prepared
    return _Refused(item_id, now, r.topic, decisions, refusals)


def _write(ctx: Context, uow: UnitOfWork, who: str, plan: object) -> ReleaseResult:
    if isinstance(plan, relay.ReleaseWrites):
        return relay.write_release(uow, plan)
    assert isinstance(plan, _Refused)
    if plan.problem is None:
        return write_refusal(
            ctx, uow, plan.item_id, who, plan.now, plan.topic, plan.decisions, plan.refusals
        )
    index = ctx.audit(
        uow, AuditKind.RELEASE, plan.now, who, plan.item_id, "deny", (INPUT_INVALID,),
        detail={"problem": plan.problem},
    )  # fmt: skip
    return ReleaseResult(plan.item_id, False, {}, (INPUT_INVALID,), (index,), plan.problem)


def release_many(
    ctx: Context, actor: OfficialRecord | str, requests: Sequence[ReleaseRequest]
) -> list[ReleaseResult]:
    """Release each of ``requests`` as :meth:`Node.release` would, committed in one unit of work;
    one result per request, in order (see the module docstring).

    Raises :class:`NodeInputError` for an empty batch or one of more than
    :data:`MAX_RELEASE_BATCH` requests, :class:`NodeForbiddenError` if ``actor`` may not release
    (one ``deny`` record per request); both audited.
    """
    now = ctx.clock.now()
    actor_id = actor.official.id if isinstance(actor, OfficialRecord) else actor
    who = ident(actor_id, "unknown-official")
    if (
        isinstance(requests, str | bytes)
        or not isinstance(requests, Sequence)
        or not 1 <= len(requests) <= MAX_RELEASE_BATCH
    ):
        problem = f"a batch holds 1 to {MAX_RELEASE_BATCH} release requests"
        ctx.audit_alone(
            AuditKind.RELEASE, now, who, "batch", "deny", (INPUT_INVALID,), {"problem": problem}
        )
        raise NodeInputError(problem)
    official = actor if isinstance(actor, OfficialRecord) else _official(ctx, actor_id)
    if not directory.may(official, ctx.party, Role.RELEASE_OFFICER):
        with ctx.store.unit_of_work() as uow:
            for _ in requests:
                ctx.audit(
                    uow, AuditKind.RELEASE, now, who, new_item_id(now), "deny",
                    ("NODE_FORBIDDEN",),
                )  # fmt: skip
        raise NodeForbiddenError(f"{who} may not release items of {ctx.party}")
    session = SealSession()  # one ephemeral key for the batch's seals (ADR 0015)
    signer = BatchSigner()  # one signature for the batch's items (ADR 0019)
    decided: dict[object, _Decided] = {}  # one decision per kind of request (see _decide)
    plans = [_plan(ctx, who, request, now, decided, session, signer) for request in requests]
    session.close()
    signer.sign()
    writes = [  # the rows, built before the unit of work: its lock is held for writes only
        relay.release_writes(p) if isinstance(p, relay.PreparedRelease) else p for p in plans
    ]
    return ctx.group.run(ctx.store, lambda uow: [_write(ctx, uow, who, w) for w in writes])


def _official(ctx: Context, official_id: object) -> OfficialRecord | None:
    if not isinstance(official_id, str):
        return None
    with ctx.store.read() as reader:
        return reader.official(official_id)
