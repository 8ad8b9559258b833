"""Canonical JSON for STANAG 4774 labels: the form gsomia hashes, signs and binds.

The label is encoded as a JSON object (RFC 8259) and canonicalized with the JSON Canonicalization
Scheme (RFC 8785): members sorted by UTF-16 code units (§3.2.3), no insignificant whitespace
(§3.2.1), strings in UTF-8 with minimal escaping (§3.2.2.2), integers as ECMAScript numbers
(§3.2.2.3).  :func:`label_digest` is SHA-256 over those bytes; an envelope binds a label to an item
by that digest, so the same label yields the same digest whatever container carries it.

Objects (member names are snake_case and stable; every member is required unless marked)::

    originator label  {"policy_id": str, "classification": str, "originator": "KOR",
                       "created": instant, "review": instant (optional, omitted when absent),
                       "categories": [{"name": str, "type": "PERMISSIVE" | "RESTRICTIVE"
                                       | "INFORMATIVE", "values": [str, ...]}, ...]}
    alternative label {"policy_id": str, "classification": str, "originator": "KOR",
                       "applied_by": "JPN", "agreement": str, "table_version": int,
                       "applied": instant}
    label set         {"originator": originator label, "alternatives": [alternative label, ...]}

- An *instant* is ISO 8601 in UTC ending in ``Z`` (``2024-05-01T09:30:00Z``), with microseconds only
  when they are non-zero (``…:00.250000Z``).  On input any offset is accepted
  (:func:`gsomia.instants.parse_instant`); a time without offset is refused.
- Categories are written sorted by name and their values sorted and without duplicates (the model
  keeps them so); on input their order is free.  Alternatives keep the order they were added in.
- There is no ``"version"`` member.  A digest must depend on the label alone; and since unknown
  members are refused, a future revision that adds ``"version": 2`` (absence meaning 1) is
  refused by this decoder rather than misread: old nodes fail closed.

Decoding (:func:`loads`) is strict and bounded, and raises only :class:`~gsomia.errors.LabelError`.
Its codes:

=========================  =====================================================================
LABEL_JSON_TOO_LARGE       input longer than :data:`MAX_JSON_BYTES` (UTF-8 bytes)
LABEL_JSON_MALFORMED       not UTF-8, byte order mark, or not JSON (RFC 8259 grammar)
LABEL_JSON_TOO_DEEP        arrays/objects nested deeper than :data:`MAX_JSON_DEPTH`
LABEL_JSON_DUPLICATE_KEY   a member name twice in one object (RFC 8259 §4 "SHOULD be unique")
LABEL_JSON_NUMBER_INVALID  ``NaN``, ``Infinity`` or an integer of more than 16 digits
LABEL_JSON_NOT_OBJECT      the top-level value is not an object
LABEL_FIELD_MISSING        a required member is absent
LABEL_FIELD_UNKNOWN        a member this version does not define
LABEL_FIELD_INVALID        a member of the wrong JSON type; or (model) bad text or table version
LABEL_TIME_INVALID         an instant unparseable or without offset; review before creation
LABEL_PARTY_INVALID        (model) a party that is not an ISO 3166-1 alpha-3 code
LABEL_CATEGORY_TYPE        a category type other than the three of ADatP-4774 §3.3
LABEL_CATEGORY_EMPTY       (model) a category with no value, or more than 64
LABEL_CATEGORY_DUPLICATE   (model) two categories with the same name
LABEL_TOO_LARGE            (model) too many categories, alternatives or characters
LABEL_ALTERNATIVE_*        (model) ``_MISMATCH``: wrong originator or self re-marking;
                           ``_DUPLICATE``: a party re-marked twice
=========================  =====================================================================

``detail["field"]`` names the offending member as a path (``originator.categories[1].values``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, TypeAlias, TypeVar

from gsomia import strictjson
from gsomia.errors import InstantError, LabelError
from gsomia.instants import format_instant, parse_instant
from gsomia.labels.model import (
    AlternativeLabel,
    Category,
    CategoryType,
    LabelSet,
    OriginatorLabel,
)

__all__ = [
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "AnyLabel",
    "canonical_bytes",
    "dumps",
    "from_dict",
    "label_digest",
    "loads",
    "to_dict",
]

AnyLabel: TypeAlias = OriginatorLabel | AlternativeLabel | LabelSet
L = TypeVar("L", bound=AnyLabel)

#: Largest accepted input.  The largest valid label set encodes to well under this (the model
#: bounds text, categories and alternatives); a test checks it.
MAX_JSON_BYTES: Final = 256 * 1024
#: Deepest accepted nesting; a label set needs 5 (set > label > categories > category > values).
MAX_JSON_DEPTH: Final = 8

_ORIGINATOR_FIELDS: Final = frozenset(
    {"policy_id", "classification", "originator", "created", "categories"}
)
_ORIGINATOR_OPTIONAL: Final = frozenset({"review"})
_CATEGORY_FIELDS: Final = frozenset({"name", "type", "values"})
_ALTERNATIVE_FIELDS: Final = frozenset(
    {
        "policy_id",
        "classification",
        "originator",
        "applied_by",
        "agreement",
        "table_version",
        "applied",
    }
)
_SET_FIELDS: Final = frozenset({"originator", "alternatives"})


# --- encoding ---------------------------------------------------------------------------------


def _instant(value: datetime) -> str:
    return format_instant(value)  # UTC, "Z", microseconds only when non-zero


def _category_dict(cat: Category) -> dict[str, Any]:
    return {"name": cat.name, "type": cat.type.value, "values": list(cat.values)}


def _originator_dict(label: OriginatorLabel) -> dict[str, Any]:
    out: dict[str, Any] = {
        "policy_id": label.policy_id,
        "classification": label.classification,
        "originator": label.originator,
        "created": _instant(label.created),
        "categories": [_category_dict(c) for c in label.categories],
    }
    if label.review is not None:
        out["review"] = _instant(label.review)
    return out


def _alternative_dict(label: AlternativeLabel) -> dict[str, Any]:
    return {
        "policy_id": label.policy_id,
        "classification": label.classification,
        "originator": label.originator,
        "applied_by": label.applied_by,
        "agreement": label.agreement,
        "table_version": label.table_version,
        "applied": _instant(label.applied),
    }


def to_dict(label: AnyLabel) -> dict[str, Any]:
    """The JSON object of ``label`` (plain dicts, lists, str and int), as described above."""
    if isinstance(label, OriginatorLabel):
        return _originator_dict(label)
    if isinstance(label, AlternativeLabel):
        return _alternative_dict(label)
    if isinstance(label, LabelSet):
        return {
            "originator": _originator_dict(label.originator),
            "alternatives": [_alternative_dict(a) for a in label.alternatives],
        }
    raise TypeError(f"not a label: {type(label).__name__}")


def canonical_bytes(label: AnyLabel) -> bytes:
    """The RFC 8785 canonical UTF-8 bytes of ``label``: what is hashed and signed."""
    return strictjson.canonical(to_dict(label))


def label_digest(label: AnyLabel) -> bytes:
    """SHA-256 of :func:`canonical_bytes` (32 bytes)."""
    return hashlib.sha256(canonical_bytes(label)).digest()


def dumps(label: AnyLabel, *, indent: int | None = None) -> str:
    """JSON text of ``label``: canonical (RFC 8785) by default, indented for people if asked.

    Both forms decode to the same label; only the canonical one is hashed.
    """
    if indent is None:
        return canonical_bytes(label).decode("utf-8")
    return json.dumps(to_dict(label), ensure_ascii=False, sort_keys=True, indent=indent)


# --- decoding ---------------------------------------------------------------------------------


def _err(code: str, message: str, field: str | None = None) -> LabelError:
    return LabelError(message, code=code, detail={} if field is None else {"field": field})


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _object(
    obj: object, where: str, required: frozenset[str], optional: frozenset[str] = frozenset()
) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise _err("LABEL_FIELD_INVALID", f"{where or 'label'} must be a JSON object", where)
    unknown = sorted(str(k) for k in obj if k not in required and k not in optional)
    if unknown:
        field = _join(where, unknown[0])
        raise _err("LABEL_FIELD_UNKNOWN", f"unknown member {field!r}", field)
    missing = sorted(required.difference(obj))
    if missing:
        field = _join(where, missing[0])
        raise _err("LABEL_FIELD_MISSING", f"missing member {field!r}", field)
    return obj


def _str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        field = _join(where, key)
        raise _err("LABEL_FIELD_INVALID", f"{field} must be a string", field)
    return value


def _time(obj: Mapping[str, Any], key: str, where: str) -> datetime:
    text = _str(obj, key, where)
    try:
        return parse_instant(text)
    except InstantError as exc:
        raise _err("LABEL_TIME_INVALID", exc.message, _join(where, key)) from None


def _list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = obj[key]
    if not isinstance(value, list):
        field = _join(where, key)
        raise _err("LABEL_FIELD_INVALID", f"{field} must be an array", field)
    return value


def _category(obj: object, where: str) -> Category:
    fields = _object(obj, where, _CATEGORY_FIELDS)
    name = _str(fields, "name", where)
    type_text = _str(fields, "type", where)
    try:
        cat_type = CategoryType(type_text)
    except ValueError:
        raise _err(
            "LABEL_CATEGORY_TYPE",
            f"category {name!r}: type must be PERMISSIVE, RESTRICTIVE or INFORMATIVE",
            _join(where, "type"),
        ) from None
    values = _list(fields, "values", where)
    for i, value in enumerate(values):
        if not isinstance(value, str):
            field = f"{_join(where, 'values')}[{i}]"
            raise _err("LABEL_FIELD_INVALID", f"{field} must be a string", field)
    return Category(name, cat_type, tuple(values))


def _originator(obj: object, where: str = "") -> OriginatorLabel:
    fields = _object(obj, where, _ORIGINATOR_FIELDS, _ORIGINATOR_OPTIONAL)
    cats_where = _join(where, "categories")
    categories = tuple(
        _category(c, f"{cats_where}[{i}]") for i, c in enumerate(_list(fields, "categories", where))
    )
    return OriginatorLabel(
        policy_id=_str(fields, "policy_id", where),
        classification=_str(fields, "classification", where),
        originator=_str(fields, "originator", where),
        created=_time(fields, "created", where),
        categories=categories,
        review=_time(fields, "review", where) if "review" in fields else None,
    )


def _alternative(obj: object, where: str = "") -> AlternativeLabel:
    fields = _object(obj, where, _ALTERNATIVE_FIELDS)
    version = fields["table_version"]
    if not isinstance(version, int) or isinstance(version, bool):
        field = _join(where, "table_version")
        raise _err("LABEL_FIELD_INVALID", f"{field} must be an integer", field)
    return AlternativeLabel(
        policy_id=_str(fields, "policy_id", where),
        classification=_str(fields, "classification", where),
        originator=_str(fields, "originator", where),
        applied_by=_str(fields, "applied_by", where),
        agreement=_str(fields, "agreement", where),
        table_version=version,
        applied=_time(fields, "applied", where),
    )


def _label_set(obj: object, where: str = "") -> LabelSet:
    fields = _object(obj, where, _SET_FIELDS)
    originator = _originator(fields["originator"], _join(where, "originator"))
    alts = _list(fields, "alternatives", where)
    return LabelSet(
        originator,
        tuple(_alternative(a, f"{_join(where, 'alternatives')}[{i}]") for i, a in enumerate(alts)),
    )


_DECODERS: Final[dict[type[Any], Callable[[object], Any]]] = {
    OriginatorLabel: _originator,
    AlternativeLabel: _alternative,
    LabelSet: _label_set,
}


def from_dict(obj: object, kind: type[L]) -> L:
    """The label of type ``kind`` that the JSON object ``obj`` describes.

    ``obj`` is what :func:`json.loads` gives (or :func:`to_dict`); any error is a
    :class:`LabelError` with one of the codes in the module docstring.
    """
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise TypeError(f"kind must be OriginatorLabel, AlternativeLabel or LabelSet, not {kind!r}")
    label: L = decoder(obj)
    return label


_PROBLEM_CODES: Final = {
    strictjson.Problem.TOO_LARGE: "LABEL_JSON_TOO_LARGE",
    strictjson.Problem.NOT_TEXT: "LABEL_JSON_MALFORMED",
    strictjson.Problem.MALFORMED: "LABEL_JSON_MALFORMED",
    strictjson.Problem.DUPLICATE_KEY: "LABEL_JSON_DUPLICATE_KEY",
    strictjson.Problem.NUMBER: "LABEL_JSON_NUMBER_INVALID",
    strictjson.Problem.TOO_DEEP: "LABEL_JSON_TOO_DEEP",
    strictjson.Problem.NOT_OBJECT: "LABEL_JSON_NOT_OBJECT",
    strictjson.Problem.NOT_CANONICAL: "LABEL_JSON_MALFORMED",
}


def loads(data: str | bytes | bytearray | memoryview, kind: type[L]) -> L:
    """Decode JSON text (or UTF-8 bytes) into a label of type ``kind``, strictly and within bounds.

    Raises :class:`LabelError` (and nothing else) for any input that is not such a label.
    """
    try:
        obj = strictjson.loads(
            data, max_bytes=MAX_JSON_BYTES, max_depth=MAX_JSON_DEPTH, allow_float=True
        )
    except strictjson.JsonProblem as exc:
        code = _PROBLEM_CODES[exc.kind]
        detail = {"field": exc.key} if exc.key is not None else dict(exc.detail)
        raise LabelError(f"label {exc.message}", code=code, detail=detail) from None
    return from_dict(obj, kind)
