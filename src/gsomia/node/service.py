"""The national node's use cases over the pure core and four ports: release, deliver, read.

:class:`Node` is wired only to ports (Store, Channel, Clock) and the node's keys and trust store;
every decision is the core's (:mod:`gsomia.policy`), every seal the envelope's, every act audited
in the same unit of work as its effects (issue 4 §1; ADR 0004).  Receiving is in
:mod:`gsomia.node.inbound`.

Release (Art. 6: case by case, by the originator)
-------------------------------------------------
The actor must be an active official of this node's nationality with the ``release_officer``
role (issue 4 §1), else ``NODE_FORBIDDEN``.  :func:`gsomia.policy.release` decides for each
recipient at ``clock.now()`` (Art. 21: against the agreements in force at that instant).  The
release is all or nothing: if any recipient is refused, every recipient's decision is audited
(``deny``; a recipient that alone would have been allowed is ``RELEASE_WITHHELD``) and nothing
else is stored.  A release the policy routes through a hub (TISA, a path of three) is refused
with ``RELEASE_VIA_HUB_NOT_YET`` in this slice.  Otherwise the item is sealed once per recipient,
under the agreement that recipient's decision relied on, and in ONE unit of work the node stores
the item as held by the originator, enqueues one outbox message per recipient (idempotency key
``<item id>:<recipient>``) and appends one ``release`` audit record per recipient.

At rest (Arts. 9-12): every seal names the originator itself as a co-recipient, so the node keeps
the sealed bytes of the first recipient's seal (recipients in sorted order) as its held copy and
opens it with its own keys; no plaintext is ever stored.

Delivery (issue 4 §1: at-least-once, retried with backoff until a signed receipt)
-------------------------------------------------------------------------------
:meth:`Node.deliver_due` claims due messages by recording the attempt and the next retry instant
(:class:`~gsomia.ports.Backoff`) in a unit of work *before* sending, then sends.  A
:class:`~gsomia.ports.ChannelError` needs no further write: the retry is already scheduled.  A
message that was taken also stays pending, and is sent again at its retry instant, until the
partner's receipt settles it; a crash at any point causes at most a resend, never a loss.
Receipts we send are settled once the channel takes them: the sender's retries of the item bring
the stored receipt back if one is lost.

Read (Art. 7)
-------------
:func:`gsomia.policy.access` on the held item's label set, at read time; every read, allowed or
not, is audited (``read``).  The held copy is opened only when allowed, and returned only after
the ``allow`` record committed.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime

from gsomia.audit.records import AuditKind
from gsomia.envelope import EnvelopeError, NodeKeys, PublicKeyRecord, TrustStore, open_item, seal
from gsomia.envelope.keys import KeyLookupError
from gsomia.labels import LabelSet, OriginatorLabel
from gsomia.node import directory, inbound
from gsomia.node._context import Context, ident
from gsomia.node.errors import (
    NodeAccessDeniedError,
    NodeForbiddenError,
    NodeInputError,
    NodeItemNotFoundError,
)
from gsomia.node.framing import check_purpose, item_frame
from gsomia.node.results import ReceiveSummary, ReleaseResult
from gsomia.policy import Decision, access
from gsomia.policy import release as decide_release
from gsomia.ports import (
    Backoff,
    Channel,
    ChannelError,
    Clock,
    DeliveryState,
    HeldItem,
    ItemState,
    OfficialRecord,
    OutboxEntry,
    OutboxMessage,
    ReceiptRecord,
    Role,
    Store,
    check_limit,
)
from gsomia.registry import Registry

__all__ = ["HUB_NOT_YET", "Node"]

HUB_NOT_YET = "RELEASE_VIA_HUB_NOT_YET"
_WITHHELD = "RELEASE_WITHHELD"
_NO_KEY = "NODE_NO_RECIPIENT_KEY"
_ITEM_KIND, _RECEIPT_KIND = "item", "receipt"


class Node:
    """A national node: the service layer over the core and the ports (PRODUCT.md §6)."""

    def __init__(
        self,
        party: str,
        registry: Registry,
        store: Store,
        channel: Channel,
        keys: NodeKeys,
        trust: TrustStore,
        clock: Clock,
        *,
        backoff: Backoff | None = None,
    ) -> None:
        if party not in registry.parties or keys.party != party or channel.party != party:
            raise NodeInputError(
                "the node's party, keys and channel must name one known party",
                code="NODE_MISCONFIGURED",
                detail={"party": party},
            )
        self._ctx = Context(
            party, registry, store, channel, keys, trust, clock, backoff or Backoff()
        )

    @property
    def party(self) -> str:
        """This node's party (ISO 3166-1 alpha-3)."""
        return self._ctx.party

    @property
    def registry(self) -> Registry:
        """The agreements, schemes and tables this node decides against."""
        return self._ctx.registry

    def now(self) -> datetime:
        """The node's current instant (its Clock port)."""
        return self._ctx.clock.now()

    # ------------------------------------------------- directory and listings (node.directory)

    def bootstrap(self, record: OfficialRecord) -> str:
        """Enrol the first security officer of an empty directory; its API token."""
        return directory.bootstrap(self._ctx, record)

    def authenticate(self, token: str) -> OfficialRecord:
        """The official holding API ``token``; else audited ``NODE_UNAUTHENTICATED``."""
        return directory.authenticate(self._ctx, token)

    def add_official(self, actor: OfficialRecord, record: OfficialRecord) -> None:
        """Add or replace an official (security officers)."""
        directory.add_official(self._ctx, actor, record)

    def issue_token(self, actor: OfficialRecord, official_id: str) -> str:
        """A new API token for ``official_id`` (security officers), returned once."""
        return directory.issue_token(self._ctx, actor, official_id)

    def officials(
        self, actor: OfficialRecord, *, after: str | None = None, limit: int = 100
    ) -> list[OfficialRecord]:
        """The directory by id (security officers)."""
        return directory.officials(self._ctx, actor, after=after, limit=limit)

    def items(
        self,
        actor: OfficialRecord,
        *,
        after: str | None = None,
        limit: int = 100,
        state: ItemState | None = None,
    ) -> list[HeldItem]:
        """Held items ``actor`` may see, by id."""
        return directory.items(self._ctx, actor, after=after, limit=limit, state=state)

    def item(self, actor: OfficialRecord, item_id: str) -> HeldItem:
        """One held item's metadata, if ``actor`` may see it."""
        return directory.item(self._ctx, actor, item_id)

    def receipts(self, actor: OfficialRecord, item_id: str) -> list[ReceiptRecord]:
        """The receipts of an item (security and release officers)."""
        return directory.receipts(self._ctx, actor, item_id)

    def outbox(
        self,
        actor: OfficialRecord,
        *,
        state: DeliveryState | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[OutboxEntry]:
        """Outbox messages in enqueue order (security and release officers)."""
        return directory.outbox(self._ctx, actor, state=state, after=after, limit=limit)

    def audit_head(self) -> tuple[int, bytes]:
        """``(size, root)`` of this node's audit log (RFC 9162)."""
        with self._ctx.store.read() as reader:
            size = reader.audit_size()
            return size, reader.audit_root(size)

    def checkpoint(self) -> bytes:
        """This node's signed audit checkpoint (c2sp.org/tlog-checkpoint)."""
        return directory.checkpoint(self._ctx)

    # -------------------------------------------------------------------------------- release

    def release(
        self,
        actor: OfficialRecord | str,
        payload: bytes,
        label: OriginatorLabel,
        recipients: Sequence[str],
        topic: str,
        purpose: str,
    ) -> ReleaseResult:
        """Release an item this node originates to ``recipients`` (Art. 6), all or nothing.

        ``actor`` was authenticated by the caller: an official record, or the id of one in the
        store.  Raises :class:`NodeForbiddenError` or :class:`NodeInputError` (audited); a policy
        refusal is returned, with its reasons, not raised.
        """
        ctx = self._ctx
        now = ctx.clock.now()
        item_id = str(uuid.uuid4())
        actor_id = actor.official.id if isinstance(actor, OfficialRecord) else actor
        who = ident(actor_id, "unknown-official")
        problem = _release_input_problem(payload, label, recipients, purpose)
        if problem is not None:
            ctx.audit_alone(
                AuditKind.RELEASE, now, who, item_id, "deny", ("NODE_INPUT_INVALID",),
                {"problem": problem},
            )  # fmt: skip
            raise NodeInputError(problem)
        official = actor if isinstance(actor, OfficialRecord) else self._official(actor_id)
        if not directory.may(official, ctx.party, Role.RELEASE_OFFICER):
            ctx.audit_alone(AuditKind.RELEASE, now, who, item_id, "deny", ("NODE_FORBIDDEN",))
            raise NodeForbiddenError(f"{who} may not release items of {ctx.party}")
        decisions = {
            r: decide_release(ctx.registry, label, ctx.party, r, topic, now, purpose)
            for r in sorted(recipients)
        }
        refusals: dict[str, tuple[str, ...]] = {}
        keys: dict[str, PublicKeyRecord] = {}
        for recipient, decision in decisions.items():
            if not decision.allowed:
                refusals[recipient] = decision.codes
            elif len(decision.path) != 2:
                refusals[recipient] = (HUB_NOT_YET,)
            else:
                try:
                    keys[recipient] = ctx.trust.current(recipient, "enc", now)
                except KeyLookupError:
                    refusals[recipient] = (_NO_KEY,)
        if refusals:
            return self._refuse(item_id, who, now, topic, decisions, refusals)
        return self._commit_release(
            item_id, who, now, payload, label, topic, purpose, decisions, keys
        )

    def _refuse(
        self,
        item_id: str,
        who: str,
        now: datetime,
        topic: str,
        decisions: dict[str, Decision],
        refusals: dict[str, tuple[str, ...]],
    ) -> ReleaseResult:
        ctx = self._ctx
        indexes = []
        with ctx.store.unit_of_work() as uow:
            for recipient, decision in decisions.items():
                codes = refusals.get(recipient, (_WITHHELD,))
                indexes.append(
                    ctx.audit(
                        uow, AuditKind.RELEASE, now, who, item_id, "deny", codes,
                        agreement=decision.agreement, table_version=decision.table_version,
                        detail={"recipient": recipient, "topic": ident(topic, "unknown")},
                    )
                )  # fmt: skip
        reasons = tuple(dict.fromkeys(c for r in sorted(refusals) for c in refusals[r]))
        return ReleaseResult(item_id, False, decisions, reasons, tuple(indexes))

    def _commit_release(
        self,
        item_id: str,
        who: str,
        now: datetime,
        payload: bytes,
        label: OriginatorLabel,
        topic: str,
        purpose: str,
        decisions: dict[str, Decision],
        keys: dict[str, PublicKeyRecord],
    ) -> ReleaseResult:
        ctx = self._ctx
        own = ctx.keys.current.enc
        sealed: dict[str, bytes] = {}
        for recipient, decision in decisions.items():
            assert decision.agreement is not None
            assert decision.table_version is not None
            sealed[recipient] = seal(
                payload,
                label,
                {recipient: keys[recipient], ctx.party: own},  # self too: the copy at rest
                (decision.agreement, decision.table_version),
                ctx.keys,
                now,
                item_id,
            ).to_bytes()
        first = next(iter(decisions))
        indexes = []
        with ctx.store.unit_of_work() as uow:
            uow.put_item(
                HeldItem(
                    item_id,
                    LabelSet(label),
                    topic,
                    sealed[first],
                    now,
                    agreement=decisions[first].agreement,
                    table_version=decisions[first].table_version,
                )
            )
            for recipient, decision in decisions.items():
                uow.enqueue(
                    OutboxMessage(
                        key=f"{item_id}:{recipient}",
                        recipient=recipient,
                        kind=_ITEM_KIND,
                        subject=item_id,
                        payload=item_frame(topic, purpose, sealed[recipient]),
                        created=now,
                    )
                )
                indexes.append(
                    ctx.audit(
                        uow, AuditKind.RELEASE, now, who, item_id, "allow", decision.codes,
                        agreement=decision.agreement, table_version=decision.table_version,
                        detail={
                            "recipient": recipient,
                            "topic": topic,
                            "purpose": purpose,
                            "path": ">".join(decision.path),
                            "marking": decision.markings[-1].level,
                            "digest": hashlib.sha256(sealed[recipient]).hexdigest(),
                        },
                    )
                )  # fmt: skip
        return ReleaseResult(item_id, True, decisions, (), tuple(indexes))

    def _official(self, official_id: object) -> OfficialRecord | None:
        if not isinstance(official_id, str):
            return None
        with self._ctx.store.read() as reader:
            return reader.official(official_id)

    # ------------------------------------------------------------------------------- delivery

    def deliver_due(self, limit: int = 100) -> int:
        """Send the outbox messages due now; the number the channel took (issue 4 §1)."""
        ctx = self._ctx
        now = ctx.clock.now()
        with ctx.store.unit_of_work() as uow:  # claim first: a crash only causes a resend
            claimed: list[OutboxEntry] = [
                uow.record_attempt(
                    e.key,
                    at=now,
                    next_attempt=ctx.backoff.next_attempt(e.attempts + 1, now, e.key),
                )
                for e in uow.due(now, limit=check_limit(limit))
            ]
        taken: list[OutboxEntry] = []
        for entry in claimed:
            message = entry.message
            try:
                ctx.channel.send(message.recipient, message.payload, idempotency_key=message.key)
            except ChannelError:
                continue  # retried at entry.next_attempt, already recorded
            taken.append(entry)
        receipts = [e for e in taken if e.message.kind == _RECEIPT_KIND]
        if receipts:
            with ctx.store.unit_of_work() as uow:
                for entry in receipts:
                    uow.acknowledge(entry.key, at=now)
        return len(taken)

    # ------------------------------------------------------------------------------- receive

    def receive(self, limit: int = 100, *, timeout: float = 0.0) -> ReceiveSummary:
        """Handle up to ``limit`` inbound messages, waiting ``timeout`` s for the first
        (:mod:`gsomia.node.inbound`)."""
        return inbound.receive(self._ctx, limit, timeout)

    # ---------------------------------------------------------------------------------- read

    def read(self, actor: OfficialRecord | str, item_id: str) -> bytes:
        """The plaintext of a held item, if ``actor`` may read it now (Art. 7); audited.

        ``actor`` was authenticated by the caller: an official record, or the id of one.
        """
        ctx = self._ctx
        now = ctx.clock.now()
        official_id = actor.official.id if isinstance(actor, OfficialRecord) else actor
        who, subject = ident(official_id, "unknown-official"), ident(item_id, "unknown-item")
        with ctx.store.read() as reader:
            record = reader.official(official_id) if isinstance(official_id, str) else None
            item = reader.item(item_id) if isinstance(item_id, str) else None

        def refuse(code: str, detail: dict[str, str | None] | None = None) -> None:
            ctx.audit_alone(AuditKind.READ, now, who, subject, "deny", (code,), detail)

        if not directory.may(record, ctx.party, Role.READER):
            refuse("NODE_FORBIDDEN")
            raise NodeForbiddenError(f"{who} may not read items held by {ctx.party}")
        assert record is not None
        if item is None:
            refuse("NODE_ITEM_NOT_FOUND")
            raise NodeItemNotFoundError(f"{ctx.party} holds no item {subject}")
        if item.state is not ItemState.HELD or item.sealed is None:
            refuse("NODE_ITEM_NOT_HELD", {"state": item.state.value})
            raise NodeAccessDeniedError(
                f"item {item_id} was {item.state}", code="NODE_ITEM_NOT_HELD"
            )
        decision = access(ctx.registry, record.official, item.labels, ctx.party, item.topic)
        marking = item.labels.marking_for(ctx.party)
        detail: dict[str, str | None] = {"marking": None if marking is None else marking[1]}
        if not decision.allowed:
            ctx.audit_alone(AuditKind.READ, now, who, subject, "deny", decision.codes, detail)
            raise NodeAccessDeniedError(
                f"{who} may not read item {item_id}", detail={"reasons": list(decision.codes)}
            )
        try:
            opened = open_item(item.sealed, ctx.keys, ctx.open_trust, now)
        except EnvelopeError as err:
            refuse("NODE_ITEM_DAMAGED", {"cause": err.cause.value})
            raise NodeAccessDeniedError(
                f"item {item_id} does not open", code="NODE_ITEM_DAMAGED"
            ) from None
        ctx.audit_alone(AuditKind.READ, now, who, subject, "allow", decision.codes, detail)
        return opened.payload


def _release_input_problem(
    payload: object, label: object, recipients: object, purpose: object
) -> str | None:
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
