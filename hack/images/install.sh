#!/usr/bin/env bash
# Install what the addon image tests use beyond hack/infra/install.sh's packages: psql
# (Debian's postgresql-client) to check the postgresql image as a real client does.
# Idempotent; does nothing (no apt-get at all) when all are present.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

need=()
command -v psql >/dev/null || need+=(postgresql-client)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "images/install.sh: need root to install ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "images/install.sh: apt-get failed installing ${need[*]}" >&2
  exit 1
fi
echo "images/install.sh: installed ${need[*]}" >&2
