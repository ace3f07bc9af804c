#!/usr/bin/env bash
# The demo: what Shipway understands of the seed's task app, the manifests it generates,
# then the app deployed — with its MongoDB — to a real Kubernetes cluster and answering;
# then the team server installed in that cluster, the app deployed again through it, and
# last pushed to it with git push.
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

echo
echo "== shipway server install   (the team server in the cluster: built from this source"
echo "   by Shipway's own builder, with an in-cluster registry and least-privilege RBAC)"
# Package installs in the server's pod trust what this machine trusts (a TLS proxy's CA).
bundle=${PIP_CERT:-${SSL_CERT_FILE:-}}
installed=$(shipway server install --json ${bundle:+--ca-bundle "$bundle"})
server_url=$(echo "$installed" | python -c 'import json,sys; print(json.load(sys.stdin)["url"])')
token=$(echo "$installed" | python -c 'import json,sys; print(json.load(sys.stdin)["token"] or "")')
# The first admin's token is printed once, by the first install: kept (0600) for reruns.
token_file=${SHIPWAY_STATE_DIR:-$HOME/.local/state/shipway}/demo-server-token
mkdir -p "$(dirname "$token_file")"
if [ -n "$token" ]; then
  (umask 077 && echo "$token" >"$token_file")
elif [ -s "$token_file" ]; then
  token=$(cat "$token_file")
else
  echo "demo: this cluster's server was installed before, and its first admin's token is not" \
    "in $token_file; 'shipway server uninstall --delete-data' starts it afresh" >&2
  exit 1
fi
echo "server: $server_url   (the first admin's token is in $token_file:"
echo "   shipway login $server_url --token-stdin < $token_file)"
echo
# Remote mode from here on: every verb goes through the server, as the signed-in admin.
export SHIPWAY_URL=$server_url SHIPWAY_TOKEN=$token
shipway whoami
admin=$(shipway whoami --json | python -c 'import json,sys; print(json.load(sys.stdin)["email"])')
# The dashboard's sign-in is by password: the demo gives the first admin one, made once
# and kept (0600) beside the token, and set again on each run (a reinstalled server has
# none).
password_file=$(dirname "$token_file")/demo-admin-password
[ -s "$password_file" ] ||
  (umask 077 && python -c 'import secrets; print(secrets.token_urlsafe(18))' >"$password_file")
shipway users:reset-password "$admin" --password-stdin <"$password_file" >/dev/null
echo
echo "== the dashboard: open $server_url/ in a browser and sign in as $admin with the"
echo "   password in $password_file (cat it); the deploys below show live on"
echo "   $server_url/apps/tasks-team"
# The app may be in the cluster already, from an install whose data was deleted since
# (uninstall --delete-data keeps apps): then the site admin gives it to the team.
if ! shipway info tasks-team >/dev/null 2>&1; then
  if shipway --direct info tasks-team >/dev/null 2>&1; then
    shipway apps:import tasks-team --team main
  else
    shipway create tasks-team --no-git-remote
  fi
fi
echo
echo "== shipway deploy examples/tasks --app tasks-team   (through the server: the source"
echo "   uploaded, built in the server's pod, its progress streamed back)"
result=$(shipway deploy examples/tasks --app tasks-team --json)
team_url=$(echo "$result" | python -c 'import json,sys; print(json.load(sys.stdin)["url"])')
echo "$result"
echo
echo "== POST then GET $team_url"
curl -fsS -X POST -d '{"task": "deployed through the team server"}' "$team_url"; echo
curl -fsS "$team_url"; echo
shipway releases tasks-team
shipway apps

echo
echo "== git push shipway main   (the push is the deploy: the build and the release scroll"
echo "   past as remote: lines; a deploy that failed would reject the push)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r examples/tasks/. "$work/"
(
  cd "$work"
  export GIT_AUTHOR_NAME=Demo GIT_AUTHOR_EMAIL=demo@example.com
  export GIT_COMMITTER_NAME=Demo GIT_COMMITTER_EMAIL=demo@example.com
  # git's password is the token, from the environment (shipway login writes ~/.netrc
  # instead, for a user's own machine).
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=credential.helper
  export GIT_CONFIG_VALUE_0='!f() { echo username=shipway; echo "password=$SHIPWAY_TOKEN"; }; f'
  git init --quiet --initial-branch=main
  shipway git:remote tasks-team
  echo "# Pushed with git to the Shipway server." >>app.py
  git add -A && git commit --quiet -m "The task API, pushed with git"
  git push shipway main
)
echo
echo "== GET $team_url   (the pushed release answering)"
curl -fsS "$team_url"; echo
shipway releases tasks-team
