"""What the case use cases share (Arts. 6, 8, 13, 17, 21): the acting official, audited refusals,
and signed notices carried to partners through the outbox.

A use case of :mod:`gsomia.node.breach`, :mod:`~gsomia.node.disposal`, :mod:`~gsomia.node.visits`
or :mod:`~gsomia.node.agreement_events` first resolves the actor (:func:`resolve`) and checks it
(:func:`may`: deny by default), then its input, then what the store holds; each refusal is audited
in a unit of work of its own and nothing else is stored (:func:`refuse`, PRODUCT.md §8).

A notice (:mod:`gsomia.proofs.notices`) is signed by this node and enqueued in the same unit of
work as the record and audit entry it reports (:func:`enqueue`), with idempotency key
``notice:<notice id>``; it stays pending, retried with backoff by :meth:`Node.deliver_due`, until
the partner's NOTICE_ACK settles it (:mod:`gsomia.node.notice_inbound`).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, NoReturn

from gsomia.audit.records import AuditKind, DetailValue
from gsomia.errors import GsomiaError, InputError
from gsomia.node._context import Context, ident
from gsomia.node.errors import NodeInputError
from gsomia.node.framing import FrameKind, notice_frame
from gsomia.ports import (
    MAX_PAGE,
    ChannelError,
    DeliveryState,
    OfficialRecord,
    OutboxMessage,
    Role,
    StoreReader,
    UnitOfWork,
)
from gsomia.ports.cases import check_text
from gsomia.proofs.notices import FieldValue, Notice, NoticeKind, issue_notice

__all__ = [
    "APPLIED",
    "DUPLICATE",
    "FRAME_OF",
    "OFFICERS",
    "SECURITY",
    "Handled",
    "Outcome",
    "deferred",
    "enqueue",
    "holders",
    "may",
    "member",
    "notice",
    "outbox_key",
    "refuse",
    "refused",
    "resolve",
    "send_now",
    "text_problem",
]

SECURITY: Final = frozenset({Role.SECURITY_OFFICER})
OFFICERS: Final = frozenset({Role.SECURITY_OFFICER, Role.RELEASE_OFFICER})

FRAME_OF: Final[Mapping[NoticeKind, FrameKind]] = {
    NoticeKind.BREACH_REPORT: FrameKind.BREACH_REPORT,
    NoticeKind.BREACH_UPDATE: FrameKind.BREACH_UPDATE,
    NoticeKind.RECLASSIFICATION: FrameKind.RECLASSIFICATION,
    NoticeKind.DISPOSAL_REQUEST: FrameKind.DISPOSAL_REQUEST,
    NoticeKind.DISPOSAL_CERTIFICATE: FrameKind.DISPOSAL_CERTIFICATE,
    NoticeKind.VISIT_REQUEST: FrameKind.VISIT_REQUEST,
    NoticeKind.VISIT_DECISION: FrameKind.VISIT_DECISION,
}
"""The frame kind that carries each notice kind (docs/wire-format.md §11)."""


class Outcome(StrEnum):
    """What the node did with a partner's notice (:mod:`gsomia.node.notice_inbound`)."""

    APPLIED = "applied"  # recorded and audited; acknowledged
    DUPLICATE = "duplicate"  # handled before: audited, acknowledged again, nothing changes
    REFUSED = "refused"  # for good: audited, acknowledged so that it is not sent again
    DEFERRED = "deferred"  # not yet (the item or an earlier notice has not arrived): audited,
    # not acknowledged, so the partner's outbox sends it again later


@dataclass(frozen=True, slots=True)
class Handled:
    """The outcome of one notice, with the reason code of a refusal or deferral."""

    outcome: Outcome
    code: str = ""


APPLIED: Final = Handled(Outcome.APPLIED)
DUPLICATE: Final = Handled(Outcome.DUPLICATE, "DUPLICATE_NOTICE")


def refused(code: str) -> Handled:
    """A notice refused for good, with its reason code."""
    return Handled(Outcome.REFUSED, code)


def deferred(code: str) -> Handled:
    """A notice that cannot be applied yet, with its reason code."""
    return Handled(Outcome.DEFERRED, code)


def resolve(ctx: Context, actor: object) -> tuple[str, OfficialRecord | None]:
    """``(audit id, official record or None)`` of ``actor``: a record, or an official's id."""
    if isinstance(actor, OfficialRecord):
        return ident(actor.official.id, "unknown-official"), actor
    who = ident(actor, "unknown-official")
    if not isinstance(actor, str):
        return who, None
    with ctx.store.read() as reader:
        return who, reader.official(actor)


def may(record: OfficialRecord | None, party: str, roles: Collection[Role] | None) -> bool:
    """Deny by default: an active official of ``party`` holding one of ``roles`` (any official
    of ``party`` when ``roles`` is None, as Art. 17 lets any official report a breach)."""
    return (
        record is not None
        and record.active
        and record.official.nationality == party
        and (roles is None or bool(record.roles & set(roles)))
    )


def refuse(
    ctx: Context,
    kind: AuditKind,
    now: datetime,
    who: str,
    subject: str,
    error: GsomiaError,
    detail: Mapping[str, DetailValue] | None = None,
    reasons: tuple[str, ...] | None = None,
) -> NoReturn:
    """Audit the refusal (``deny``, the error's code unless ``reasons``), store nothing else,
    and raise ``error``."""
    ctx.audit_alone(kind, now, who, subject, "deny", reasons or (error.code,), detail)
    raise error


def member(value: object, kind: type[StrEnum]) -> bool:
    """Whether ``value`` is the wire name of a member of ``kind``."""
    return isinstance(value, str) and value in {m.value for m in kind}


def text_problem(value: object, what: str, max_len: int, *, empty: bool = False) -> str | None:
    """Why ``value`` is not acceptable text, or None."""
    try:
        check_text(value, what, max_len, empty=empty)
    except InputError as exc:
        return exc.message
    return None


def notice(
    ctx: Context,
    kind: NoticeKind,
    recipient: str,
    subject: str,
    fields: Mapping[str, FieldValue],
    now: datetime,
) -> tuple[Notice, bytes]:
    """A new notice from this node, and its token signed with the node's key.

    :class:`NodeInputError` if the statement cannot be signed (too long once encoded, say).
    """
    value = Notice(kind, str(uuid.uuid4()), ctx.party, recipient, now, subject, fields)
    try:
        return value, issue_notice(value, ctx.keys)
    except GsomiaError as exc:  # TokenInputError: nothing was signed
        raise NodeInputError(f"the {kind} cannot be signed: {exc.message}") from None


def outbox_key(notice_id: str) -> str:
    """The outbox idempotency key of a notice."""
    return f"notice:{notice_id}"


def enqueue(uow: UnitOfWork, value: Notice, token: bytes) -> str:
    """Enqueue the signed notice to its recipient; the outbox key."""
    key = outbox_key(value.notice_id)
    uow.enqueue(
        OutboxMessage(
            key,
            value.recipient,
            str(value.kind),
            value.subject,
            notice_frame(FRAME_OF[value.kind], token),
            value.issued,
        )
    )
    return key


def send_now(ctx: Context, key: str) -> None:
    """Try an enqueued notice at once (Art. 17: "immediately"), claiming it first as
    :meth:`Node.deliver_due` does; on failure the outbox retries it."""
    now = ctx.clock.now()
    with ctx.store.unit_of_work() as uow:
        entry = uow.outbox_entry(key)
        if entry is None or entry.state is not DeliveryState.PENDING:
            return
        attempt = ctx.backoff.next_attempt(entry.attempts + 1, now, key)
        entry = uow.record_attempt(key, at=now, next_attempt=attempt)
    with contextlib.suppress(ChannelError):
        ctx.channel.send(entry.message.recipient, entry.message.payload, idempotency_key=key)


def holders(reader: StoreReader, item_id: str, party: str) -> set[str]:
    """The parties this originator provided ``item_id`` to: first hops of its release, and the
    third parties of its relay approvals and forward consents (Art. 6)."""
    found = {
        e.message.recipient
        for e in reader.outbox(subject=item_id, limit=MAX_PAGE)
        if e.message.kind == "item"
    }
    found |= {c.consent.third_party for c in reader.consents_for(item_id)}
    found.discard(party)
    return found
