#!/usr/bin/env bash
# Everything `make demo` uses, installed on a bare machine (root, Python >= 3.11 and Go are
# the only prerequisites): the .venv with Shipway and its validation tools, curl, git and,
# when the demo builds its own cluster (KUBECONFIG unset), the cluster's Debian packages
# and debootstrap for the base and addon images. Idempotent: nothing is installed twice.
# tests/integration/test_fresh_machine.py runs it in a fresh Debian root and checks that
# every command the demo's scripts call is then there.
set -euo pipefail
cd "$(dirname "$0")/.."
hack/setup.sh
# shellcheck source=hack/lib/apt.sh
. hack/lib/apt.sh
# docker-registry: `shipway server install` builds the in-cluster registry's image from it;
# git: the demo ends with a git push to the server.
apt_need demo-setup.sh curl=curl docker-registry=docker-registry git=git
if [ -z "${KUBECONFIG:-}" ]; then
  hack/cluster/install.sh
  apt_need demo-setup.sh debootstrap=debootstrap
fi
