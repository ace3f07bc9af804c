#!/usr/bin/env bash
# The demo: what Shipway understands of the seed's task app, the manifests it generates,
# then the app deployed — with its MongoDB — to a real Kubernetes cluster and answering.
# With KUBECONFIG unset, the cluster is the repo's own (hack/cluster; needs root; the first
# run builds Kubernetes from source, 20-40 min on 2 cores, then it is cached).
set -euo pipefail
cd "$(dirname "$0")/.."
hack/demo-setup.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== shipway inspect examples/tasks"
shipway inspect examples/tasks
echo
echo "== shipway render examples/tasks --out out/tasks --expose nodeport"
shipway render examples/tasks --out out/tasks --expose nodeport
kubernetes-validate --kubernetes-version 1.34.0 --strict --quiet out/tasks/*.yaml
echo "all $(ls out/tasks/*.yaml | wc -l) objects valid against the Kubernetes 1.34 schemas"
echo

if [ -z "${KUBECONFIG:-}" ]; then
  echo "== make cluster-up (a single-node Kubernetes on this machine)"
  KUBECONFIG=$(hack/cluster-up.sh | tail -n 1)
  export KUBECONFIG
fi
echo "== shipway deploy examples/tasks   (cluster: $(echo "$KUBECONFIG"))"
result=$(shipway deploy examples/tasks --json)
echo "$result"
url=$(echo "$result" | python -c 'import json,sys; print(json.load(sys.stdin)["url"])')
echo
echo "== POST then GET $url"
curl -fsS -X POST -d '{"task": "try Shipway"}' "$url"; echo
curl -fsS "$url"; echo
echo
shipway ps tasks
shipway addons tasks
shipway releases tasks
echo
echo "== shipway deploy examples/tasks again: nothing changed, so no new release"
shipway deploy examples/tasks
shipway info tasks
