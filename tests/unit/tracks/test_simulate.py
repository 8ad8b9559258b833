"""The launch simulator: deterministic, plausible, two sensors with differing coverage and labels."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import replace
from datetime import timedelta

import pytest

from gsomia.errors import TrackError
from gsomia.tracks import ImpactPrediction, Kind, Track, TrackMessage, Weapon
from gsomia.tracks.ballistics import Flight, distance
from gsomia.tracks.simulate import (
    JPN_SENSOR,
    KOR_SENSOR,
    LAUNCH_AREAS,
    TARGET_BOXES,
    MissileClass,
    Profile,
    Scenario,
    simulate,
)
from tests.conftest import at

START = at("2024-05-01T09:00:00+09:00")


def by_track(messages: list[TrackMessage]) -> dict[str, list[TrackMessage]]:
    tracks: dict[str, list[TrackMessage]] = defaultdict(list)
    for m in messages:
        tracks[m.track_id].append(m)
    return dict(tracks)


def run(**kwargs) -> tuple[Scenario, list[TrackMessage]]:
    scenario = Scenario(START, **kwargs)
    return scenario, list(simulate(scenario))


def test_the_same_seed_gives_the_same_messages():
    assert run(seed=5)[1] == run(seed=5)[1]
    assert run(seed=5)[1] != run(seed=6)[1]


def test_two_tracks_kor_then_jpn_each_labelled_by_its_own_nation():
    _scenario, messages = run(seed=3)
    tracks = by_track(messages)
    assert set(tracks) == {"KOR-20240501000000-3", "JPN-20240501000000-3"}
    kor, jpn = tracks["KOR-20240501000000-3"], tracks["JPN-20240501000000-3"]
    assert {m.label.originator for m in kor} == {"KOR"}
    assert {m.sensor for m in kor} == {"KOR-RADAR-1"}
    assert {m.label.originator for m in jpn} == {"JPN"}
    assert kor[0].label.classification == "군사II급비밀"
    assert jpn[0].label.classification == "極秘"
    for m in messages:
        assert m.label.releasable_to == {"KOR", "JPN", "USA"}
        assert m.label.topics == {"NK-MISSILE"}
        assert m.simulated
    assert kor[0].time < jpn[0].time  # KOR sees the boost phase, JPN the later flight
    assert [m.time for m in messages] == sorted(m.time for m in messages)


def test_every_track_is_in_order_launch_first_end_last():
    for area in LAUNCH_AREAS:
        _, messages = run(area=area, seed=2, rate_hz=0.5)
        for track in by_track(messages).values():
            whole = Track(tuple(track))
            assert whole.ended
            assert [m.seq for m in track] == list(range(1, len(track) + 1))
            assert track[0].kind is Kind.LAUNCH
            assert track[-1].kind is Kind.END


def test_the_impact_ellipse_shrinks_as_the_track_matures():
    _, messages = run(seed=9)
    for track in by_track(messages).values():
        ellipses = [
            m.body.ellipse.semi_major for m in track if isinstance(m.body, ImpactPrediction)
        ]
        assert len(ellipses) > 3
        assert all(b < a for a, b in itertools.pairwise(ellipses))


def test_the_update_rate_is_honoured():
    _, slow = run(seed=1, rate_hz=0.5)
    _, fast = run(seed=1, rate_hz=4)
    count = lambda ms: sum(m.kind is Kind.UPDATE for m in ms)  # noqa: E731
    assert 7 <= count(fast) / count(slow) <= 9
    kor = [m.time for m in by_track(fast)["KOR-20240501000000-1"] if m.kind is Kind.UPDATE]
    assert {b - a for a, b in itertools.pairwise(kor)} == {timedelta(seconds=0.25)}


@pytest.mark.parametrize("missile_class", list(MissileClass))
@pytest.mark.parametrize("profile", list(Profile))
def test_flights_are_plausible(missile_class, profile):
    scenario, messages = run(missile_class=missile_class, profile=profile, seed=4, rate_hz=0.2)
    flight = scenario.flight
    lat_lo, lat_hi, lon_lo, lon_hi = TARGET_BOXES[(missile_class, profile)]
    assert lat_lo <= flight.impact_lat <= lat_hi
    assert lon_lo <= flight.impact_lon <= lon_hi
    assert 4.0 < flight.effective_gravity < 10.0
    assert 60 < flight.duration_s < 2000
    if profile is Profile.LOFTED:
        assert flight.apogee_m > flight.range_m / 3
    else:
        assert flight.range_m / 6 < flight.apogee_m < flight.range_m / 3
    if missile_class is MissileClass.IRBM and profile is Profile.STANDARD:
        assert flight.range_m > 1_500_000  # overflies Japan
    for m in messages:
        if m.kind is Kind.UPDATE:
            assert 30 < m.point.lat < 45
            assert 120 < m.point.lon < 170
            assert -1000 <= m.point.hae <= flight.apogee_m + 3_000
            assert m.body.velocity.speed < 7_000  # type: ignore[union-attr]


def test_the_flight_reaches_its_apogee_and_lands_on_time():
    scenario = Scenario(START, missile_class=MissileClass.IRBM, profile=Profile.LOFTED)
    flight = scenario.flight
    assert flight.state(flight.apogee_time())[2] == pytest.approx(flight.apogee_m, rel=1e-9)
    lat, lon, h, *_ = flight.state(flight.duration_s)
    assert h == pytest.approx(0.0, abs=1e-3)
    assert distance(lat, lon, flight.impact_lat, flight.impact_lon) < 10.0
    # velocity is continuous at burnout
    before, after = flight.state(flight.boost_s - 1e-6), flight.state(flight.boost_s + 1e-6)
    assert before[3:] == pytest.approx(after[3:], rel=1e-4)


def test_a_submarine_launch_is_an_slbm():
    _, messages = run(area="sinpo", missile_class=MissileClass.SRBM)
    assert {m.weapon for m in messages} == {Weapon.SLBM}


def test_sensors_and_their_coverage_can_be_chosen():
    only_kor = Scenario(START, sensors=(KOR_SENSOR,))
    assert {m.originator for m in simulate(only_kor)} == {"KOR"}
    narrow = replace(JPN_SENSOR, releasable_to=("JPN", "USA"))
    messages = list(simulate(Scenario(START, sensors=(narrow,))))
    assert {frozenset(m.label.releasable_to) for m in messages} == {frozenset({"JPN", "USA"})}
    blind = replace(KOR_SENSOR, max_range_m=1.0)
    assert list(simulate(Scenario(START, sensors=(blind,)))) == []


def test_a_track_lost_before_impact_ends_lost():
    scenario, messages = run(missile_class=MissileClass.IRBM, seed=2)
    kor = by_track(messages)["KOR-20240501000000-2"]
    assert kor[-1].body.reason.value == "lost"  # type: ignore[union-attr]
    assert kor[-1].time < START + timedelta(seconds=scenario.flight.duration_s / 2)


@pytest.mark.parametrize(
    "kwargs",
    [{"area": "pyongyang-zoo"}, {"rate_hz": 0}, {"rate_hz": 101}, {"rate_hz": True},
     {"seed": "1"}, {"missile_class": "ICBM"}, {"profile": "depressed"}],
)  # fmt: skip
def test_bad_scenarios_are_refused(kwargs):
    with pytest.raises(TrackError) as info:
        Scenario(START, **kwargs)
    assert info.value.code == "TRACK_SIMULATION_INVALID"


def test_a_flight_needs_sane_figures():
    with pytest.raises(ValueError, match="boost"):
        Flight(39.0, 125.0, 40.0, 131.0, 100_000.0, 50.0, 70.0)
