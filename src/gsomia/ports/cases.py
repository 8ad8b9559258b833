"""The node's case records that cross the Store port: breaches, disposals, visits,
reclassifications and the node's own record of agreement events; and their state tables.

Like :mod:`gsomia.ports.records`: immutable values checked on construction (``InputError``,
code ``STORE_RECORD_INVALID``), ids by the audit record's identifier rule, item ids by the
envelope's, parties ISO 3166-1 alpha-3, instants aware and kept in UTC.  Each state machine is
a table; a pair not in it is ``STORE_CONFLICT`` (:func:`gsomia.ports.records.check_transition`).

==================  ===========================================================  ===========
record              states                                                       article
==================  ===========================================================  ===========
BreachRecord        reported → investigating → … → closed; reported → closed     Art. 17
DisposalRecord      requested → completed (a holder's own destruction is         Arts. 6, 13
                    completed at once)
VisitRecord         requested → approved | denied                                Art. 8
==================  ===========================================================  ===========

Reclassifications (Art. 6) and agreement events (Art. 21) are append-only logs numbered by
``seq``.  Signed statements (:mod:`gsomia.proofs.notices`) are kept beside the records they
prove: ``token``, ``request``, ``certificate``, ``decision``.  Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from gsomia.agreements import Event
from gsomia.ports.records import (
    _ID,
    _PARTY,
    ItemState,
    _aware,
    _bad,
    _blob,
    _enum,
    _item_id,
    _match,
)

__all__ = [
    "BREACH_TRANSITIONS",
    "DISPOSAL_TRANSITIONS",
    "MAX_LONG_TEXT",
    "VISIT_TRANSITIONS",
    "AgreementEventRecord",
    "BreachKind",
    "BreachRecord",
    "BreachStatus",
    "DisposalAction",
    "DisposalRecord",
    "DisposalState",
    "ReclassificationRecord",
    "VisitRecord",
    "VisitState",
    "Visitor",
    "check_text",
]

MAX_TEXT: Final = 256
MAX_PURPOSE: Final = 1024
MAX_LONG_TEXT: Final = 2000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_AGREEMENT = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}\Z")


def check_text(value: object, what: str, max_len: int = MAX_TEXT, *, empty: bool = False) -> str:
    """``value`` if it is text of at most ``max_len`` characters without control characters
    (blank only if ``empty``), else ``STORE_RECORD_INVALID``."""
    if (
        not isinstance(value, str)
        or len(value) > max_len
        or _CONTROL.search(value)
        or (not empty and not value.strip())
    ):
        raise _bad(f"{what} must be text of at most {max_len} characters", what)
    return value


def _positive(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _bad(f"{what} must be a positive integer", what)


def _token(value: object, what: str) -> None:
    if value is not None:
        _blob(value, what)


# -- breaches (Art. 17) --------------------------------------------------------------------------


class BreachKind(StrEnum):
    """Art. 17: an actual or a possible loss or compromise."""

    ACTUAL = "actual"
    POSSIBLE = "possible"


class BreachStatus(StrEnum):
    """Where the reporting party's investigation stands (Art. 17)."""

    REPORTED = "reported"
    INVESTIGATING = "investigating"
    CLOSED = "closed"


BREACH_TRANSITIONS: Final[Mapping[tuple[BreachStatus, BreachStatus], str]] = {
    (BreachStatus.REPORTED, BreachStatus.INVESTIGATING): "Art. 17: the recipient investigates",
    (BreachStatus.REPORTED, BreachStatus.CLOSED): "Art. 17: results and measures reported",
    (BreachStatus.INVESTIGATING, BreachStatus.INVESTIGATING): "Art. 17: further findings",
    (BreachStatus.INVESTIGATING, BreachStatus.CLOSED): "Art. 17: results and measures reported",
}
"""Allowed (from, to) breach statuses; closed is final."""


@dataclass(frozen=True, slots=True)
class BreachRecord:
    """A reported loss or compromise of an item, as both the reporter and originator keep it.

    ``reporter`` is the party whose official reported it (any official, Art. 17) and whose
    security officer investigates; ``version`` counts the reporter's statements (1 = the report),
    so the originator applies updates once and in order.  ``token`` is the reporter's latest
    signed statement (None when the originator reports a breach of its own item).
    """

    breach_id: str
    item_id: str
    originator: str
    reporter: str
    reported_by: str
    kind: BreachKind
    description: str
    reported: datetime
    updated: datetime
    status: BreachStatus = BreachStatus.REPORTED
    version: int = 1
    investigation: str = ""
    results: str = ""
    measures: str = ""
    token: bytes | None = None

    def __post_init__(self) -> None:
        _match(_ID, self.breach_id, "breach_id")
        _item_id(self.item_id)
        _match(_PARTY, self.originator, "originator")
        _match(_PARTY, self.reporter, "reporter")
        _match(_ID, self.reported_by, "reported_by")
        _enum(self, "kind", BreachKind)
        check_text(self.description, "description", MAX_LONG_TEXT)
        _aware(self, "reported")
        _enum(self, "status", BreachStatus)
        _positive(self.version, "version")
        _aware(self, "updated")
        for name in ("investigation", "results", "measures"):
            check_text(getattr(self, name), name, MAX_LONG_TEXT, empty=True)
        if (self.version == 1) != (self.status is BreachStatus.REPORTED):
            raise _bad("a breach is 'reported' exactly at its first version", "status")
        _token(self.token, "token")

    def same_report(self, other: BreachRecord) -> bool:
        """Whether ``other`` is a later version of this breach (its fixed fields agree)."""
        fixed = ("breach_id", "item_id", "originator", "reporter", "reported_by", "kind")
        return all(getattr(self, f) == getattr(other, f) for f in fixed) and (
            self.description,
            self.reported,
        ) == (other.description, other.reported)


# -- return and destruction (Art. 6, Art. 13) -----------------------------------------------------


class DisposalAction(StrEnum):
    """Art. 6: CMI no longer needed is returned or destroyed (Art. 13)."""

    RETURN = "return"
    DESTROY = "destroy"

    @property
    def item_state(self) -> ItemState:
        """The held item's state once the action is executed."""
        return ItemState.RETURNED if self is DisposalAction.RETURN else ItemState.DESTROYED


class DisposalState(StrEnum):
    """A disposal is requested by the originator, then completed by the holder's certificate."""

    REQUESTED = "requested"
    COMPLETED = "completed"


DISPOSAL_TRANSITIONS: Final[Mapping[tuple[DisposalState, DisposalState], str]] = {
    (DisposalState.REQUESTED, DisposalState.COMPLETED): "Art. 6, Art. 13: certificate issued",
}
"""Allowed (from, to) disposal states; completed is final."""


@dataclass(frozen=True, slots=True)
class DisposalRecord:
    """The return or destruction of ``holder``'s copy of an item ``originator`` originated.

    ``requested`` and ``request`` (the originator's signed request) are None when the holder
    disposed of the item on its own ("no longer needed"); ``completed`` and ``certificate``
    (the holder's signed certificate of return or destruction) are set once it is done.
    """

    disposal_id: str
    item_id: str
    originator: str
    holder: str
    action: DisposalAction
    reason: str
    requested: datetime | None = None
    state: DisposalState = DisposalState.REQUESTED
    completed: datetime | None = None
    request: bytes | None = None
    certificate: bytes | None = None

    def __post_init__(self) -> None:
        _match(_ID, self.disposal_id, "disposal_id")
        _item_id(self.item_id)
        _match(_PARTY, self.originator, "originator")
        _match(_PARTY, self.holder, "holder")
        if self.originator == self.holder:
            raise _bad("the originator does not dispose of its own item to itself", "holder")
        _enum(self, "action", DisposalAction)
        check_text(self.reason, "reason", MAX_PURPOSE)
        _aware(self, "requested", optional=True)
        _enum(self, "state", DisposalState)
        _aware(self, "completed", optional=True)
        _token(self.request, "request")
        _token(self.certificate, "certificate")
        done = self.state is DisposalState.COMPLETED
        if done != (self.completed is not None) or done != (self.certificate is not None):
            raise _bad("completed and certificate are set exactly when completed", "state")
        if self.requested is None and not done:
            raise _bad("a disposal the originator did not request is completed", "requested")


# -- visits (Art. 8) ------------------------------------------------------------------------------


class VisitState(StrEnum):
    """Art. 8: the host approves, with the highest level that may be disclosed, or denies."""

    REQUESTED = "requested"
    APPROVED = "approved"
    DENIED = "denied"


VISIT_TRANSITIONS: Final[Mapping[tuple[VisitState, VisitState], str]] = {
    (VisitState.REQUESTED, VisitState.APPROVED): "Art. 8: host approval",
    (VisitState.REQUESTED, VisitState.DENIED): "Art. 8: host refusal",
}
"""Allowed (from, to) visit states; a decision is final."""


@dataclass(frozen=True, slots=True)
class Visitor:
    """A visiting official: name, nationality, clearance under the national scheme, post."""

    name: str
    nationality: str
    clearance: str
    post: str = ""

    def __post_init__(self) -> None:
        check_text(self.name, "visitor name")
        _match(_PARTY, self.nationality, "visitor nationality")
        check_text(self.clearance, "visitor clearance")
        check_text(self.post, "visitor post", empty=True)


@dataclass(frozen=True, slots=True)
class VisitRecord:
    """A visit by ``requester``'s personnel to ``host`` (Art. 8), kept by both nodes.

    ``level`` is the highest level, under the host's scheme, that may be disclosed (approved
    visits only); ``request`` and ``decision`` are the two parties' signed statements.
    """

    visit_id: str
    requester: str
    host: str
    visitor: Visitor
    purpose: str
    start: datetime
    end: datetime
    requested: datetime
    request: bytes
    state: VisitState = VisitState.REQUESTED
    level: str | None = None
    decided: datetime | None = None
    note: str = ""
    decision: bytes | None = None

    def __post_init__(self) -> None:
        _match(_ID, self.visit_id, "visit_id")
        _match(_PARTY, self.requester, "requester")
        _match(_PARTY, self.host, "host")
        if self.requester == self.host:
            raise _bad("a party does not visit itself", "host")
        if not isinstance(self.visitor, Visitor):
            raise _bad("visitor must be a Visitor", "visitor")
        if self.visitor.nationality != self.requester:
            raise _bad("the visitor is of the requesting party (Art. 8)", "visitor")
        check_text(self.purpose, "purpose", MAX_PURPOSE)
        for name in ("start", "end", "requested"):
            _aware(self, name)
        if self.end <= self.start:
            raise _bad("a visit ends after it starts", "end")
        _blob(self.request, "request")
        _enum(self, "state", VisitState)
        _aware(self, "decided", optional=True)
        check_text(self.note, "note", MAX_PURPOSE, empty=True)
        _token(self.decision, "decision")
        if self.level is not None:
            check_text(self.level, "level")
        open_ = self.state is VisitState.REQUESTED
        if open_ != (self.decided is None) or open_ != (self.decision is None):
            raise _bad("decided and decision are set exactly once decided", "state")
        if (self.state is VisitState.APPROVED) != (self.level is not None):
            raise _bad("an approval, and only an approval, names a level", "level")


# -- reclassification (Art. 6) and agreement events (Art. 21) ------------------------------------


@dataclass(frozen=True, slots=True)
class ReclassificationRecord:
    """The originator's ``seq``-th reclassification of an item, from ``previous`` to ``level``
    (both in the originator's scheme).  ``token`` is the originator's signed notice, as a holder
    received it (None at the originator, which signs one notice per holder)."""

    item_id: str
    seq: int
    originator: str
    previous: str
    level: str
    at: datetime
    token: bytes | None = None

    def __post_init__(self) -> None:
        _item_id(self.item_id)
        _positive(self.seq, "seq")
        _match(_PARTY, self.originator, "originator")
        check_text(self.previous, "previous")
        check_text(self.level, "level")
        _aware(self, "at")
        _token(self.token, "token")


@dataclass(frozen=True, slots=True)
class AgreementEventRecord:
    """An agreement event this node's security officer recorded (Art. 21), numbered by ``seq``.

    The node applies its recorded events, in ``seq`` order, over the built-in agreements.
    """

    seq: int
    agreement_id: str
    event: Event
    recorded: datetime
    recorded_by: str

    def __post_init__(self) -> None:
        _positive(self.seq, "seq")
        _match(_AGREEMENT, self.agreement_id, "agreement_id")
        if not isinstance(self.event, Event) or self.event.hypothetical:
            raise _bad("event must be a recorded (not hypothetical) Event", "event")
        _aware(self, "recorded")
        _match(_ID, self.recorded_by, "recorded_by")
