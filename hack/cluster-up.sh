#!/usr/bin/env bash
# `make cluster-up`: the repo's single-node cluster (hack/cluster/up.sh), then its platform
# settings (hack/prepare_platform.py: base and addon images in its registry), so that a plain
# `shipway deploy examples/tasks` works. The last line printed is the kubeconfig's path.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(hack/cluster/up.sh)
if [ "$(echo "$out" | wc -l)" -gt 1 ]; then echo "$out" | sed '$d'; fi
kubeconfig=$(echo "$out" | tail -n 1)
hack/setup.sh >&2
registry=$(cat "$(dirname "$kubeconfig")/registry.address")
.venv/bin/python hack/prepare_platform.py --kubeconfig "$kubeconfig" --registry "$registry" >/dev/null
echo "platform: images in $registry, settings saved (shipway platform show)"
echo "$kubeconfig"
