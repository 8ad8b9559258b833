"""The label model: invariants of originator, alternative labels and label sets (Art. 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from gsomia.errors import LabelError
from gsomia.labels.model import (
    HANDLING,
    RELEASABLE_TO,
    TOPIC,
    AlternativeLabel,
    Category,
    CategoryType,
    LabelSet,
    OriginatorLabel,
)

KST = timezone(timedelta(hours=9))
CREATED = datetime(2024, 5, 1, 9, 30, tzinfo=KST)


def kor_label(**changes: Any) -> OriginatorLabel:
    fields: dict[str, Any] = {
        "policy_id": "KOR",
        "classification": "군사II급비밀",
        "originator": "KOR",
        "created": CREATED,
        "categories": (
            Category(RELEASABLE_TO, CategoryType.PERMISSIVE, ("KOR", "JPN", "USA")),
            Category(TOPIC, CategoryType.RESTRICTIVE, ("NK-MISSILE",)),
            Category(HANDLING, CategoryType.INFORMATIVE, ("제3국 제공 금지",)),
        ),
    }
    fields.update(changes)
    return OriginatorLabel(**fields)


def alternative(party: str = "JPN", level: str = "極秘", **changes: Any) -> AlternativeLabel:
    fields: dict[str, Any] = {
        "policy_id": party,
        "classification": level,
        "originator": "KOR",
        "applied_by": party,
        "agreement": "kor-jpn-gsomia-2016",
        "table_version": 1,
        "applied": CREATED + timedelta(hours=1),
    }
    fields.update(changes)
    return AlternativeLabel(**fields)


def code_of(build: Any) -> str:
    with pytest.raises(LabelError) as info:
        build()
    return info.value.code


# --- label sets -------------------------------------------------------------------------------


def test_with_alternative_leaves_the_originator_label_unchanged() -> None:
    original = kor_label()
    labels = LabelSet(original)
    grown = labels.with_alternative(alternative())
    assert grown.originator is original
    assert grown.originator == kor_label()
    assert labels.alternatives == ()  # the old set is untouched too
    assert grown.alternatives == (alternative(),)


def test_alternatives_keep_their_order() -> None:
    labels = LabelSet(kor_label()).with_alternative(alternative("USA", "SECRET"))
    labels = labels.with_alternative(alternative("JPN"))
    assert [a.applied_by for a in labels.alternatives] == ["USA", "JPN"]


def test_a_party_cannot_re_mark_twice() -> None:
    labels = LabelSet(kor_label()).with_alternative(alternative("JPN", "極秘"))
    assert code_of(lambda: labels.with_alternative(alternative("JPN", "特定秘密"))) == (
        "LABEL_ALTERNATIVE_DUPLICATE"
    )


def test_the_originator_does_not_re_mark_its_own_item() -> None:
    alt = alternative("KOR", "군사II급비밀")
    assert code_of(lambda: LabelSet(kor_label(), (alt,))) == "LABEL_ALTERNATIVE_MISMATCH"


def test_an_alternative_must_name_the_items_originator() -> None:
    alt = alternative(originator="USA")
    assert code_of(lambda: LabelSet(kor_label(), (alt,))) == "LABEL_ALTERNATIVE_MISMATCH"


def test_at_most_sixteen_alternatives() -> None:
    alts = tuple(alternative(f"J{chr(65 + i)}N") for i in range(17))
    assert code_of(lambda: LabelSet(kor_label(), alts)) == "LABEL_TOO_LARGE"
    assert len(LabelSet(kor_label(), alts[:16]).alternatives) == 16


def test_marking_for() -> None:
    labels = LabelSet(kor_label()).with_alternative(alternative("JPN", "極秘"))
    assert labels.marking_for("KOR") == ("KOR", "군사II급비밀")
    assert labels.marking_for("JPN") == ("JPN", "極秘")
    assert labels.marking_for("USA") is None
    assert labels.alternative_for("JPN") == alternative("JPN", "極秘")
    assert labels.alternative_for("USA") is None


# --- originator labels ------------------------------------------------------------------------


def test_categories_and_values_are_sorted_and_deduplicated() -> None:
    label = kor_label(
        categories=(
            Category(TOPIC, CategoryType.RESTRICTIVE, ("NK-MISSILE", "NK-NUCLEAR", "NK-MISSILE")),
            Category(RELEASABLE_TO, CategoryType.PERMISSIVE, ("USA", "JPN", "KOR")),
        )
    )
    assert [c.name for c in label.categories] == [RELEASABLE_TO, TOPIC]
    assert label.categories[0].values == ("JPN", "KOR", "USA")
    assert label.categories[1].values == ("NK-MISSILE", "NK-NUCLEAR")


def test_derived_sets() -> None:
    label = kor_label()
    assert label.releasable_to == {"KOR", "JPN", "USA"}
    assert label.topics == {"NK-MISSILE"}
    assert label.caveats == {"제3국 제공 금지"}
    assert label.category(TOPIC) == Category(TOPIC, CategoryType.RESTRICTIVE, ("NK-MISSILE",))
    assert label.category("Nope") is None


def test_times_are_kept_in_utc() -> None:
    label = kor_label()
    assert label.created.utcoffset() == timedelta(0)
    assert label.created == datetime(2024, 5, 1, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"created": datetime(2024, 5, 1, 9, 30)}, "LABEL_TIME_INVALID"),  # naive
        ({"review": datetime(2030, 1, 1)}, "LABEL_TIME_INVALID"),  # naive
        ({"review": CREATED - timedelta(seconds=1)}, "LABEL_TIME_INVALID"),
        ({"created": "2024-05-01T00:00:00Z"}, "LABEL_TIME_INVALID"),  # not a datetime
        ({"originator": "Korea"}, "LABEL_PARTY_INVALID"),
        ({"originator": "kor"}, "LABEL_PARTY_INVALID"),
        ({"policy_id": ""}, "LABEL_FIELD_INVALID"),
        ({"classification": " "}, "LABEL_FIELD_INVALID"),
        ({"classification": "SECRET\n"}, "LABEL_FIELD_INVALID"),
        ({"classification": "x" * 257}, "LABEL_FIELD_INVALID"),
        ({"classification": "\ud800"}, "LABEL_FIELD_INVALID"),  # a surrogate: not UTF-8
        ({"classification": "SECRET\uffff"}, "LABEL_FIELD_INVALID"),  # not an XML character
    ],
)
def test_originator_label_invalid(changes: dict[str, Any], code: str) -> None:
    assert code_of(lambda: kor_label(**changes)) == code


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ((RELEASABLE_TO, CategoryType.RESTRICTIVE, ("JPN",)), "LABEL_CATEGORY_TYPE"),
        ((RELEASABLE_TO, CategoryType.PERMISSIVE, ("Japan",)), "LABEL_PARTY_INVALID"),
        ((TOPIC, CategoryType.RESTRICTIVE, ("nk missile",)), "LABEL_FIELD_INVALID"),
        (("Other", "PERMISSIVE", ("x",)), "LABEL_CATEGORY_TYPE"),  # a str, not the enum
        (("Other", CategoryType.INFORMATIVE, ()), "LABEL_CATEGORY_EMPTY"),
        (("Other", CategoryType.INFORMATIVE, tuple(str(i) for i in range(65))),
         "LABEL_CATEGORY_EMPTY"),
        (("", CategoryType.INFORMATIVE, ("x",)), "LABEL_FIELD_INVALID"),
        (("Other", CategoryType.INFORMATIVE, ("",)), "LABEL_FIELD_INVALID"),
    ],
)  # fmt: skip
def test_category_invalid(args: tuple[Any, ...], code: str) -> None:
    assert code_of(lambda: Category(*args)) == code


def test_category_names_are_unique() -> None:
    cats = (
        Category("A", CategoryType.INFORMATIVE, ("x",)),
        Category("A", CategoryType.RESTRICTIVE, ("y",)),
    )
    assert code_of(lambda: kor_label(categories=cats)) == "LABEL_CATEGORY_DUPLICATE"


def test_at_most_32_categories() -> None:
    cats = tuple(Category(f"C{i}", CategoryType.INFORMATIVE, ("x",)) for i in range(33))
    assert code_of(lambda: kor_label(categories=cats)) == "LABEL_TOO_LARGE"


def test_at_most_4096_characters_of_text() -> None:
    # "KOR" and "군사II급비밀" are 10 characters; 15 categories of 1 + 255 characters are 3,840.
    full = tuple(Category(chr(65 + i), CategoryType.INFORMATIVE, ("v" * 255,)) for i in range(15))

    def last(size: int) -> Category:
        return Category("Z", CategoryType.INFORMATIVE, ("z" * size,))

    assert kor_label(categories=(*full, last(245))).category("Z") == last(245)  # exactly 4,096
    assert code_of(lambda: kor_label(categories=(*full, last(246)))) == "LABEL_TOO_LARGE"


# --- alternative labels -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"applied": datetime(2024, 5, 1, 10, 0)}, "LABEL_TIME_INVALID"),  # naive
        ({"applied_by": "JP"}, "LABEL_PARTY_INVALID"),
        ({"originator": ""}, "LABEL_PARTY_INVALID"),
        ({"agreement": ""}, "LABEL_FIELD_INVALID"),
        ({"table_version": 0}, "LABEL_FIELD_INVALID"),
        ({"table_version": True}, "LABEL_FIELD_INVALID"),
        ({"table_version": "1"}, "LABEL_FIELD_INVALID"),
        ({"table_version": 2**53}, "LABEL_FIELD_INVALID"),  # beyond exact JSON integers
    ],
)
def test_alternative_label_invalid(changes: dict[str, Any], code: str) -> None:
    assert code_of(lambda: alternative(**changes)) == code


def test_largest_table_version_is_accepted() -> None:
    assert alternative(table_version=2**53 - 1).table_version == 2**53 - 1


def test_labels_are_immutable() -> None:
    label = kor_label()
    with pytest.raises(AttributeError):
        label.classification = "秘"  # type: ignore[misc]
