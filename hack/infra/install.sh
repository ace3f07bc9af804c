#!/usr/bin/env bash
# Install the Debian packages the integration tests run for real: a Docker engine, the
# OCI registry (distribution 2.8), debootstrap for the base image and htpasswd for the
# registry's users. Idempotent; does nothing (no apt-get at all) when all are present.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

need=()
have() { command -v "$1" >/dev/null; }
have dockerd         || need+=(docker.io)
have docker-registry || need+=(docker-registry)
have debootstrap     || need+=(debootstrap)
have htpasswd        || need+=(apache2-utils)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: need root to install ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install.sh: apt-get failed installing ${need[*]}" >&2
  exit 1
fi
echo "install.sh: installed ${need[*]}" >&2
