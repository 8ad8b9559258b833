"""The canonical audit record: RFC 8785 bytes, strict decoding, validation."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gsomia.audit.merkle import leaf_hash
from gsomia.audit.records import AuditKind, AuditRecord
from gsomia.errors import InputError

KST = timezone(timedelta(hours=9))

EXPECTED = (
    b'{"actor":"KOR-off-0042","agreement":"ROK-JPN-2016","at":"2019-11-22T09:00:00Z",'
    b'"decision":"allow","detail":{"bytes":1024,"note":null,"to":"JPN","urgent":false},'
    b'"kind":"release","reasons":["IN_FORCE"],"subject":"item-0001","table_version":1,"v":1}'
)


def sample(**changes: Any) -> AuditRecord:
    fields: dict[str, Any] = {
        "kind": AuditKind.RELEASE,
        "at": datetime(2019, 11, 22, 18, 0, tzinfo=KST),
        "actor": "KOR-off-0042",
        "subject": "item-0001",
        "decision": "allow",
        "reasons": ("IN_FORCE",),
        "agreement": "ROK-JPN-2016",
        "table_version": 1,
        "detail": {"to": "JPN", "bytes": 1024, "urgent": False, "note": None},
    }
    fields.update(changes)
    return AuditRecord(**fields)


def test_canonical_bytes_known_answer() -> None:
    assert sample().to_bytes() == EXPECTED


def test_round_trip() -> None:
    record = sample()
    assert AuditRecord.from_bytes(record.to_bytes()) == record
    assert AuditRecord.from_bytes(bytearray(EXPECTED)) == record


def test_the_instant_is_kept_in_utc() -> None:
    record = sample()
    assert record.at == datetime(2019, 11, 22, 9, 0, tzinfo=UTC)
    assert record.at.utcoffset() == timedelta(0)
    with_micro = sample(at=datetime(2024, 1, 2, 3, 4, 5, 678, tzinfo=UTC))
    assert b'"at":"2024-01-02T03:04:05.000678Z"' in with_micro.to_bytes()
    assert AuditRecord.from_bytes(with_micro.to_bytes()) == with_micro


def test_detail_order_does_not_change_the_bytes() -> None:
    a = sample(detail={"a": 1, "b": "x"})
    b = sample(detail={"b": "x", "a": 1})
    assert a == b
    assert a.to_bytes() == b.to_bytes()
    assert hash(a) == hash(b)
    assert leaf_hash(a.to_bytes()) == leaf_hash(b.to_bytes())


def test_records_are_immutable() -> None:
    record = sample()
    with pytest.raises(AttributeError):
        record.actor = "someone-else"  # type: ignore[misc]
    with pytest.raises(TypeError):
        record.detail["to"] = "USA"  # type: ignore[index]


def test_the_kept_encoding_is_the_records_own() -> None:
    """to_bytes keeps its bytes (ADR 0022); equality, hashing and a changed copy ignore them."""
    encoded, fresh = sample(), sample()
    assert encoded.to_bytes() is encoded.to_bytes()
    assert encoded == fresh
    assert hash(encoded) == hash(fresh)
    changed = dataclasses.replace(encoded, subject="item-0002")
    assert changed.to_bytes() == EXPECTED.replace(b"item-0001", b"item-0002")
    assert "_entry" not in repr(encoded)


def test_minimal_record_and_kinds_from_strings() -> None:
    record = AuditRecord(kind="read", at=datetime(2024, 1, 1, tzinfo=UTC), actor="u1", subject="i1")  # type: ignore[arg-type]
    assert record.kind is AuditKind.READ
    assert record.reasons == ()
    assert dict(record.detail) == {}
    assert AuditRecord.from_bytes(record.to_bytes()) == record


def test_the_required_kinds_exist() -> None:
    wanted = {
        "release",
        "relay",
        "forward",
        "accept",
        "reject",
        "read",
        "consent",
        "receipt",
        "agreement_event",
        "key_event",
    }
    assert wanted <= {k.value for k in AuditKind}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "launch"}, "kind"),
        ({"actor": "Kim Min-jun"}, "actor"),  # a name, not an id
        ({"actor": ""}, "actor"),
        ({"subject": "x" * 200}, "subject"),
        ({"decision": "Allow!"}, "decision"),
        ({"reasons": "IN_FORCE"}, "reasons"),
        ({"reasons": ("in force",)}, "reasons"),
        ({"reasons": tuple(f"R{i}" for i in range(40))}, "reasons"),
        ({"agreement": "ROK JPN"}, "agreement"),
        ({"table_version": -1}, "table_version"),
        ({"table_version": True}, "table_version"),
        ({"table_version": "1"}, "table_version"),
        ({"detail": {"ratio": 0.5}}, "detail"),
        ({"detail": {"n": 2**60}}, "detail"),
        ({"detail": {"Bad Key": 1}}, "detail"),
        ({"detail": {"t": "x" * 2000}}, "detail"),
        ({"detail": {"t": "\ud800"}}, "detail"),
        ({"detail": {"l": [1, 2]}}, "detail"),
        ({"detail": [("a", 1)]}, "detail"),
        ({"detail": {f"k{i}": i for i in range(65)}}, "detail"),
    ],
)
def test_invalid_records_are_unbuildable(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InputError) as err:
        sample(**changes)
    assert err.value.code == "AUDIT_RECORD_INVALID"
    assert err.value.detail["field"] == field


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(InputError) as err:
        sample(at=datetime(2024, 1, 1))  # naive, on purpose
    assert err.value.code == "INSTANT_NO_OFFSET"


def _mutated(**changes: Any) -> bytes:
    obj = json.loads(EXPECTED)
    obj.update(changes)
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "data",
    [
        EXPECTED.replace(b",", b", "),  # whitespace
        json.dumps(json.loads(EXPECTED), separators=(",", ":")).encode()[::-1],  # garbage
        b'{"v":1,' + EXPECTED[1:],  # duplicate key
        EXPECTED.replace(b'"IN_FORCE"', b'"\\u0049N_FORCE"'),  # escaped, non-canonical
        EXPECTED.replace(b'"v":1', b'"v":1.0'),
        _mutated(v=2),
        _mutated(v=True),
        _mutated(extra=1),
        _mutated(at="2019-11-22T18:00:00+09:00"),  # same instant, not canonical
        _mutated(at="yesterday"),
        _mutated(at=5),
        _mutated(reasons="IN_FORCE"),
        _mutated(detail=[]),
        _mutated(kind="launch"),
        b"\xff\xfe",
        b"[]",
        b"",
        b"{" * 60_000,  # deep nesting
        b"{" * 70_000,  # too large
    ],
)
def test_from_bytes_refuses_anything_but_the_canonical_encoding(data: bytes) -> None:
    with pytest.raises(InputError) as err:
        AuditRecord.from_bytes(data)
    assert err.value.code == "AUDIT_RECORD_INVALID"


def test_from_bytes_refuses_a_missing_member() -> None:
    obj = json.loads(EXPECTED)
    del obj["detail"]
    with pytest.raises(InputError):
        AuditRecord.from_bytes(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode())


_ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,20}\Z")
_detail_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.text(st.characters(codec="utf-8"), max_size=20),
)


@given(
    kind=st.sampled_from(AuditKind),
    at=st.datetimes(
        min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    actor=_ids,
    subject=_ids,
    decision=st.none() | st.from_regex(r"\A[a-z][a-z0-9_]{0,10}\Z"),
    reasons=st.lists(st.from_regex(r"\A[A-Z][A-Z0-9_]{0,10}\Z"), max_size=4).map(tuple),
    agreement=st.none() | _ids,
    table_version=st.none() | st.integers(min_value=0, max_value=1000),
    detail=st.dictionaries(st.from_regex(r"\A[a-z][a-z0-9_]{0,8}\Z"), _detail_values, max_size=5),
)
def test_any_valid_record_round_trips(**fields: Any) -> None:
    record = AuditRecord(**fields)
    data = record.to_bytes()
    assert AuditRecord.from_bytes(data) == record
    assert AuditRecord.from_bytes(data).to_bytes() == data
