"""A deterministic ballistic launch simulator: tracks as a KOR and a JPN sensor would report them.

For tests, the demo and the benchmarks (issue 5 §1, PRODUCT.md §5).  Nothing here reads a clock
or the environment: the launch instant is :attr:`Scenario.start`, and every random draw comes from
``random.Random`` seeded with the scenario's seed (one stream for the flight, one per sensor), so
the same scenario yields the same messages, byte for byte, on every machine.

**Flights.**  A launch area (:data:`LAUNCH_AREAS`; coordinates are *approximate*, from public
reporting, rounded to about 0.05°) fires a missile of a class (SRBM, MRBM, IRBM) on a profile:
``standard`` (near minimum-energy: apogee about a quarter of the range) or ``lofted`` (a high
apogee over a short range, as most North Korean tests fly).  The impact point is drawn uniformly
from a sea box (:data:`TARGET_BOXES`): the East Sea / Sea of Japan for every flight but the
standard IRBM, which overflies northern Japan into the Pacific (as in Aug. and Sept. 2017 and
Oct. 2022).  Apogee and flight time follow :mod:`.ballistics`; for example SRBM standard: 200-600
km range, 50-150 km apogee, 5-7 min; MRBM standard from the west coast: 800-1,100 km, 200-260 km,
about 9 min; IRBM standard: 2,000-3,300 km, 450-700 km, 13-16 min; IRBM lofted: 300-900 km range,
about 2,000 km apogee, about 27 min (Hwasong-12, May 2017: 787 km, 2,111 km, 30 min).

**Sensors.**  Each :class:`Sensor` sees the missile when it is above its radar horizon (4/3 Earth
radius) and within its range; a track starts at the first sample it sees and ends at the first it
does not.  The default KOR radar (notional, central ROK) sees boost and early flight; the default
JPN radar (notional, a ship in the Sea of Japan) sees the later, over-sea portion.  Each reports
with its own noise and labels its messages itself (KOR 군사II급비밀, JPN 極秘; both Releasable To
KOR, JPN, USA; topic NK-MISSILE).  A track is: a launch detection (noisy launch point and time),
an update per sample at the chosen rate, an impact prediction every 5 s once the track is 10 s
old (its ellipse shrinks as the track matures), and an end of track (``impact`` when lost while
descending below 30 km, else ``lost``).  Sequence numbers start at 1 per track.  A scenario
that cannot be run (unknown area, class or profile, a rate outside (0, 100] Hz, a seed that is not
an integer) is refused with ``TRACK_SIMULATION_INVALID``.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from gsomia.errors import TrackError
from gsomia.instants import require_aware
from gsomia.labels import RELEASABLE_TO, TOPIC, Category, CategoryType, OriginatorLabel
from gsomia.tracks.ballistics import (
    EARTH_RADIUS_M,
    Flight,
    destination,
    distance,
    flight_time,
    standard_apogee,
)
from gsomia.tracks.model import (
    Body,
    Ellipse,
    EndOfTrack,
    EndReason,
    GeoPoint,
    ImpactPrediction,
    Launch,
    TrackMessage,
    Update,
    Velocity,
    Weapon,
)

__all__ = [
    "DEFAULT_SENSORS",
    "JPN_SENSOR",
    "KOR_SENSOR",
    "LAUNCH_AREAS",
    "TARGET_BOXES",
    "LaunchArea",
    "MissileClass",
    "Profile",
    "Scenario",
    "Sensor",
    "simulate",
]

MAX_RATE_HZ: Final = 100.0
_HORIZON_K: Final = 4 / 3  # standard refraction: radar horizon on a 4/3 Earth radius
_IMPACT_EVERY_S: Final = 5.0
_IMPACT_AFTER_S: Final = 10.0
_TERMINAL_M: Final = 30_000.0


class MissileClass(StrEnum):
    """Range classes of ballistic missiles."""

    SRBM = "SRBM"  # short range, < 1,000 km
    MRBM = "MRBM"  # medium range, 1,000-3,000 km
    IRBM = "IRBM"  # intermediate range, 3,000-5,500 km


class Profile(StrEnum):
    """Trajectory profiles."""

    STANDARD = "standard"
    LOFTED = "lofted"


@dataclass(frozen=True, slots=True)
class LaunchArea:
    """A known launch area; coordinates approximate (module docstring)."""

    key: str
    name: str
    lat: float
    lon: float
    weapon: Weapon = Weapon.SSM


LAUNCH_AREAS: Final = {
    area.key: area
    for area in (
        LaunchArea("sunan", "Sunan (Pyongyang International Airport)", 39.20, 125.67),
        LaunchArea("tongchang-ri", "Tongchang-ri (Sohae launching station)", 39.66, 124.71),
        LaunchArea("sinpo", "Sinpo (off the shipyard, SLBM)", 39.98, 128.25, Weapon.SLBM),
        LaunchArea("wonsan", "Wonsan (Kalma peninsula)", 39.17, 127.48),
        LaunchArea("kusong", "Kusong (Panghyon airfield)", 39.98, 125.24),
    )
}

#: Impact boxes (lat min, lat max, lon min, lon max), at sea, per class and profile.
TARGET_BOXES: Final = {
    (MissileClass.SRBM, Profile.STANDARD): (38.5, 41.5, 130.3, 132.5),
    (MissileClass.SRBM, Profile.LOFTED): (38.5, 41.5, 130.3, 132.5),
    (MissileClass.MRBM, Profile.STANDARD): (38.5, 42.0, 134.5, 138.5),
    (MissileClass.MRBM, Profile.LOFTED): (38.5, 41.5, 130.5, 134.0),
    (MissileClass.IRBM, Profile.STANDARD): (38.0, 43.0, 150.0, 165.0),  # over northern Japan
    (MissileClass.IRBM, Profile.LOFTED): (39.0, 42.0, 131.0, 136.0),
}
_BOOST_S: Final = {MissileClass.SRBM: 70.0, MissileClass.MRBM: 110.0, MissileClass.IRBM: 150.0}
_LOFTED_APOGEE_M: Final = {
    MissileClass.SRBM: 200_000.0,
    MissileClass.MRBM: 550_000.0,  # Pukguksong-2, Feb. 2017
    MissileClass.IRBM: 2_100_000.0,  # Hwasong-12, May 2017
}


def _label(party: str, classification: str, rel_to: tuple[str, ...], topics: tuple[str, ...],
           created: datetime) -> OriginatorLabel:  # fmt: skip
    return OriginatorLabel(
        policy_id=party,
        classification=classification,
        originator=party,
        created=created,
        categories=(
            Category(RELEASABLE_TO, CategoryType.PERMISSIVE, rel_to),
            Category(TOPIC, CategoryType.RESTRICTIVE, topics),
        ),
    )


@dataclass(frozen=True, slots=True)
class Sensor:
    """A radar: where it is, what it reaches, its 1-sigma noise, and how it labels (its nation's
    scheme: ``classification`` is native text)."""

    party: str
    sensor_id: str
    lat: float
    lon: float
    height_m: float
    max_range_m: float
    sigma_h_m: float
    sigma_v_m: float
    sigma_vel_m_s: float
    classification: str
    releasable_to: tuple[str, ...] = ("KOR", "JPN", "USA")
    topics: tuple[str, ...] = ("NK-MISSILE",)

    def sees(self, lat: float, lon: float, height: float) -> bool:
        """Above the radar horizon and within range."""
        ground = distance(self.lat, self.lon, lat, lon)
        reach = math.sqrt(2 * _HORIZON_K * EARTH_RADIUS_M)
        horizon = reach * (math.sqrt(max(self.height_m, 0.0)) + math.sqrt(max(height, 0.0)))
        return ground <= horizon and math.hypot(ground, height - self.height_m) <= self.max_range_m


KOR_SENSOR: Final = Sensor(
    "KOR", "KOR-RADAR-1", 36.50, 127.50, 200.0, 800_000.0, 250.0, 400.0, 15.0, "군사II급비밀"
)
JPN_SENSOR: Final = Sensor(
    "JPN", "JPN-AEGIS-1", 38.00, 134.00, 25.0, 3_000_000.0, 150.0, 250.0, 10.0, "極秘"
)
DEFAULT_SENSORS: Final = (KOR_SENSOR, JPN_SENSOR)


def _fail(message: str) -> TrackError:
    return TrackError(message, code="TRACK_SIMULATION_INVALID")


@dataclass(frozen=True, slots=True)
class Scenario:
    """What to simulate; ``start`` is the launch instant (never read from a clock)."""

    start: datetime
    area: str = "sunan"
    missile_class: MissileClass = MissileClass.MRBM
    profile: Profile = Profile.STANDARD
    rate_hz: float = 1.0
    seed: int = 1
    sensors: tuple[Sensor, ...] = DEFAULT_SENSORS
    flight: Flight = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_aware(self.start, "start"))
        if self.area not in LAUNCH_AREAS:
            raise _fail(f"unknown launch area {self.area!r}; known: {', '.join(LAUNCH_AREAS)}")
        if isinstance(self.rate_hz, bool) or not 0 < self.rate_hz <= MAX_RATE_HZ:
            raise _fail(f"the update rate must be above 0 and at most {MAX_RATE_HZ:g} Hz")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise _fail("the seed is an integer")
        try:
            object.__setattr__(self, "missile_class", MissileClass(self.missile_class))
            object.__setattr__(self, "profile", Profile(self.profile))
        except ValueError:
            raise _fail("the class is SRBM, MRBM or IRBM; the profile standard or lofted") from None
        object.__setattr__(self, "flight", self._plan())

    @property
    def launch_area(self) -> LaunchArea:
        """The launch area."""
        return LAUNCH_AREAS[self.area]

    def _plan(self) -> Flight:
        rng = random.Random(f"{self.seed}:flight")  # noqa: S311 - a simulation, not a secret
        area = self.launch_area
        lat_lo, lat_hi, lon_lo, lon_hi = TARGET_BOXES[(self.missile_class, self.profile)]
        lat, lon = rng.uniform(lat_lo, lat_hi), rng.uniform(lon_lo, lon_hi)
        boost = _BOOST_S[self.missile_class]
        if self.profile is Profile.LOFTED:
            apogee = _LOFTED_APOGEE_M[self.missile_class] * rng.uniform(0.9, 1.1)
        else:
            apogee = standard_apogee(distance(area.lat, area.lon, lat, lon))
        return Flight(area.lat, area.lon, lat, lon, apogee, flight_time(apogee, boost), boost)

    def track_id(self, sensor: Sensor) -> str:
        """The id of ``sensor``'s track of this launch."""
        return f"{sensor.party}-{self.start:%Y%m%d%H%M%S}-{self.seed}"


def _noisy_point(rng: random.Random, lat: float, lon: float, h: float, sh: float, sv: float
                 ) -> GeoPoint:  # fmt: skip
    north, east = rng.gauss(0.0, sh), rng.gauss(0.0, sh)
    lat2 = max(-90.0, min(90.0, lat + math.degrees(north / EARTH_RADIUS_M)))
    lon2 = lon + math.degrees(east / (EARTH_RADIUS_M * max(math.cos(math.radians(lat)), 1e-6)))
    lon2 = (lon2 + 540.0) % 360.0 - 180.0
    return GeoPoint(lat2, lon2, max(-900.0, h + rng.gauss(0.0, sv)))


class _Tracker:
    """One sensor's track of one flight: the messages it sends, numbered."""

    def __init__(self, scenario: Scenario, sensor: Sensor, detected: datetime) -> None:
        self.scenario, self.sensor = scenario, sensor
        self.rng = random.Random(f"{scenario.seed}:{sensor.sensor_id}")  # noqa: S311
        self.seq = 0
        self.label = _label(sensor.party, sensor.classification, sensor.releasable_to,
                            sensor.topics, detected)  # fmt: skip

    def message(self, time: datetime, stale: datetime, body: Body, ce: float, le: float
                ) -> TrackMessage:  # fmt: skip
        self.seq += 1
        return TrackMessage(
            track_id=self.scenario.track_id(self.sensor),
            seq=self.seq,
            time=time,
            stale=stale,
            sensor=self.sensor.sensor_id,
            weapon=self.scenario.launch_area.weapon,
            label=self.label,
            body=body,
            ce=ce,
            le=le,
            simulated=True,
        )


def _impact(tracker: _Tracker, flight: Flight, at: datetime, age: float) -> ImpactPrediction:
    rng, start = tracker.rng, tracker.scenario.start
    major = 2_000.0 + 60_000.0 * 20.0 / (20.0 + age)
    _, _, _, east, north, _ = flight.state(flight.duration_s)
    orientation = math.degrees(math.atan2(east, north)) % 180.0
    along, across = rng.gauss(0.0, major / 4), rng.gauss(0.0, 0.35 * major / 4)
    theta = math.radians(orientation)
    dn = along * math.cos(theta) - across * math.sin(theta)
    de = along * math.sin(theta) + across * math.cos(theta)
    az = math.degrees(math.atan2(de, dn)) % 360.0
    lat, lon = destination(flight.impact_lat, flight.impact_lon, az, math.hypot(dn, de))
    impact_time = start + timedelta(seconds=flight.duration_s + rng.gauss(0.0, major / 2_000.0))
    return ImpactPrediction(
        GeoPoint(lat, lon, 0.0),
        Ellipse(major, 0.35 * major, 0.0 if orientation >= 180.0 else orientation),
        max(impact_time, at),
    )


def _sensor_track(scenario: Scenario, sensor: Sensor) -> Iterator[TrackMessage]:
    flight, start = scenario.flight, scenario.start
    step = 1.0 / scenario.rate_hz
    samples = int(flight.duration_s * scenario.rate_hz) + 1
    tracker: _Tracker | None = None
    acquired = next_impact = 0.0
    last = (flight.launch_lat, flight.launch_lon, 0.0)
    for k in range(samples):
        t = min(k * step, flight.duration_s)
        lat, lon, h, east, north, up = flight.state(t)
        at = start + timedelta(seconds=t)
        if not sensor.sees(lat, lon, h):
            if tracker is None:
                continue
            terminal = up < 0 and h < _TERMINAL_M
            yield _end(tracker, at, last, EndReason.IMPACT if terminal else EndReason.LOST)
            return
        if tracker is None:
            tracker, acquired, next_impact = _Tracker(scenario, sensor, at), t, t + _IMPACT_AFTER_S
            yield _launch(tracker, flight, at, t)
        pos = _noisy_point(tracker.rng, lat, lon, h, sensor.sigma_h_m, sensor.sigma_v_m)
        sv = sensor.sigma_vel_m_s
        velocity = Velocity.from_enu(
            east + tracker.rng.gauss(0.0, sv),
            north + tracker.rng.gauss(0.0, sv),
            up + tracker.rng.gauss(0.0, sv),
        )
        stale = at + timedelta(seconds=max(10.0, 5 * step))
        yield tracker.message(at, stale, Update(pos, velocity), sensor.sigma_h_m, sensor.sigma_v_m)
        last = (pos.lat, pos.lon, pos.hae)
        if t >= next_impact and t < flight.duration_s:
            body = _impact(tracker, flight, at, t - acquired)
            stale = max(body.impact_time, at) + timedelta(minutes=5)
            yield tracker.message(at, stale, body, body.ellipse.semi_major, 9_999_999.0)
            next_impact = t + _IMPACT_EVERY_S
    if tracker is not None:
        end_at = start + timedelta(seconds=flight.duration_s)
        yield _end(tracker, end_at, last, EndReason.IMPACT)


def _launch(tracker: _Tracker, flight: Flight, at: datetime, t: float) -> TrackMessage:
    sigma = 1_500.0 + 20.0 * t  # the later the detection, the rougher the back-extrapolation
    point = _noisy_point(tracker.rng, flight.launch_lat, flight.launch_lon, 0.0, sigma, 0.0)
    launch_time = tracker.scenario.start + timedelta(seconds=tracker.rng.gauss(0.0, 1.0 + t / 30))
    stale = at + timedelta(seconds=flight.duration_s + 300.0)
    return tracker.message(at, stale, Launch(point, min(launch_time, at)), sigma, 9_999_999.0)


def _end(tracker: _Tracker, at: datetime, last: tuple[float, float, float], reason: EndReason
         ) -> TrackMessage:  # fmt: skip
    body = EndOfTrack(GeoPoint(*last), reason)
    return tracker.message(at, at + timedelta(seconds=60), body, tracker.sensor.sigma_h_m,
                           tracker.sensor.sigma_v_m)  # fmt: skip


def simulate(scenario: Scenario) -> Iterator[TrackMessage]:
    """Every sensor's messages for ``scenario``, merged in time order (ties: sensor order).

    A generator: messages are produced as they are consumed, so long or fast runs stay small.
    """
    streams = [
        ((m.time, index, m.seq, m) for m in _sensor_track(scenario, sensor))
        for index, sensor in enumerate(scenario.sensors)
    ]
    for _, _, _, message in heapq.merge(*streams, key=lambda item: item[:3]):
        yield message
