# Shared settings of the test-cluster scripts (sourced, not run): versions, where the
# cache and the cluster's state live, addresses and CIDRs. Every value can be overridden
# from the environment, so two people (or CI) can move the cluster out of each other's way.
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts sourcing this

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

HACK_CLUSTER=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
K8S_VERSION=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }
                   $1 == "require" && $2 == "k8s.io/kubernetes" { print $3; exit }' \
                  "$HACK_CLUSTER/go/go.mod")
K8S_VERSION_MM=$(echo "${K8S_VERSION#v}" | cut -d. -f1,2)
PAUSE_VERSION=3.10.1  # kubernetes' build/pause/Makefile TAG, the kubelet's default for 1.34
COREDNS_VERSION=$(awk '$1 == "github.com/coredns/coredns" && $2 ~ /^v/ { print $2; exit }' \
                  "$HACK_CLUSTER/coredns/go.mod")
LOCAL_PATH_VERSION=$(awk '$1 == "github.com/rancher/local-path-provisioner" && $2 ~ /^v/ { print $2; exit }' \
                  "$HACK_CLUSTER/local-path/go.mod")
BUSYBOX_TAG=bookworm  # busybox-static from Debian bookworm

CACHE=${SHIPWAY_CACHE:-$HOME/.cache/shipway-ci}
# Everything a running cluster owns: certificates, etcd's data, containerd's and the
# kubelet's directories, logs, pid files, the kubeconfig. cluster-down deletes it.
STATE=${SHIPWAY_CLUSTER_DIR:-/var/lib/shipway-cluster}

REGISTRY_PORT=${SHIPWAY_CLUSTER_REGISTRY_PORT:-5110}
REGISTRY=127.0.0.1:$REGISTRY_PORT
# `shipway server install`'s in-cluster registry: a fixed NodePort the node's containerd
# pulls from over plain HTTP on loopback (a hosts.toml for it, as kind documents).
INCLUSTER_REGISTRY=127.0.0.1:${SHIPWAY_CLUSTER_INCLUSTER_REGISTRY_PORT:-30500}
APISERVER_PORT=${SHIPWAY_CLUSTER_APISERVER_PORT:-6443}
ETCD_PORT=${SHIPWAY_CLUSTER_ETCD_PORT:-2479}  # client port; peer port is +1
# Away from this machine's networks (docker0 is 172.17.0.0/16) and common LANs.
POD_CIDR=${SHIPWAY_CLUSTER_POD_CIDR:-10.244.0.0/16}
SERVICE_CIDR=${SHIPWAY_CLUSTER_SERVICE_CIDR:-10.96.0.0/16}
SERVICE_FIRST_IP=${SERVICE_CIDR%.*/*}.1     # the `kubernetes` Service
CLUSTER_DNS_IP=${SERVICE_CIDR%.*/*}.10      # CoreDNS's Service
BRIDGE=${SHIPWAY_CLUSTER_BRIDGE:-shipway0}
# The node's address is the bridge's: pods reach the API server and the kubelet there,
# and it is not loopback, which the `kubernetes` Service's endpoint may not be.
NODE_IP=${POD_CIDR%.*/*}.1
NODE_NAME=${SHIPWAY_CLUSTER_NODE:-shipway-node}

K8S_BUILD_KEY=1  # bump when build.sh changes how the binaries are made

k8s_bin_dir() {
  local key
  key=$( { echo "$K8S_BUILD_KEY"; cat "$HACK_CLUSTER/go/go.mod" "$HACK_CLUSTER/go/go.sum"; } \
        | sha256sum | cut -c1-12)
  echo "$CACHE/k8s/$K8S_VERSION-$key/bin"
}

# Go's build and module caches live in our cache so a second build is warm.
go_env() {
  export GOCACHE=$CACHE/go/build GOMODCACHE=$CACHE/go/mod GOFLAGS=${GOFLAGS:--buildvcs=false}
  export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
  command -v go >/dev/null || { echo "hack/cluster: Go is needed to build Kubernetes" >&2; exit 1; }
}

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: error: $*" >&2; exit 1; }

# A zombie counts as gone: whoever reaps orphans here (PID 1) may take seconds to do it.
running() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${s:0:1}" != Z ]; }

# A process's start time (clock ticks since boot, /proc/PID/stat field 22): with the pid,
# it names one process for good, so a pid file never points at a stranger that got the
# same pid after a reboot or a kill from outside.
proc_start() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  # shellcheck disable=SC2086  # split the fields
  set -- $s
  echo "${20}"
}

# The pid recorded in $STATE/run/NAME.pid ("PID START") if that process still runs.
owned_pid() {
  local file=$STATE/run/$1.pid pid start
  [ -f "$file" ] || return 1
  read -r pid start <"$file" || return 1
  running "$pid" && [ "$(proc_start "$pid")" = "$start" ] && echo "$pid"
}

# Build one command of one of our small Go modules (coredns/, crictl/) once, cached by the
# module's go.mod and go.sum; prints the binary's path. Usage: go_tool_build DIR PKG NAME
go_tool_build() {
  local dir=$HACK_CLUSTER/$1 pkg=$2 name=$3 key out
  key=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-12)
  out=$CACHE/bin/$name-$key/$name
  if [ ! -x "$out" ]; then
    go_env
    mkdir -p "$(dirname "$out")"
    log "building $name (a few minutes when cold)"
    (cd "$dir" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out.tmp" "$pkg") \
      >"$CACHE/bin/$name.log" 2>&1 || { tail -n 30 "$CACHE/bin/$name.log" >&2; die "building $name failed"; }
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# One up.sh or down.sh at a time (say two test sessions start together): the second waits.
# The lock is fd 8, which the daemons must not inherit (up.sh closes it for them); down.sh
# run by up.sh already holds it.
cluster_lock() {
  [ -n "${SHIPWAY_CLUSTER_LOCKED:-}" ] && return 0
  exec 8>"/run/lock/shipway-cluster-$(echo "$STATE" | sha256sum | cut -c1-8).lock"
  flock 8
  export SHIPWAY_CLUSTER_LOCKED=1
}
