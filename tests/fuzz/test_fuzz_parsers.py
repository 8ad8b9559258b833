"""Run every parser's fuzz target without atheris: seeded random and mutated valid inputs.

Each target (``tests/fuzz/fuzz_<name>.py``) asserts inside that only the parser's own error
type escapes, and that what parses round-trips; the runner fails with the first input that lets
anything else out.  ``bench/fuzz.sh`` runs the same targets coverage-guided under atheris.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.fuzz import (
    fuzz_envelope,
    fuzz_frames,
    fuzz_label_json,
    fuzz_label_xml,
    fuzz_notes,
    fuzz_receipts,
    fuzz_strictjson,
    fuzz_tokens,
)
from tests.fuzz.mutate import inputs, run

TARGETS: dict[str, tuple[ModuleType, int]] = {  # target, inputs beyond the seeds
    "label_xml": (fuzz_label_xml, 20_000),
    "label_json": (fuzz_label_json, 15_000),
    "envelope": (fuzz_envelope, 15_000),
    "tokens": (fuzz_tokens, 10_000),
    "notes": (fuzz_notes, 10_000),
    "receipts": (fuzz_receipts, 10_000),
    "frames": (fuzz_frames, 30_000),
    "strictjson": (fuzz_strictjson, 30_000),
}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_only_the_parsers_own_errors_escape(name: str) -> None:
    module, count = TARGETS[name]
    corpus = list(module.seeds())
    assert run(module.TestOneInput, inputs(sum(map(ord, name)), corpus, count, module.SNIPPETS))


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_the_seeds_are_valid_and_pass_through(name: str) -> None:
    module, _ = TARGETS[name]
    for seed in module.seeds():
        module.TestOneInput(seed)
