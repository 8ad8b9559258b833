#!/usr/bin/env bash
# The long Schemathesis run against a running node (issue 8 §3), figures for docs/security.md.
#
#   bench/schemathesis.sh [EXAMPLES]        default 50 per operation, identity, mode and id set
#
# Starts KOR and JPN node processes, runs every operation of the served OpenAPI document as six
# identities (bench/schemathesis.py), prints operations, cases, statuses and failures; exit 1 on
# any failure.  The suite runs the same with 3 examples (tests/conformance/test_schemathesis.py).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" bench/schemathesis.py --examples "${1:-50}"
