#!/usr/bin/env bash
# Build the images the cluster itself runs and push them to its local registry, since
# nothing can be pulled from the internet here: the pause container (Kubernetes' own
# build/pause/linux/pause.c, compiled statically like the official image), CoreDNS and
# local-path-provisioner (built from their Go modules), and busybox (Debian's static
# binary) for the provisioner's helper pods. Binaries are cached; pushing skips blobs the
# registry already has. Usage: images.sh   (the registry must be running at $REGISTRY)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/cluster/lib.sh
. "$here/lib.sh"

pause_binary() {
  local src key out
  go_env
  src=$(cd "$here/go" && go mod download k8s.io/kubernetes \
        && go list -m -f '{{.Dir}}' k8s.io/kubernetes)/build/pause/linux/pause.c
  key=$(sha256sum "$src" | cut -c1-12)
  out=$CACHE/bin/pause-$PAUSE_VERSION-$key/pause
  if [ ! -x "$out" ]; then
    mkdir -p "$(dirname "$out")"
    # The flags of build/pause/Makefile.
    gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-shipway" -o "$out.tmp" "$src"
    strip "$out.tmp"
    mv "$out.tmp" "$out"
  fi
  echo "$out"
}

# busybox-static from Debian, for the helper pods local-path-provisioner runs to create
# and delete volume directories (its setup/teardown scripts need sh, mkdir and rm).
busybox_binary() {
  local dir=$CACHE/debs/busybox-static deb debs out
  out=$(ls "$dir"/bin/busybox 2>/dev/null || true)
  if [ -z "$out" ]; then
    mkdir -p "$dir"
    (cd "$dir" && { apt-get download -q busybox-static >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get download -q busybox-static >/dev/null; }; })
    debs=("$dir"/busybox-static_*.deb)
    deb=${debs[0]}
    dpkg-deb -x "$deb" "$dir/root"
    mkdir -p "$dir/bin" && mv "$dir/root/bin/busybox" "$dir/bin/busybox" && rm -rf "$dir/root" "$deb"
    out=$dir/bin/busybox
  fi
  echo "$out"
}

push() {  # push NAME TAG USER ENTRYPOINT -- MORE oci_image.py ARGUMENTS
  local name=$1 tag=$2 user=$3 entrypoint=$4
  shift 5
  "$here/../../.venv/bin/python" "$here/oci_image.py" --registry "$REGISTRY" --name "$name" --tag "$tag" \
    --user "$user" --entrypoint "$entrypoint" --cache "$CACHE/images" "$@" >/dev/null
}

# 65535 is the pause image's user; 65532 the "nonroot" user of distroless images.
push pause "$PAUSE_VERSION" 65535:65535 /pause -- --file "$(pause_binary):/pause"
push coredns "$COREDNS_VERSION" 65532:65532 /coredns -- \
  --file "$(go_tool_build coredns github.com/coredns/coredns coredns):/coredns"
push local-path-provisioner "$LOCAL_PATH_VERSION" 65532:65532 /usr/bin/local-path-provisioner -- \
  --file "$(go_tool_build local-path github.com/rancher/local-path-provisioner local-path-provisioner):/usr/bin/local-path-provisioner"
bb=(--file "$(busybox_binary):/bin/busybox")
for applet in sh mkdir rm rmdir ls cat chmod chown du; do bb+=(--symlink "/bin/$applet:busybox"); done
push busybox "$BUSYBOX_TAG" 0:0 /bin/sh -- "${bb[@]}"
