"""An instant with no UTC datetime is refused as an instant (``INSTANT_INVALID``), not left to
escape as ``OverflowError`` (found by the audit record's differential test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gsomia.errors import InstantError
from gsomia.instants import parse_instant, require_aware


@pytest.mark.parametrize(
    "value",
    [datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=9))),
     datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))],
)  # fmt: skip
def test_an_instant_outside_the_utc_calendar_is_refused(value):
    with pytest.raises(InstantError) as err:
        require_aware(value, "at")
    assert err.value.code == "INSTANT_INVALID"
    with pytest.raises(InstantError) as err:
        parse_instant(value.isoformat())
    assert err.value.code == "INSTANT_INVALID"


def test_the_edges_of_the_utc_calendar_are_kept():
    first = datetime(1, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=9)))
    assert require_aware(first) == datetime(1, 1, 1, tzinfo=UTC)
    assert parse_instant("9999-12-31T23:59:59Z") == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
