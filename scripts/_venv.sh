# Sourced by scripts/demo and scripts/test: create .venv once and install gsomia into it.
# Only python3 (3.11 or newer) is needed on the machine; everything else comes from PyPI.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
VENV="$ROOT/.venv/bin"
stamp=".venv/.installed-$(cat pyproject.toml | sha256sum | cut -c1-16)-$1"
if [ ! -f "$stamp" ]; then
  echo "==> installing gsomia[$1] into .venv (log: .venv/pip.log)"
  if ! { "$VENV/python" -m pip install --disable-pip-version-check --upgrade pip &&
         "$VENV/python" -m pip install --disable-pip-version-check -e ".[$1]"; } \
       > .venv/pip.log 2>&1; then
    tail -n 40 .venv/pip.log >&2
    echo "==> installation failed; see .venv/pip.log" >&2
    exit 1
  fi
  rm -f .venv/.installed-*
  touch "$stamp"
fi
export PATH="$VENV:$PATH"
