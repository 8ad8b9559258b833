"""A kinematic ballistic flight: launch point, aim, range, apogee and flight time → position and
velocity at any instant of the flight (for :mod:`gsomia.tracks.simulate`, PRODUCT.md §5).

This is a plausible picture for demonstrations, tests and benchmarks, not a physical model: the
Earth is a sphere of radius :data:`EARTH_RADIUS_M`, the ground track is the great circle from the
launch point to the impact point, and height follows a *boost* arc (constant acceleration from
rest for ``boost`` seconds) joined smoothly to a *ballistic* arc under a constant effective
gravity.  Given range ``R``, apogee ``H``, flight time ``T`` and boost time ``b`` (coast time
``c = T - b``), continuity of position and velocity at burnout gives, in closed form::

    horizontal speed after burnout   v_h = R / (c + b/2)
    vertical speed at burnout        v_z = 2H / (b + c² / (b + 2c))
    effective gravity                g   = v_z (b + 2c) / c²
    burnout height, ground distance  h_b = v_z b / 2,   s_b = v_h b / 2

so that the missile reaches exactly ``H`` and lands at ``R`` at ``T``.  For the published North
Korean flights the derived ``g`` lies between about 5 and 9 m/s², i.e. gravity averaged over the
altitudes flown.  Height is above the sphere (terrain and geoid are ignored).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

__all__ = [
    "EARTH_RADIUS_M",
    "Flight",
    "bearing",
    "destination",
    "distance",
    "flight_time",
    "standard_apogee",
]

EARTH_RADIUS_M: Final = 6_371_008.8  # mean radius (IUGG)
G0: Final = 9.80665


def destination(lat: float, lon: float, azimuth: float, dist: float) -> tuple[float, float]:
    """The point ``dist`` metres from (``lat``, ``lon``) along the great circle at ``azimuth``."""
    phi1, lam1, theta = math.radians(lat), math.radians(lon), math.radians(azimuth)
    delta = dist / EARTH_RADIUS_M
    sin_phi2 = math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    phi2 = math.asin(max(-1.0, min(1.0, sin_phi2)))
    lam2 = lam1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1),
        math.cos(delta) - math.sin(phi1) * sin_phi2,
    )
    lon2 = (math.degrees(lam2) + 540.0) % 360.0 - 180.0
    return math.degrees(phi2), lon2


def distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlam = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlam / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial great-circle bearing from point 1 to point 2, degrees in [0, 360)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlam = math.radians(lon2 - lon1)
    y = math.sin(dlam) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlam)
    value = math.degrees(math.atan2(y, x)) % 360.0
    return 0.0 if value >= 360.0 else value


@dataclass(frozen=True, slots=True)
class Flight:
    """One ballistic flight: where from, where to, how high, how long (module docstring)."""

    launch_lat: float
    launch_lon: float
    impact_lat: float
    impact_lon: float
    apogee_m: float
    duration_s: float
    boost_s: float

    def __post_init__(self) -> None:
        if not 0 < self.boost_s < self.duration_s or self.apogee_m <= 0 or self.range_m <= 0:
            raise ValueError("a flight needs 0 < boost < duration, a positive apogee and range")

    @property
    def range_m(self) -> float:
        """Ground range, launch point to impact point, metres."""
        return distance(self.launch_lat, self.launch_lon, self.impact_lat, self.impact_lon)

    @property
    def azimuth(self) -> float:
        """Initial bearing of the ground track, degrees."""
        return bearing(self.launch_lat, self.launch_lon, self.impact_lat, self.impact_lon)

    def _arc(self) -> tuple[float, float, float, float, float]:
        b, c, r, h = self.boost_s, self.duration_s - self.boost_s, self.range_m, self.apogee_m
        v_h = r / (c + b / 2)
        v_z = 2 * h / (b + c * c / (b + 2 * c))
        g = v_z * (b + 2 * c) / (c * c)
        return v_h, v_z, g, v_z * b / 2, v_h * b / 2

    @property
    def effective_gravity(self) -> float:
        """The constant gravity of the ballistic arc, m/s² (a plausibility check)."""
        return self._arc()[2]

    def state(self, t: float) -> tuple[float, float, float, float, float, float]:
        """At ``t`` seconds after launch (clamped to the flight): lat, lon, height (m), then
        east, north and up velocity (m/s)."""
        t = max(0.0, min(self.duration_s, t))
        v_h, v_z, g, h_b, s_b = self._arc()
        b = self.boost_s
        if t <= b:
            ratio = t / b
            s, h = s_b * ratio * ratio, h_b * ratio * ratio
            ds, dh = 2 * s_b * t / (b * b), 2 * h_b * t / (b * b)
        else:
            u = t - b
            s, h = s_b + v_h * u, max(0.0, h_b + v_z * u - g * u * u / 2)
            ds, dh = v_h, v_z - g * u
        lat, lon = destination(self.launch_lat, self.launch_lon, self.azimuth, s)
        if s <= 0:
            course = self.azimuth
        else:  # the great circle's bearing here: opposite of the bearing back to the start
            course = (bearing(lat, lon, self.launch_lat, self.launch_lon) + 180.0) % 360.0
        rad = math.radians(course)
        return lat, lon, h, ds * math.sin(rad), ds * math.cos(rad), dh

    def apogee_time(self) -> float:
        """Seconds after launch at which the apogee is reached."""
        _, v_z, g, _, _ = self._arc()
        return self.boost_s + v_z / g


def standard_apogee(range_m: float) -> float:
    """Apogee of a minimum-energy trajectory over ``range_m``: a quarter of the range on a flat
    Earth, lowered for long ranges (3,700 km → about 750 km, as Hwasong-12 flew in Sept. 2017)."""
    return range_m / 4 * (1 - range_m / 20_000_000)


def flight_time(apogee_m: float, boost_s: float) -> float:
    """Flight time reaching ``apogee_m``: boost plus a rise and fall under gravity averaged at
    half the apogee (Hwasong-12, May 2017: 2,111 km apogee → about 28 minutes; reported 30)."""
    g = G0 * (EARTH_RADIUS_M / (EARTH_RADIUS_M + apogee_m / 2)) ** 2
    return boost_s + 2 * math.sqrt(2 * apogee_m / g)
