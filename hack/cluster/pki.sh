#!/usr/bin/env bash
# Generate the test cluster's TLS material with openssl, the way kubeadm lays it out: a CA
# for Kubernetes and one for etcd, serving certificates for the API server, the kubelet
# and etcd, client certificates (one identity per component, so RBAC and the Node
# authorizer see who is calling), the service-account signing key pair, and a kubeconfig
# per client. ECDSA P-256 keys: quick to make, accepted everywhere. Existing files are
# kept, so running it twice is harmless. Usage: pki.sh   (writes $STATE/pki, $STATE/*.conf)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=hack/cluster/lib.sh
. "$here/lib.sh"

pki=$STATE/pki
mkdir -p "$pki"
chmod 700 "$pki"
DAYS=3650

key() { [ -f "$1" ] || openssl ecparam -name prime256v1 -genkey -noout -out "$1" 2>/dev/null; }

ca() {  # ca NAME CN
  key "$pki/$1.key"
  [ -f "$pki/$1.crt" ] || openssl req -x509 -new -key "$pki/$1.key" -subj "/CN=$2" -days "$DAYS" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
    -out "$pki/$1.crt" 2>/dev/null
}

# cert NAME CA SUBJECT USAGE [SAN]   USAGE: client, server or both
cert() {
  local name=$1 ca=$2 subject=$3 usage=$4 san=${5:-} ext
  [ -f "$pki/$name.crt" ] && return 0
  key "$pki/$name.key"
  case $usage in
    client) ext="extendedKeyUsage=clientAuth" ;;
    server) ext="extendedKeyUsage=serverAuth" ;;
    both) ext="extendedKeyUsage=serverAuth,clientAuth" ;;
  esac
  ext+=$'\n'"keyUsage=critical,digitalSignature,keyEncipherment"$'\n'"basicConstraints=CA:FALSE"
  [ -n "$san" ] && ext+=$'\n'"subjectAltName=$san"
  openssl req -new -key "$pki/$name.key" -subj "$subject" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/$ca.crt" -CAkey "$pki/$ca.key" \
    -CAcreateserial -days "$DAYS" -extfile <(echo "$ext") -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr"
}

kubeconfig() {  # kubeconfig FILE CLIENT_CERT_NAME
  local file=$STATE/$1
  [ -f "$file" ] && return 0
  cat >"$file" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: shipway
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 "$pki/$2.crt")
    client-key-data: $(base64 -w0 "$pki/$2.key")
contexts:
- name: shipway
  context: {cluster: shipway, user: $2}
current-context: shipway
YAML
  chmod 600 "$file"
}

ca ca shipway-kubernetes-ca
ca etcd-ca shipway-etcd-ca
cert etcd-server etcd-ca /CN=etcd-server both "IP:127.0.0.1,DNS:localhost"
cert apiserver-etcd-client etcd-ca /CN=kube-apiserver-etcd-client client
cert apiserver ca /CN=kube-apiserver server \
  "IP:127.0.0.1,IP:$NODE_IP,IP:$SERVICE_FIRST_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
# The API server calls kubelets (logs, exec) as a member of system:masters.
cert apiserver-kubelet-client ca "/O=system:masters/CN=kube-apiserver-kubelet-client" client
cert kubelet ca "/O=system:nodes/CN=system:node:$NODE_NAME" client
cert kubelet-server ca "/CN=$NODE_NAME" server "IP:$NODE_IP,IP:127.0.0.1,DNS:$NODE_NAME"
cert controller-manager ca /CN=system:kube-controller-manager client
cert scheduler ca /CN=system:kube-scheduler client
cert kube-proxy ca /CN=system:kube-proxy client
cert admin ca "/O=system:masters/CN=shipway-admin" client
key "$pki/sa.key"
[ -f "$pki/sa.pub" ] || openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
chmod 600 "$pki"/*.key

kubeconfig admin.conf admin
kubeconfig controller-manager.conf controller-manager
kubeconfig scheduler.conf scheduler
kubeconfig kubelet.conf kubelet
kubeconfig kube-proxy.conf kube-proxy
