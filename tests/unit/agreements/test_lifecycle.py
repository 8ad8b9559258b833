"""The Art. 21 lifecycle on the real ROK–JPN history and on constructed ones."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gsomia.agreements import (
    TRANSITIONS,
    Agreement,
    Event,
    EventKind,
    Kind,
    State,
    compile_timeline,
    history,
    status_at,
)
from gsomia.errors import AgreementError, EventSequenceError
from gsomia.markings import EquivalenceRow, EquivalenceTable
from tests.conftest import at

KST = "+09:00"


def agreement(*events: Event, term_years: int | None = 1, tables: int = 1) -> Agreement:
    rows = (EquivalenceRow("SECRET", {"KOR": ("군사II급비밀",), "JPN": ("極秘",)}, "Art. 4"),)
    return Agreement(
        id="test",
        title="test",
        kind=Kind.BILATERAL,
        parties=("KOR", "JPN"),
        tables=tuple(EquivalenceTable("test", v, rows) for v in range(1, tables + 1)),
        events=events,
        zone_name="Asia/Seoul",
        term_years=term_years,
        duration_clause="Art. 21",
    )


SIGNED = Event(EventKind.SIGNED, at(f"2016-11-23T00:00:00{KST}"))
IN_FORCE = Event(EventKind.ENTERED_INTO_FORCE, at(f"2016-11-23T00:00:00{KST}"))


def notice(when: str, by: str = "KOR") -> Event:
    return Event(EventKind.NOTICE_GIVEN, at(when), by=by)


class TestRealHistory:
    """PRODUCT.md §4: the built-in ROK–JPN event log."""

    @pytest.mark.parametrize(
        ("instant", "state", "allowed"),
        [
            ("2016-11-22T23:59:59+09:00", State.NOT_IN_FORCE, False),
            ("2016-11-23T00:00:00+09:00", State.IN_FORCE, True),
            ("2019-08-22T23:59:59+09:00", State.IN_FORCE, True),
            ("2019-08-23T00:00:00+09:00", State.NOTICE_GIVEN, True),
            ("2019-11-22T17:59:59+09:00", State.NOTICE_GIVEN, True),
            ("2019-11-22T18:00:00+09:00", State.NOTICE_SUSPENDED, True),
            ("2019-11-23T00:00:01+09:00", State.NOTICE_SUSPENDED, True),
            ("2022-06-01T00:00:00+09:00", State.NOTICE_SUSPENDED, True),
            ("2023-03-21T00:00:00+09:00", State.IN_FORCE, True),
            ("2026-11-23T00:00:00+09:00", State.IN_FORCE, True),
        ],
    )
    def test_state_at(self, registry, instant, state, allowed):
        status = status_at(registry.timeline("kor-jpn-gsomia-2016"), at(instant))
        assert status.state is state
        assert status.exchange_allowed is allowed

    def test_the_2019_notice_would_have_ended_the_agreement_at_midnight(self, registry):
        status = status_at(
            registry.timeline("kor-jpn-gsomia-2016"), at("2019-09-01T00:00:00+09:00")
        )
        assert status.pending_notice is not None
        assert status.pending_notice.effective == at("2019-11-23T00:00:00+09:00")
        assert status.next_renewal is None
        assert status.notice_deadline is None

    def test_suspension_keeps_renewing_and_names_the_dispute(self, registry):
        status = status_at(
            registry.timeline("kor-jpn-gsomia-2016"), at("2021-01-01T00:00:00+09:00")
        )
        assert status.term_number == 5
        assert status.next_renewal == at("2021-11-23T00:00:00+09:00")
        notice = status.pending_notice
        assert notice is not None
        assert notice.suspended
        assert notice.disputed_by == "JPN"
        assert "NOTICE_SUSPENDED" in [r.code for r in status.reasons]

    def test_today(self, registry):
        status = status_at(
            registry.timeline("kor-jpn-gsomia-2016"), at("2026-11-23T15:00:00+09:00")
        )
        assert status.term_number == 11
        assert status.term_start == at("2026-11-23T00:00:00+09:00")
        assert status.term_end == at("2027-11-23T00:00:00+09:00")
        assert status.next_renewal == status.term_end
        # 90 calendar days before 23 Nov 2027 in Seoul
        assert status.notice_deadline == at("2027-08-25T00:00:00+09:00")
        assert not status.notice_deadline_passed
        assert status.notice_now_takes_effect == at("2027-11-23T00:00:00+09:00")

    def test_history_lists_events_renewals_and_states(self, registry):
        entries = history(
            registry.timeline("kor-jpn-gsomia-2016"), until=at("2026-11-23T12:00:00+09:00")
        )
        kinds = [e.kind for e in entries]
        assert kinds[:2] == ["signed", "entered_into_force"]
        assert entries[0].state is State.NOT_IN_FORCE
        assert entries[1].state is State.IN_FORCE
        assert kinds.count("renewed") == 10
        suspended = next(e for e in entries if e.kind == "notice_suspended")
        assert suspended.state is State.NOTICE_SUSPENDED
        assert [e.at for e in entries] == sorted(e.at for e in entries)


class TestNoticeRules:
    def test_notice_on_the_deadline_ends_the_current_term(self):
        ag = agreement(SIGNED, IN_FORCE, notice("2019-08-25T00:00:00+09:00"))
        timeline = compile_timeline(ag)
        assert timeline.segments[-1].state is State.TERMINATED
        assert timeline.segments[-1].start == at("2019-11-23T00:00:00+09:00")

    def test_notice_one_second_late_ends_the_following_term(self):
        ag = agreement(SIGNED, IN_FORCE, notice("2019-08-25T00:00:01+09:00"))
        end = compile_timeline(ag).segments[-1]
        assert end.state is State.TERMINATED
        assert end.start == at("2020-11-23T00:00:00+09:00")
        # one more renewal happens before that
        status = status_at(ag, at("2019-10-01T00:00:00+09:00"))
        assert status.next_renewal == at("2019-11-23T00:00:00+09:00")

    def test_terminated_agreement_allows_no_exchange_and_explains(self):
        ag = agreement(SIGNED, IN_FORCE, notice("2019-08-23T00:00:00+09:00"))
        status = status_at(ag, at("2019-11-23T00:00:00+09:00"))
        assert status.state is State.TERMINATED
        assert not status.exchange_allowed
        assert status.reasons[0].code == "TERMINATED"
        assert "stays protected" in status.reasons[0].message

    def test_resumed_notice_takes_effect_at_the_named_instant(self):
        ag = agreement(
            SIGNED,
            IN_FORCE,
            notice("2019-08-23T00:00:00+09:00"),
            Event(EventKind.NOTICE_SUSPENDED, at("2019-11-22T18:00:00+09:00"), by="KOR"),
            Event(
                EventKind.NOTICE_RESUMED,
                at("2020-06-01T00:00:00+09:00"),
                by="KOR",
                effective=at("2020-06-15T00:00:00+09:00"),
            ),
        )
        assert status_at(ag, at("2020-06-14T23:59:59+09:00")).state is State.NOTICE_GIVEN
        assert status_at(ag, at("2020-06-15T00:00:00+09:00")).state is State.TERMINATED

    def test_withdrawal_restores_normal_extension(self):
        ag = agreement(
            SIGNED,
            IN_FORCE,
            notice("2019-08-23T00:00:00+09:00"),
            Event(EventKind.NOTICE_WITHDRAWN, at("2019-10-01T00:00:00+09:00"), by="KOR"),
        )
        status = status_at(ag, at("2019-12-01T00:00:00+09:00"))
        assert status.state is State.IN_FORCE
        assert status.next_renewal == at("2020-11-23T00:00:00+09:00")

    def test_deadline_passed_is_reported(self):
        ag = agreement(SIGNED, IN_FORCE)
        status = status_at(ag, at("2017-09-01T00:00:00+09:00"))
        assert status.notice_deadline_passed
        assert status.notice_now_takes_effect == at("2018-11-23T00:00:00+09:00")
        assert "NOTICE_DEADLINE_PASSED" in [r.code for r in status.reasons]

    def test_indefinite_agreement_ends_notice_days_after_notice(self):
        ag = agreement(SIGNED, IN_FORCE, notice("2020-01-01T00:00:00+09:00"), term_years=None)
        end = compile_timeline(ag).segments[-1]
        assert end.state is State.TERMINATED
        assert end.start == at("2020-01-01T00:00:00+09:00") + timedelta(days=90)
        status = status_at(ag, at("2019-01-01T00:00:00+09:00"))
        assert status.term_end is None
        assert status.next_renewal is None

    def test_amendment_changes_table_version_from_its_instant(self):
        ag = agreement(
            SIGNED,
            IN_FORCE,
            Event(EventKind.AMENDED, at("2020-01-01T00:00:00+09:00"), table_version=2),
            tables=2,
        )
        assert status_at(ag, at("2019-12-31T00:00:00+09:00")).table_version == 1
        assert status_at(ag, at("2020-01-01T00:00:00+09:00")).table_version == 2


class TestImpossibleHistories:
    @pytest.mark.parametrize(
        ("events", "fragment"),
        [
            ((IN_FORCE,), "before signature"),
            ((SIGNED, SIGNED), "already signed"),
            (
                (
                    SIGNED,
                    IN_FORCE,
                    Event(EventKind.NOTICE_WITHDRAWN, at("2018-01-01T00:00Z"), by="KOR"),
                ),
                "no notice of termination is pending",
            ),
            (
                (
                    SIGNED,
                    IN_FORCE,
                    notice("2019-08-23T00:00:00+09:00"),
                    Event(EventKind.NOTICE_SUSPENDED, at("2019-11-24T00:00:00+09:00"), by="KOR"),
                ),
                "terminated, which is final",
            ),
            ((SIGNED, IN_FORCE, notice("2017-01-01T00:00Z"), notice("2017-02-01T00:00Z")), "state"),
            ((SIGNED, notice("2017-01-01T00:00Z")), "not in force"),
            (
                (
                    SIGNED,
                    IN_FORCE,
                    notice("2017-01-01T00:00Z", "KOR"),
                    Event(EventKind.NOTICE_WITHDRAWN, at("2017-02-01T00:00Z"), by="JPN"),
                ),
                "only KOR",
            ),
            ((SIGNED, IN_FORCE, notice("2015-01-01T00:00Z")), "time order"),
        ],
    )
    def test_rejected_with_a_clear_error(self, events, fragment):
        with pytest.raises(EventSequenceError) as err:
            compile_timeline(agreement(*events))
        assert err.value.code == "EVENT_SEQUENCE_INVALID"
        assert fragment in err.value.message

    def test_event_without_party_is_invalid(self):
        with pytest.raises(AgreementError):
            Event(EventKind.NOTICE_GIVEN, at("2017-01-01T00:00Z"))

    def test_resumption_must_name_its_effective_instant(self):
        with pytest.raises(AgreementError):
            Event(EventKind.NOTICE_RESUMED, at("2017-01-01T00:00Z"), by="KOR")


def test_transition_table_never_leaves_terminated():
    assert not [pair for pair in TRANSITIONS if pair[0] is State.TERMINATED]
