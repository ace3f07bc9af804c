#!/usr/bin/env bash
# Run a throw-away OCI registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1
# for the integration tests: filesystem storage, deletes allowed, htpasswd (bcrypt) auth
# unless USER is "-".
#   registry.sh start STATE_DIR PORT USER [PASSWORD]    waits until /v2/ answers
#   registry.sh stop STATE_DIR
set -euo pipefail

usage() { echo "usage: $0 start STATE_DIR PORT USER|- [PASSWORD] | stop STATE_DIR" >&2; exit 2; }
fail() { echo "registry.sh: $*" >&2; [ -f "$state/registry.log" ] && tail -n 20 "$state/registry.log" >&2; exit 1; }
fail_start() { stop; fail "$@"; }
# A zombie counts as gone: whoever reaps orphans here (PID 1) may take seconds to do it.
running() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s:0:1}" != Z ]; }
alive() { [ -f "$state/registry.pid" ] && running "$(cat "$state/registry.pid")"; }

start() {
  local port=$1 user=$2 password=${3:-} auth="" code want=200
  alive && fail "already running (pid $(cat "$state/registry.pid"))"
  # shellcheck source=hack/lib/apt.sh
  . "$(dirname "${BASH_SOURCE[0]}")/../lib/apt.sh"
  apt_need registry.sh docker-registry=docker-registry curl=curl
  mkdir -p "$state/data"
  if [ "$user" != "-" ]; then
    apt_need registry.sh htpasswd=apache2-utils
    htpasswd -Bbn "$user" "$password" >"$state/htpasswd"
    auth="auth: {htpasswd: {realm: shipway-test, path: $state/htpasswd}}"
    want=401
  fi
  cat >"$state/config.yml" <<YAML
version: 0.1
log: {level: info}
storage:
  filesystem: {rootdirectory: $state/data}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http: {addr: "127.0.0.1:$port", secret: "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"}
$auth
YAML
  setsid /usr/bin/docker-registry serve "$state/config.yml" >>"$state/registry.log" 2>&1 </dev/null &
  echo $! >"$state/registry.pid"
  for _ in $(seq 100); do
    alive || fail_start "exited during start-up"
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)
    [ "$code" = "$want" ] && return 0
    [ "$code" != 000 ] && fail_start "GET /v2/ answered $code, expected $want (port taken?)"
    sleep 0.1
  done
  fail_start "GET /v2/ did not answer within 10 s"
}

stop() {
  alive || { rm -f "$state/registry.pid"; return 0; }
  local pid; pid=$(cat "$state/registry.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do running "$pid" || break; sleep 0.1; done
  if running "$pid"; then kill -9 "$pid"; fi
  rm -f "$state/registry.pid"
}

[ $# -ge 2 ] || usage
cmd=$1 state=$(realpath -m "$2")
shift 2
case $cmd in
  start) [ $# -ge 2 ] || usage; start "$@" ;;
  stop) stop ;;
  *) usage ;;
esac
