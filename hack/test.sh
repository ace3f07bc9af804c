#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, import boundaries, then every test tier.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

ruff check src tests bench
ruff format --check src tests bench
mypy --strict src
lint-imports
pytest "$@"
