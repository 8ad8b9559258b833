"""The audit record: one decision or event, as the canonical bytes the Merkle log commits to.

Every release, relay, forward, acceptance, rejection, read, consent, receipt, agreement event and
key event is written as an :class:`AuditRecord` and appended to the log (PRODUCT.md §8: a rejected
input is audited too).  The bytes are the RFC 8785 (JSON Canonicalization Scheme) serialisation of
the record, so one record has exactly one encoding: partners recompute the same leaf hash
(RFC 9162 §2.1.1) from the same record, and :meth:`AuditRecord.from_bytes` refuses any other
encoding of it (whitespace, key order, duplicate keys, escapes), which closes malleability.

Personal data: ``actor`` is an identifier (an official's id, a node id), never a name; ids are
tokens without spaces, so a name cannot be written there by accident.  ``detail`` holds only
strings, integers within the I-JSON range (RFC 7493 §2.2), booleans and nulls: no floats, whose
canonical form is the one thing JCS implementations most often get wrong.

Pure: no I/O, no clock; the instant is given by the caller.
"""

from __future__ import annotations

import json.encoder
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from gsomia.errors import InputError, InstantError
from gsomia.instants import parse_instant, require_aware
from gsomia.strictjson import JsonProblem, loads_canonical

__all__ = ["FORMAT_VERSION", "AuditKind", "AuditRecord", "DetailValue"]

FORMAT_VERSION = 1
"""The ``v`` member of every encoded record; bumped on any incompatible change."""

DetailValue = str | int | bool | None

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,127}\Z")
_REASON = re.compile(r"^[A-Z][A-Z0-9_]{0,63}\Z")
_DECISION = re.compile(r"^[a-z][a-z0-9_]{0,31}\Z")
_DETAIL_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")
_ID_MATCH = _ID.match
_DECISION_MATCH = _DECISION.match
_CHECKED_KEYS: set[str] = set()  # detail keys and reason codes checked before (plain str only)
_CHECKED_REASONS: set[str] = set()
_CHECKED_MAX = 512  # a bound: these are a code base's vocabulary, not data
_MAX_REASONS = 32
_MAX_DETAIL = 64
_MAX_DETAIL_TEXT = 1024
_MAX_SAFE_INT = 2**53 - 1  # I-JSON, RFC 7493 §2.2; RFC 8785 §3.2.2.3
_MAX_RECORD_BYTES = 64 * 1024
_FIELDS = frozenset(
    {
        "v",
        "kind",
        "at",
        "actor",
        "subject",
        "decision",
        "reasons",
        "agreement",
        "table_version",
        "detail",
    }
)


class AuditKind(StrEnum):
    """What an audit record is about (a closed set; the values are stable wire names)."""

    RELEASE = "release"  # an originator releases an item to a partner (Art. 6)
    RELAY = "relay"  # the hub passes an item on with the originator's approval (TISA)
    FORWARD = "forward"  # a release to a third party under written consent (Art. 6)
    ACCEPT = "accept"  # a received item is verified, re-marked and stored (Art. 4)
    REJECT = "reject"  # a received item or request is refused
    READ = "read"  # an official reads, or is refused, an item (Art. 7)
    CONSENT = "consent"  # a prior written consent is requested, granted or refused (Art. 6)
    RECEIPT = "receipt"  # a partner's signed receipt of an item
    AGREEMENT_EVENT = "agreement_event"  # an agreement event is recorded (Art. 21)
    KEY_EVENT = "key_event"  # a key is created, rotated or revoked
    OFFICIAL_EVENT = "official_event"  # an official's clearance or duties change (Art. 7)
    RECLASSIFY = "reclassify"  # the originator changes an item's level (Art. 6)
    DESTROY = "destroy"  # an item is returned or destroyed (Art. 6, Art. 13)
    BREACH = "breach"  # an actual or possible loss or compromise (Art. 17)
    VISIT = "visit"  # a visit by the other party's personnel is requested or decided (Art. 8)


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


def _reason(code: object) -> None:
    if not isinstance(code, str) or not _REASON.match(code):
        raise _invalid(f"reason {code!r} is not a reason code like NOT_IN_FORCE", "reasons")
    if type(code) is str and len(_CHECKED_REASONS) < _CHECKED_MAX:
        _CHECKED_REASONS.add(code)


def _table_version(version: object) -> None:
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= 2**31:
        raise _invalid(
            f"table_version must be a non-negative integer, got {version!r}", "table_version"
        )


def _detail_key(key: object) -> None:
    if not isinstance(key, str) or not _DETAIL_KEY.match(key):
        raise _invalid(f"detail key {key!r} must be a lower-case snake_case name", "detail")
    if type(key) is str and len(_CHECKED_KEYS) < _CHECKED_MAX:
        _CHECKED_KEYS.add(key)


def _detail_value(key: str, value: object) -> DetailValue:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            raise _invalid(f"detail {key!r} is outside the I-JSON integer range", "detail")
        return value
    if isinstance(value, str):
        if len(value) > _MAX_DETAIL_TEXT:
            raise _invalid(f"detail {key!r} is longer than {_MAX_DETAIL_TEXT}", "detail")
        if not value.isascii():
            try:  # a surrogate code point (U+D800-U+DFFF) is the only one UTF-8 cannot encode
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _invalid(f"detail {key!r} holds a lone surrogate", "detail") from None
        return value
    raise _invalid(
        f"detail {key!r} must be a string, an integer, a boolean or null, "
        f"not {type(value).__name__}",
        "detail",
    )


_AT_MEMO: list[tuple[datetime, str]] = [(datetime.min.replace(tzinfo=UTC), "")]


def _format_at(value: datetime) -> str:
    # One instant, one text: UTC, "Z", microseconds only when present.  The last one is kept:
    # a batch of records shares its instant.
    memo = _AT_MEMO[0]
    plain = type(value) is datetime  # a subclass may write itself otherwise: not memoised
    if plain and value == memo[0]:
        return memo[1]
    text = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if plain:
        _AT_MEMO[0] = (value, text)
    return text


_string = json.encoder.encode_basestring  # RFC 8785 §3.2.2.2 escapes, non-ASCII as is
_VERSION_JSON = str(FORMAT_VERSION)


def _detail_json(value: DetailValue) -> str:
    if isinstance(value, str):
        return _string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return int.__repr__(value)  # an int subclass (IntEnum) as its number, as json writes it


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audited decision or event.

    ``kind`` what happened; ``at`` when (aware, stored in UTC); ``actor`` who acted (an id);
    ``subject`` what it was about (item, request, agreement or key id); ``decision`` the outcome
    when there was one (``allow``, ``deny``, ``granted``, …); ``reasons`` the stable reason codes
    behind it; ``agreement`` and ``table_version`` the agreement and equivalence-table version it
    was decided under; ``detail`` anything else, flat and small.
    """

    kind: AuditKind
    at: datetime
    actor: str
    subject: str
    decision: str | None = None
    reasons: tuple[str, ...] = ()
    agreement: str | None = None
    table_version: int | None = None
    detail: Mapping[str, DetailValue] = field(default_factory=lambda: MappingProxyType({}))
    _entry: bytes | None = field(default=None, init=False, repr=False, compare=False)
    """:meth:`to_bytes`, once computed: a record is built and encoded before the unit of work
    that appends it, so the store's write lock is not held for it (ADR 0022)."""

    def __post_init__(self) -> None:
        # Each field is tested the cheap way first (exact type, one compiled pattern, or a detail
        # key or reason code found valid before); a value that fails it takes the general
        # check, which accepts it (a subclass, a list) or raises the field's error.  Same
        # records, same errors: tests/unit/audit/test_records_reference.py (ADR 0017).
        if type(self.kind) is not AuditKind:
            try:
                kind = AuditKind(self.kind)
            except ValueError:
                raise _invalid(f"unknown audit record kind {self.kind!r}", "kind") from None
            object.__setattr__(self, "kind", kind)
        at = self.at
        if type(at) is not datetime or at.tzinfo is not UTC:
            object.__setattr__(self, "at", require_aware(at, "at"))
        actor, subject = self.actor, self.subject
        if type(actor) is not str or not _ID_MATCH(actor):
            _identifier(actor, "actor")
        if type(subject) is not str or not _ID_MATCH(subject):
            _identifier(subject, "subject")
        decision = self.decision
        if (
            decision is not None
            and (type(decision) is not str or not _DECISION_MATCH(decision))
            and (not isinstance(decision, str) or not _DECISION.match(decision))
        ):
            raise _invalid(f"decision must be a lower-case word, got {decision!r}", "decision")
        reasons = self.reasons
        if type(reasons) is not tuple:
            if isinstance(reasons, str) or not isinstance(reasons, tuple | list):
                raise _invalid("reasons must be a tuple of reason codes", "reasons")
            reasons = tuple(reasons)
        if len(reasons) > _MAX_REASONS:
            raise _invalid(f"at most {_MAX_REASONS} reasons", "reasons")
        for code in reasons:
            if type(code) is not str or code not in _CHECKED_REASONS:
                _reason(code)
        object.__setattr__(self, "reasons", reasons)
        agreement = self.agreement
        if agreement is not None and (type(agreement) is not str or not _ID_MATCH(agreement)):
            _identifier(agreement, "agreement")
        version = self.table_version
        if version is not None and (type(version) is not int or not 0 <= version <= 2**31):
            _table_version(version)
        given = self.detail
        if type(given) is not dict and not isinstance(given, Mapping):
            raise _invalid("detail must be a mapping", "detail")
        if len(given) > _MAX_DETAIL:
            raise _invalid(f"at most {_MAX_DETAIL} detail entries", "detail")
        detail: dict[str, DetailValue] = {}
        for key in sorted(given):
            if type(key) is not str or key not in _CHECKED_KEYS:
                _detail_key(key)
            value: Any = given[key]
            value_type = type(value)
            if value_type is str:
                if len(value) > _MAX_DETAIL_TEXT or not value.isascii():
                    value = _detail_value(key, value)
            elif value_type is not int or not -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
                value = _detail_value(key, value)  # null, a boolean, or the general check
            detail[key] = value
        object.__setattr__(self, "detail", MappingProxyType(detail))

    def __hash__(self) -> int:
        return hash(
            (
                self.kind,
                self.at,
                self.actor,
                self.subject,
                self.decision,
                self.reasons,
                self.agreement,
                self.table_version,
                tuple(self.detail.items()),
            )
        )

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object (before canonicalisation)."""
        return {
            "v": FORMAT_VERSION,
            "kind": self.kind.value,
            "at": _format_at(self.at),
            "actor": self.actor,
            "subject": self.subject,
            "decision": self.decision,
            "reasons": list(self.reasons),
            "agreement": self.agreement,
            "table_version": self.table_version,
            "detail": dict(self.detail),
        }

    def to_bytes(self) -> bytes:
        """The canonical encoding: RFC 8785 JSON, UTF-8.  This is the Merkle log entry.

        Written member by member rather than through :func:`gsomia.strictjson.canonical`, which
        gives the same bytes (``tests/unit/audit/test_records.py`` checks it against the
        ``rfc8785`` package): construction has checked that every member is a plain JSON value
        (strings without lone surrogates, integers within I-JSON, no float), member names are
        ASCII, so code point order is the UTF-16 order of RFC 8785 §3.2.3 (the names below are
        in that order; ``detail`` is sorted on construction), and strings take the escapes of
        §3.2.2.2, which are the standard library encoder's (:func:`json.encoder.encode_basestring`).
        """
        entry = self._entry
        if entry is not None:
            return entry
        agreement, decision, version = self.agreement, self.decision, self.table_version
        text = "".join(
            (
                '{"actor":',
                _string(self.actor),
                ',"agreement":',
                "null" if agreement is None else _string(agreement),
                ',"at":"',
                _format_at(self.at),
                '","decision":',
                "null" if decision is None else _string(decision),
                ',"detail":{',
                ",".join(
                    [
                        _string(k) + ":" + (_string(v) if type(v) is str else _detail_json(v))
                        for k, v in self.detail.items()
                    ]
                ),
                '},"kind":"',
                self.kind.value,
                '","reasons":[',
                ",".join([_string(code) for code in self.reasons]),
                '],"subject":',
                _string(self.subject),
                ',"table_version":',
                "null" if version is None else int.__repr__(version),
                ',"v":',
                _VERSION_JSON,
                "}",
            )
        )
        entry = text.encode("utf-8")
        object.__setattr__(self, "_entry", entry)
        return entry

    @classmethod
    def from_bytes(cls, data: bytes | bytearray) -> AuditRecord:
        """Decode :meth:`to_bytes` output; any other encoding of a record is refused.

        Raises :class:`~gsomia.errors.InputError` with code ``AUDIT_RECORD_INVALID``.
        """
        if not isinstance(data, bytes | bytearray):
            raise _invalid("an audit record is bytes", "record")
        try:
            obj = loads_canonical(data, max_bytes=_MAX_RECORD_BYTES, max_depth=4)
        except JsonProblem as exc:
            raise _invalid(f"not an audit record: {exc.message}", "record") from None
        if set(obj) != _FIELDS:
            raise _invalid(f"an audit record has exactly the members {sorted(_FIELDS)}", "record")
        if obj["v"] != FORMAT_VERSION or isinstance(obj["v"], bool):
            raise _invalid(f"unsupported audit record version {obj['v']!r}", "v")
        if not isinstance(obj["at"], str):
            raise _invalid("at must be an ISO 8601 instant", "at")
        if not isinstance(obj["reasons"], list):
            raise _invalid("reasons must be a list", "reasons")
        if not isinstance(obj["detail"], dict):
            raise _invalid("detail must be an object", "detail")
        try:
            at = parse_instant(obj["at"])
        except InstantError:
            raise _invalid(f"at {obj['at']!r} is not an instant", "at") from None
        record = cls(
            kind=obj["kind"],
            at=at,
            actor=obj["actor"],
            subject=obj["subject"],
            decision=obj["decision"],
            reasons=tuple(obj["reasons"]),
            agreement=obj["agreement"],
            table_version=obj["table_version"],
            detail=obj["detail"],
        )
        if record.to_bytes() != bytes(data):
            raise _invalid("the audit record is not in canonical (RFC 8785) form", "record")
        return record
