"""What every use case of a node shares: its party, the registry, its ports and audit helpers."""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gsomia.audit.records import AuditKind, AuditRecord, DetailValue
from gsomia.envelope import NodeKeys, OpenCache, TrustStore
from gsomia.node._group import GroupCommit
from gsomia.node._window import InFlight
from gsomia.ports import Backoff, Channel, Clock, Store, UnitOfWork
from gsomia.registry import Registry

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}\Z")  # the audit record's identifier rule


def ident(value: object, fallback: str) -> str:
    """``value`` if it can name an actor or subject in the audit log, else ``fallback``.

    A refused request is audited even when the id it names is ill-formed (PRODUCT.md §8).
    """
    return value if isinstance(value, str) and _ID.match(value) else fallback


class RegistryHolder:
    """The one replaceable part of a node's configuration: the registry it decides against.

    ``base`` is the registry the node was built with (the built-in agreements); ``current`` is
    ``base`` with the agreement events this node recorded applied (Art. 21;
    :mod:`gsomia.node.agreement_events`).  Replacing ``current`` is one reference assignment,
    so the very next decision sees the new history and a decision in progress keeps the one it
    read.
    """

    __slots__ = ("_applied", "_lock", "base", "current", "last_seq")

    def __init__(self, base: Registry) -> None:
        self.base = base
        self.current = base
        self._applied = 0
        self.last_seq = 0  # the seq of the last recorded event ``current`` applies (0: none)
        self._lock = threading.Lock()

    def install(self, registry: Registry, applied: int, last_seq: int) -> None:
        """Make ``registry`` (``base`` with the first ``applied`` recorded events, the last
        numbered ``last_seq``) current, unless a registry with more events is current already
        (two recordings racing)."""
        with self._lock:
            if applied >= self._applied:
                self.current, self._applied, self.last_seq = registry, applied, last_seq


@dataclass(frozen=True, slots=True)
class Context:
    """A node's fixed configuration; ``open_trust`` also trusts the node's own keys (at rest).

    ``registry`` is read through ``registries`` on every use (see :class:`RegistryHolder`).
    """

    party: str
    registries: RegistryHolder
    store: Store
    channel: Channel
    keys: NodeKeys
    trust: TrustStore
    clock: Clock
    backoff: Backoff
    inflight: InFlight = field(default_factory=InFlight)  # delivery's flow control (_window)
    group: GroupCommit = field(default_factory=GroupCommit)  # shared commits of releases (_group)
    open_cache: OpenCache = field(default_factory=OpenCache)  # X25519 secrets of batches (ADR 0015)
    open_trust: TrustStore = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "open_trust", self.keys.trust_self(self.trust))

    @property
    def registry(self) -> Registry:
        """The registry decisions use now: built-in agreements plus the events recorded here."""
        return self.registries.current

    @property
    def log_origin(self) -> str:
        """The origin line of this node's audit checkpoints (c2sp.org/tlog-checkpoint)."""
        return f"gsomia/{self.party.lower()}/audit"

    def audit(
        self,
        uow: UnitOfWork,
        kind: AuditKind,
        at: datetime,
        actor: str,
        subject: str,
        decision: str,
        reasons: tuple[str, ...],
        *,
        agreement: str | None = None,
        table_version: int | None = None,
        detail: Mapping[str, DetailValue] | None = None,
    ) -> int:
        """Append one audit record in ``uow``; its index once the unit commits."""
        return uow.append_audit(
            record(
                kind, at, actor, subject, decision, reasons,
                agreement=agreement, table_version=table_version, detail=detail,
            )
        )  # fmt: skip

    def audit_alone(
        self,
        kind: AuditKind,
        at: datetime,
        actor: str,
        subject: str,
        decision: str,
        reasons: tuple[str, ...],
        detail: Mapping[str, DetailValue] | None = None,
    ) -> int:
        """Audit a refusal in a unit of work of its own (nothing else is written)."""
        with self.store.unit_of_work() as uow:
            return self.audit(uow, kind, at, actor, subject, decision, reasons, detail=detail)


def record(
    kind: AuditKind,
    at: datetime,
    actor: str,
    subject: str,
    decision: str,
    reasons: tuple[str, ...],
    *,
    agreement: str | None = None,
    table_version: int | None = None,
    detail: Mapping[str, DetailValue] | None = None,
) -> AuditRecord:
    """An audit record, already encoded (:meth:`AuditRecord.to_bytes` keeps its bytes): built
    before a unit of work, appending it there costs the store's write lock no encoding."""
    built = AuditRecord(
        kind=kind,
        at=at,
        actor=actor,
        subject=subject,
        decision=decision,
        reasons=reasons,
        agreement=agreement,
        table_version=table_version,
        detail=dict(detail or {}),
    )
    built.to_bytes()
    return built
