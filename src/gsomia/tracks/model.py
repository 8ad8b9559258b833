"""Missile-warning tracks as immutable values, checked on construction (PRODUCT.md §5).

A launch produces a *track*: launch detection (launch point, time), updates (position, velocity,
altitude), predicted impact points with an uncertainty ellipse, and an end of track.  Each of
these is a :class:`TrackMessage`: a header (track id, per-track sequence number, time, stale
time, sensor, weapon, accuracy) and a body (:class:`Launch`, :class:`Update`,
:class:`ImpactPrediction` or :class:`EndOfTrack`).  Every message is a labeled item: it carries
the sensor nation's STANAG 4774 :class:`~gsomia.labels.OriginatorLabel` (for example KOR
군사II급비밀, Releasable To KOR, JPN, USA, topic NK-MISSILE), and the originator of that label is
the nation whose sensor saw it.

Order is per track (§5 "in order per track"): :mod:`gsomia.tracks.order` holds the cursor a
receiver keeps for one track and the whole-track value; its codes are listed below as well.

Units: degrees (WGS 84 latitude and longitude, courses clockwise from true north), metres (height
above the ellipsoid, errors, ellipse axes) and metres per second.  Every number must be finite.
Every refusal is a :class:`~gsomia.errors.TrackError` with a stable code:

=========================  ====================================================================
TRACK_FIELD_INVALID        a field of the wrong type (a bool for a number, a str for an enum, …)
TRACK_ID_INVALID           track id not ``[A-Za-z0-9][A-Za-z0-9_-]{0,63}``
TRACK_SENSOR_INVALID       sensor id not ``[A-Za-z0-9][A-Za-z0-9._:-]{0,63}``
TRACK_SEQ_INVALID          sequence number not an integer from 1 to 2^53 - 1
TRACK_POSITION_INVALID     latitude outside [-90, 90], longitude outside [-180, 180], NaN or ±inf
TRACK_ALTITUDE_INVALID     height outside [-1,000 m, 8,000 km] (CoT's 9999999 "unknown" included)
TRACK_VELOCITY_INVALID     speed outside [0, 12 km/s], course outside [0, 360), slope outside
                           [-90, 90]
TRACK_ELLIPSE_INVALID      axes not 0 < minor <= major <= 2,000 km, orientation outside [0, 180)
TRACK_ACCURACY_INVALID     ce or le negative or above 9,999,999 m (CoT "unknown")
TRACK_TIME_INVALID         a naive datetime; stale not after time; launch after detection
TRACK_STALE_INVALID        stale more than a day after time
TRACK_LABEL_INVALID        not an OriginatorLabel
TRACK_MISMATCH             a message of another track, originator or weapon
TRACK_SEQ_NOT_MONOTONIC    a sequence number not above the last one of the track
TRACK_TIME_NOT_MONOTONIC   a message time before the last one of the track
TRACK_ORDER_INVALID        a track not starting with its launch, a second launch, a message after
                           the end, or an empty track
=========================  ====================================================================
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final, TypeAlias

from gsomia.errors import GsomiaError, TrackError
from gsomia.instants import require_aware
from gsomia.labels import OriginatorLabel

__all__ = [
    "MAX_ALTITUDE_M",
    "MAX_SEQ",
    "MAX_SPEED_M_S",
    "UNKNOWN_ERROR_M",
    "Body",
    "Ellipse",
    "EndOfTrack",
    "EndReason",
    "GeoPoint",
    "ImpactPrediction",
    "Kind",
    "Launch",
    "TrackMessage",
    "Update",
    "Velocity",
    "Weapon",
]

_TRACK_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_SENSOR_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
MAX_SEQ: Final = 2**53 - 1
MIN_ALTITUDE_M: Final = -1_000.0  # below the Dead Sea shore and any geoid undulation
MAX_ALTITUDE_M: Final = 8_000_000.0  # above the highest lofted ICBM apogee reported (~6,600 km)
MAX_SPEED_M_S: Final = 12_000.0  # above Earth's escape velocity (11.2 km/s)
MAX_ELLIPSE_M: Final = 2_000_000.0
#: CoT's "unknown" value for ``ce``, ``le`` and ``hae`` (CoT event schema, ``point``).
UNKNOWN_ERROR_M: Final = 9_999_999.0
MAX_STALE_AFTER: Final = timedelta(days=1)


def _err(code: str, message: str, **detail: Any) -> TrackError:
    return TrackError(message, code=code, detail=detail)


def _number(value: object, what: str, code: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _err("TRACK_FIELD_INVALID", f"{what} must be a number", field=what)
    number = float(value)
    if not math.isfinite(number):
        raise _err(code, f"{what} must be finite, got {number!r}", field=what)
    return number


def _within(value: object, what: str, code: str, low: float, high: float) -> float:
    number = _number(value, what, code)
    if not low <= number <= high:
        raise _err(code, f"{what} {number!r} is outside [{low:g}, {high:g}]", field=what)
    return number


def _instant(value: object, what: str) -> datetime:
    try:
        return require_aware(value, what)  # type: ignore[arg-type]
    except GsomiaError as exc:
        raise _err("TRACK_TIME_INVALID", exc.message, field=what) from None


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def _enum(value: object, kind: type[StrEnum], what: str) -> None:
    if not isinstance(value, kind):
        raise _err("TRACK_FIELD_INVALID", f"{what} must be a {kind.__name__}", field=what)


class Weapon(StrEnum):
    """What is in flight: MIL-STD-2525 "missile in flight" by launch platform (CoT ``a-h-A-W-M-…``)."""

    SSM = "SSM"  # surface (land) to surface missile: transporter-erector-launcher, silo, pad
    SLBM = "SLBM"  # subsurface to surface missile: submarine or submerged barge


class EndReason(StrEnum):
    """Why a sensor ended its track."""

    IMPACT = "impact"  # followed to the surface
    LOST = "lost"  # left the sensor's coverage
    CANCELLED = "cancelled"  # not a missile after all


class Kind(StrEnum):
    """The four kinds of track message (PRODUCT.md §5)."""

    LAUNCH = "launch"
    UPDATE = "update"
    IMPACT = "impact"
    END = "end"


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A WGS 84 position: latitude and longitude in degrees, height above the ellipsoid in metres."""

    lat: float
    lon: float
    hae: float = 0.0

    def __post_init__(self) -> None:
        _set(self, "lat", _within(self.lat, "lat", "TRACK_POSITION_INVALID", -90.0, 90.0))
        _set(self, "lon", _within(self.lon, "lon", "TRACK_POSITION_INVALID", -180.0, 180.0))
        _set(
            self,
            "hae",
            _within(self.hae, "hae", "TRACK_ALTITUDE_INVALID", MIN_ALTITUDE_M, MAX_ALTITUDE_M),
        )


@dataclass(frozen=True, slots=True)
class Velocity:
    """Velocity as the CoT ``track`` detail gives it: speed (m/s), course and slope (degrees).

    ``course`` is clockwise from true north in [0, 360); ``slope`` is the angle above the local
    horizontal in [-90, 90] (negative when descending).  :meth:`from_enu` builds one from east,
    north and up components; :attr:`east`, :attr:`north` and :attr:`up` give them back.
    """

    speed: float
    course: float = 0.0
    slope: float = 0.0

    def __post_init__(self) -> None:
        _set(
            self, "speed", _within(self.speed, "speed", "TRACK_VELOCITY_INVALID", 0, MAX_SPEED_M_S)
        )
        course = _within(self.course, "course", "TRACK_VELOCITY_INVALID", 0.0, 360.0)
        if course == 360.0:
            raise _err("TRACK_VELOCITY_INVALID", "course must be below 360", field="course")
        _set(self, "course", course)
        _set(self, "slope", _within(self.slope, "slope", "TRACK_VELOCITY_INVALID", -90.0, 90.0))

    @classmethod
    def from_enu(cls, east: float, north: float, up: float) -> Velocity:
        """The velocity with these east, north and up components (m/s)."""
        ground = math.hypot(east, north)
        course = math.degrees(math.atan2(east, north)) % 360.0 if ground > 0 else 0.0
        slope = math.degrees(math.atan2(up, ground)) if ground > 0 or up != 0 else 0.0
        return cls(math.sqrt(ground * ground + up * up), 0.0 if course >= 360.0 else course, slope)

    @property
    def ground_speed(self) -> float:
        """Horizontal speed, m/s."""
        return self.speed * math.cos(math.radians(self.slope))

    @property
    def east(self) -> float:
        """East component, m/s."""
        return self.ground_speed * math.sin(math.radians(self.course))

    @property
    def north(self) -> float:
        """North component, m/s."""
        return self.ground_speed * math.cos(math.radians(self.course))

    @property
    def up(self) -> float:
        """Vertical component, m/s (negative when descending)."""
        return self.speed * math.sin(math.radians(self.slope))


@dataclass(frozen=True, slots=True)
class Ellipse:
    """An uncertainty ellipse: semi-axes in metres, major axis clockwise from true north."""

    semi_major: float
    semi_minor: float
    orientation: float = 0.0

    def __post_init__(self) -> None:
        code = "TRACK_ELLIPSE_INVALID"
        major = _within(self.semi_major, "semi_major", code, 0.0, MAX_ELLIPSE_M)
        minor = _within(self.semi_minor, "semi_minor", code, 0.0, MAX_ELLIPSE_M)
        if not 0.0 < minor <= major:
            raise _err(code, "an ellipse needs 0 < semi_minor <= semi_major", field="semi_minor")
        orientation = _within(self.orientation, "orientation", code, 0.0, 180.0)
        if orientation == 180.0:
            raise _err(code, "orientation must be below 180", field="orientation")
        _set(self, "semi_major", major)
        _set(self, "semi_minor", minor)
        _set(self, "orientation", orientation)


def _point(value: object, what: str) -> None:
    if not isinstance(value, GeoPoint):
        raise _err("TRACK_FIELD_INVALID", f"{what} must be a GeoPoint", field=what)


@dataclass(frozen=True, slots=True)
class Launch:
    """Launch detection: where and when the sensor places the launch."""

    point: GeoPoint
    launch_time: datetime

    def __post_init__(self) -> None:
        _point(self.point, "launch point")
        _set(self, "launch_time", _instant(self.launch_time, "launch_time"))


@dataclass(frozen=True, slots=True)
class Update:
    """Where the missile is (its height is the altitude) and how it moves."""

    position: GeoPoint
    velocity: Velocity

    def __post_init__(self) -> None:
        _point(self.position, "position")
        if not isinstance(self.velocity, Velocity):
            raise _err("TRACK_FIELD_INVALID", "velocity must be a Velocity", field="velocity")


@dataclass(frozen=True, slots=True)
class ImpactPrediction:
    """The predicted impact point, its uncertainty ellipse and the predicted impact time."""

    point: GeoPoint
    ellipse: Ellipse
    impact_time: datetime

    def __post_init__(self) -> None:
        _point(self.point, "impact point")
        if not isinstance(self.ellipse, Ellipse):
            raise _err("TRACK_FIELD_INVALID", "ellipse must be an Ellipse", field="ellipse")
        _set(self, "impact_time", _instant(self.impact_time, "impact_time"))


@dataclass(frozen=True, slots=True)
class EndOfTrack:
    """The sensor stops reporting the track: last position and why."""

    position: GeoPoint
    reason: EndReason

    def __post_init__(self) -> None:
        _point(self.position, "position")
        _enum(self.reason, EndReason, "reason")


Body: TypeAlias = Launch | Update | ImpactPrediction | EndOfTrack
_KINDS: Final[dict[type[Any], Kind]] = {
    Launch: Kind.LAUNCH,
    Update: Kind.UPDATE,
    ImpactPrediction: Kind.IMPACT,
    EndOfTrack: Kind.END,
}


@dataclass(frozen=True, slots=True)
class TrackMessage:
    """One labeled message of a track (PRODUCT.md §5).

    ``time`` is when the sensor produced it, ``stale`` when it stops being current (CoT
    ``stale``); ``ce`` and ``le`` are the sensor's horizontal and vertical 1-sigma errors in metres
    (CoT ``point/@ce``, ``@le``; 9999999 means unknown).  ``simulated`` marks simulator output.
    """

    track_id: str
    seq: int
    time: datetime
    stale: datetime
    sensor: str
    weapon: Weapon
    label: OriginatorLabel
    body: Body
    ce: float = UNKNOWN_ERROR_M
    le: float = UNKNOWN_ERROR_M
    simulated: bool = False
    kind: Kind = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.track_id, str) or not _TRACK_ID.fullmatch(self.track_id):
            raise _err("TRACK_ID_INVALID", f"track id {self.track_id!r} is not valid")
        if (
            isinstance(self.seq, bool)
            or not isinstance(self.seq, int)
            or not 1 <= self.seq <= MAX_SEQ
        ):
            raise _err("TRACK_SEQ_INVALID", "sequence number must be an integer from 1 to 2^53 - 1")
        time = _instant(self.time, "time")
        stale = _instant(self.stale, "stale")
        if stale <= time:
            raise _err("TRACK_TIME_INVALID", "stale must be after time", field="stale")
        if stale - time > MAX_STALE_AFTER:
            raise _err("TRACK_STALE_INVALID", "stale is more than a day after time", field="stale")
        _set(self, "time", time)
        _set(self, "stale", stale)
        if not isinstance(self.sensor, str) or not _SENSOR_ID.fullmatch(self.sensor):
            raise _err("TRACK_SENSOR_INVALID", f"sensor id {self.sensor!r} is not valid")
        _enum(self.weapon, Weapon, "weapon")
        if not isinstance(self.label, OriginatorLabel):
            raise _err("TRACK_LABEL_INVALID", "a track message carries an OriginatorLabel")
        kind = _KINDS.get(type(self.body))
        if kind is None:
            raise _err("TRACK_FIELD_INVALID", "body must be a Launch, Update, ImpactPrediction "
                       "or EndOfTrack", field="body")  # fmt: skip
        if isinstance(self.body, Launch) and self.body.launch_time > time:
            raise _err("TRACK_TIME_INVALID", "launch time is after detection", field="launch_time")
        for name in ("ce", "le"):
            value = _within(
                getattr(self, name), name, "TRACK_ACCURACY_INVALID", 0.0, UNKNOWN_ERROR_M
            )
            _set(self, name, value)
        if not isinstance(self.simulated, bool):
            raise _err("TRACK_FIELD_INVALID", "simulated must be a bool", field="simulated")
        _set(self, "kind", kind)

    @property
    def originator(self) -> str:
        """The nation whose sensor produced the message (its label's originator)."""
        return self.label.originator

    @property
    def point(self) -> GeoPoint:
        """The one position the message is about (launch, current, impact or last point)."""
        body = self.body
        return body.point if isinstance(body, Launch | ImpactPrediction) else body.position

    def is_stale(self, now: datetime) -> bool:
        """Whether the message is no longer current at ``now`` (CoT: stale time reached)."""
        return self.stale <= now
