"""What an agreement is at an instant, and why; and its history, event by event.

``status_at`` answers the questions of PRODUCT.md §4 for any instant: state, whether new exchanges
are allowed, the current term, the next renewal, the notice deadline, the pending notice and the
reasons, each citing the agreement's duration clause (Art. 21 for ROK–JPN).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gsomia.agreements.lifecycle import (
    NOTICE_EFFECTIVE,
    PendingNotice,
    Segment,
    Timeline,
    compile_timeline,
    notice_deadline,
    notice_takes_effect,
    term_bounds,
)
from gsomia.agreements.model import Agreement, EventKind, State
from gsomia.instants import add_years, format_instant, require_aware
from gsomia.reasons import Reason


@dataclass(frozen=True, slots=True)
class Status:
    """The agreement at one instant."""

    agreement: str
    at: datetime
    state: State
    exchange_allowed: bool
    table_version: int | None
    term_number: int | None
    term_start: datetime | None
    term_end: datetime | None
    next_renewal: datetime | None
    notice_deadline: datetime | None
    notice_deadline_passed: bool
    notice_now_takes_effect: datetime | None
    pending_notice: PendingNotice | None
    hypothetical: bool
    reasons: tuple[Reason, ...]


def status_at(source: Agreement | Timeline, at: datetime) -> Status:
    """The status of the agreement (or its compiled timeline) at instant ``at``."""
    timeline = source if isinstance(source, Timeline) else compile_timeline(source)
    at = require_aware(at)
    agreement = timeline.agreement
    seg = timeline.segment_at(at)
    tz, cite = agreement.tz, agreement.cite

    def show(value: datetime) -> str:
        return format_instant(value, tz)

    reasons: list[Reason] = []
    term_n = term_start = term_end = renewal = deadline = if_now = None
    passed = False
    entry = seg.entry_into_force
    state = seg.state
    if state is State.NOT_IN_FORCE:
        if seg.signed_at is None:
            reasons.append(
                Reason("NOT_SIGNED", f"{agreement.id} was not signed by {show(at)}", cite)
            )
        else:
            reasons.append(
                Reason("NOT_YET_IN_FORCE", f"signed {show(seg.signed_at)}; not yet in force", cite)
            )
    elif state is State.TERMINATED:
        reasons.append(_terminated_reason(agreement, seg, show))
    else:
        assert entry is not None
        if agreement.term_years is not None:
            term_n, term_start, term_end = term_bounds(agreement, entry, at)
            reasons.append(
                Reason(
                    "IN_FORCE",
                    f"in force since {show(entry)}; term {term_n} runs {show(term_start)} to "
                    f"{show(term_end)}; extended automatically {_every(agreement.term_years)} "
                    f"unless written notice is given {agreement.notice_days} days in advance",
                    cite,
                )
            )
        else:
            reasons.append(
                Reason(
                    "IN_FORCE",
                    f"in force since {show(entry)}, without a fixed term, until terminated",
                    cite,
                )
            )
        notice = seg.notice
        if state is State.IN_FORCE:
            renewal = term_end
            if term_end is not None:
                deadline = notice_deadline(agreement, term_end)
                passed = at > deadline
            if_now = notice_takes_effect(agreement, entry, at)
            if passed and deadline is not None:
                reasons.append(
                    Reason(
                        "NOTICE_DEADLINE_PASSED",
                        f"the notice deadline for this term was {show(deadline)}; a notice given now "
                        f"takes effect at {show(if_now)}",
                        cite,
                    )
                )
        elif state is State.NOTICE_GIVEN:
            assert notice is not None
            assert notice.effective is not None
            if term_end is not None and notice.effective > term_end:
                renewal = term_end
            resumed = (
                f"; the suspension was lifted {show(notice.resumed_at)}"
                if notice.resumed_at
                else ""
            )
            reasons.append(
                Reason(
                    "NOTICE_PENDING",
                    f"{notice.by} gave written notice of termination {show(notice.given_at)}"
                    f"{resumed}; termination takes effect {show(notice.effective)}",
                    cite,
                )
            )
        else:  # NOTICE_SUSPENDED
            assert notice is not None
            assert notice.suspended_at is not None
            renewal = term_end
            disputed = (
                f"; {notice.disputed_by} disputes that condition" if notice.disputed_by else ""
            )
            condition = f" on condition that {notice.condition}" if notice.condition else ""
            reasons.append(
                Reason(
                    "NOTICE_SUSPENDED",
                    f"{notice.by} suspended the effect of its notice of {show(notice.given_at)} at "
                    f"{show(notice.suspended_at)}{condition}{disputed}; the agreement stays in force",
                    cite,
                )
            )
        if seg.table_version > 1:
            reasons.append(
                Reason(
                    "AMENDED",
                    f"equivalence table version {seg.table_version} "
                    "applies since the last amendment",
                    cite,
                )
            )
    if seg.hypothetical:
        reasons.append(Reason("HYPOTHETICAL", "this status includes hypothetical events", ""))
    return Status(
        agreement=agreement.id,
        at=at,
        state=state,
        exchange_allowed=state.exchange_allowed,
        table_version=seg.table_version or None,
        term_number=term_n,
        term_start=term_start,
        term_end=term_end,
        next_renewal=renewal,
        notice_deadline=deadline,
        notice_deadline_passed=passed,
        notice_now_takes_effect=if_now,
        pending_notice=seg.notice if state is not State.TERMINATED else None,
        hypothetical=seg.hypothetical,
        reasons=tuple(reasons),
    )


def _every(years: int) -> str:
    return "each year" if years == 1 else f"every {years} years"


def _terminated_reason(
    agreement: Agreement, seg: Segment, show: Callable[[datetime], str]
) -> Reason:
    if seg.cause is None and seg.notice is not None:
        how = f"on the notice {seg.notice.by} gave {show(seg.notice.given_at)}"
    else:
        how = "by the parties' decision"
    return Reason(
        "TERMINATED",
        f"terminated {show(seg.start)} {how}; no new exchanges; CMI already provided "
        "stays protected",
        agreement.cite,
    )


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of an agreement's history and the state it produced."""

    at: datetime
    kind: str
    by: str | None
    note: str
    state: State
    exchange_allowed: bool
    hypothetical: bool


def history(
    source: Agreement | Timeline, until: datetime | None = None
) -> tuple[HistoryEntry, ...]:
    """Events, timed terminations and (up to ``until``) automatic renewals, in time order."""
    timeline = source if isinstance(source, Timeline) else compile_timeline(source)
    agreement = timeline.agreement
    entries: list[HistoryEntry] = []
    for event, state in zip(agreement.events, timeline.after, strict=True):
        entries.append(
            HistoryEntry(
                at=event.at,
                kind=str(event.kind),
                by=event.by,
                note=event.note,
                state=state,
                exchange_allowed=state.exchange_allowed,
                hypothetical=event.hypothetical,
            )
        )
    for seg in timeline.segments:
        if seg.cause is None and seg.state is State.TERMINATED:
            by = seg.notice.by if seg.notice else None
            entries.append(
                HistoryEntry(
                    at=seg.start,
                    kind=NOTICE_EFFECTIVE,
                    by=by,
                    note="the notice of termination takes effect",
                    state=seg.state,
                    exchange_allowed=False,
                    hypothetical=seg.hypothetical,
                )
            )
    entries.extend(_renewals(timeline, until))
    order = {str(k): i for i, k in enumerate(EventKind)}
    entries.sort(key=lambda e: (e.at, order.get(e.kind, 99)))
    return tuple(entries)


def _renewals(timeline: Timeline, until: datetime | None) -> list[HistoryEntry]:
    agreement = timeline.agreement
    entry_seg = next((s for s in timeline.segments if s.entry_into_force is not None), None)
    if agreement.term_years is None or entry_seg is None or until is None:
        return []
    entry = entry_seg.entry_into_force
    assert entry is not None
    out: list[HistoryEntry] = []
    k = 1
    while True:
        when = add_years(entry, k * agreement.term_years, agreement.tz)
        if when > until:
            return out
        seg = timeline.segment_at(when)
        if not seg.state.exchange_allowed:
            return out
        out.append(
            HistoryEntry(
                at=when,
                kind="renewed",
                by=None,
                note=f"term {k + 1} begins: extended automatically",
                state=seg.state,
                exchange_allowed=True,
                hypothetical=seg.hypothetical,
            )
        )
        k += 1


def _iso(value: datetime | None, tz: ZoneInfo) -> str | None:
    return None if value is None else format_instant(value, tz)


def status_to_dict(status: Status, tz: ZoneInfo) -> dict[str, Any]:
    """The JSON form of a status (instants with offset, in the agreement's zone)."""
    notice = status.pending_notice
    return {
        "agreement": status.agreement,
        "at": _iso(status.at, tz),
        "zone": str(tz.key),
        "state": str(status.state),
        "exchange_allowed": status.exchange_allowed,
        "table_version": status.table_version,
        "term_number": status.term_number,
        "term_start": _iso(status.term_start, tz),
        "term_end": _iso(status.term_end, tz),
        "next_renewal": _iso(status.next_renewal, tz),
        "notice_deadline": _iso(status.notice_deadline, tz),
        "notice_deadline_passed": status.notice_deadline_passed,
        "notice_now_takes_effect": _iso(status.notice_now_takes_effect, tz),
        "pending_notice": None
        if notice is None
        else {
            "given_at": _iso(notice.given_at, tz),
            "by": notice.by,
            "effective": _iso(notice.effective, tz),
            "suspended": notice.suspended,
            "suspended_at": _iso(notice.suspended_at, tz),
            "condition": notice.condition or None,
            "disputed_by": notice.disputed_by,
            "resumed_at": _iso(notice.resumed_at, tz),
        },
        "hypothetical": status.hypothetical,
        "reasons": [r.to_dict() for r in status.reasons],
    }


def history_to_dict(entry: HistoryEntry, tz: ZoneInfo) -> dict[str, Any]:
    """The JSON form of one history line."""
    return {
        "at": _iso(entry.at, tz),
        "event": entry.kind,
        "by": entry.by,
        "note": entry.note,
        "state": str(entry.state),
        "exchange_allowed": entry.exchange_allowed,
        "hypothetical": entry.hypothetical,
    }


def summary_to_dict(agreement: Agreement, status: Status) -> dict[str, Any]:
    """One agreement and its state at ``status.at`` (Art. 21), as JSON.

    A row of ``gsomia agreements list --json`` and of ``GET /v1/agreements`` (issue 4 §3).
    """
    return {
        "id": agreement.id,
        "title": agreement.title,
        "kind": str(agreement.kind),
        "parties": list(agreement.parties),
        "hub": agreement.hub,
        "topics": None if agreement.topics is None else sorted(agreement.topics),
        "state": str(status.state),
        "exchange_allowed": status.exchange_allowed,
        "table_version": status.table_version,
        "assumed": any(t.assumed for t in agreement.tables),
    }
