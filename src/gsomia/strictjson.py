"""Strict JSON parsing shared by every parser of untrusted JSON (labels, tokens, records, keys).

RFC 8259 leaves room that an attacker can use: duplicate member names (which one wins?), numbers
beyond what a peer can represent, ``NaN``, a byte order mark, deep nesting that exhausts the
stack.  :func:`loads` refuses all of them, within a size limit checked before anything is
decoded (the theory of operation, a fast path with the reference parse behind it, is in its
docstring; ADR 0017).  :func:`loads_canonical` also requires the input to be
the RFC 8785 canonical encoding of what it parses to, so that a signed or hashed document has one
spelling only.

A refusal is a :class:`JsonProblem` with a :class:`Problem` kind; each caller maps the kind to its
own stable error code (``LABEL_JSON_DUPLICATE_KEY``, ``TOKEN_MALFORMED``, …), so the rules live
here once and the codes stay where their users expect them.
"""

from __future__ import annotations

import json
import json.encoder
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
# The encoder ``_CANONICAL.encode`` would build on every call, built once (no cycle check:
# :func:`_plain` has walked the value first, and recursion there ends a cyclic one).
_MAKE_ENCODER: Final = getattr(json.encoder, "c_make_encoder", None)
_ENCODE: Final = (
    None
    if _MAKE_ENCODER is None
    else _MAKE_ENCODER(
        None, _CANONICAL.default, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )
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


class _TooDeep(Exception):
    pass


class _Slow(Exception):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def _pairs_fast(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):  # a duplicate: the exact path names it
        raise _Slow
    return out


def _refuse_number(text: str) -> Any:
    raise _Number(text)


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _Number(text[:20])
    return int(text)


# The fast path's decoders, built once (``json.loads`` with hooks builds one per call).  An object
# comes out as the tuple of its members (a C call, no Python frame: the decoder makes no tuple
# otherwise) and the C scanner parses integers itself; :func:`_build` makes the dicts, refusing
# duplicate members, and checks depth and integer size, in one walk.
_FAST_NO_FLOAT: Final = json.JSONDecoder(
    object_pairs_hook=tuple, parse_constant=_refuse_number, parse_float=_refuse_number
)
_FAST_FLOAT: Final = json.JSONDecoder(
    object_pairs_hook=tuple, parse_constant=_refuse_number, parse_float=float
)
# For a document with no more brackets than ``max_depth`` (so it cannot nest deeper), hooks do
# all the checking and no walk is needed: members into a dict (refusing a duplicate) and each
# integer checked as the C scanner meets it.
_SHALLOW_NO_FLOAT: Final = json.JSONDecoder(
    object_pairs_hook=_pairs_fast,
    parse_constant=_refuse_number,
    parse_int=_integer,
    parse_float=_refuse_number,
)
_SHALLOW_FLOAT: Final = json.JSONDecoder(
    object_pairs_hook=_pairs_fast, parse_constant=_refuse_number, parse_int=_integer
)
_EXACT_NO_FLOAT: Final = json.JSONDecoder(
    object_pairs_hook=_pairs,
    parse_constant=_refuse_number,
    parse_int=_integer,
    parse_float=_refuse_number,
)
_EXACT_FLOAT: Final = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_constant=_refuse_number, parse_int=_integer, parse_float=float
)
_INT_LIMIT: Final = 10**MAX_INT_DIGITS  # the least integer written with more digits
_SPACE: Final = re.compile(r"[ \t\n\r]*")  # JSON whitespace (RFC 8259 §2)


def _text(data: object, max_bytes: int) -> str:
    if type(data) is bytes and len(data) <= max_bytes:  # the common case, tested first
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonProblem(Problem.NOT_TEXT, "JSON is not UTF-8 (RFC 8259 §8.1)") from None
    elif isinstance(data, str):
        if len(data) > max_bytes:
            raise JsonProblem(Problem.TOO_LARGE, f"JSON exceeds {max_bytes} bytes")
        if not data.isascii():  # ASCII: one byte per character, nothing to encode
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


def _build(value: tuple[tuple[str, Any], ...] | list[Any], room: int) -> Any:
    """The value the fast decoder gave, with each object (a tuple of members) made a dict, in
    place in lists; checked nested at most ``room`` deep (counting itself) and holding integers
    of at most :data:`MAX_INT_DIGITS` digits.  Raise :class:`_TooDeep`, or :class:`_Slow` for a
    duplicate member or a long integer (the exact path then names the first, as it would)."""
    if room <= 0:
        raise _TooDeep
    item: Any
    if type(value) is tuple:
        out = dict(value)
        if len(out) != len(value):
            raise _Slow
        for key, item in value:
            kind = type(item)
            if kind is str or kind is float or kind is bool or item is None:
                continue
            if kind is int:
                if not -_INT_LIMIT < item < _INT_LIMIT:
                    raise _Slow
                continue
            out[key] = _build(item, room - 1)  # a tuple (object) or a list
        return out
    for index, item in enumerate(value):
        kind = type(item)
        if kind is str or kind is float or kind is bool or item is None:
            continue
        if kind is int:
            if not -_INT_LIMIT < item < _INT_LIMIT:
                raise _Slow
            continue
        value[index] = _build(item, room - 1)  # type: ignore[index]
    return value


def _few_brackets(text: str, limit: int) -> bool:
    """Whether ``text`` holds at most ``limit`` characters ``{`` and ``[`` (in strings or not)."""
    if len(text) <= 4096:
        return text.count("{") + text.count("[") <= limit
    found = 0  # a long text: look for them one by one (memchr), stop at one too many
    for bracket in "{[":
        at = text.find(bracket)
        while at != -1:
            found += 1
            if found > limit:
                return False
            at = text.find(bracket, at + 1)
    return True


def _exact(text: str, max_depth: int, allow_float: bool) -> Any:
    """The reference parse: depth on the raw text first, then the decoder with a hook for every
    integer.  Its first refusal is the one reported; the fast path defers to it for any."""
    _check_depth(text, max_depth)
    try:
        return (_EXACT_FLOAT if allow_float else _EXACT_NO_FLOAT).decode(text)
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


def loads(
    data: object,
    *,
    max_bytes: int,
    max_depth: int = 32,
    allow_float: bool = False,
    require_object: bool = True,
) -> Any:
    """Parse ``data`` strictly; raise :class:`JsonProblem` (and nothing else) on refusal.

    Theory of operation: a text holding no more ``{`` and ``[`` than ``max_depth`` cannot nest
    deeper, so decoders with hooks check it all as the C scanner goes (members into a dict,
    refusing a duplicate; each integer's digits).  Any other text is decoded with every object
    given as the tuple of its members and no hook per integer, then one walk (:func:`_build`)
    makes the dicts, refusing a duplicate member, and checks depth and integer size: valid JSON
    nests exactly as deep as its brackets outside strings do, so the walk finds what the
    raw-text depth check finds.  Any refusal on the way (or a duplicate member, or a long integer) hands the text to
    :func:`_exact`, the reference parse, so a refused document gets the same :class:`Problem`,
    message and key as it always did; ``tests/unit/test_strictjson.py`` checks both agree on
    every input.  The size limit holds before anything is decoded, and the C scanner guards its
    own recursion (``RecursionError``).
    """
    text = _text(data, max_bytes)
    shallow = _few_brackets(text, max_depth)  # so it cannot nest deeper
    if shallow:
        decoder = _SHALLOW_FLOAT if allow_float else _SHALLOW_NO_FLOAT
    else:
        decoder = _FAST_FLOAT if allow_float else _FAST_NO_FLOAT
    try:
        try:  # decoder.decode(text), minus its whitespace matches when there is none around
            obj, end = decoder.scan_once(text, 0)  # type: ignore[attr-defined]
            if end != len(text) and _SPACE.match(text, end).end() != len(text):  # type: ignore[union-attr]
                obj = decoder.decode(text)  # "Extra data"
        except StopIteration:  # leading whitespace, or no value: the decoder says which
            obj = decoder.decode(text)
        if shallow:  # the hooks have checked everything
            return _object_required(obj, require_object)
        if type(obj) is tuple or type(obj) is list:
            obj = _build(obj, max_depth)
        elif type(obj) is int and not -_INT_LIMIT < obj < _INT_LIMIT:
            raise _Slow
    except _TooDeep:  # valid JSON, too deep: what the raw-text check says first
        raise JsonProblem(Problem.TOO_DEEP, f"JSON nested deeper than {max_depth}") from None
    except (_Slow, _Number, ValueError, RecursionError):  # JSONDecodeError too
        obj = _exact(text, max_depth, allow_float)
    return _object_required(obj, require_object)


def _object_required(obj: Any, require_object: bool) -> Any:
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
            if _ENCODE is None:  # no C accelerator: the encoder's own path
                return _CANONICAL.encode(value).encode("utf-8")
            return "".join(_ENCODE(value, 0)).encode("utf-8")
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
