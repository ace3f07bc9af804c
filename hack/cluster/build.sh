#!/usr/bin/env bash
# Build (once, then cache) the Kubernetes commands the test cluster runs, from the official
# Go module k8s.io/kubernetes pinned in hack/cluster/go/go.mod: kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl. No release
# binary can be downloaded here, so we compile them; on 2 cores that takes a while, so the
# result is cached by version (and a hash of go.mod/go.sum) under $SHIPWAY_CACHE, with the
# Go build and module caches beside it so a rebuild after a bump is incremental.
# Usage: build.sh   prints the directory holding the binaries on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/cluster/lib.sh
. "$here/lib.sh"

out=$(k8s_bin_dir)
cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

complete() {
  local c
  for c in "${cmds[@]}"; do [ -x "$out/$c" ] || return 1; done
}

mkdir -p "$CACHE/k8s"
exec 9>"$CACHE/k8s/.lock"
flock 9  # one build at a time; a second caller waits, then finds the binaries
if ! complete; then
  go_env
  tmp=$out.tmp
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # The version the binaries report (kubectl version, the node's kubeletVersion): what
  # hack/lib/version.sh would stamp in a release build.
  pkg=k8s.io/component-base/version
  ldflags="-s -w -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=${K8S_VERSION_MM%%.*}"
  ldflags+=" -X $pkg.gitMinor=${K8S_VERSION_MM#*.} -X $pkg.gitTreeState=clean"
  ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
  ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
  echo "build.sh: building Kubernetes $K8S_VERSION (${cmds[*]}); cold, this takes 20-40 min on 2 cores" >&2
  start=$(date +%s)
  (
    cd "$here/go"
    pkgs=()
    for c in "${cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
    # One `go build` for all: shared packages compile once. CGO off: static binaries,
    # which is how the release builds ship the control plane; kubelet needs no cgo either.
    CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}"
  ) >"$CACHE/k8s/build-$K8S_VERSION.log" 2>&1 || {
    tail -n 40 "$CACHE/k8s/build-$K8S_VERSION.log" >&2
    echo "build.sh: go build failed; full log: $CACHE/k8s/build-$K8S_VERSION.log" >&2
    exit 1
  }
  rm -rf "$out"
  mv "$tmp" "$out"
  echo "build.sh: built in $(($(date +%s) - start)) s" >&2
fi
flock -u 9
echo "$out"
