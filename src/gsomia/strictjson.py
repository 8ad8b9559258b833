"""Strict JSON parsing shared by every parser of untrusted JSON (labels, tokens, records, keys).

RFC 8259 leaves room that an attacker can use: duplicate member names (which one wins?), numbers
beyond what a peer can represent, ``NaN``, a byte order mark, deep nesting that exhausts the
stack.  :func:`loads` refuses all of them, within a size limit, *before* building anything big:
depth is checked on the raw text first.  :func:`loads_canonical` also requires the input to be
the RFC 8785 canonical encoding of what it parses to, so that a signed or hashed document has one
spelling only.

A refusal is a :class:`JsonProblem` with a :class:`Problem` kind; each caller maps the kind to its
own stable error code (``LABEL_JSON_DUPLICATE_KEY``, ``TOKEN_MALFORMED``, …), so the rules live
here once and the codes stay where their users expect them.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any, Final

import rfc8785

__all__ = ["JsonProblem", "Problem", "canonical", "loads", "loads_canonical"]

MAX_INT_DIGITS: Final = 16  # 2**53 - 1 has 16 digits (I-JSON, RFC 7493 §2.2)
_MAX_SAFE: Final = 2**53 - 1
_BMP_END: Final = "\U00010000"
_CANONICAL = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)
_STRING: Final = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET: Final = re.compile(r"[\[\]{}]")


class Problem(StrEnum):
    """Why a document was refused."""

    TOO_LARGE = "too_large"
    NOT_TEXT = "not_text"  # not str/bytes, not UTF-8, or starts with a byte order mark
    MALFORMED = "malformed"  # not JSON at all
    DUPLICATE_KEY = "duplicate_key"
    NUMBER = "number"  # NaN/Infinity, a float where none is allowed, an integer beyond 2**53 - 1
    TOO_DEEP = "too_deep"
    NOT_OBJECT = "not_object"
    NOT_CANONICAL = "not_canonical"


class JsonProblem(Exception):
    """A refusal: ``kind``, a message for people, and ``key`` for a duplicate member."""

    def __init__(self, kind: Problem, message: str, key: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.key = key
        self.detail = detail


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


class _Number(Exception):
    def __init__(self, text: str) -> None:
        self.text = text


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _refuse_number(text: str) -> Any:
    raise _Number(text)


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Number(text[:20])
    return int(text)


def _text(data: object, max_bytes: int) -> str:
    if isinstance(data, str):
        if len(data) > max_bytes:
            raise JsonProblem(Problem.TOO_LARGE, f"JSON exceeds {max_bytes} bytes")
        try:
            size = len(data.encode("utf-8"))
        except UnicodeEncodeError:
            raise JsonProblem(Problem.NOT_TEXT, "JSON text is not valid Unicode") from None
        if size > max_bytes:
            raise JsonProblem(Problem.TOO_LARGE, f"JSON exceeds {max_bytes} bytes")
        text = data
    elif isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > max_bytes:
            raise JsonProblem(Problem.TOO_LARGE, f"JSON exceeds {max_bytes} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonProblem(Problem.NOT_TEXT, "JSON is not UTF-8 (RFC 8259 §8.1)") from None
    else:
        raise JsonProblem(
            Problem.NOT_TEXT, f"JSON must be text or bytes, not {type(data).__name__}"
        )
    if text.startswith("\ufeff"):
        raise JsonProblem(Problem.NOT_TEXT, "JSON starts with a byte order mark (RFC 8259 §8.1)")
    return text


def _check_depth(text: str, max_depth: int) -> None:
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > max_depth:
                raise JsonProblem(Problem.TOO_DEEP, f"JSON nested deeper than {max_depth}")
        else:
            depth -= 1


def loads(
    data: object,
    *,
    max_bytes: int,
    max_depth: int = 32,
    allow_float: bool = False,
    require_object: bool = True,
) -> Any:
    """Parse ``data`` strictly; raise :class:`JsonProblem` (and nothing else) on refusal."""
    text = _text(data, max_bytes)
    _check_depth(text, max_depth)
    try:
        obj = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_constant=_refuse_number,
            parse_int=_integer,
            parse_float=float if allow_float else _refuse_number,
        )
    except _Duplicate as exc:
        raise JsonProblem(
            Problem.DUPLICATE_KEY, f"member {exc.key!r} appears twice in one object", key=exc.key
        ) from None
    except _Number as exc:
        raise JsonProblem(Problem.NUMBER, f"number {exc.text!r} is not allowed") from None
    except json.JSONDecodeError as exc:
        raise JsonProblem(
            Problem.MALFORMED, f"not JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from None
    except RecursionError:
        raise JsonProblem(Problem.TOO_DEEP, f"JSON nested deeper than {max_depth}") from None
    except ValueError as exc:  # anything else the decoder refuses
        raise JsonProblem(Problem.MALFORMED, f"not JSON: {exc}") from None
    if require_object and not isinstance(obj, dict):
        raise JsonProblem(Problem.NOT_OBJECT, "a JSON object is expected")
    return obj


def _plain(value: object) -> bool:
    """Whether the standard library writes ``value`` exactly as RFC 8785 does: only ``dict``
    (string keys within the Basic Multilingual Plane, where code point order is UTF-16 order,
    RFC 8785 §3.2.3), ``list``, ``tuple``, strings, booleans, ``None`` and integers within
    ±(2**53 - 1), no float (ECMAScript number form, §3.2.2.3).  A subclass of ``str`` or
    ``int`` (an enum's member) is written by both as its plain value."""
    kind = type(value)
    if kind is str or kind is bool or value is None:  # the common leaves, without isinstance
        return True
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str and not isinstance(key, str):
                return False
            if not key.isascii() and max(key) >= _BMP_END:
                return False
            if type(item) is not str and not _plain(item):
                return False
        return True
    if kind is list or kind is tuple:
        return all(type(item) is str or _plain(item) for item in value)  # type: ignore[attr-defined]
    if isinstance(value, str):
        return True
    if isinstance(value, int):  # bool was taken above; an int subclass is written as an int
        return -_MAX_SAFE <= value <= _MAX_SAFE
    return False


def canonical(value: Any) -> bytes:
    """The RFC 8785 (JCS) canonical UTF-8 bytes of ``value``; ValueError or TypeError if it
    has none (a lone surrogate, a float out of range, an unsupported type, …).

    Values the standard library's encoder writes exactly as RFC 8785 does (:func:`_plain`: its
    escapes are RFC 8785 §3.2.2.2's, and with only strings, integers, booleans and null, sorted
    keys and no whitespace there is one spelling) take that C fast path, about twenty times
    faster; any other value is written by the ``rfc8785`` package.  Both agree byte for byte on
    every value (``tests/property/test_canonical_json.py``).
    """
    if _plain(value):
        try:
            return _CANONICAL.encode(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: rfc8785 refuses it with its own error
            pass
    return bytes(rfc8785.dumps(value))


def loads_canonical(data: object, *, max_bytes: int, max_depth: int = 32) -> dict[str, Any]:
    """Parse a JSON object that must be given in its RFC 8785 canonical form, byte for byte."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise JsonProblem(Problem.NOT_TEXT, "canonical JSON is given as bytes")
    raw = bytes(data)
    obj: dict[str, Any] = loads(raw, max_bytes=max_bytes, max_depth=max_depth)
    try:
        spelt = canonical(obj)
    except (ValueError, TypeError):  # rfc8785.CanonicalizationError: lone surrogates, …
        raise JsonProblem(Problem.NOT_CANONICAL, "cannot be canonicalized (RFC 8785)") from None
    if spelt != raw:
        raise JsonProblem(Problem.NOT_CANONICAL, "not in RFC 8785 canonical form")
    return obj
