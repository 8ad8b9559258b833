"""The audit record's fast checks and writer against the reference they replaced.

``AuditRecord.__post_init__`` tests each field the cheap way first (exact type, a cache of detail
keys and reason codes already checked) and ``to_bytes`` writes RFC 8785 member by member.  The
reference below is the construction check as it was, verbatim, and the reference encoding is the
``rfc8785`` package on :meth:`AuditRecord.to_json`.  On every input both build the same record or
refuse it with the same error (class, code, message, detail); every record built has the
reference's bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.errors import GsomiaError, InputError
from gsomia.instants import require_aware
from gsomia.strictjson import canonical

# -- the reference: AuditRecord.__post_init__ before its fast path --------------------------------
# (anchored with \Z, as the module now is: a trailing newline is refused, test_trailing_newline.py)

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}\Z")
_REASON = re.compile(r"^[A-Z][A-Z0-9_]{0,63}\Z")
_DECISION = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")
_DETAIL_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")
_MAX_SAFE_INT = 2**53 - 1


def _invalid(message: str, field_name: str) -> InputError:
    return InputError(message, code="AUDIT_RECORD_INVALID", detail={"field": field_name})


def _identifier(value: object, field_name: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise _invalid(
            f"{field_name} must be an identifier (letters, digits and ._:@/+-, no spaces, "
            f"at most 128 characters), got {value!r}",
            field_name,
        )
    return value


def _detail_value(key: str, value: object) -> object:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            raise _invalid(f"detail {key!r} is outside the I-JSON integer range", "detail")
        return value
    if isinstance(value, str):
        if len(value) > 1024:
            raise _invalid(f"detail {key!r} is longer than {1024}", "detail")
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _invalid(f"detail {key!r} holds a lone surrogate", "detail") from None
        return value
    raise _invalid(
        f"detail {key!r} must be a string, an integer, a boolean or null, "
        f"not {type(value).__name__}",
        "detail",
    )


def reference(
    kind: Any,
    at: Any,
    actor: Any,
    subject: Any,
    decision: Any = None,
    reasons: Any = (),
    agreement: Any = None,
    table_version: Any = None,
    detail: Any = MappingProxyType({}),
) -> tuple[object, ...]:
    """The fields the old ``__post_init__`` kept, or its error."""
    if type(kind) is not AuditKind:
        try:
            kind = AuditKind(kind)
        except ValueError:
            raise _invalid(f"unknown audit record kind {kind!r}", "kind") from None
    at = require_aware(at, "at")
    _identifier(actor, "actor")
    _identifier(subject, "subject")
    if decision is not None and (not isinstance(decision, str) or not _DECISION.match(decision)):
        raise _invalid(f"decision must be a lower-case word, got {decision!r}", "decision")
    if isinstance(reasons, str) or not isinstance(reasons, tuple | list):
        raise _invalid("reasons must be a tuple of reason codes", "reasons")
    reasons = tuple(reasons)
    if len(reasons) > 32:
        raise _invalid(f"at most {32} reasons", "reasons")
    for code in reasons:
        if not isinstance(code, str) or not _REASON.match(code):
            raise _invalid(f"reason {code!r} is not a reason code like NOT_IN_FORCE", "reasons")
    if agreement is not None:
        _identifier(agreement, "agreement")
    version = table_version
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= 2**31
    ):
        raise _invalid(
            f"table_version must be a non-negative integer, got {version!r}", "table_version"
        )
    if not isinstance(detail, Mapping):
        raise _invalid("detail must be a mapping", "detail")
    if len(detail) > 64:
        raise _invalid(f"at most {64} detail entries", "detail")
    checked: dict[str, object] = {}
    for key in sorted(detail):
        if not isinstance(key, str) or not _DETAIL_KEY.match(key):
            raise _invalid(f"detail key {key!r} must be a lower-case snake_case name", "detail")
        checked[key] = _detail_value(key, detail[key])
    return (kind, at, actor, subject, decision, reasons, agreement, table_version, checked)


def _fields(record: AuditRecord) -> tuple[object, ...]:
    return (
        record.kind, record.at, record.actor, record.subject, record.decision, record.reasons,
        record.agreement, record.table_version, dict(record.detail),
    )  # fmt: skip


def _typed(values: tuple[object, ...]) -> tuple[object, ...]:
    """Values with their exact types: a subclass kept (or not) is a difference."""
    out: list[object] = []
    for value in values:
        if isinstance(value, tuple):
            out.append(tuple((type(v), v) for v in value))
        elif isinstance(value, dict):
            out.append(tuple((type(k), k, type(v), v) for k, v in value.items()))
        else:
            out.append((type(value), value))
    return tuple(out)


def _outcome(build: Any, fields: dict[str, Any]) -> tuple[object, ...]:
    try:
        built = build(**fields)
    except GsomiaError as exc:
        return ("refused", type(exc), exc.code, exc.message, exc.detail)
    except TypeError as exc:  # sorted() of keys that do not compare: both alike
        return ("type error", str(exc))
    values = _fields(built) if isinstance(built, AuditRecord) else built
    return ("built", _typed(values))


# -- inputs: valid and invalid, and the subclasses the general checks accept -------------------


class _Word(StrEnum):
    ALLOW = "allow"
    CODE = "IN_FORCE"
    KEY = "recipient"
    BAD = "Not A Key"


class _Number(IntEnum):
    ONE = 1
    BIG = 2**60


KST = timezone(timedelta(hours=9))
_IDS = st.one_of(
    st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,20}\Z"),
    st.sampled_from(["kor-1\n", "", " a", "a b", "x" * 128, "x" * 129, "é", _Word.ALLOW, 7, None]),
)
_CODES = st.one_of(
    st.sampled_from(["IN_FORCE", "NOT_IN_FORCE", "X", "in_force", "A\n", "", _Word.CODE, 1]),
    st.from_regex(r"\A[A-Z][A-Z0-9_]{0,6}\Z"),
)
_KEYS = st.one_of(
    st.sampled_from(["recipient", "topic", "a", "A", "a b", "x\n", "", "_x", "é", "k" * 65]),
    st.sampled_from([_Word.KEY, _Word.BAD]),
    st.from_regex(r"\A[a-z][a-z0-9_]{0,8}\Z"),
)
_VALUES = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["極秘", "\ud800", "x" * 1024, "x" * 1025, "é" * 1025, _Word.ALLOW]),
    st.integers(min_value=-(2**54), max_value=2**54),
    st.sampled_from([2**53 - 1, -(2**53) + 1, 2**53, _Number.ONE, _Number.BIG, True, False]),
    st.none(),
    st.sampled_from([1.5, [], b"x"]),
)
_DETAILS = st.one_of(
    st.dictionaries(_KEYS, _VALUES, max_size=6),
    st.dictionaries(_KEYS, _VALUES, max_size=3).map(MappingProxyType),
    st.sampled_from([{1: "x"}, {"a": 1, 2: "b"}, [("a", 1)], {f"k{i}": 1 for i in range(65)}]),
)
_FIELD: dict[str, st.SearchStrategy[Any]] = {
    "kind": st.one_of(st.sampled_from(AuditKind), st.sampled_from(["release", "nope", 3])),
    "at": st.one_of(
        st.datetimes(timezones=st.sampled_from([UTC, KST])),
        st.sampled_from([datetime(2026, 1, 1), "2026-01-01T00:00:00Z"]),
    ),
    "actor": _IDS,
    "subject": _IDS,
    "decision": st.one_of(
        st.none(), st.sampled_from(["allow", "deny", "Allow", "a\n", "", _Word.ALLOW, 1])
    ),
    "reasons": st.one_of(
        st.lists(_CODES, max_size=4).map(tuple),
        st.lists(_CODES, max_size=3),
        st.sampled_from(["IN_FORCE", ("X",) * 33, None]),
    ),
    "agreement": st.one_of(st.none(), _IDS),
    "table_version": st.one_of(
        st.none(), st.integers(-2, 2**31 + 1), st.sampled_from([True, 2**31, 1.0, "1"])
    ),
    "detail": st.one_of(_DETAILS, _DETAILS, _DETAILS),  # the field with the most checks
}
_REQUIRED = ("kind", "at", "actor", "subject")
_FIELDS = st.fixed_dictionaries(
    {name: _FIELD[name] for name in _REQUIRED},
    optional={name: s for name, s in _FIELD.items() if name not in _REQUIRED},
)


@settings(max_examples=1500)
@given(_FIELDS)
def test_construction_agrees_with_the_reference(fields):
    assert _outcome(AuditRecord, fields) == _outcome(reference, fields)


_VALID: dict[str, Any] = {
    "kind": AuditKind.RELEASE,
    "at": datetime(2026, 1, 1, tzinfo=UTC),
    "actor": "kor-release-1",
    "subject": "item-1",
    "decision": "allow",
    "reasons": ("IN_FORCE",),
    "agreement": "KOR-JPN",
    "table_version": 1,
    "detail": {"recipient": "JPN"},
}


@st.composite
def _one_field_varied(draw: st.DrawFn) -> dict[str, Any]:
    """A valid record's fields with one or two of them drawn from :data:`_FIELDS`."""
    fields = dict(_VALID)
    for name in draw(st.lists(st.sampled_from(sorted(_FIELD)), min_size=1, max_size=2)):
        fields[name] = draw(_FIELD[name])
    return fields


@settings(max_examples=1500)
@given(_one_field_varied())
def test_construction_agrees_with_the_reference_field_by_field(fields):
    assert _outcome(AuditRecord, fields) == _outcome(reference, fields)


@settings(max_examples=500)
@given(st.one_of(_FIELDS, _one_field_varied()))
def test_every_record_is_written_as_rfc8785_writes_it(fields):
    try:
        record = AuditRecord(**fields)
    except (GsomiaError, TypeError):
        return
    expected = bytes(rfc8785.dumps(record.to_json()))
    assert record.to_bytes() == expected
    assert canonical(record.to_json()) == expected
    assert AuditRecord.from_bytes(expected) == record


def test_a_bad_key_or_code_is_never_remembered_as_checked():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for _ in range(2):
        for bad in ({"Bad": 1}, {"a b": 1}, {_Word.BAD: 1}):
            outcome = _outcome(AuditRecord, {"kind": "release", "at": at, "actor": "a",
                                             "subject": "s", "detail": bad})  # fmt: skip
            assert outcome[0] == "refused"
        outcome = _outcome(AuditRecord, {"kind": "release", "at": at, "actor": "a",
                                         "subject": "s", "reasons": ("bad",)})  # fmt: skip
        assert outcome[0] == "refused"


def test_records_of_one_instant_share_its_text_and_others_do_not():
    at = datetime(2026, 1, 1, 0, 0, 0, 5, tzinfo=UTC)
    first = AuditRecord(AuditKind.RELEASE, at, "a", "s").to_bytes()
    again = AuditRecord(AuditKind.RELEASE, at.astimezone(KST), "a", "s").to_bytes()
    later = AuditRecord(AuditKind.RELEASE, at + timedelta(microseconds=995), "a", "s").to_bytes()
    assert first == again
    assert b'"at":"2026-01-01T00:00:00.000005Z"' in first
    assert b'"at":"2026-01-01T00:00:00.001Z"' not in later  # isoformat keeps six digits
    assert b'"at":"2026-01-01T00:00:00.001000Z"' in later


@pytest.mark.parametrize(
    "value",
    ["", "x", "極秘", "\ud800", "a\udfffb", "x" * 1024, "x" * 1025, "é" * 1024, "é" * 1025,
     _Word.ALLOW, 0, 2**53 - 1, 2**53, -(2**53) + 1, -(2**53), _Number.ONE, _Number.BIG, True,
     False, None, 1.5, [], b"x"],
)  # fmt: skip
@pytest.mark.parametrize("key", ["recipient", "Recipient", "x\n", "a b", _Word.KEY, _Word.BAD])
def test_each_detail_value_and_key_as_the_reference(key, value):
    for _ in range(2):  # the second time, the key may be remembered as checked
        fields = {**_VALID, "detail": {key: value}}
        assert _outcome(AuditRecord, fields) == _outcome(reference, fields)


@pytest.mark.parametrize(
    ("name", "value"),
    [("actor", "a\n"), ("actor", _Word.ALLOW), ("subject", "x" * 129), ("decision", _Word.ALLOW),
     ("decision", "a\n"), ("reasons", ["IN_FORCE"]), ("reasons", (_Word.CODE,)),
     ("reasons", ("A\n",)), ("reasons", "IN_FORCE"), ("agreement", ""), ("table_version", True),
     ("table_version", 2**31 + 1), ("table_version", _Number.ONE), ("kind", "release"),
     ("at", datetime(2026, 1, 1)), ("at", datetime(2026, 1, 1, tzinfo=KST))],
)  # fmt: skip
def test_each_field_edge_as_the_reference(name, value):
    fields = {**_VALID, name: value}
    assert _outcome(AuditRecord, fields) == _outcome(reference, fields)
