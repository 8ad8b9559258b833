"""Item ids: version-7 UUIDs (RFC 9562 §5.7) that sort by their release instant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gsomia.envelope.wire import valid_item_id
from gsomia.ids import item_id, new_item_id

instants = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


def test_the_rfc_9562_example() -> None:
    """RFC 9562 Appendix A.6: 2022-02-22 19:22:22 UTC; its rand_a (0xCC3) is random, ours is
    the fraction of the millisecond (here 0); the random part is the example's."""
    at = datetime(2022, 2, 22, 19, 22, 22, tzinfo=UTC)
    assert item_id(at, bytes.fromhex("18C4DC0C0C07398F")) == "017f22e2-79b0-7000-98c4-dc0c0c07398f"


@given(instants, st.binary(min_size=8, max_size=8))
def test_an_id_is_a_canonical_version_7_uuid_of_its_instant(at: datetime, random: bytes) -> None:
    text = item_id(at, random)
    parsed = uuid.UUID(text)
    assert str(parsed) == text
    assert valid_item_id(text)
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    millis = parsed.int >> 80
    assert millis == (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    assert parsed.int & ((1 << 62) - 1) == int.from_bytes(random, "big") & ((1 << 62) - 1)


@given(instants, instants, st.binary(min_size=8, max_size=8), st.binary(min_size=8, max_size=8))
def test_ids_sort_by_their_instant_to_the_microsecond(
    a: datetime, b: datetime, ra: bytes, rb: bytes
) -> None:
    if a < b:
        assert item_id(a, ra) < item_id(b, rb)


def test_the_zone_does_not_matter_and_a_naive_instant_is_refused() -> None:
    at = datetime(2026, 11, 24, 9, 0, 0, 250_001, tzinfo=timezone(timedelta(hours=9)))
    assert item_id(at, bytes(8)) == item_id(at.astimezone(UTC), bytes(8))
    with pytest.raises(ValueError, match="aware"):
        item_id(at.replace(tzinfo=None), bytes(8))
    with pytest.raises(ValueError, match="8 random bytes"):
        item_id(at, bytes(7))
    with pytest.raises(ValueError, match="between 1970"):
        item_id(datetime(1969, 12, 31, tzinfo=UTC), bytes(8))


def test_fresh_ids_of_one_instant_differ() -> None:
    at = datetime(2026, 11, 24, tzinfo=UTC)
    ids = {new_item_id(at) for _ in range(1000)}
    assert len(ids) == 1000
    assert {i[:18] for i in ids} == {item_id(at, bytes(8))[:18]}  # time and version bits alike
