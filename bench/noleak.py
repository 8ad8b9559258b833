"""The no-leak state machine (issue 8 §4) for a long run: 100,000 steps and more.

    python bench/noleak.py [--steps N] [--steps-per-example K] [--batch B] [--json]

Runs :class:`tests.property.noleak_cases.NoLeak` (three real nodes on SQLite files, a lossy and
duplicating wire, the oracle of :mod:`tests.property.noleak_oracle`, invariants after every step)
in batches of ``B`` random examples of up to ``K`` steps until at least ``N`` rule steps ran.
Generation only, no shrinking: a failure is counted, its first lines kept, and the run goes on
with fresh examples.  Prints steps, examples, each rule fired, invariant checks, failures and
elapsed time; exits 1 if any example failed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests/ is a package

from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from tests.property.noleak_cases import NoLeak
from tests.property.noleak_machine import STATS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--steps-per-example", type=int, default=50)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    profile = settings(
        max_examples=args.batch,
        stateful_step_count=args.steps_per_example,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    STATS.clear()
    failures: list[str] = []
    started = time.perf_counter()
    last = started
    while STATS["steps"] < args.steps:
        try:
            run_state_machine_as_test(NoLeak, settings=profile)
        except Exception as exc:  # a failing example: counted, kept, and the run goes on
            text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            failures.append(text[:4000])
            print(f"FAILURE {len(failures)}:\n{text[:4000]}", file=sys.stderr, flush=True)
        if time.perf_counter() - last > 60 and not args.json:
            last = time.perf_counter()
            print(f"... {STATS['steps']} steps, {STATS['examples']} examples, "
                  f"{len(failures)} failures, {last - started:.0f} s", flush=True)  # fmt: skip
    elapsed = time.perf_counter() - started
    rules = {k: v for k, v in sorted(STATS.items()) if ":" not in k and k[0].islower()}
    result = {
        "steps": STATS["steps"],
        "examples": STATS["examples"],
        "invariant_checks": STATS["invariant_checks"],
        "failures": len(failures),
        "elapsed_s": round(elapsed, 1),
        "counts": rules,
        "routes": {k[6:]: v for k, v in sorted(STATS.items()) if k.startswith("route:")},
        "agreement_events": {k[6:]: v for k, v in sorted(STATS.items()) if k.startswith("event:")},
        "seen": {k[5:]: v for k, v in sorted(STATS.items()) if k.startswith("seen:")},
        "first_failures": failures[:3],
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        for key in ("steps", "examples", "invariant_checks", "failures", "elapsed_s"):
            print(f"{key:>18}: {result[key]}")
        for title in ("counts", "routes", "agreement_events", "seen"):
            print(f"{title}:")
            for name, count in result[title].items():  # type: ignore[union-attr]
                print(f"  {name:>22}: {count}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
