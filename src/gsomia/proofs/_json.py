"""Strict, canonical JSON for tokens: one spelling per value, every field checked.

:func:`decode` accepts only the RFC 8785 canonical bytes of a JSON object (so re-encoding gives
the input back, byte for byte): no whitespace, members sorted, minimal escapes, no duplicate
member (RFC 8259 §4), no float, ``NaN`` or integer beyond I-JSON's 2**53 - 1 (RFC 7493 §2.2).
:class:`Fields` reads an object's members by type and refuses unknown or missing ones.  Every
failure is a :class:`~gsomia.proofs.errors.TokenError` ``TOKEN_MALFORMED`` (or
``TOKEN_TOO_LARGE``) naming the offending field in ``detail["field"]``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from gsomia.errors import InputError
from gsomia.instants import format_instant, parse_instant
from gsomia.proofs.errors import TokenError
from gsomia.strictjson import JsonProblem, Problem, canonical, loads_canonical

__all__ = ["Fields", "decode", "encode", "malformed"]

MAX_TEXT: Final = 256
_MAX_INT_DIGITS: Final = 16  # 2**53 - 1 has 16 digits
_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_PARTY: Final = re.compile(r"[A-Z]{3}")
_DIGEST: Final = re.compile(r"[0-9a-f]{64}")
_CONTROL: Final = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]"
)  # and lone surrogates


def malformed(message: str, field: str | None = None, **detail: Any) -> TokenError:
    """A ``TOKEN_MALFORMED`` error naming ``field``."""
    if field is not None:
        detail["field"] = field
    return TokenError(f"malformed token: {message}", code="TOKEN_MALFORMED", detail=detail)


def encode(obj: Mapping[str, Any]) -> bytes:
    """The RFC 8785 canonical bytes of ``obj`` (:func:`gsomia.strictjson.canonical`)."""
    return canonical(obj)


def decode(data: object, max_bytes: int) -> dict[str, Any]:
    """The JSON object whose canonical bytes are ``data``; anything else is refused."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise malformed("a token is bytes")
    try:
        return loads_canonical(data, max_bytes=max_bytes)
    except JsonProblem as exc:
        if exc.kind is Problem.TOO_LARGE:
            raise TokenError(
                f"a token is at most {max_bytes} bytes", code="TOKEN_TOO_LARGE"
            ) from None
        if exc.kind is Problem.DUPLICATE_KEY:
            raise malformed(f"the member {exc.key!r} appears twice", exc.key) from None
        if exc.kind is Problem.NUMBER:
            raise malformed("floats, NaN and integers beyond 2**53 - 1 are refused") from None
        if exc.kind is Problem.NOT_OBJECT:
            raise malformed("the token is not a JSON object") from None
        if exc.kind is Problem.NOT_CANONICAL:
            raise malformed("the token is not in RFC 8785 canonical form") from None
        raise malformed("not UTF-8 JSON") from None


def _text(value: object, path: str, max_len: int) -> str:
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) > max_len
        or _CONTROL.search(value)
    ):
        raise malformed(f"{path} must be text of 1 to {max_len} characters", path)
    return value


class Fields:
    """The members of one JSON object, read by type; unknown and missing members are refused."""

    __slots__ = ("_obj", "_where")

    def __init__(
        self,
        obj: object,
        where: str,
        required: frozenset[str],
        optional: frozenset[str] = frozenset(),
    ) -> None:
        if not isinstance(obj, dict):
            raise malformed(f"{where or 'the token'} must be a JSON object", where or None)
        unknown = sorted(set(obj) - required - optional)
        if unknown:
            raise malformed(f"unknown member {unknown[0]!r}", self._join(where, unknown[0]))
        missing = sorted(required - set(obj))
        if missing:
            raise malformed(f"missing member {missing[0]!r}", self._join(where, missing[0]))
        self._obj: dict[str, Any] = obj
        self._where = where

    @staticmethod
    def _join(where: str, key: str) -> str:
        return f"{where}.{key}" if where else key

    def path(self, key: str) -> str:
        """The dotted path of member ``key``."""
        return self._join(self._where, key)

    def has(self, key: str) -> bool:
        """Whether the (optional) member ``key`` is present."""
        return key in self._obj

    def raw(self, key: str) -> Any:
        """The member's JSON value, unchecked."""
        return self._obj[key]

    def text(self, key: str, max_len: int = MAX_TEXT) -> str:
        """A non-blank string of at most ``max_len`` characters without control characters."""
        return _text(self._obj[key], self.path(key), max_len)

    def _match(self, key: str, pattern: re.Pattern[str], what: str) -> str:
        value = self._obj[key]
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise malformed(f"{self.path(key)} must be {what}", self.path(key))
        return value

    def ident(self, key: str) -> str:
        """An id: 1-64 characters of ``[A-Za-z0-9._:-]``, starting alphanumeric."""
        return self._match(key, _ID, "an id of 1-64 characters [A-Za-z0-9._:-]")

    def party(self, key: str) -> str:
        """An ISO 3166-1 alpha-3 code."""
        return self._match(key, _PARTY, "an ISO 3166-1 alpha-3 code")

    def digest(self, key: str) -> str:
        """A SHA-256 digest in 64 lower-case hex digits."""
        return self._match(key, _DIGEST, "64 lower-case hex digits (SHA-256)")

    def instant(self, key: str) -> datetime:
        """An instant, spelt as :func:`gsomia.instants.format_instant` writes it (UTC, ``Z``)."""
        value = self._obj[key]
        try:
            instant = parse_instant(value)
        except InputError:
            raise malformed(
                f"{self.path(key)} must be an ISO 8601 instant", self.path(key)
            ) from None
        if format_instant(instant) != value:
            raise malformed(f"{self.path(key)} must be written in UTC with Z", self.path(key))
        return instant

    def integer(self, key: str, low: int, high: int) -> int:
        """An integer in ``[low, high]``."""
        value = self._obj[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise malformed(f"{self.path(key)} must be an integer {low}..{high}", self.path(key))
        return value

    def true(self, key: str) -> bool:
        """The JSON literal ``true``, and nothing else."""
        if self._obj[key] is not True:
            raise malformed(f"{self.path(key)} must be true", self.path(key))
        return True

    def texts(self, key: str, max_items: int) -> tuple[str, ...]:
        """A list of at most ``max_items`` texts."""
        value = self._obj[key]
        if not isinstance(value, list) or len(value) > max_items:
            raise malformed(
                f"{self.path(key)} must be a list of at most {max_items} texts", self.path(key)
            )
        return tuple(
            _text(item, f"{self.path(key)}[{i}]", MAX_TEXT) for i, item in enumerate(value)
        )

    def object(
        self, key: str, required: frozenset[str], optional: frozenset[str] = frozenset()
    ) -> Fields:
        """The member ``key`` as a nested object."""
        return Fields(self._obj[key], self.path(key), required, optional)
