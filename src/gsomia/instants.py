"""Instants: timezone-aware datetimes, parsed strictly; never read from a clock here.

Times are instants (PRODUCT.md §4): UTC inside, shown in an agreement's zone.  A naive datetime
is refused everywhere, since "2019-11-22 18:00" means different instants in Seoul and Washington.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gsomia.errors import InstantError

__all__ = [
    "UTC",
    "add_years",
    "format_instant",
    "parse_instant",
    "require_aware",
    "subtract_days",
    "zone",
]


def parse_instant(text: str) -> datetime:
    """Parse ISO 8601 with an offset (``Z`` or ``±HH:MM``) into an aware UTC datetime.

    A bare date (``2016-11-23``) or a time without offset is refused with ``INSTANT_NO_OFFSET``.
    """
    if not isinstance(text, str) or not text.strip():
        raise InstantError("an instant must be a non-empty ISO 8601 string", code="INSTANT_INVALID")
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        raise InstantError(
            f"{raw!r} is not an ISO 8601 instant (expected e.g. 2019-11-22T18:00:00+09:00)",
            code="INSTANT_INVALID",
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InstantError(
            f"{raw!r} has no UTC offset; add one, e.g. +09:00 for Seoul or Z for UTC",
            code="INSTANT_NO_OFFSET",
        )
    return _in_utc(value, repr(raw))


def require_aware(value: datetime, what: str = "instant") -> datetime:
    """Return ``value`` in UTC, refusing naive datetimes."""
    if type(value) is datetime and value.tzinfo is UTC:  # already so (the common case)
        return value
    if not isinstance(value, datetime):
        raise InstantError(f"{what} must be a datetime", code="INSTANT_INVALID")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InstantError(
            f"{what} {value.isoformat()} has no UTC offset", code="INSTANT_NO_OFFSET"
        )
    return _in_utc(value, f"{what} {value.isoformat()}")


def _in_utc(value: datetime, shown: str) -> datetime:
    # An instant in the first or last hours of the calendar (0001-01-01T00:00+09:00) has no UTC
    # datetime: refused as an instant, not left to escape as OverflowError.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InstantError(f"{shown} is outside the years 1-9999 in UTC",
                           code="INSTANT_INVALID") from None  # fmt: skip


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (for example ``Asia/Seoul``)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InstantError(f"unknown time zone {name!r}", code="ZONE_UNKNOWN") from None


def add_years(value: datetime, years: int, tz: ZoneInfo) -> datetime:
    """The same wall-clock time ``years`` later in ``tz`` (29 Feb falls back to 28 Feb)."""
    local = value.astimezone(tz)
    year = local.year + years
    try:
        shifted = local.replace(year=year)
    except ValueError:  # 29 February in a common year
        shifted = local.replace(year=year, day=28)
    # Re-attach the zone so the offset is the one valid on the new date.
    naive = shifted.replace(tzinfo=None)
    return naive.replace(tzinfo=tz).astimezone(UTC)


def subtract_days(value: datetime, days: int, tz: ZoneInfo) -> datetime:
    """``days`` calendar days earlier, at the same wall-clock time in ``tz``."""
    local = value.astimezone(tz).replace(tzinfo=None) - timedelta(days=days)
    return local.replace(tzinfo=tz).astimezone(UTC)


def format_instant(value: datetime, tz: ZoneInfo | None = None) -> str:
    """ISO 8601 with offset, in ``tz`` if given (else UTC, written with ``Z``)."""
    if tz is None:
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.astimezone(tz).isoformat()
