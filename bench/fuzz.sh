#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser with atheris (libFuzzer), issue 8 §3.
#
#   bench/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]     default: 60 s, every tests/fuzz/fuzz_*.py
#
# Installs atheris into the project's venv if it is missing, runs each target for the given time
# (-max_total_time) on a corpus directory of its own under $FUZZ_WORK (default: .fuzz/, seeded
# with the target's valid inputs on first use), and prints one line per target and a total:
# executions, crashes (inputs libFuzzer saved as crash-*/timeout-*/oom-*) and the corpus size.
# Exit status 1 if any target found a crash.  The suite never needs atheris: tests/fuzz has a
# pytest runner for every target.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
python="${PYTHON:-.venv/bin/python}"
work="${FUZZ_WORK:-.fuzz}"

if ! "$python" -c "import atheris" 2>/dev/null; then
  echo "installing atheris into $("$python" -c 'import sys; print(sys.prefix)')" >&2
  "$python" -m pip install --quiet atheris
fi

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for path in tests/fuzz/fuzz_*.py; do
    name="$(basename "$path" .py)"
    targets+=("${name#fuzz_}")
  done
fi

mkdir -p "$work"
total_execs=0
total_crashes=0
printf '%-12s %12s %8s %8s %10s\n' target executions crashes corpus seconds
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target"
  artifacts="$work/artifacts/$target/"
  log="$work/$target.log"
  mkdir -p "$corpus" "$artifacts"
  before=$(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  started=$(date +%s)
  status=0
  PYTHONPATH=. "$python" "tests/fuzz/fuzz_$target.py" \
    -max_total_time="$seconds" -max_len=70000 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts" -print_final_stats=1 "$corpus" >"$log" 2>&1 || status=$?
  elapsed=$(( $(date +%s) - started ))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1 || true)
  if [ -z "$execs" ]; then  # no final stats (a crash stops the run): the last status line
    execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
  fi
  execs="${execs:-0}"
  after=$(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  crashes=$(( after - before ))
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
    crashes=1  # libFuzzer stopped on an error it did not save an input for: see the log
  fi
  files=$(find "$corpus" -type f | wc -l)
  printf '%-12s %12s %8s %8s %10s\n' "$target" "$execs" "$crashes" "$files" "$elapsed"
  total_execs=$(( total_execs + execs ))
  total_crashes=$(( total_crashes + crashes ))
done
printf '%-12s %12s %8s\n' total "$total_execs" "$total_crashes"
echo "logs and crashing inputs under $work/" >&2
[ "$total_crashes" -eq 0 ]
