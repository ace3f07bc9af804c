#!/usr/bin/env bash
# Stop the test cluster up.sh started and remove its state; the caches (Go builds,
# binaries, image layers) stay. Pods are stopped through containerd's CRI first, so CNI
# tears their network down; then every process up.sh recorded is stopped by its pid, in
# reverse order; kube-proxy removes its iptables rules; the bridge, the kubelet's cgroups,
# the mounts under the state directory and the sysctls up.sh changed are put back.
# Harmless when no cluster runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/cluster/lib.sh
. "$here/lib.sh"

[ -d "$STATE" ] || { log "no cluster state in $STATE; nothing to stop"; exit 0; }
[ "$(id -u)" -eq 0 ] || die "needs root"
cluster_lock

stop() {  # stop NAME: TERM, up to 15 s, then KILL; only the very process up.sh started
  local pid i
  if pid=$(owned_pid "$1"); then
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do running "$pid" || break; sleep 0.1; done
    if running "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$STATE/run/$1.pid"
}

crictl() { timeout 60 "$STATE/bin/crictl" --config "$STATE/etc/crictl.yaml" "$@"; }

# 1. No new pods: stop the kubelet, then remove every pod sandbox through the CRI.
stop kubelet
if [ -x "$STATE/bin/crictl" ] && owned_pid containerd >/dev/null; then
  pods=$(crictl pods -q 2>/dev/null || true)
  if [ -n "$pods" ]; then
    # shellcheck disable=SC2086  # one id per word
    crictl stopp $pods >/dev/null 2>&1 || log "warning: crictl stopp failed"
    # shellcheck disable=SC2086
    crictl rmp -f $pods >/dev/null 2>&1 || log "warning: crictl rmp failed"
  fi
fi

# 2. containerd, then any shim (or container) it left: those are ours when they run with
# our containerd's address, or live in the kubelet's cgroups.
stop containerd
ours=()
for proc in /proc/[0-9]*; do
  pid=${proc#/proc/}
  if tr "\0" " " 2>/dev/null <"$proc/cmdline" | grep -qF -- "-address $STATE/containerd/containerd.sock"; then
    ours+=("$pid")
  fi
done
for procs in /sys/fs/cgroup/*/kubepods; do
  [ -d "$procs" ] || continue
  while read -r pid; do ours+=("$pid"); done < <(find "$procs" -name cgroup.procs -exec cat {} + 2>/dev/null)
done
if [ ${#ours[@]} -gt 0 ]; then
  kill -9 "${ours[@]}" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    left=0
    for pid in "${ours[@]}"; do running "$pid" && left=1 && break; done
    [ "$left" = 0 ] && break
    sleep 0.1
  done
fi
for procs in /sys/fs/cgroup/*/kubepods; do
  if [ -d "$procs" ]; then find "$procs" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
done

# 3. The rest of the components, kube-proxy's rules, the registry.
stop kube-proxy
if [ -x "$STATE/bin/kube-proxy" ]; then
  "$STATE/bin/kube-proxy" --cleanup >>"$STATE/log/kube-proxy.log" 2>&1 || log "warning: kube-proxy --cleanup failed"
fi
for c in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$c"; done
stop registry  # registry.sh's own pid file has no start time: stop it by ours
rm -f "$STATE/registry/registry.pid"

# 4. Host network and settings. Our SHIPWAY-SERVICES chain, and what is left of the
# kubelet's and CNI's (the kubelet's canaries and KUBE-FIREWALL, the firewall plugin's
# CNI-FORWARD/CNI-ADMIN, anything of a pod CNI could not tear down): every KUBE-*, CNI-*
# and SHIPWAY-* chain and the rules that jump to one, in one iptables-restore per table.
iptables_cleanup() {  # iptables_cleanup iptables|ip6tables
  local t script
  for t in filter nat mangle; do
    script=$("$1-save" -t "$t" 2>/dev/null | awk '
      /^:(KUBE|CNI|SHIPWAY)-/ { chains[++n] = substr($1, 2) }
      /^-A / && $2 !~ /^(KUBE|CNI|SHIPWAY)-/ && / -j (KUBE|CNI|SHIPWAY)-/ { sub(/^-A/, "-D"); print }
      END { for (i = 1; i <= n; i++) print "-F " chains[i]; for (i = 1; i <= n; i++) print "-X " chains[i] }')
    [ -n "$script" ] || continue
    printf '*%s\n%s\nCOMMIT\n' "$t" "$script" | "$1-restore" --noflush \
      || log "warning: could not remove the $t table's KUBE-/CNI-/SHIPWAY- chains ($1)"
  done
}
iptables_cleanup iptables
iptables_cleanup ip6tables
# Network namespaces of pods CNI could not tear down: containerd 1.6 keeps them in
# /var/run/netns, named cni-*; ours are those made since up.sh started.
if [ -f "$STATE/started" ]; then
  find /var/run/netns -maxdepth 1 -name 'cni-*' -newer "$STATE/started" 2>/dev/null \
    | while read -r ns; do ip netns delete "$(basename "$ns")" 2>/dev/null || true; done
fi
if [ -f "$STATE/bridge" ] && ip link show "$(cat "$STATE/bridge")" >/dev/null 2>&1; then
  ip link delete "$(cat "$STATE/bridge")"
fi
if [ -f "$STATE/sysctl.restore" ]; then
  while IFS='=' read -r key value; do sysctl -qw "$key=$value" || true; done <"$STATE/sysctl.restore"
fi

# 5. Mounts under the state directory (pod volumes, container root filesystems, shm).
findmnt -rno TARGET | { grep -F "$STATE/" || true; } | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m" || true
done
if [ -f "$STATE/host-paths" ]; then
  while read -r p; do rm -rf --one-file-system "$p"; done <"$STATE/host-paths"
fi
rm -rf --one-file-system "$STATE"
log "stopped; removed $STATE"
