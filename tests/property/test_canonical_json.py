"""``gsomia.strictjson.canonical`` is RFC 8785, byte for byte, on every value.

Its fast path (the standard library's C encoder) must never disagree with the ``rfc8785``
package, which is the reference: same bytes for every JSON value, the same refusal (an error of
the same kind) for every value that has no canonical form.  The strategies favour what the fast
path must judge: control characters and escapes, non-ASCII and astral characters (UTF-16 key
order, RFC 8785 §3.2.3), lone surrogates, integers at the I-JSON boundary, floats, tuples and
subclasses of the JSON types.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from gsomia.strictjson import canonical

_EDGE_TEXT = st.sampled_from(
    ["", "\x00", "\x1f", "\x7f", '"', "\\", "\b\f\n\r\t", "\u2028", "\ue000", "\uffff",
     "\U0001f600", "\ud800", "é", "군사II급비밀", "極秘"]
)  # fmt: skip
_TEXT = st.one_of(st.text(), _EDGE_TEXT, st.lists(_EDGE_TEXT).map("".join))
_SAFE = 2**53 - 1
_INTS = st.one_of(
    st.integers(min_value=-_SAFE, max_value=_SAFE),
    st.sampled_from([_SAFE, -_SAFE, _SAFE + 1, -_SAFE - 1, 2**64, 0]),
)


class _Level(IntEnum):
    ONE = 1


class _Word(StrEnum):
    WORD = "word"


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    _INTS,
    _TEXT,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([_Level.ONE, _Word.WORD]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(_TEXT, inner, max_size=4),
    ),
    max_leaves=20,
)


def _reference(value: Any) -> bytes | type[BaseException]:
    try:
        return bytes(rfc8785.dumps(value))
    except (ValueError, TypeError) as exc:
        return type(exc)


def _ours(value: Any) -> bytes | type[BaseException]:
    try:
        return canonical(value)
    except (ValueError, TypeError) as exc:
        return type(exc)


@settings(max_examples=2000, deadline=None)
@given(_VALUES)
def test_canonical_agrees_with_rfc8785(value: Any) -> None:
    assert _ours(value) == _reference(value)


@pytest.mark.parametrize(
    "value",
    [
        {"\U0001f600": 1, "\ue000": 2},  # UTF-16 order differs from code point order here
        {"b": 1, "a": [1, 2.5, None, True], "c": {"z": "\x1f", "y": "é"}},
        {"n": 2**53 - 1},
        {"n": 2**53},
        {"s": "\ud800"},
        {1: "a"},
        ("a", (1, 2)),
    ],
)
def test_canonical_agrees_on_edge_cases(value: Any) -> None:
    assert _ours(value) == _reference(value)
