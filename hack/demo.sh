#!/usr/bin/env bash
# The demo: what Shipway understands of the seed's task app, and the Kubernetes
# manifests and Dockerfile it generates for it (in ./out/tasks).
set -euo pipefail
cd "$(dirname "$0")/.."
hack/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== shipway inspect examples/tasks"
shipway inspect examples/tasks
echo
echo "== shipway render examples/tasks --out out/tasks --expose nodeport"
shipway render examples/tasks --out out/tasks --expose nodeport
echo
echo "== validating every object against the Kubernetes 1.34 schemas"
kubernetes-validate --kubernetes-version 1.34.0 --strict --quiet out/tasks/*.yaml
echo "all $(ls out/tasks/*.yaml | wc -l) objects valid"
echo
echo "== the web Deployment (out/tasks/06-deployment-tasks-web.yaml)"
sed -n '1,200p' out/tasks/06-deployment-tasks-web.yaml
