"""Coverage-guided fuzz target for the one strict JSON parser of untrusted input
(``gsomia.strictjson``).

Only :class:`~gsomia.strictjson.JsonProblem` may come out of :func:`loads` and
:func:`loads_canonical`, whatever the nesting, numbers, escapes or encoding; a document accepted
as canonical is its own canonical form, and every accepted value has one.  Run with atheris
(``bench/fuzz.sh``); the pytest runner is ``tests/fuzz/test_fuzz_parsers.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from gsomia import strictjson

SNIPPETS = [
    b"[" * 40, b"]" * 40, b"{" * 40, b"NaN", b"Infinity", b"-0", b"1e400", b"1.5",
    b"12345678901234567890", b"9007199254740993", b'"\\ud800"', b'"\\u0000"', b'"\\/"',
    b"\xef\xbb\xbf", b"\xff", b"\xc0\xaf", b'"a":1,"a":2', b"\x00", b"true", b"null",
    "\U0001f600".encode(), b'"\\uD83D\\uDE00"', b" \t\r\n",
]  # fmt: skip


def seeds() -> Iterable[bytes]:
    yield b'{"a":[1,2,{"b":null}],"c":"\xed\x95\x9c","d":true}'
    yield b'{"alg":"Ed25519","claims":{"n":9007199254740991},"typ":"x"}'
    yield b'{ "b" : 1 , "a" : [ ] }'
    yield b"[1,2,3]"
    yield b'{"\\u00e9":"\\n"}'


def TestOneInput(data: bytes) -> None:
    """One input: only JsonProblem escapes; canonical documents re-encode to themselves."""
    for allow_float in (False, True):
        try:
            value = strictjson.loads(
                data, max_bytes=64 * 1024, allow_float=allow_float, require_object=False
            )
        except strictjson.JsonProblem:
            continue
        if not allow_float:  # a lone surrogate has no canonical form (RFC 8785): refused
            with contextlib.suppress(ValueError, TypeError):
                strictjson.canonical(value)
    try:
        obj = strictjson.loads_canonical(data, max_bytes=64 * 1024)
    except strictjson.JsonProblem:
        return
    assert strictjson.canonical(obj) == data


if __name__ == "__main__":
    from tests.fuzz._atheris import main

    main(TestOneInput, seeds)
