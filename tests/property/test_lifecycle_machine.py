"""Hypothesis state machine over random agreement histories (Art. 21 lifecycle).

Random events at random later instants are appended one by one.  Each history either compiles or
is refused with EventSequenceError (never anything else), and for every history that compiles:
status is defined at every instant, terminated is final, new exchanges are allowed iff the
agreement is in force, a notice takes effect at a term end at least 90 days later, and the
status's term and deadline are consistent.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings
from hypothesis import event as note_event
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from gsomia.agreements import (
    Agreement,
    Event,
    EventKind,
    Kind,
    State,
    compile_timeline,
    status_at,
)
from gsomia.agreements.model import _EXCHANGE_STATES
from gsomia.errors import EventSequenceError
from gsomia.markings import EquivalenceRow, EquivalenceTable
from tests.conftest import at

START = at("2016-11-23T00:00:00+09:00")
ROWS = (EquivalenceRow("SECRET", {"KOR": ("군사II급비밀",), "JPN": ("極秘",)}, "Art. 4"),)


def make(events: tuple[Event, ...], term_years: int | None) -> Agreement:
    return Agreement(
        id="prop",
        title="prop",
        kind=Kind.BILATERAL,
        parties=("KOR", "JPN"),
        tables=(EquivalenceTable("prop", 1, ROWS), EquivalenceTable("prop", 2, ROWS)),
        events=events,
        zone_name="Asia/Seoul",
        term_years=term_years,
    )


# Notice events are weighted up, and explicit termination down, so that suspensions and
# resumptions are reached often.
kinds = st.sampled_from(
    [
        *EventKind,
        *[EventKind.NOTICE_GIVEN] * 3,
        *[EventKind.NOTICE_SUSPENDED] * 3,
        *[EventKind.NOTICE_RESUMED] * 2,
        EventKind.NOTICE_WITHDRAWN,
    ]
)
# Mostly the notifier (KOR), sometimes the other party, whose follow-ups must be refused.
parties = st.sampled_from(["KOR", "KOR", "KOR", "JPN"])
gaps = st.one_of(
    st.integers(min_value=0, max_value=40 * 24 * 3600),
    st.integers(min_value=0, max_value=800 * 24 * 3600),
).map(lambda s: timedelta(seconds=s))


class Lifecycle(RuleBasedStateMachine):
    @initialize(term=st.sampled_from([1, 2, None]), in_force=st.booleans())
    def start(self, term: int | None, in_force: bool) -> None:
        self.term = term
        # Most runs start in force, so that notices, suspensions and terminations are reached.
        self.events: tuple[Event, ...] = (
            (Event(EventKind.SIGNED, START), Event(EventKind.ENTERED_INTO_FORCE, START))
            if in_force
            else ()
        )
        self.now = START
        self.timeline = compile_timeline(make(self.events, term))

    @rule(kind=kinds, gap=gaps, by=parties, other=parties, eff_gap=gaps)
    def append(self, kind, gap, by, other, eff_gap) -> None:
        when = self.now + gap
        extra: dict[str, object] = {}
        if kind in (
            EventKind.NOTICE_SUSPENDED,
            EventKind.NOTICE_RESUMED,
            EventKind.NOTICE_WITHDRAWN,
        ):
            extra["by"] = by
        if kind is EventKind.NOTICE_GIVEN:
            extra["by"] = "KOR"  # one notifier, so that its follow-ups match often
        if kind is EventKind.NOTICE_SUSPENDED and other != by:
            extra["disputed_by"] = other
        if kind is EventKind.NOTICE_RESUMED:
            extra["effective"] = when + eff_gap
        if kind is EventKind.AMENDED:
            extra["table_version"] = 2
        event = Event(kind, when, **extra)  # type: ignore[arg-type]
        candidate = (*self.events, event)
        try:
            timeline = compile_timeline(make(candidate, self.term))
        except EventSequenceError:
            # Refused: the previous history still stands, and appending after a final
            # termination is always among the refusals.
            return
        note_event(f"accepted {kind}")
        before = self.timeline.segment_at(when)
        assert before.state is not State.TERMINATED, "an event was accepted after termination"
        self.events, self.now, self.timeline = candidate, when, timeline

    @invariant()
    def segments_are_ordered_and_terminated_is_final(self) -> None:
        segs = self.timeline.segments
        assert list(self.timeline.starts) == sorted(self.timeline.starts)
        seen_terminated = False
        for seg in segs:
            if seen_terminated:
                assert seg.state is State.TERMINATED
            seen_terminated = seen_terminated or seg.state is State.TERMINATED

    @invariant()
    def status_is_defined_and_consistent(self) -> None:
        probes = [START - timedelta(days=1), START, self.now, self.now + timedelta(days=400)]
        probes += [s.start for s in self.timeline.segments[1:]]
        for instant in probes:
            status = status_at(self.timeline, instant)
            assert status.exchange_allowed == (status.state in _EXCHANGE_STATES)
            if status.state in _EXCHANGE_STATES and self.term is not None:
                assert status.term_start is not None
                assert status.term_end is not None
                assert status.term_start <= instant < status.term_end
            if status.notice_deadline is not None:
                assert status.term_end is not None
                assert status.notice_deadline <= status.term_end
                assert status.notice_deadline_passed == (instant > status.notice_deadline)
            if status.state is State.TERMINATED:
                assert status.next_renewal is None
                assert not status.exchange_allowed

    @invariant()
    def a_notice_takes_effect_at_least_ninety_days_later(self) -> None:
        for seg in self.timeline.segments:
            notice = seg.notice
            if (
                seg.cause is not None
                and seg.cause.kind is EventKind.NOTICE_GIVEN
                and notice is not None
                and notice.effective is not None
            ):
                lead = notice.effective - notice.given_at
                assert lead >= timedelta(days=90)
                if self.term is not None:
                    assert lead <= timedelta(days=366 * 2 * self.term)


Lifecycle.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLifecycle = Lifecycle.TestCase
