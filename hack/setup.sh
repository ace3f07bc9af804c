#!/usr/bin/env bash
# Set up Shipway's development environment: a virtualenv in .venv with the package and
# its test tools. Idempotent; re-installs only when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: Python 3.11 or newer is needed as '$PYTHON' (set PYTHON=...)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -c 'import ensurepip' 2>/dev/null; then  # Debian splits venv out
    # shellcheck source=hack/lib/apt.sh
    . hack/lib/apt.sh
    apt_install setup.sh python3-venv
  fi
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.shipway-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test,server]'
  echo "$want" > "$stamp"
fi
# The dashboard's message catalogues are compiled here, at install, never committed.
.venv/bin/python -m shipway.dashboard.i18n
