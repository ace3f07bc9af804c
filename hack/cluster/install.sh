#!/usr/bin/env bash
# Install the Debian packages the test cluster runs or builds with: containerd and runc,
# the CNI plugins, etcd, the OCI registry, iptables and conntrack for kube-proxy, and gcc
# with a static libc for the pause binary. Go must already be there (it is not a Debian
# package we want: bookworm's is too old to build Kubernetes 1.34). Idempotent; does
# nothing (no apt-get at all) when everything is present.
set -euo pipefail
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin:/usr/local/go/bin"  # Go's own archive installs there

need=()
have() { command -v "$1" >/dev/null; }
have containerd      || need+=(containerd)
have runc            || need+=(runc)
[ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
have etcd            || need+=(etcd-server)
have docker-registry || need+=(docker-registry)
have iptables        || need+=(iptables)
have conntrack       || need+=(conntrack)
have modprobe        || need+=(kmod)
have sysctl          || need+=(procps)
have ps              || need+=(procps)
have ip              || need+=(iproute2)
have openssl         || need+=(openssl)
have curl            || need+=(curl)
have gcc             || need+=(gcc)
have strip           || need+=(binutils)
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need+=(libc6-dev)
have python3         || need+=(python3)
have go || { echo "install.sh: Go is needed to build Kubernetes (go 1.24 or newer)" >&2; exit 1; }
[ ${#need[@]} -eq 0 ] && exit 0

# shellcheck source=hack/lib/apt.sh
source "$(dirname "$0")/../lib/apt.sh"
apt_install install.sh "${need[@]}"
