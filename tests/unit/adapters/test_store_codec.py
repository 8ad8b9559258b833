"""The store codec's memoized instants, word lists and label sets answer exactly as the plain
conversions.

``instant`` and ``_at`` memoize (the rows of a batch share their instants); ``words`` memoizes
tuples of text.  Whatever the zone, fold or history of calls, the text written and the instant
read back must be those of the unmemoized functions, and a bad value must fail every time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gsomia.adapters import store_codec as codec
from gsomia.errors import GsomiaError
from gsomia.labels import AlternativeLabel, LabelSet, json_codec
from tests.conftest import make_label

SEOUL, NEW_YORK = ZoneInfo("Asia/Seoul"), ZoneInfo("America/New_York")
aware = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(9998, 12, 30),
    timezones=st.sampled_from([UTC, SEOUL, NEW_YORK, timezone(timedelta(hours=-3, minutes=-30))]),
    allow_imaginary=False,
)


def _plain(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


@given(st.lists(aware, min_size=1, max_size=8))
def test_instants_are_written_and_read_as_without_the_memo(values: list[datetime]) -> None:
    for value in values + values:  # the second round hits the memo
        text = codec.instant(value)
        assert text == _plain(value)
        back = codec._at(text)
        assert back == value.astimezone(UTC)  # (== across zones is False in a fold, PEP 495)
        assert back.tzinfo is UTC


def test_the_two_readings_of_an_ambiguous_hour_stay_two_instants() -> None:
    first = datetime(2024, 11, 3, 1, 30, tzinfo=NEW_YORK)  # EDT
    second = first.replace(fold=1)  # EST, an hour later, yet == first
    assert codec.instant(first) != codec.instant(second)
    assert codec.instant(second) == _plain(second)


@pytest.mark.parametrize(
    "text", ["2024-05-01T09:00:00.000000", "not an instant", "2024-13-01T09:00:00.000000Z", ""]
)
def test_a_damaged_instant_fails_every_time(text: str) -> None:
    for _ in range(2):
        with pytest.raises(ValueError, match=r"."):
            codec._at(text)


def test_a_naive_or_foreign_instant_is_refused_every_time() -> None:
    naive = datetime(2024, 5, 1, 9, 0)
    codec.instant(naive.replace(tzinfo=UTC))  # its aware twin is in the memo
    for bad in (naive, naive, "2024-05-01"):
        with pytest.raises(GsomiaError):
            codec.instant(bad)  # type: ignore[arg-type]


@given(st.lists(st.text(max_size=5), max_size=4), st.booleans())
def test_words_are_written_as_without_the_memo(values: list[str], keep_order: bool) -> None:
    expected = codec._words_of.__wrapped__(values, keep_order)
    for _ in range(2):
        assert codec.words(tuple(values), keep_order=keep_order) == expected
        assert codec.words(values, keep_order=keep_order) == expected
        assert codec._words(expected) == tuple(values if keep_order else sorted(values))


def _label_set(alternatives: int, applied: datetime) -> LabelSet:
    originator = make_label()
    return LabelSet(
        originator,
        tuple(
            AlternativeLabel(party, level, "KOR", party, "ROK-JPN-GSOMIA-2016", 1, applied)
            for party, level in (("JPN", "秘"), ("USA", "CONFIDENTIAL"))[:alternatives]
        ),
    )


@given(st.integers(0, 2), st.lists(aware, min_size=1, max_size=4))
def test_label_sets_are_written_as_json_dumps_writes_them(n: int, instants: list[datetime]) -> None:
    """Written label by label from a memo (the originator's repeats, the alternatives differ
    per item), the text is exactly the sorted compact ``json.dumps`` of ``to_dict`` and reads
    back as the same label set."""
    for applied in instants + instants:  # the second round hits the memo
        labels = _label_set(n, applied)
        text = codec.labels_text(labels)
        plain = json.dumps(
            json_codec.to_dict(labels), ensure_ascii=False, separators=(",", ":"), sort_keys=True
        )
        assert text == plain
        assert json_codec.loads(text.encode("utf-8"), LabelSet) == labels
