"""Properties of tracks (PRODUCT.md §5): lossless codecs, framing under any chunking, and a
simulator whose tracks are always in order, plausible, maturing and reproducible.

- For every valid message M: ``decode_event(encode_event(M)) == M`` and ``loads(dumps(M)) == M``.
- For every stream of events and every way of cutting it into chunks, :class:`CotFramer` returns
  exactly the events, in order, and nothing else.
- For every scenario: per-track sequence numbers strictly increase from 1, every track folds
  into a :class:`Track` (launch first, end last), positions and speeds stay plausible, the impact
  ellipse shrinks over the track's life, and the same seed gives the same messages.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.catalog import builtin_registry
from gsomia.labels import RELEASABLE_TO, TOPIC, Category, CategoryType, OriginatorLabel
from gsomia.tracks import (
    CotFramer,
    Ellipse,
    EndOfTrack,
    EndReason,
    GeoPoint,
    ImpactPrediction,
    Kind,
    Launch,
    Track,
    TrackMessage,
    Update,
    Velocity,
    Weapon,
    decode_event,
    encode_event,
)
from gsomia.tracks.json_codec import dumps, loads
from gsomia.tracks.model import MAX_ALTITUDE_M, MAX_SPEED_M_S, UNKNOWN_ERROR_M
from gsomia.tracks.simulate import LAUNCH_AREAS, MissileClass, Profile, Scenario, simulate

SCHEMES = builtin_registry().schemes
LEVELS = {
    party: [level.native for level in SCHEMES[party].levels] for party in ("KOR", "JPN", "USA")
}
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-5))])


def finite(low: float, high: float, **kwargs: object) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, **kwargs)  # type: ignore[arg-type]


instants = st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=ZONES)
tokens = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,20}", fullmatch=True)
sensor_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,20}", fullmatch=True)
points = st.builds(GeoPoint, finite(-90, 90), finite(-180, 180), finite(-1000, MAX_ALTITUDE_M))
velocities = st.builds(
    Velocity, finite(0, MAX_SPEED_M_S), finite(0, 360, exclude_max=True), finite(-90, 90)
)


@st.composite
def ellipses(draw: st.DrawFn) -> Ellipse:
    major = draw(finite(1.0, 2_000_000.0))
    return Ellipse(major, major * draw(finite(0.001, 1.0)), draw(finite(0, 180, exclude_max=True)))


@st.composite
def labels(draw: st.DrawFn) -> OriginatorLabel:
    party = draw(st.sampled_from(sorted(LEVELS)))
    rel_to = draw(st.sets(st.sampled_from(["KOR", "JPN", "USA", "GBR", "AUS"]), max_size=5))
    cats = []
    if rel_to:
        cats.append(Category(RELEASABLE_TO, CategoryType.PERMISSIVE, tuple(rel_to)))
    if draw(st.booleans()):
        cats.append(Category(TOPIC, CategoryType.RESTRICTIVE, ("NK-MISSILE",)))
    return OriginatorLabel(
        party, draw(st.sampled_from(LEVELS[party])), party, draw(instants), tuple(cats)
    )


@st.composite
def messages(draw: st.DrawFn) -> TrackMessage:
    time = draw(instants)
    kind = draw(st.sampled_from(list(Kind)))
    body: object
    if kind is Kind.LAUNCH:
        body = Launch(draw(points), time - draw(st.timedeltas(timedelta(0), timedelta(hours=1))))
    elif kind is Kind.UPDATE:
        body = Update(draw(points), draw(velocities))
    elif kind is Kind.IMPACT:
        body = ImpactPrediction(draw(points), draw(ellipses()), draw(instants))
    else:
        body = EndOfTrack(draw(points), draw(st.sampled_from(list(EndReason))))
    return TrackMessage(
        track_id=draw(tokens),
        seq=draw(st.integers(1, 2**53 - 1)),
        time=time,
        stale=time + draw(st.timedeltas(timedelta(microseconds=1), timedelta(days=1))),
        sensor=draw(sensor_ids),
        weapon=draw(st.sampled_from(list(Weapon))),
        label=draw(labels()),
        body=body,  # type: ignore[arg-type]
        ce=draw(finite(0, UNKNOWN_ERROR_M)),
        le=draw(finite(0, UNKNOWN_ERROR_M)),
        simulated=draw(st.booleans()),
    )


@given(messages())
def test_cot_round_trip(message: TrackMessage) -> None:
    assert decode_event(encode_event(message, SCHEMES), SCHEMES) == message


@given(messages())
def test_json_round_trip(message: TrackMessage) -> None:
    assert loads(dumps(message)) == message


SEPARATORS = st.sampled_from([b"", b"\n", b"\r\n", b'<?xml version="1.0" encoding="UTF-8"?>\n'])


@given(
    st.lists(st.tuples(messages(), SEPARATORS), min_size=1, max_size=6),
    st.lists(st.integers(0, 20_000), max_size=30),
)
def test_the_framer_reassembles_any_chunking(
    items: list[tuple[TrackMessage, bytes]], cuts: list[int]
) -> None:
    events = [encode_event(m, SCHEMES) for m, _ in items]
    stream = b"".join(sep + event for (_, sep), event in zip(items, events, strict=True))
    bounds = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    framer = CotFramer()
    out: list[object] = []
    for start, end in itertools.pairwise(bounds):
        out += framer.feed(stream[start:end])
    assert out == events
    assert framer.buffered == 0


scenarios = st.builds(
    Scenario,
    start=instants,
    area=st.sampled_from(sorted(LAUNCH_AREAS)),
    missile_class=st.sampled_from(list(MissileClass)),
    profile=st.sampled_from(list(Profile)),
    rate_hz=st.sampled_from([0.1, 0.25, 0.5, 1.0]),
    seed=st.integers(-(2**31), 2**31),
)


@settings(max_examples=25, deadline=None)
@given(scenarios)
def test_simulated_tracks_are_ordered_plausible_and_maturing(scenario: Scenario) -> None:
    tracks: dict[str, list[TrackMessage]] = defaultdict(list)
    for message in simulate(scenario):
        tracks[message.track_id].append(message)
    assert tracks, "the default sensors see every simulated launch"
    flight = scenario.flight
    for track in tracks.values():
        assert [m.seq for m in track] == list(range(1, len(track) + 1))
        assert Track(tuple(track)).ended
        majors = [m.body.ellipse.semi_major for m in track if isinstance(m.body, ImpactPrediction)]
        assert all(b < a for a, b in itertools.pairwise(majors))
        for m in track:
            assert 30.0 < m.point.lat < 50.0
            assert 120.0 < m.point.lon < 170.0
            assert -1000.0 <= m.point.hae <= flight.apogee_m + 5_000
            assert scenario.start <= m.time <= scenario.start + timedelta(seconds=flight.duration_s)
            if isinstance(m.body, Update):
                assert m.body.velocity.speed < 7_500
            if isinstance(m.body, Launch):
                assert m.body.launch_time <= m.time


@settings(max_examples=10, deadline=None)
@given(scenarios)
def test_the_simulator_is_deterministic_by_seed(scenario: Scenario) -> None:
    again = Scenario(
        scenario.start,
        scenario.area,
        scenario.missile_class,
        scenario.profile,
        scenario.rate_hz,
        scenario.seed,
    )
    assert list(simulate(scenario)) == list(simulate(again))
