"""Run the CoT fuzz target without atheris: a few thousand random and mutated inputs, seeded.

Inputs: random bytes; valid events (every kind, simulated) cut, spliced, bit-flipped, with
bytes inserted, deleted or duplicated; and valid events with hostile snippets put in (DTDs,
entities, deep nesting, huge attributes, bad numbers and times, other types).  Any exception
other than :class:`~gsomia.errors.CotError` fails the test, with the input that caused it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest

from gsomia.tracks import encode_event
from gsomia.tracks.simulate import Scenario, simulate
from tests.conftest import at
from tests.fuzz.fuzz_cot import SCHEMES, TestOneInput

SNIPPETS = [
    b'<!DOCTYPE event [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>',
    b'<!DOCTYPE event SYSTEM "http://example.invalid/cot.dtd">',
    b"&a;", b"&#0;", b"&#x110000;", b"&amp;", b"<![CDATA[</event>]]>", b"<!-- </event> -->",
    b"<?pi x?>", b"<a>" * 40, b"</a>" * 40, b'lat="NaN"', b'lon="1e999"', b'hae="-0"',
    b'time="2024-02-30T00:00:00Z"', b'stale="0001-01-01T00:00:00+14:00"', b'type="a-h-A-M-F-F"',
    b'access="UNCLASSIFIED"', b'xmlns="urn:x"', b"\xff\xfe", b"\x00", b"\xed\xa0\x80",
    b"</event>", b"<event ", b"<event>", b'<?xml version="1.0" encoding="UTF-16"?>',
    b'seq="99999999999999999999"', b'kind="launch"', b"</detail>", b"<detail>", b" " * 5000,
]  # fmt: skip


VALUES = [
    b"", b"NaN", b"-1", b"1e999", b"90.5", b"-180.0001", b"0", b"2024-05-01T00:00:00",
    b"2024-05-01T00:00:00Z", b"2999-01-01T00:00:00Z", b"a-h-A-M-F-F", b"u-d-c-e", b"m-s",
    b"x" * 1000, b"2.0", b"1", b"\xc3", b"&lt;event&gt;", b"//KOR SECRET", b"impact",
]  # fmt: skip
ATTRIBUTE = re.compile(rb'="[^"]*"')


def boundary(rng: random.Random, buf: bytearray) -> int:
    """A position that does not cut a UTF-8 character, most of the time."""
    for _ in range(8):
        pos = rng.randrange(len(buf) + 1)
        if pos == len(buf) or buf[pos] < 0x80:
            return pos
    return rng.randrange(len(buf) + 1)


def seed_events() -> list[bytes]:
    start = at("2024-05-01T09:00:00+09:00")
    messages = list(simulate(Scenario(start, area="sinpo", rate_hz=0.05, seed=11)))
    kinds = {m.kind: m for m in messages}
    late = [m for m in messages if m.time > start + timedelta(seconds=100)][:3]
    return [encode_event(m, SCHEMES) for m in [*kinds.values(), *late]]


def mutate(rng: random.Random, data: bytes, corpus: list[bytes]) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(9)
        pos = boundary(rng, buf)
        if op == 0 and buf:  # flip a bit
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op in (1, 2):  # insert a hostile snippet
            buf[pos:pos] = rng.choice(SNIPPETS)
        elif op == 3:  # delete a run
            low, high = sorted((pos, boundary(rng, buf)))
            del buf[low : min(high, low + 256)]
        elif op == 4:  # duplicate a run
            buf[pos:pos] = buf[pos : pos + rng.randint(1, 200)]
        elif op == 5:  # truncate
            del buf[pos:]
        elif op == 6:  # splice another input
            other = bytearray(rng.choice(corpus))
            buf = buf[:pos] + other[boundary(rng, other) :]
        else:  # give an attribute another value
            found = list(ATTRIBUTE.finditer(buf))
            if found:
                match = rng.choice(found)
                buf[match.start() : match.end()] = b'="' + rng.choice(VALUES) + b'"'
    return bytes(buf)


def inputs(count: int) -> Iterator[bytes]:
    rng = random.Random(20240501)
    corpus = seed_events()
    yield from corpus
    yield b"".join(corpus)
    yield b"\n".join(b'<?xml version="1.0"?>' + e for e in corpus)
    for n in range(count):
        if n % 10 == 0:
            yield rng.randbytes(rng.randint(0, 300))
        elif n % 10 == 1:
            yield b"".join(
                mutate(rng, rng.choice(corpus), corpus) for _ in range(rng.randint(2, 4))
            )
        else:
            yield mutate(rng, rng.choice(corpus), corpus)


def test_the_target_only_ever_raises_cot_error_inside():
    for data in inputs(3000):
        try:
            TestOneInput(data)
        except Exception as exc:  # pragma: no cover - the failure report
            pytest.fail(f"{type(exc).__name__}: {exc} on input {data[:300]!r}…")


def test_valid_events_pass_through_the_target():
    for event in seed_events():
        TestOneInput(event)
