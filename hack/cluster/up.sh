#!/usr/bin/env bash
# Start (or reuse) Shipway's single-node test cluster: real Kubernetes components built
# from the official sources, on this machine, with nothing pulled from the internet.
#   etcd (Debian) -> kube-apiserver -> kube-controller-manager, kube-scheduler
#   containerd + runc + CNI bridge (Debian) -> kubelet, kube-proxy (iptables)
#   in the cluster: CoreDNS, local-path-provisioner (default StorageClass `standard`)
#   a local registry on 127.0.0.1:$REGISTRY_PORT that containerd pulls from over HTTP
# Every process runs detached with its pid in $STATE/run and its log in $STATE/log, so
# down.sh can stop exactly them. A second run finds the cluster healthy and only prints.
# Prints the admin kubeconfig's path on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/cluster/lib.sh
. "$here/lib.sh"

[ "$(id -u)" -eq 0 ] || die "needs root (containerd, the kubelet and kube-proxy manage the host)"
cluster_lock
t0=$(date +%s)
"$here/install.sh"

wait_for() {  # wait_for WHAT SECONDS COMMAND...: poll every 0.5 s; on timeout, fail
  local what=$1 timeout=$2 i
  shift 2
  for ((i = 0; i < timeout * 2; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "$what did not happen within ${timeout}s; logs are in $STATE/log"
}

start() {  # start NAME COMMAND...: run detached, remember the pid
  local name=$1
  shift
  echo "--- $(date -u +%FT%TZ) $*" >>"$STATE/log/$name.log"
  setsid "$@" >>"$STATE/log/$name.log" 2>&1 </dev/null 8>&- &
  echo "$! $(proc_start $!)" >"$STATE/run/$name.pid"
}

alive() { owned_pid "$1" >/dev/null; }
check_alive() { alive "$1" || { tail -n 30 "$STATE/log/$1.log" >&2; die "$1 exited"; }; }

kubectl() { "$STATE/bin/kubectl" --kubeconfig "$STATE/admin.conf" "$@"; }

components=(registry etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy)
# What the cluster was made from: every file of the harness (a running cluster made by
# older scripts or configurations is replaced, not reused) and the settings.
fingerprint() {
  { (cd "$here" && find . -type f ! -name README.md -print0 | sort -z | xargs -0 sha256sum)
    echo "$STATE $REGISTRY $INCLUSTER_REGISTRY $APISERVER_PORT $ETCD_PORT $POD_CIDR $SERVICE_CIDR $BRIDGE $NODE_NAME"
  } | sha256sum | cut -c1-16
}
healthy() {
  local c
  [ -f "$STATE/ready" ] || return 1
  if [ "$(cat "$STATE/fingerprint" 2>/dev/null)" != "$(fingerprint)" ]; then
    log "hack/cluster changed since this cluster started"
    return 1
  fi
  for c in "${components[@]}"; do alive "$c" || return 1; done
  kubectl get --raw /readyz >/dev/null 2>&1 || return 1
  [ "$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}

report() {
  log "Kubernetes $K8S_VERSION is up (node $NODE_NAME, $NODE_IP); registry: $REGISTRY"
  log "kubectl: $STATE/bin/kubectl  crictl: $STATE/bin/crictl  logs: $STATE/log  stop: make cluster-down"
  echo "$STATE/admin.conf"
}

if healthy; then
  log "reusing the running cluster (${STATE})"
  report
  exit 0
fi
if [ -d "$STATE" ]; then
  log "a cluster in $STATE is not healthy; removing it first"
  "$here/down.sh" >&2
fi

# --- binaries (cached) -------------------------------------------------------------------
bin=$("$here/build.sh")
crictl=$(go_tool_build crictl sigs.k8s.io/cri-tools/cmd/crictl crictl)
mkdir -p "$STATE"/{bin,run,log,etc,volumes}
chmod 700 "$STATE"
touch "$STATE/started"
# Host paths the components create whatever their flags say (the kubelet's device-plugins
# directory, libcni's result cache, containerd's shim sockets): down.sh removes the ones
# that were not there before.
for p in /var/lib/kubelet /var/lib/cni /run/containerd; do
  [ -e "$p" ] || echo "$p" >>"$STATE/host-paths"
done
for c in kubectl kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
  ln -sf "$bin/$c" "$STATE/bin/$c"
done
ln -sf "$crictl" "$STATE/bin/crictl"
"$here/pki.sh"
pki=$STATE/pki

# --- host network: our bridge, and the sysctls we change (restored by down.sh) ------------
: >"$STATE/sysctl.restore"
set_sysctl() {
  local key=$1 value=$2 old
  old=$(sysctl -n "$key")
  [ "$old" = "$value" ] && return 0
  echo "$key=$old" >>"$STATE/sysctl.restore"
  sysctl -qw "$key=$value"
}
set_sysctl net.ipv4.ip_forward 1
[ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || modprobe br_netfilter
set_sysctl net.bridge.bridge-nf-call-iptables 1
# kube-proxy turns this on for NodePorts on 127.0.0.1; note the old value to restore it.
old=$(sysctl -n net.ipv4.conf.all.route_localnet)
[ "$old" = 1 ] || echo "net.ipv4.conf.all.route_localnet=$old" >>"$STATE/sysctl.restore"
if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
  ip link add "$BRIDGE" type bridge
  echo "$BRIDGE" >"$STATE/bridge"
fi
ip addr replace "$NODE_IP/${POD_CIDR#*/}" dev "$BRIDGE"
ip link set "$BRIDGE" up
# Service addresses never leave this machine. kube-proxy rewrites connections to a Service
# it knows; one it does not know yet (the first second of a new Service) would follow the
# default route out of eth0, and whatever answers there (here: the network's HTTP proxy,
# so a Postgres client read "H") is not ours. So the Service CIDR is routed to our bridge,
# and what is still addressed to it after kube-proxy's rewrite is refused at once.
ip route replace "$SERVICE_CIDR" dev "$BRIDGE" src "$NODE_IP"
iptables -N SHIPWAY-SERVICES 2>/dev/null || iptables -F SHIPWAY-SERVICES
iptables -A SHIPWAY-SERVICES -d "$SERVICE_CIDR" -p tcp -j REJECT --reject-with tcp-reset \
  -m comment --comment "shipway: no Service at this address (yet)"
iptables -A SHIPWAY-SERVICES -d "$SERVICE_CIDR" -j REJECT \
  -m comment --comment "shipway: no Service at this address (yet)"
for chain in OUTPUT FORWARD; do
  iptables -C "$chain" -j SHIPWAY-SERVICES 2>/dev/null || iptables -I "$chain" -j SHIPWAY-SERVICES
done

# --- registry and the cluster's own images -----------------------------------------------
"$HACK_CLUSTER/../infra/registry.sh" start "$STATE/registry" "$REGISTRY_PORT" - >&2 8>&-
pid=$(cat "$STATE/registry/registry.pid")
echo "$pid $(proc_start "$pid")" >"$STATE/run/registry.pid"
ln -sf "$STATE/registry/registry.log" "$STATE/log/registry.log"
echo "$REGISTRY" >"$STATE/registry.address"
log "building and pushing the cluster's images to $REGISTRY"
"$here/../setup.sh" >&2  # images.sh pushes with Shipway's image code, from .venv
"$here/images.sh"

# --- etcd --------------------------------------------------------------------------------
start etcd etcd --name "$NODE_NAME" --data-dir "$STATE/etcd" \
  --listen-client-urls "https://127.0.0.1:$ETCD_PORT" \
  --advertise-client-urls "https://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
  --initial-cluster "$NODE_NAME=http://127.0.0.1:$((ETCD_PORT + 1))" \
  --listen-metrics-urls "" \
  --cert-file "$pki/etcd-server.crt" --key-file "$pki/etcd-server.key" \
  --client-cert-auth --trusted-ca-file "$pki/etcd-ca.crt" \
  --snapshot-count 10000 --logger zap --log-level warn
wait_for "etcd answering /health" 30 curl -sf --cacert "$pki/etcd-ca.crt" \
  --cert "$pki/apiserver-etcd-client.crt" --key "$pki/apiserver-etcd-client.key" \
  "https://127.0.0.1:$ETCD_PORT/health"

# --- control plane -----------------------------------------------------------------------
start kube-apiserver "$bin/kube-apiserver" \
  --advertise-address "$NODE_IP" --bind-address 0.0.0.0 --secure-port "$APISERVER_PORT" \
  --etcd-servers "https://127.0.0.1:$ETCD_PORT" --etcd-cafile "$pki/etcd-ca.crt" \
  --etcd-certfile "$pki/apiserver-etcd-client.crt" --etcd-keyfile "$pki/apiserver-etcd-client.key" \
  --client-ca-file "$pki/ca.crt" \
  --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
  --kubelet-client-certificate "$pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key "$pki/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$pki/ca.crt" --kubelet-preferred-address-types InternalIP \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --allow-privileged=true --profiling=false --v=1
wait_for "the API server answering /readyz" 90 kubectl get --raw /readyz
check_alive etcd

start kube-controller-manager "$bin/kube-controller-manager" \
  --kubeconfig "$STATE/controller-manager.conf" \
  --authentication-kubeconfig "$STATE/controller-manager.conf" \
  --authorization-kubeconfig "$STATE/controller-manager.conf" \
  --bind-address 127.0.0.1 --leader-elect=false --cluster-name shipway \
  --root-ca-file "$pki/ca.crt" --service-account-private-key-file "$pki/sa.key" \
  --use-service-account-credentials \
  --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
  --service-cluster-ip-range "$SERVICE_CIDR" --profiling=false --v=1
start kube-scheduler "$bin/kube-scheduler" \
  --kubeconfig "$STATE/scheduler.conf" \
  --authentication-kubeconfig "$STATE/scheduler.conf" \
  --authorization-kubeconfig "$STATE/scheduler.conf" \
  --bind-address 127.0.0.1 --leader-elect=false --profiling=false --v=1

# --- node: containerd, CNI, kubelet, kube-proxy ------------------------------------------
subst() {  # fill in @VAR@ placeholders of a template
  sed -e "s|@STATE@|$STATE|g" -e "s|@REGISTRY@|$REGISTRY|g" -e "s|@BRIDGE@|$BRIDGE|g" \
    -e "s|@POD_CIDR@|$POD_CIDR|g" -e "s|@NODE_IP@|$NODE_IP|g" -e "s|@NODE_NAME@|$NODE_NAME|g" \
    -e "s|@CLUSTER_DNS_IP@|$CLUSTER_DNS_IP|g" -e "s|@PAUSE_VERSION@|$PAUSE_VERSION|g" \
    -e "s|@COREDNS_VERSION@|$COREDNS_VERSION|g" -e "s|@LOCAL_PATH_VERSION@|$LOCAL_PATH_VERSION|g" \
    -e "s|@BUSYBOX_TAG@|$BUSYBOX_TAG|g" -e "s|@VOLUMES@|$STATE/volumes|g" \
    -e "s|@APISERVER_PORT@|$APISERVER_PORT|g" -e "s|@RESOLV_CONF@|$resolv_conf|g" "$1"
}
# Like kubeadm: with systemd-resolved's stub (127.0.0.53) pods need the real upstreams.
resolv_conf=/etc/resolv.conf
if grep -q '^nameserver 127\.' /etc/resolv.conf && [ -f /run/systemd/resolve/resolv.conf ]; then
  resolv_conf=/run/systemd/resolve/resolv.conf
fi
mkdir -p "$STATE/cni/net.d" "$STATE/containerd/certs.d/$REGISTRY"
subst "$here/etc/cni.conflist" >"$STATE/cni/net.d/10-shipway.conflist"
subst "$here/etc/containerd.toml" >"$STATE/etc/containerd.toml"
subst "$here/etc/registry-hosts.toml" >"$STATE/containerd/certs.d/$REGISTRY/hosts.toml"
# containerd reads certs.d at each pull: a new hosts.toml needs no restart.
mkdir -p "$STATE/containerd/certs.d/$INCLUSTER_REGISTRY"
REGISTRY=$INCLUSTER_REGISTRY subst "$here/etc/registry-hosts.toml" \
  >"$STATE/containerd/certs.d/$INCLUSTER_REGISTRY/hosts.toml"
subst "$here/etc/kubelet.yaml" >"$STATE/etc/kubelet.yaml"
subst "$here/etc/kube-proxy.yaml" >"$STATE/etc/kube-proxy.yaml"
printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 10\n' \
  "$STATE/containerd/containerd.sock" "$STATE/containerd/containerd.sock" >"$STATE/etc/crictl.yaml"

start containerd containerd --config "$STATE/etc/containerd.toml"
wait_for "containerd's CRI answering" 30 "$crictl" --config "$STATE/etc/crictl.yaml" info

start kubelet "$bin/kubelet" --config "$STATE/etc/kubelet.yaml" \
  --kubeconfig "$STATE/kubelet.conf" --root-dir "$STATE/kubelet" --cert-dir "$STATE/kubelet/pki" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1
start kube-proxy "$bin/kube-proxy" --config "$STATE/etc/kube-proxy.yaml" --v=1

wait_for "node $NODE_NAME registering" 60 kubectl get node "$NODE_NAME"
for c in "${components[@]}"; do check_alive "$c"; done

# --- in-cluster add-ons ------------------------------------------------------------------
for f in coredns storage; do subst "$here/addons/$f.yaml"; echo "---"; done \
  | kubectl apply --server-side --field-manager shipway-cluster -f - >/dev/null
kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=90s >/dev/null \
  || die "node $NODE_NAME is not Ready; see $STATE/log/kubelet.log"
kubectl -n kube-system rollout status deployment/coredns --timeout=120s >/dev/null \
  || die "CoreDNS did not become ready: $(kubectl -n kube-system get pods -o wide 2>&1)"
kubectl -n local-path-storage rollout status deployment/local-path-provisioner --timeout=120s >/dev/null \
  || die "local-path-provisioner did not become ready"
for c in "${components[@]}"; do check_alive "$c"; done

fingerprint >"$STATE/fingerprint"
date -u +%FT%TZ >"$STATE/ready"
log "started in $(($(date +%s) - t0)) s"
report
