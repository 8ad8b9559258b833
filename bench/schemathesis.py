"""The long Schemathesis run against a running node (issue 8 §3: API conformance).

    python bench/schemathesis.py [--examples N] [--json]

The same run as ``tests/conformance/test_schemathesis.py`` (:mod:`tests.conformance.conformance`:
two real node processes, every operation of the served OpenAPI document as each of six
identities, positive and negative modes, generated and known ids), with ``N`` examples per
operation, identity, mode and id set instead of the suite's 3 (default 50).  Prints the
operations, the cases sent, the statuses answered, the failures (each with a curl to replay it)
and the wall time; exits 1 if any check failed.  The figures go to docs/security.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

# The script's own directory would shadow the schemathesis package with this file: the repository
# root takes its place on the path.
sys.path[0] = str(Path(__file__).resolve().parents[1])

from tests.conformance.conformance import run  # noqa: E402
from tests.conformance.running import start_nodes  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="gsomia-schemathesis-") as work,
        start_nodes(Path(work) / "nodes") as running,
    ):
        tally = run(running, examples=args.examples)
    summary = {
        "examples": args.examples,
        **tally.summary(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        summary["failed"] = [str(f) for f in tally.failures]
        print(json.dumps(summary, indent=2))
    else:
        print(
            f"operations {summary['operations']}  cases {summary['cases']}  "
            f"failures {summary['failures']}  ({summary['seconds']} s, "
            f"{args.examples} examples per operation, identity, mode and id set)"
        )
        print(f"statuses {summary['statuses']}")
        for failure in tally.failures:
            print(f"FAIL {failure}")
    return 1 if tally.failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
