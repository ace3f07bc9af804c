#!/usr/bin/env bash
# The whole test suite, as CI runs it: lint, import boundaries, then every test tier.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
# The tests make zstd-compressed archives (layers, .deb members) with Debian's zstd; without
# it those cases would skip, and a skip proves nothing.
# shellcheck source=hack/lib/apt.sh
. hack/lib/apt.sh
apt_need test.sh zstd=zstd
# git: the server serves apps' repositories with git http-backend, and the tests push with
# the real git client.
apt_need test.sh git=git
# chromium + chromium-driver: the web dashboard's browser tests (tests/helpers/browser.py).
apt_need test.sh chromium=chromium chromedriver=chromium-driver
# The team server's API tests run against a real PostgreSQL as well as SQLite
# (tests/helpers/postgres.py starts one from Debian's binaries, which are not on PATH).
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || apt_install test.sh postgresql

ruff check src tests bench
ruff format --check src tests bench
mypy --strict src
lint-imports
pytest --durations=30 "$@"
