"""The shared strict JSON rules: every refusal has its kind, nothing else escapes."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia import strictjson
from gsomia.strictjson import JsonProblem, Problem, canonical, loads, loads_canonical


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b'{"a": 1, "a": 2}', Problem.DUPLICATE_KEY),
        (b'{"a": NaN}', Problem.NUMBER),
        (b'{"a": 1.5}', Problem.NUMBER),
        (b'{"a": 12345678901234567}', Problem.NUMBER),
        (b"\xef\xbb\xbf{}", Problem.NOT_TEXT),
        (b'{"a": "\xff"}', Problem.NOT_TEXT),
        (b"[" * 40 + b"]" * 40, Problem.TOO_DEEP),
        (b'{"a": ', Problem.MALFORMED),
        (b"[1, 2]", Problem.NOT_OBJECT),
        (b"{" + b'"k": "' + b"x" * 200 + b'"}', Problem.TOO_LARGE),
        (12, Problem.NOT_TEXT),
    ],
)
def test_each_refusal_has_its_kind(data, kind):
    with pytest.raises(JsonProblem) as err:
        loads(data, max_bytes=128)
    assert err.value.kind is kind


def test_duplicate_names_the_key():
    with pytest.raises(JsonProblem) as err:
        loads('{"x": {"k": 1, "k": 1}}', max_bytes=128)
    assert err.value.key == "k"


def test_floats_only_where_allowed():
    assert loads('{"a": 1.5}', max_bytes=64, allow_float=True) == {"a": 1.5}


def test_brackets_inside_strings_do_not_count_as_depth():
    assert loads('{"a": "[[[[[[[[[["}', max_bytes=64, max_depth=2) == {"a": "[[[[[[[[[["}


def test_canonical_form_is_required_byte_for_byte():
    assert loads_canonical(b'{"a":1,"b":"x"}', max_bytes=64) == {"a": 1, "b": "x"}
    for spelling in (b'{"b":"x","a":1}', b'{"a": 1,"b":"x"}', b'{"a":1,"b":"\\u0078"}'):
        with pytest.raises(JsonProblem) as err:
            loads_canonical(spelling, max_bytes=64)
        assert err.value.kind is Problem.NOT_CANONICAL


@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_json_problem(data):
    with contextlib.suppress(JsonProblem):
        loads(data, max_bytes=256, require_object=False)


# -- the fast path against the reference parse ---------------------------------------------------
# ``loads`` decodes with the C scanner and cheap hooks, then walks the result once; the
# reference below is the parse it replaced (raw-text depth check first, a hook for every integer,
# one decoder built per call).  Both must accept the same documents with the same values and refuse
# the others with the same kind, message, key and detail.

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class _RefDuplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


class _RefNumber(Exception):
    def __init__(self, text: str) -> None:
        self.text = text


def _ref_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RefDuplicate(key)
        out[key] = value
    return out


def _ref_refuse(text: str) -> Any:
    raise _RefNumber(text)


def _ref_integer(text: str) -> int:
    if len(text.lstrip("-")) > 16:
        raise _RefNumber(text[:20])
    return int(text)


def _ref_text(data: object, max_bytes: int) -> str:
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


def reference_loads(
    data: object,
    *,
    max_bytes: int,
    max_depth: int = 32,
    allow_float: bool = False,
    require_object: bool = True,
) -> Any:
    """``gsomia.strictjson.loads`` as it was before its fast path (the reference)."""
    text = _ref_text(data, max_bytes)
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > max_depth:
                raise JsonProblem(Problem.TOO_DEEP, f"JSON nested deeper than {max_depth}")
        else:
            depth -= 1
    try:
        obj = json.loads(
            text,
            object_pairs_hook=_ref_pairs,
            parse_constant=_ref_refuse,
            parse_int=_ref_integer,
            parse_float=float if allow_float else _ref_refuse,
        )
    except _RefDuplicate as exc:
        raise JsonProblem(
            Problem.DUPLICATE_KEY, f"member {exc.key!r} appears twice in one object", key=exc.key
        ) from None
    except _RefNumber as exc:
        raise JsonProblem(Problem.NUMBER, f"number {exc.text!r} is not allowed") from None
    except json.JSONDecodeError as exc:
        raise JsonProblem(
            Problem.MALFORMED, f"not JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from None
    except RecursionError:
        raise JsonProblem(Problem.TOO_DEEP, f"JSON nested deeper than {max_depth}") from None
    except ValueError as exc:
        raise JsonProblem(Problem.MALFORMED, f"not JSON: {exc}") from None
    if require_object and not isinstance(obj, dict):
        raise JsonProblem(Problem.NOT_OBJECT, "a JSON object is expected")
    return obj


def _outcome(parse: Any, data: object, **options: Any) -> tuple[object, ...]:
    try:
        value = parse(data, **options)
    except JsonProblem as exc:
        return ("refused", exc.kind, exc.message, exc.key, exc.detail)
    return ("parsed", repr(value))  # repr tells 1 from 1.0 and True, and keeps member order


def _same(data: object, **options: Any) -> None:
    assert _outcome(loads, data, **options) == _outcome(reference_loads, data, **options)


_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.sampled_from([10**16 - 1, 10**16, -(10**16) + 1, -(10**16), 2**64, -0, 10**100]),
    st.floats(),  # NaN and infinities included: json.dumps writes NaN, Infinity
    st.text(max_size=8),
    st.sampled_from(["[[[[", "{", "]}", '\\"[', "\ud800", "\ufeff", "é", "軍"]),
)
_KEY = st.sampled_from(["a", "b", "k", "", "[", "é"])
# an object is a list of members, so a member may appear twice
_VALUE = st.recursive(
    _LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.tuples(_KEY, inner), max_size=4).map(lambda pairs: ("obj", pairs)),
    ),
    max_leaves=16,
)
_SPACE = st.sampled_from(["", "", "", " ", "\n", "\t ", "\r\n"])


@st.composite
def _documents(draw: st.DrawFn) -> str:
    def write(value: object) -> str:
        pad = draw(_SPACE)
        if isinstance(value, tuple):
            members = [f"{json.dumps(k)}{pad}:{write(v)}" for k, v in value[1]]
            return pad + "{" + ",".join(members) + pad + "}"
        if isinstance(value, list):
            return pad + "[" + ",".join(write(v) for v in value) + "]" + pad
        return pad + json.dumps(value, ensure_ascii=draw(st.booleans())) + pad

    text = write(draw(_VALUE))
    edit = draw(
        st.sampled_from(["none", "none", "cut", "insert", "wrap", "bom", "extra", "long", "long"])
    )
    if edit == "cut" and text:
        text = text[: draw(st.integers(0, len(text) - 1))]
    elif edit == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(list('{}[]",:-0e.\\ x\x00'))) + text[at:]
    elif edit == "wrap":
        n = draw(st.integers(1, 12))
        text = "[" * n + text + "]" * n
    elif edit == "bom":
        text = "\ufeff" + text
    elif edit == "extra":
        text += draw(st.sampled_from([" 1", "}", " \x0b", "\u3000", " [", "x"]))
    elif edit == "long":  # past the short-text bracket count: whitespace, or a string of brackets
        pad = draw(st.sampled_from([" " * 4100, "\n" * 5000]))
        text = draw(st.sampled_from([pad + text, text + pad, f'[{text}, "{"[" * 4100}"]']))
    return text


_OPTIONS = st.fixed_dictionaries(
    {
        "max_bytes": st.sampled_from([16, 64, 256, 100_000]),
        "max_depth": st.integers(0, 10),
        "allow_float": st.booleans(),
        "require_object": st.booleans(),
    }
)


@settings(max_examples=1500)
@given(_documents(), _OPTIONS, st.sampled_from(["str", "bytes", "bytearray", "memoryview"]))
def test_loads_agrees_with_the_reference_on_json_like_documents(text, options, form):
    if form == "str":
        _same(text, **options)
        return
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only a str can hold one
        _same(text, **options)
        return
    data = {"bytes": raw, "bytearray": bytearray(raw), "memoryview": memoryview(raw)}[form]
    _same(data, **options)


@settings(max_examples=500)
@given(
    st.one_of(st.binary(max_size=200), st.text(alphabet='{}[]":,0123456789-+.eE tnulrfasNI\\')),
    _OPTIONS,
)
def test_loads_agrees_with_the_reference_on_arbitrary_input(data, options):
    _same(data, **options)


@pytest.mark.parametrize(
    "data",
    [
        "", " ", "1", " 1 ", "-0", "1.0", "1e5", "9999999999999999", "10000000000000000",
        "-9999999999999999", "-10000000000000000", "[9999999999999999]", "[10000000000000000]",
        '{"a": [1, {"b": 10000000000000000}]}', '{"a":1,"a":2}', '{"a":{"b":1,"b":2},"a":3}',
        '{"a": 12345678901234567, "a": 1}', '{"a": 1, "a": 12345678901234567}',
        "[NaN]", "[-Infinity]", "[1.5, 99999999999999999]", '[[[[[[[[[["x"]]]]]]]]]]',
        '[[[[[[[[[[99999999999999999]]]]]]]]]]', "[" * 40 + "]" * 40, "[" * 5000 + "]" * 5000,
        "[" * 5000, '{"a": 1} ', '{"a": 1}\u3000', '{"a": 1} x', "\t{}\n", "\ufeff{}",
        '{"a": "' + "x" * 5000 + '"}', '{"a": "' + "[" * 5000 + '"}', " " * 5000 + "[[[1]]]",
        "[" * 8 + '"' + "x" * 5000 + '"' + "]" * 8, "[" * 9 + '"' + "{" * 5000 + '"' + "]" * 9,
        "{}" * 2, "1" * 5000, "[" + "1" * 5000 + "]", '"\ud800"', '{"\\ud800": 1}',
    ],
)  # fmt: skip
@pytest.mark.parametrize("max_depth", [0, 1, 8, 32, 2000])
@pytest.mark.parametrize("allow_float", [False, True])
def test_loads_agrees_with_the_reference_at_the_edges(data, max_depth, allow_float):
    for require_object in (False, True):
        options = {"allow_float": allow_float, "require_object": require_object}
        _same(data, max_bytes=100_000, max_depth=max_depth, **options)
        _same(data.encode("utf-8", "surrogatepass"), max_bytes=100_000, max_depth=max_depth,
              **options)  # fmt: skip


def test_a_long_integer_is_refused_by_its_first_digits():
    with pytest.raises(JsonProblem) as err:
        loads('{"a": [1, 99999999999999999999999]}', max_bytes=64)
    assert err.value.kind is Problem.NUMBER
    assert "99999999999999999999" in err.value.message


def test_nesting_is_counted_on_the_parsed_value_as_on_the_text():
    nine = '{"a": [[[[[[[{}]]]]]]]}'  # nine containers deep
    assert loads(nine, max_bytes=64, max_depth=10) == {"a": [[[[[[[{}]]]]]]]}
    assert loads(nine, max_bytes=64, max_depth=9)
    with pytest.raises(JsonProblem) as err:
        loads(nine, max_bytes=64, max_depth=8)
    assert err.value.kind is Problem.TOO_DEEP


def test_canonical_without_the_c_encoder_writes_the_same_bytes(monkeypatch):
    value = {"b": [1, "é", None, True], "a": {"\u2028": "x"}}
    fast = canonical(value)
    monkeypatch.setattr(strictjson, "_ENCODE", None)
    assert canonical(value) == fast == bytes(rfc8785.dumps(value))
