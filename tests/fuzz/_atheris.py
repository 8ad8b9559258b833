"""Run a fuzz target under atheris (coverage-guided, libFuzzer), seeding an empty corpus.

Used by the ``main()`` of every ``fuzz_*.py``; atheris is imported only here, so the pytest
runners never need it (``bench/fuzz.sh`` installs it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable


def main(target: Callable[[bytes], None], seeds: Callable[[], Iterable[bytes]]) -> None:
    """``python tests/fuzz/fuzz_x.py [libFuzzer flags] [CORPUS_DIR]``: an empty corpus
    directory is first filled with the target's valid seeds."""
    import atheris  # noqa: PLC0415 - only the fuzzing run needs it

    for arg in sys.argv[1:]:
        if not arg.startswith("-") and os.path.isdir(arg) and not os.listdir(arg):
            for n, seed in enumerate(seeds()):
                with open(os.path.join(arg, f"seed-{n:04d}"), "wb") as out:
                    out.write(seed)
    atheris.instrument_all()
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()
