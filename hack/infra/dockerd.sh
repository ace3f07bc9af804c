#!/usr/bin/env bash
# Make sure a Docker engine (dockerd from Debian's docker.io) runs for the integration
# tests. Its data root is a persistent cache, so images survive between runs.
#   dockerd.sh start   starts dockerd unless `docker info` already works; waits for it.
#                      Prints "started" or "running" (one that was already there).
#   dockerd.sh stop    stops the dockerd this script started, never someone else's
set -euo pipefail
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"  # Debian's docker CLI, matching its dockerd

cache=${SHIPWAY_CACHE:-$HOME/.cache/shipway-ci}
pidfile=/run/shipway-dockerd.pid  # exists only while a dockerd started here runs
log=$cache/dockerd.log

# A zombie counts as gone: whoever reaps orphans here (PID 1) may take seconds to do it.
running() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s:0:1}" != Z ]; }

start() {
  docker info >/dev/null 2>&1 && { echo running; return 0; }
  if [ -f /var/run/docker.pid ] && running "$(cat /var/run/docker.pid)"; then
    echo "dockerd.sh: a dockerd runs (pid $(cat /var/run/docker.pid)) but 'docker info' fails:" >&2
    docker info 2>&1 | tail -n 5 >&2
    exit 1
  fi
  mkdir -p "$cache/docker"
  echo "--- $(date -u +%FT%TZ) dockerd.sh start" >>"$log"
  setsid dockerd --data-root "$cache/docker" --storage-driver overlay2 >>"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 600); do
    docker info >/dev/null 2>&1 && { echo started; return 0; }
    running "$(cat "$pidfile")" || break
    sleep 0.1
  done
  echo "dockerd.sh: dockerd did not come up within 60 s; last lines of $log:" >&2
  tail -n 30 "$log" >&2
  stop
  exit 1
}

stop() {
  [ -f "$pidfile" ] || return 0
  local pid; pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 300); do running "$pid" || break; sleep 0.1; done
  if running "$pid"; then kill -9 "$pid"; fi
  rm -f "$pidfile"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
