"""Seeded inputs for running fuzz targets without atheris (STYLE.md §8: fuzz targets for every
parser; the suite never needs atheris).

:func:`inputs` yields the valid seeds, then ``count`` inputs: one in ten random bytes, the rest
valid seeds mutated a few times each (bit flips, hostile snippets put in, runs deleted or
duplicated, truncation, splices of two seeds, a length-like byte pushed to an extreme) — the
moves libFuzzer makes, minus its coverage feedback.  :func:`run` calls a target on each input
and fails with the first input that lets anything escape.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence

import pytest

EXTREMES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)


def mutate(
    rng: random.Random, data: bytes, corpus: Sequence[bytes], snippets: Sequence[bytes]
) -> bytes:
    """One to three random edits of ``data``."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(8)
        pos = rng.randrange(len(buf) + 1)
        if op == 0 and buf:  # flip a bit
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
        elif op == 1 and snippets:  # insert a hostile snippet
            buf[pos:pos] = rng.choice(snippets)
        elif op == 2 and snippets and buf:  # overwrite with a snippet
            piece = rng.choice(snippets)
            buf[pos : pos + len(piece)] = piece
        elif op == 3:  # delete a run
            del buf[pos : pos + rng.randint(1, 64)]
        elif op == 4:  # duplicate a run
            buf[pos:pos] = buf[pos : pos + rng.randint(1, 64)]
        elif op == 5:  # truncate
            del buf[pos:]
        elif op == 6:  # splice another seed
            other = rng.choice(corpus)
            buf = buf[:pos] + other[rng.randrange(len(other) + 1) :]
        elif buf:  # a length-like byte to an extreme
            buf[rng.randrange(len(buf))] = rng.choice(EXTREMES)
    return bytes(buf)


def inputs(
    seed: int, corpus: Sequence[bytes], count: int, snippets: Sequence[bytes] = ()
) -> Iterator[bytes]:
    """The seeds, then ``count`` random or mutated inputs (deterministic for ``seed``)."""
    rng = random.Random(seed)
    yield from corpus
    for n in range(count):
        if n % 10 == 0:
            yield rng.randbytes(rng.randint(0, 300))
        else:
            yield mutate(rng, rng.choice(corpus), corpus, snippets)


def run(target: Callable[[bytes], None], data: Iterator[bytes]) -> int:
    """Call ``target`` on every input; fail with the first one that lets anything escape."""
    n = 0
    for n, item in enumerate(data, 1):  # noqa: B007 - the count is the result
        try:
            target(item)
        except Exception as exc:  # pragma: no cover - the failure report
            pytest.fail(f"{type(exc).__name__}: {exc} on input {item[:300]!r}…")
    return n
