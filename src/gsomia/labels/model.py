"""The STANAG 4774 confidentiality label model, as gsomia uses it.

An :class:`OriginatorLabel` is what the originating party attaches to an item: its security policy
(our national scheme id, e.g. ``KOR``), the classification in that scheme's native text, typed
categories, the originator and the creation time.  It is never altered after creation.

A receiving party adds an :class:`AlternativeLabel` beside it (Art. 4: "the Receiving Party shall
mark the received CMI with the name of the Originating Party and its own equivalent level"):
its own scheme and equivalent level, the originator's name, and the agreement and table version
the equivalence came from.  :class:`LabelSet` holds both and only ever grows.

Categories follow STANAG 4774 typing (ADatP-4774 §3): PERMISSIVE (the recipient needs at least one
value, e.g. *Releasable To*), RESTRICTIVE (the recipient needs every value, e.g. *Topic*, checked
against an official's duties) and INFORMATIVE (no access control, e.g. handling caveats).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from gsomia.errors import LabelError
from gsomia.instants import require_aware

RELEASABLE_TO = "Releasable To"
TOPIC = "Topic"
HANDLING = "Handling"

_TRIGRAPH = re.compile(r"^[A-Z]{3}\Z")
_TOKEN = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,63}\Z")
_MAX_TEXT = 256
_MAX_VALUES = 64
_MAX_CATEGORIES = 32
# Bounds that keep every valid label encodable, and small enough that both encodings of the largest
# one fit the codecs' input limits (see tests/unit/labels/test_xml_codec.py, "largest label").
_MAX_LABEL_TEXT = 4096  # characters of text in one originator label, all fields together
_MAX_ALTERNATIVES = 16
_MAX_TABLE_VERSION = 2**53 - 1  # I-JSON (RFC 7493 §2.2) and RFC 8785 §3.2.2.3 exact integers


class CategoryType(StrEnum):
    """The type of a 4774 category (ADatP-4774 §3.3)."""

    PERMISSIVE = "PERMISSIVE"
    RESTRICTIVE = "RESTRICTIVE"
    INFORMATIVE = "INFORMATIVE"


_CONTROL = re.compile("[\x00-\x1f]")
_UNENCODABLE = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_TEXT:
        raise LabelError(
            f"{what} must be a non-empty string of at most {_MAX_TEXT} characters",
            code="LABEL_FIELD_INVALID",
            detail={"field": what},
        )
    if _CONTROL.search(value):
        raise LabelError(
            f"{what} contains control characters",
            code="LABEL_FIELD_INVALID",
            detail={"field": what},
        )
    # Surrogates cannot be written in UTF-8 (RFC 3629 §3), nor U+FFFE/U+FFFF in XML 1.0 (§2.2 Char):
    # a label holding one could be built but never encoded, so it is refused here.
    if _UNENCODABLE.search(value):
        raise LabelError(
            f"{what} contains characters that cannot be encoded",
            code="LABEL_FIELD_INVALID",
            detail={"field": what},
        )
    return value


def _party(value: object, what: str) -> str:
    if not isinstance(value, str) or not _TRIGRAPH.match(value):
        raise LabelError(
            f"{what} must be an ISO 3166-1 alpha-3 code such as KOR, got {value!r}",
            code="LABEL_PARTY_INVALID",
            detail={"field": what},
        )
    return value


@dataclass(frozen=True, slots=True)
class Category:
    """A typed category with its values, kept sorted and without duplicates."""

    name: str
    type: CategoryType
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        _text(self.name, "category name")
        if not isinstance(self.type, CategoryType):
            raise LabelError(
                f"category {self.name!r}: unknown type {self.type!r}", code="LABEL_CATEGORY_TYPE"
            )
        if not self.values or len(self.values) > _MAX_VALUES:
            raise LabelError(
                f"category {self.name!r} needs 1 to {_MAX_VALUES} values",
                code="LABEL_CATEGORY_EMPTY",
            )
        for value in self.values:
            _text(value, f"value of {self.name}")
        if self.name == RELEASABLE_TO:
            for value in self.values:
                _party(value, RELEASABLE_TO)
            if self.type is not CategoryType.PERMISSIVE:
                raise LabelError(
                    "Releasable To must be a PERMISSIVE category", code="LABEL_CATEGORY_TYPE"
                )
        if self.name == TOPIC:
            for value in self.values:
                if not _TOKEN.match(value):
                    raise LabelError(
                        f"topic {value!r} is not a topic code such as NK-MISSILE",
                        code="LABEL_FIELD_INVALID",
                        detail={"field": TOPIC},
                    )
        object.__setattr__(self, "values", tuple(sorted(set(self.values))))


@dataclass(frozen=True, slots=True)
class OriginatorLabel:
    """The originating party's label; immutable once created."""

    policy_id: str
    classification: str
    originator: str
    created: datetime
    categories: tuple[Category, ...] = ()
    review: datetime | None = None
    releasable_to: frozenset[str] = field(init=False, compare=False, repr=False)
    topics: frozenset[str] = field(init=False, compare=False, repr=False)
    caveats: frozenset[str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        _text(self.policy_id, "policy identifier")
        _text(self.classification, "classification")
        _party(self.originator, "originator")
        try:
            object.__setattr__(self, "created", require_aware(self.created, "creation time"))
            if self.review is not None:
                object.__setattr__(self, "review", require_aware(self.review, "review time"))
        except LabelError:
            raise
        except Exception as exc:  # InstantError: re-raise as a label error with its own code
            raise LabelError(str(exc), code="LABEL_TIME_INVALID") from None
        if self.review is not None and self.review < self.created:
            raise LabelError("review time is before creation time", code="LABEL_TIME_INVALID")
        if len(self.categories) > _MAX_CATEGORIES:
            raise LabelError(f"at most {_MAX_CATEGORIES} categories", code="LABEL_TOO_LARGE")
        text = (
            len(self.policy_id)
            + len(self.classification)
            + sum(len(c.name) + sum(len(v) for v in c.values) for c in self.categories)
        )
        if text > _MAX_LABEL_TEXT:
            raise LabelError(
                f"at most {_MAX_LABEL_TEXT} characters of text in a label", code="LABEL_TOO_LARGE"
            )
        names = [c.name for c in self.categories]
        if len(set(names)) != len(names):
            raise LabelError("a category name appears twice", code="LABEL_CATEGORY_DUPLICATE")
        cats = tuple(sorted(self.categories, key=lambda c: c.name))
        object.__setattr__(self, "categories", cats)
        by_name = {c.name: c.values for c in cats}
        object.__setattr__(self, "releasable_to", frozenset(by_name.get(RELEASABLE_TO, ())))
        object.__setattr__(self, "topics", frozenset(by_name.get(TOPIC, ())))
        object.__setattr__(self, "caveats", frozenset(by_name.get(HANDLING, ())))

    def category(self, name: str) -> Category | None:
        """The category called ``name``, if the label has one."""
        for cat in self.categories:
            if cat.name == name:
                return cat
        return None


@dataclass(frozen=True, slots=True)
class AlternativeLabel:
    """A receiving party's equivalent marking, added beside the originator's (Art. 4)."""

    policy_id: str
    classification: str
    originator: str
    applied_by: str
    agreement: str
    table_version: int
    applied: datetime

    def __post_init__(self) -> None:
        _text(self.policy_id, "policy identifier")
        _text(self.classification, "classification")
        _party(self.originator, "originator")
        _party(self.applied_by, "applied by")
        _text(self.agreement, "agreement")
        if (
            not isinstance(self.table_version, int)
            or isinstance(self.table_version, bool)
            or not 1 <= self.table_version <= _MAX_TABLE_VERSION
        ):
            raise LabelError(
                "table version must be an integer from 1 to 2^53 - 1",
                code="LABEL_FIELD_INVALID",
                detail={"field": "table version"},
            )
        try:
            object.__setattr__(self, "applied", require_aware(self.applied, "applied time"))
        except Exception as exc:
            raise LabelError(str(exc), code="LABEL_TIME_INVALID") from None


@dataclass(frozen=True, slots=True)
class LabelSet:
    """The originator's label and the alternative labels recipients added, in order."""

    originator: OriginatorLabel
    alternatives: tuple[AlternativeLabel, ...] = ()

    def __post_init__(self) -> None:
        if len(self.alternatives) > _MAX_ALTERNATIVES:
            raise LabelError(
                f"at most {_MAX_ALTERNATIVES} alternative labels", code="LABEL_TOO_LARGE"
            )
        seen: set[str] = set()
        for alt in self.alternatives:
            if alt.originator != self.originator.originator:
                raise LabelError(
                    "an alternative label must name the item's originator",
                    code="LABEL_ALTERNATIVE_MISMATCH",
                )
            if alt.applied_by == self.originator.originator:
                raise LabelError(
                    "the originator does not re-mark its own item",
                    code="LABEL_ALTERNATIVE_MISMATCH",
                )
            if alt.applied_by in seen:
                raise LabelError(
                    f"{alt.applied_by} already added an alternative label",
                    code="LABEL_ALTERNATIVE_DUPLICATE",
                )
            seen.add(alt.applied_by)

    def with_alternative(self, alt: AlternativeLabel) -> LabelSet:
        """A new label set with ``alt`` added; the originator label is untouched."""
        return LabelSet(self.originator, (*self.alternatives, alt))

    def alternative_for(self, party: str) -> AlternativeLabel | None:
        """The alternative label ``party`` applied, if any."""
        for alt in self.alternatives:
            if alt.applied_by == party:
                return alt
        return None

    def marking_for(self, party: str) -> tuple[str, str] | None:
        """``(scheme, level)`` under which ``party`` holds the item, or None if it has none."""
        if party == self.originator.originator:
            return (self.originator.policy_id, self.originator.classification)
        alt = self.alternative_for(party)
        return None if alt is None else (alt.policy_id, alt.classification)
