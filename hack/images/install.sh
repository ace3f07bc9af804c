#!/usr/bin/env bash
# Install what the addon image tests use beyond hack/infra/install.sh's packages: psql
# (Debian's postgresql-client) to check the postgresql image as a real client does.
# Idempotent; does nothing (no apt-get at all) when all are present.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

need=()
command -v psql >/dev/null || need+=(postgresql-client)
[ ${#need[@]} -eq 0 ] && exit 0

# shellcheck source=hack/lib/apt.sh
source "$(dirname "$0")/../lib/apt.sh"
apt_install images/install.sh "${need[@]}"
