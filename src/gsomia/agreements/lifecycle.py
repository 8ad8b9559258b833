"""The agreement lifecycle (Art. 21) as one transition table, and its compiled timeline.

Theory of operation
-------------------
:data:`TRANSITIONS` maps ``(state, event kind)`` to the next state; a pair not in the table is an
impossible history and raises :class:`~gsomia.errors.EventSequenceError` (as h11 does for an
unexpected event).  The one *timed* transition is a pending notice reaching the instant it takes
effect, which moves ``notice_given`` to ``terminated`` by itself.

:func:`compile_timeline` folds the events, in time order, into a list of :class:`Segment` —
half-open intervals ``[start, next start)`` with the state, the equivalence table version and the
pending notice.  The status at any instant is then a binary search plus arithmetic on terms; a
policy decision needs only the binary search.

Rules (PRODUCT.md §4, Art. 21 of the 2016 ROK–JPN text):

- the first term starts at entry into force; each term lasts ``term_years``; the next term starts
  on the anniversary, at the same wall-clock time in the agreement's zone, unless termination takes
  effect then;
- a notice of termination given at least ``notice_days`` calendar days before the end of the current
  term takes effect at that end, otherwise at the end of the following term; for an agreement
  without terms it takes effect ``notice_days`` after it is given;
- a notice can be suspended (the agreement stays in force), resumed (termination takes effect at the
  instant the resumption names) or withdrawn (normal annual extension again);
- terminated is final: no event may follow it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from gsomia.agreements.model import Agreement, Event, EventKind, State
from gsomia.errors import EventSequenceError
from gsomia.instants import add_years, format_instant, subtract_days

_S, _E = State, EventKind

#: The lifecycle as data: (state, event) → next state.  Drawn in docs/architecture.md.
TRANSITIONS: Mapping[tuple[State, EventKind], State] = {
    (_S.NOT_IN_FORCE, _E.SIGNED): _S.NOT_IN_FORCE,
    (_S.NOT_IN_FORCE, _E.ENTERED_INTO_FORCE): _S.IN_FORCE,
    (_S.IN_FORCE, _E.NOTICE_GIVEN): _S.NOTICE_GIVEN,
    (_S.NOTICE_GIVEN, _E.NOTICE_SUSPENDED): _S.NOTICE_SUSPENDED,
    (_S.NOTICE_SUSPENDED, _E.NOTICE_RESUMED): _S.NOTICE_GIVEN,
    (_S.NOTICE_GIVEN, _E.NOTICE_WITHDRAWN): _S.IN_FORCE,
    (_S.NOTICE_SUSPENDED, _E.NOTICE_WITHDRAWN): _S.IN_FORCE,
    (_S.IN_FORCE, _E.AMENDED): _S.IN_FORCE,
    (_S.NOTICE_GIVEN, _E.AMENDED): _S.NOTICE_GIVEN,
    (_S.NOTICE_SUSPENDED, _E.AMENDED): _S.NOTICE_SUSPENDED,
    (_S.IN_FORCE, _E.TERMINATED): _S.TERMINATED,
    (_S.NOTICE_GIVEN, _E.TERMINATED): _S.TERMINATED,
    (_S.NOTICE_SUSPENDED, _E.TERMINATED): _S.TERMINATED,
}

#: The timed transition: a pending notice reaches the instant it takes effect.
NOTICE_EFFECTIVE = "notice_effective"
TIMED: Mapping[State, State] = {_S.NOTICE_GIVEN: _S.TERMINATED}

_BEGINNING = datetime(1, 1, 2, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PendingNotice:
    """A notice of termination that has not (yet) taken effect."""

    given_at: datetime
    by: str
    effective: datetime | None
    suspended_at: datetime | None = None
    condition: str = ""
    disputed_by: str | None = None
    resumed_at: datetime | None = None

    @property
    def suspended(self) -> bool:
        """Whether the notice's effect is suspended."""
        return self.suspended_at is not None and self.resumed_at is None


@dataclass(frozen=True, slots=True)
class Segment:
    """The agreement from ``start`` until the next segment starts."""

    start: datetime
    state: State
    table_version: int
    notice: PendingNotice | None
    cause: Event | None
    entry_into_force: datetime | None
    signed_at: datetime | None
    hypothetical: bool

    @property
    def cause_kind(self) -> str:
        """The event kind that started this segment, or ``notice_effective`` if it was timed."""
        if self.cause is None:
            return NOTICE_EFFECTIVE if self.state is State.TERMINATED else "initial"
        return str(self.cause.kind)


@dataclass(frozen=True, slots=True)
class Timeline:
    """The compiled history of one agreement."""

    agreement: Agreement
    segments: tuple[Segment, ...]
    starts: tuple[float, ...]
    after: tuple[State, ...]
    """The state right after each of ``agreement.events``, in order."""

    def segment_at(self, at: datetime) -> Segment:
        """The segment holding instant ``at``."""
        return self.segments[bisect_right(self.starts, at.timestamp()) - 1]

    def segment_at_ts(self, ts: float) -> Segment:
        """The segment holding the POSIX timestamp ``ts`` (the fast path of decisions)."""
        return self.segments[bisect_right(self.starts, ts) - 1]


def term_bounds(
    agreement: Agreement, entry: datetime, at: datetime
) -> tuple[int, datetime, datetime]:
    """``(n, start, end)`` of the term holding ``at`` (n counts from 1); needs ``term_years``."""
    years = agreement.term_years
    assert years is not None
    tz = agreement.tz
    n = max(0, (at.astimezone(tz).year - entry.astimezone(tz).year) // years - 1)
    start = add_years(entry, n * years, tz)
    while True:
        end = add_years(entry, (n + 1) * years, tz)
        if at < end:
            return n + 1, start, end
        n, start = n + 1, end


def notice_deadline(agreement: Agreement, term_end: datetime) -> datetime:
    """The last instant at which a notice still ends the term that ends at ``term_end``."""
    return subtract_days(term_end, agreement.notice_days or 0, agreement.tz)


def notice_takes_effect(agreement: Agreement, entry: datetime, given: datetime) -> datetime:
    """When a notice given at ``given`` takes effect (Art. 21)."""
    if agreement.term_years is None:
        return given + timedelta(days=agreement.notice_days or 0)
    _, _, end = term_bounds(agreement, entry, given)
    if given <= notice_deadline(agreement, end):
        return end
    return add_years(end, agreement.term_years, agreement.tz)


def _refuse(agreement: Agreement, event: Event, why: str) -> EventSequenceError:
    when = format_instant(event.at, agreement.tz)
    return EventSequenceError(
        f"{agreement.id}: cannot apply {event.kind} at {when}: {why}",
        detail={"agreement": agreement.id, "event": str(event.kind), "at": when},
    )


def _check_guards(agreement: Agreement, seg: Segment, event: Event) -> None:
    """Conditions beyond the table: who may do what, and when."""
    kind = event.kind
    if kind is EventKind.SIGNED and seg.signed_at is not None:
        raise _refuse(agreement, event, "it was already signed")
    if kind is not EventKind.SIGNED and seg.signed_at is None:
        raise _refuse(agreement, event, "events before signature are impossible")
    notice = seg.notice
    if (
        notice is not None
        and kind
        in (EventKind.NOTICE_SUSPENDED, EventKind.NOTICE_RESUMED, EventKind.NOTICE_WITHDRAWN)
        and event.by != notice.by
    ):
        raise _refuse(agreement, event, f"only {notice.by}, which gave the notice, can do that")
    if kind is EventKind.NOTICE_SUSPENDED and event.disputed_by == event.by:
        raise _refuse(agreement, event, "a party cannot dispute its own condition")
    if (
        kind is EventKind.NOTICE_RESUMED
        and event.effective is not None
        and event.effective < event.at
    ):
        raise _refuse(agreement, event, "termination cannot take effect before the resumption")


def _apply(agreement: Agreement, seg: Segment, event: Event) -> Segment:
    nxt = TRANSITIONS.get((seg.state, event.kind))
    if nxt is None:
        why = {
            State.TERMINATED: "the agreement is terminated, which is final",
            State.NOT_IN_FORCE: "the agreement is not in force",
            State.IN_FORCE: "no notice of termination is pending",
        }.get(seg.state, f"the agreement is in state {seg.state}")
        raise _refuse(agreement, event, why)
    _check_guards(agreement, seg, event)
    new = replace(
        seg,
        start=event.at,
        state=nxt,
        cause=event,
        hypothetical=seg.hypothetical or event.hypothetical,
    )
    kind = event.kind
    if kind is EventKind.SIGNED:
        new = replace(new, signed_at=event.at)
    elif kind is EventKind.ENTERED_INTO_FORCE:
        new = replace(new, entry_into_force=event.at, table_version=1)
    elif kind is EventKind.NOTICE_GIVEN:
        assert seg.entry_into_force is not None
        assert event.by is not None
        effective = notice_takes_effect(agreement, seg.entry_into_force, event.at)
        new = replace(
            new, notice=PendingNotice(given_at=event.at, by=event.by, effective=effective)
        )
    elif kind is EventKind.NOTICE_SUSPENDED:
        assert seg.notice is not None
        new = replace(
            new,
            notice=replace(
                seg.notice,
                effective=None,
                suspended_at=event.at,
                condition=event.condition,
                disputed_by=event.disputed_by,
                resumed_at=None,
            ),
        )
    elif kind is EventKind.NOTICE_RESUMED:
        assert seg.notice is not None
        new = replace(
            new, notice=replace(seg.notice, effective=event.effective, resumed_at=event.at)
        )
    elif kind in (EventKind.NOTICE_WITHDRAWN, EventKind.TERMINATED):
        new = replace(new, notice=None)
    elif kind is EventKind.AMENDED:
        assert event.table_version is not None
        if event.table_version <= seg.table_version:
            raise _refuse(agreement, event, "an amendment brings a newer table version")
        new = replace(new, table_version=event.table_version)
    return new


def compile_timeline(agreement: Agreement) -> Timeline:
    """Fold the agreement's events into segments, refusing an impossible history."""
    seg = Segment(
        start=_BEGINNING,
        state=State.NOT_IN_FORCE,
        table_version=0,
        notice=None,
        cause=None,
        entry_into_force=None,
        signed_at=None,
        hypothetical=False,
    )
    segments = [seg]
    after: list[State] = []
    last: datetime | None = None
    for event in agreement.events:
        if last is not None and event.at < last:
            raise _refuse(agreement, event, "events must be in time order")
        last = event.at
        # The timed transition fires first if the notice took effect before this event.
        if (
            seg.state in TIMED
            and seg.notice is not None
            and seg.notice.effective is not None
            and seg.notice.effective <= event.at
        ):
            seg = replace(seg, start=seg.notice.effective, state=TIMED[seg.state], cause=None)
            segments.append(seg)
        seg = _apply(agreement, seg, event)
        after.append(seg.state)
        if seg.start == segments[-1].start and len(segments) > 1:
            segments[-1] = seg  # two events at one instant: the later one wins
        else:
            segments.append(seg)
    if seg.state in TIMED and seg.notice is not None and seg.notice.effective is not None:
        segments.append(
            replace(seg, start=seg.notice.effective, state=TIMED[seg.state], cause=None)
        )
    return Timeline(
        agreement, tuple(segments), tuple(s.start.timestamp() for s in segments), tuple(after)
    )


def mermaid() -> str:
    """The lifecycle table drawn as a Mermaid state diagram (kept in docs/architecture.md)."""
    lines = ["stateDiagram-v2", f"    [*] --> {State.NOT_IN_FORCE}"]
    for (state, kind), nxt in TRANSITIONS.items():
        lines.append(f"    {state} --> {nxt}: {kind}")
    for state, nxt in TIMED.items():
        lines.append(f"    {state} --> {nxt}: {NOTICE_EFFECTIVE} (timed)")
    lines.append(f"    {State.TERMINATED} --> [*]")
    return "\n".join(lines)
