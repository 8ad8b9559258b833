"""The shared strict JSON rules: every refusal has its kind, nothing else escapes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gsomia.strictjson import JsonProblem, Problem, loads, loads_canonical


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
