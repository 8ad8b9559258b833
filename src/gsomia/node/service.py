"""The national node's use cases over the pure core and four ports: release, deliver, read.

:class:`Node` is wired only to ports (Store, Channel, Clock) and the node's keys and trust store;
every decision is the core's (:mod:`gsomia.policy`), every seal the envelope's, every act audited
in the same unit of work as its effects (issue 4 §1; ADR 0004).  Receiving is in
:mod:`gsomia.node.inbound`, the TISA relay in :mod:`gsomia.node.relay`, consent requests and
Art. 6 forwards in :mod:`gsomia.node.consent`.

Release (Art. 6: case by case, by the originator)
-------------------------------------------------
The actor must be an active official of this node's nationality with the ``release_officer``
role (issue 4 §1), else ``NODE_FORBIDDEN``.  :func:`gsomia.policy.release` decides for each
recipient at ``clock.now()`` (Art. 21: against the agreements in force at that instant).  The
release is all or nothing: if any recipient is refused, every recipient's decision is audited
(``deny``; a recipient that alone would have been allowed is ``RELEASE_WITHHELD``) and nothing
else is stored.  Otherwise the item is sealed once per first hop, under the agreement the
decision relied on, and in ONE unit of work the node stores the item as held by the originator,
enqueues one outbox message per first hop (idempotency key ``<item id>:<party>``) and appends one
``release`` audit record per recipient.  A recipient the policy routes through a hub (TISA, a
path of three) is reached through the hub, sealed to the hub with this node's signed relay
approval (:mod:`gsomia.node.relay`).

At rest (Arts. 9-12): every seal names the originator itself as a co-recipient, so the node keeps
the sealed bytes of the first hop's seal (first hops in sorted order) as its held copy and
opens it with its own keys; no plaintext is ever stored.

:meth:`Node.release_many` releases a batch, each item exactly as above, all at the instant the
batch is taken (ADR 0024), all committed in one unit of work (:mod:`gsomia.node.release_batch`);
concurrent releases share their commits (:mod:`gsomia.node._group`).

Delivery (issue 4 §1: at-least-once, retried with backoff until a signed receipt)
-------------------------------------------------------------------------------
:meth:`Node.deliver_due` claims due messages by recording the attempt and the next retry instant
(:class:`~gsomia.ports.Backoff`) in a unit of work *before* sending, then sends.  A
:class:`~gsomia.ports.ChannelError` needs no further write: the retry is already scheduled.  A
message that was taken also stays pending, and is sent again at its retry instant, until the
partner's receipt settles it (acknowledged; or, for a signed refusal, a negative receipt, cancelled
with ``REFUSED <codes>`` and never sent again: ADR 0011); a crash at any point causes at most a
resend, never a loss.
Receipts we send are settled once the channel takes them: the sender's retries of the item bring
the stored receipt back if one is lost.
Messages for one partner go several per exchange, within a flow-control window
(:mod:`gsomia.node.delivery`).

Read (Art. 7)
-------------
:func:`gsomia.policy.access` on the held item's label set, at read time; every read, allowed or
not, is audited (``read``).  The held copy is opened only when allowed, and returned only after
the ``allow`` record committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from gsomia.agreements import Event
from gsomia.audit.records import AuditKind
from gsomia.envelope import EnvelopeError, NodeKeys, TrustStore, open_item
from gsomia.ids import new_item_id
from gsomia.labels import OriginatorLabel
from gsomia.node import (
    agreement_events,
    breach,
    consent,
    delivery,
    directory,
    disposal,
    forward,
    inbound,
    relay,
    visits,
)
from gsomia.node._context import Context, RegistryHolder, ident
from gsomia.node.errors import (
    NodeAccessDeniedError,
    NodeForbiddenError,
    NodeInputError,
    NodeItemNotFoundError,
)
from gsomia.node.forward import ForwardResult
from gsomia.node.release_batch import ReleaseRequest, release_many
from gsomia.node.release_batch import release_input_problem as _release_input_problem
from gsomia.node.results import ReceiveSummary, ReleaseResult
from gsomia.policy import Decision, access
from gsomia.ports import (
    Backoff,
    Channel,
    Clock,
    ConsentRecord,
    ConsentRequestDirection,
    ConsentRequestRecord,
    ConsentRequestState,
    DeliveryState,
    HeldItem,
    ItemState,
    OfficialRecord,
    OutboxEntry,
    ReceiptRecord,
    Role,
    Store,
)
from gsomia.ports.cases import (  # Arts. 6, 8, 13, 17, 21
    AgreementEventRecord,
    BreachRecord,
    DisposalRecord,
    Visitor,
    VisitRecord,
)
from gsomia.registry import Registry

__all__ = ["Node"]

_WITHHELD = "RELEASE_WITHHELD"


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
            party, RegistryHolder(registry), store, channel, keys, trust, clock,
            backoff or Backoff(),
        )  # fmt: skip
        agreement_events.load(self._ctx)  # Art. 21: the events this node recorded apply

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

    def refresh_agreements(self) -> None:
        """Apply the agreement events another process of this node recorded since the last
        look (:func:`gsomia.node.agreement_events.refresh`); every deciding use case does it
        first, streams call it on a timer."""
        agreement_events.refresh(self._ctx)

    @property
    def _deciding(self) -> Context:
        """The context, after :meth:`refresh_agreements`: for a use case about to decide."""
        agreement_events.refresh(self._ctx)
        return self._ctx

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

    def audit_refused_request(self, route: str, code: str, actor_id: str | None = None) -> None:
        """Audit a request a face refused before calling the node (``reject``; PRODUCT.md §8)."""
        directory.refused_request(self._ctx, route, code, actor_id)

    # -------------------------------------------------------------------------------- release

    def release(
        self,
        actor: OfficialRecord | str,
        payload: bytes,
        label: OriginatorLabel,
        recipients: Sequence[str],
        topic: str,
        purpose: str,
        *,
        approval_expires: datetime | None = None,
    ) -> ReleaseResult:
        """Release an item this node originates to ``recipients`` (Art. 6), all or nothing.

        ``actor`` was authenticated by the caller: an official record, or the id of one in the
        store.  Raises :class:`NodeForbiddenError` or :class:`NodeInputError` (audited); a policy
        refusal is returned, with its reasons, not raised.  A recipient reached through a hub
        (TISA) gets the item via the hub with this node's signed approval, valid until
        ``approval_expires`` (default: :data:`gsomia.node.relay.APPROVAL_VALIDITY` from now).
        """
        ctx = self._deciding
        now = ctx.clock.now()
        item_id = new_item_id(now)  # time-ordered (gsomia.ids)
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
        decisions, refusals, keys = relay.decide_recipients(
            ctx, label, recipients, topic, purpose, now
        )
        if not refusals:
            result = relay.commit_release(
                ctx, item_id, who, now, payload, label, topic, purpose, decisions, keys,
                approval_expires,
            )  # fmt: skip
            if isinstance(result, ReleaseResult):
                return result
            refusals = result
        return self._refuse(item_id, who, now, topic, decisions, refusals)

    def release_many(
        self, actor: OfficialRecord | str, requests: Sequence[ReleaseRequest]
    ) -> list[ReleaseResult]:
        """Release each request as :meth:`release` would, all committed in ONE unit of work
        (group commit), one result per request; a refused item does not stop the others
        (:mod:`gsomia.node.release_batch`)."""
        return release_many(self._deciding, actor, requests)

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

    def _official(self, official_id: object) -> OfficialRecord | None:
        if not isinstance(official_id, str):
            return None
        with self._ctx.store.read() as reader:
            return reader.official(official_id)

    # ------------------------------------------------------------------------------- delivery

    def deliver_due(self, limit: int = 100) -> int:
        """Send the outbox messages due now, several per exchange when the channel can; the
        number the channel took (issue 4 §1; :mod:`gsomia.node.delivery`)."""
        return delivery.deliver_due(self._ctx, limit)

    # --------------------------------------- consent and forward (node.consent, node.forward)

    def request_consent(
        self,
        actor: OfficialRecord | str,
        item_id: str,
        third_party: str,
        purpose: str,
        expires: datetime | None = None,
    ) -> ConsentRequestRecord:
        """Ask the originator of a held item for written consent to forward it (Art. 6)."""
        return consent.request_consent(
            self._deciding, actor, item_id, third_party, purpose, expires
        )

    def consent_requests(
        self,
        actor: OfficialRecord | str,
        *,
        direction: ConsentRequestDirection | None = None,
        state: ConsentRequestState | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[ConsentRequestRecord]:
        """Consent requests sent or received, by id (security and release officers)."""
        return consent.consent_requests(
            self._ctx, actor, direction=direction, state=state, after=after, limit=limit
        )

    def decide_consent(
        self,
        actor: OfficialRecord | str,
        request_id: str,
        approve: bool,
        *,
        conditions: tuple[str, ...] = (),
        expires: datetime | None = None,
    ) -> ConsentRequestRecord:
        """Grant or refuse a received request, signed by this node (security officers, Art. 6)."""
        return consent.decide_consent(
            self._deciding, actor, request_id, approve, conditions=conditions, expires=expires
        )

    def revoke_consent(self, actor: OfficialRecord | str, consent_id: str) -> ConsentRecord:
        """Withdraw a consent or relay approval this node gave (security officers, Art. 6)."""
        return consent.revoke_consent(self._ctx, actor, consent_id)

    def forward(
        self, actor: OfficialRecord | str, item_id: str, third_party: str, purpose: str
    ) -> ForwardResult:
        """Forward a held item to a third party under the originator's consent (Art. 6)."""
        return forward.forward(self._deciding, actor, item_id, third_party, purpose)

    # ---- breaches, reclassification, return/destroy, visits, agreement events (Arts. 6-21)
    # (node.breach, node.disposal, node.visits, node.agreement_events)

    def report_breach(
        self, actor: OfficialRecord | str, item_id: str, kind: str, description: str
    ) -> BreachRecord:
        """Report an ``actual`` or ``possible`` loss or compromise of a held item; any official
        of this node may, and the originator's node is notified at once (Art. 17)."""
        return breach.report(self._deciding, actor, item_id, kind, description)

    def update_breach(
        self,
        actor: OfficialRecord | str,
        breach_id: str,
        *,
        status: str,
        investigation: str | None = None,
        results: str | None = None,
        measures: str | None = None,
    ) -> BreachRecord:
        """The reporting node's security officer records findings, sent to the originator."""
        return breach.update(
            self._ctx, actor, breach_id, status=status, investigation=investigation,
            results=results, measures=measures,
        )  # fmt: skip

    def breaches(
        self,
        actor: OfficialRecord | str,
        *,
        item_id: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[BreachRecord]:
        """Breaches reported here or to this node, with their status (security officers)."""
        return breach.listing(self._ctx, actor, item_id=item_id, after=after, limit=limit)

    def reclassify(self, actor: OfficialRecord | str, item_id: str, new_level: str) -> HeldItem:
        """The originator changes an item's level; its holders re-mark it (Art. 6)."""
        return disposal.reclassify(self._deciding, actor, item_id, new_level)

    def request_disposal(
        self, actor: OfficialRecord | str, item_id: str, holder: str, action: str, reason: str
    ) -> DisposalRecord:
        """The originator asks ``holder`` to ``return`` or ``destroy`` its copy (Arts. 6, 13)."""
        return disposal.request_disposal(self._deciding, actor, item_id, holder, action, reason)

    def execute_disposal(self, actor: OfficialRecord | str, disposal_id: str) -> DisposalRecord:
        """The holder's security officer executes a request; a certificate goes back."""
        return disposal.execute(self._deciding, actor, disposal_id)

    def destroy(self, actor: OfficialRecord | str, item_id: str, reason: str) -> DisposalRecord:
        """The holder's security officer destroys a copy no longer needed (Arts. 6, 13)."""
        return disposal.destroy(self._deciding, actor, item_id, reason)

    def disposals(
        self,
        actor: OfficialRecord | str,
        *,
        item_id: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[DisposalRecord]:
        """Returns and destructions requested, done or certified here."""
        return disposal.listing(self._ctx, actor, item_id=item_id, after=after, limit=limit)

    def request_visit(
        self,
        actor: OfficialRecord | str,
        visitor: Visitor,
        host: str,
        purpose: str,
        start: datetime,
        end: datetime,
    ) -> VisitRecord:
        """Ask ``host`` to receive one of our officials (Art. 8)."""
        return visits.request(self._deciding, actor, visitor, host, purpose, start, end)

    def decide_visit(
        self,
        actor: OfficialRecord | str,
        visit_id: str,
        *,
        approve: bool,
        level: str | None = None,
        note: str = "",
    ) -> VisitRecord:
        """The host approves, with the highest level that may be disclosed, or denies (Art. 8)."""
        return visits.decide(
            self._deciding, actor, visit_id, approve=approve, level=level, note=note
        )

    def visits(
        self, actor: OfficialRecord | str, *, after: str | None = None, limit: int = 100
    ) -> list[VisitRecord]:
        """Visits requested by or to this node, with their decisions (security officers)."""
        return visits.listing(self._ctx, actor, after=after, limit=limit)

    def record_agreement_event(
        self, actor: OfficialRecord | str, agreement_id: str, event: Event
    ) -> AgreementEventRecord:
        """Record an agreement event; the very next decision applies it (Art. 21)."""
        return agreement_events.record(self._ctx, actor, agreement_id, event)

    def agreement_events(
        self,
        actor: OfficialRecord | str,
        *,
        agreement_id: str | None = None,
        after: int = 0,
        limit: int = 100,
    ) -> list[AgreementEventRecord]:
        """The agreement events recorded at this node, by ``seq``."""
        return agreement_events.listing(
            self._ctx, actor, agreement_id=agreement_id, after=after, limit=limit
        )

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
        ctx = self._deciding
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
