#!/usr/bin/env bash
# Install the Debian packages the integration tests run for real: a Docker engine, the
# OCI registry (distribution 2.8), debootstrap for the base image, htpasswd for the
# registry's users, shfmt to read shell scripts, and what the apt layer's tests check
# Debian's archives with (zstd, gpgv, Debian's archive keyring). Idempotent; does nothing (no apt-get at all) when all are present.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

need=()
have() { command -v "$1" >/dev/null; }
have dockerd         || need+=(docker.io)
have docker-registry || need+=(docker-registry)
have debootstrap     || need+=(debootstrap)
have htpasswd        || need+=(apache2-utils)
have shfmt           || need+=(shfmt)  # parses the demo's scripts (test_fresh_machine.py)
have zstd            || need+=(zstd)   # .deb members compressed with zstd (the apt layer)
have gpgv            || need+=(gpgv)   # InRelease signatures (the apt layer)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
[ ${#need[@]} -eq 0 ] && exit 0

# shellcheck source=hack/lib/apt.sh
source "$(dirname "$0")/../lib/apt.sh"
apt_install install.sh "${need[@]}"
