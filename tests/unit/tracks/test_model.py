"""The track model: every invalid value refused on construction with its TRACK_* code; order."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from gsomia.errors import InputError, TrackError
from gsomia.tracks import (
    Ellipse,
    EndOfTrack,
    GeoPoint,
    Kind,
    Launch,
    Track,
    TrackCursor,
    Update,
    Velocity,
    Weapon,
)
from tests.unit.tracks.helpers import T0, TRACK, label, message


def code(factory: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(TrackError) as info:
        factory(*args, **kwargs)
    assert isinstance(info.value, InputError)
    return info.value.code


def test_a_valid_message_of_each_kind():
    for kind in Kind:
        m = message(kind.value)
        assert m.kind is kind
        assert m.originator == "KOR"
        assert m.label.releasable_to == {"KOR", "JPN", "USA"}
    assert message("impact").point == GeoPoint(40.1, 134.9, 0.0)
    assert message("update").point == GeoPoint(39.3, 126.1, 45_000.0)


@pytest.mark.parametrize(
    ("lat", "lon"),
    [(90.5, 0), (-91, 0), (0, 180.01), (0, -181), (math.nan, 0), (0, math.inf), (-math.inf, 0)],
)
def test_bad_coordinates_are_refused(lat, lon):
    assert code(GeoPoint, lat, lon) == "TRACK_POSITION_INVALID"


def test_the_poles_and_the_antimeridian_are_fine():
    GeoPoint(90, 180)
    GeoPoint(-90, -180, -999.0)


@pytest.mark.parametrize("hae", [-1_001.0, 8_000_001.0, 9_999_999.0, math.nan, math.inf])
def test_absurd_altitudes_are_refused(hae):
    assert code(GeoPoint, 39.0, 125.0, hae) == "TRACK_ALTITUDE_INVALID"


@pytest.mark.parametrize("value", [True, "39.0", None, [1]])
def test_a_coordinate_must_be_a_number(value):
    assert code(GeoPoint, value, 125.0) == "TRACK_FIELD_INVALID"


@pytest.mark.parametrize(
    ("speed", "course", "slope"),
    [(-1.0, 0, 0), (12_001.0, 0, 0), (math.nan, 0, 0), (1.0, 360.0, 0), (1.0, -0.5, 0),
     (1.0, 0, 90.5), (1.0, 0, -91), (math.inf, 0, 0)],
)  # fmt: skip
def test_bad_velocities_are_refused(speed, course, slope):
    assert code(Velocity, speed, course, slope) == "TRACK_VELOCITY_INVALID"


def test_velocity_from_components_and_back():
    v = Velocity.from_enu(1000.0, 1000.0, -500.0)
    assert v.course == pytest.approx(45.0)
    assert v.slope < 0
    assert (v.east, v.north, v.up) == pytest.approx((1000.0, 1000.0, -500.0))
    assert Velocity.from_enu(0.0, 0.0, 0.0) == Velocity(0.0)
    assert Velocity.from_enu(0.0, 0.0, 10.0).slope == 90.0
    assert Velocity.from_enu(-1e-20, 5.0, 0.0).course < 360.0


@pytest.mark.parametrize(
    ("major", "minor", "angle"),
    [(100.0, 200.0, 0), (0.0, 0.0, 0), (100.0, 0.0, 0), (2_000_001.0, 1.0, 0), (100.0, 50.0, 180.0),
     (100.0, 50.0, -1.0), (math.nan, 1.0, 0)],
)  # fmt: skip
def test_bad_ellipses_are_refused(major, minor, angle):
    assert code(Ellipse, major, minor, angle) == "TRACK_ELLIPSE_INVALID"


def test_times_must_be_aware():
    naive = datetime(2024, 5, 1, 9, 0)
    assert code(message, time=naive) == "TRACK_TIME_INVALID"
    assert code(message, stale=naive) == "TRACK_TIME_INVALID"
    assert code(Launch, GeoPoint(0, 0), naive) == "TRACK_TIME_INVALID"


def test_stale_must_follow_time_within_a_day():
    assert code(message, stale=T0) == "TRACK_TIME_INVALID"
    assert code(message, stale=T0 - timedelta(seconds=1)) == "TRACK_TIME_INVALID"
    assert code(message, stale=T0 + timedelta(days=1, seconds=1)) == "TRACK_STALE_INVALID"


def test_a_launch_cannot_be_after_its_detection():
    body = Launch(GeoPoint(39.2, 125.67), T0 + timedelta(seconds=1))
    assert code(message, "launch", body=body) == "TRACK_TIME_INVALID"


@pytest.mark.parametrize("seq", [0, -1, 2**53, True, 1.0, "3"])
def test_sequence_numbers_are_positive_integers(seq):
    assert code(message, seq=seq) == "TRACK_SEQ_INVALID"


@pytest.mark.parametrize("track_id", ["", "x.y", "-a", "a" * 65, "KOR 1", "트랙"])
def test_track_ids_are_tokens(track_id):
    assert code(message, track_id=track_id) == "TRACK_ID_INVALID"


@pytest.mark.parametrize("sensor", ["", " KOR", "a/b", "a" * 65])
def test_sensor_ids_are_tokens(sensor):
    assert code(message, sensor=sensor) == "TRACK_SENSOR_INVALID"


@pytest.mark.parametrize(("name", "value"), [("ce", -1.0), ("le", 1e7), ("ce", math.nan)])
def test_accuracy_is_bounded(name, value):
    assert code(message, **{name: value}) == "TRACK_ACCURACY_INVALID"


def test_other_fields_are_typed():
    assert code(message, weapon="SSM") == "TRACK_FIELD_INVALID"
    assert code(message, body=GeoPoint(0, 0)) == "TRACK_FIELD_INVALID"
    assert code(message, simulated=1) == "TRACK_FIELD_INVALID"
    assert code(message, label="KOR SECRET") == "TRACK_LABEL_INVALID"
    assert code(EndOfTrack, GeoPoint(0, 0), "impact") == "TRACK_FIELD_INVALID"
    assert code(Update, GeoPoint(0, 0), (1.0, 2.0, 3.0)) == "TRACK_FIELD_INVALID"


def test_messages_are_immutable_values():
    m = message()
    with pytest.raises(AttributeError):
        m.seq = 5  # type: ignore[misc]
    assert m == message()
    assert hash(m) == hash(message())
    assert m.time.utcoffset() == timedelta(0)


def test_staleness_at_an_instant():
    m = message()
    assert not m.is_stale(T0)
    assert m.is_stale(m.stale)


# --- order ------------------------------------------------------------------------------------


def history() -> list[Any]:
    return [
        message("launch", seq=1),
        message("update", seq=2, time=T0 + timedelta(seconds=1)),
        message("impact", seq=3, time=T0 + timedelta(seconds=1)),
        message("update", seq=5, time=T0 + timedelta(seconds=2)),
        message("end", seq=6, time=T0 + timedelta(seconds=3)),
    ]


def test_a_whole_track_in_order():
    track = Track(tuple(history()))
    assert track.ended
    assert track.track_id == TRACK
    assert track.cursor.count == 5
    assert track.latest(Kind.IMPACT) == history()[2]
    assert track.latest(Kind.UPDATE) == history()[3]


def test_sequence_numbers_must_increase():
    h = history()
    cursor = TrackCursor.start(h[0]).advance(h[1])
    with pytest.raises(TrackError) as info:
        cursor.advance(h[1])
    assert info.value.code == "TRACK_SEQ_NOT_MONOTONIC"
    h[3] = replace(h[3], seq=2)
    assert code(Track, tuple(h)) == "TRACK_SEQ_NOT_MONOTONIC"


def test_time_must_not_go_back():
    h = history()
    h[3] = replace(h[3], time=T0, stale=T0 + timedelta(seconds=9))
    assert code(Track, tuple(h)) == "TRACK_TIME_NOT_MONOTONIC"


def test_launch_first_once_and_nothing_after_the_end():
    h = history()
    assert code(Track, ()) == "TRACK_ORDER_INVALID"
    assert code(Track, tuple(h[1:])) == "TRACK_ORDER_INVALID"
    assert code(Track, (h[0], message("launch", seq=2))) == "TRACK_ORDER_INVALID"
    late = message("update", seq=7, time=T0 + timedelta(seconds=4))
    assert code(Track, (*h, late)) == "TRACK_ORDER_INVALID"


def test_a_message_of_another_track_originator_or_weapon_is_refused():
    h = history()
    jpn = label(originator="JPN", level="極秘")
    for other in (
        replace(h[1], track_id="JPN-1"),
        replace(h[1], label=jpn),
        replace(h[1], weapon=Weapon.SLBM),
    ):
        assert code(Track, (h[0], other)) == "TRACK_MISMATCH"


def test_a_late_joiner_starts_anywhere():
    h = history()
    cursor = TrackCursor.start(h[3]).advance(h[4])
    assert cursor.ended
    assert cursor.last_seq == 6
