#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for the tests and the demo
# (docs/operations.md, "The test control plane"):
#   etcd                      127.0.0.1:${EDA_KUBE_ETCD_PORT:-12379}
#   kube-apiserver            https://127.0.0.1:${EDA_KUBE_API_PORT:-16443}  (RBAC, client certificates)
#   kube-controller-manager   per-controller ServiceAccounts; no node lifecycle controller
#   kube-scheduler
#   fake-kubelet              TEST FIXTURE: one node, pods bound to it marked Running and Ready
#
#   control-plane.sh start    build what is missing (scripts/kube/build.sh), start what is not
#                             running, wait until it serves; idempotent, quiet when all is well
#   control-plane.sh stop     stop what this script started (pid files), nothing else
#   control-plane.sh status   exit 0 when the API server answers
#   control-plane.sh env      print the variables the tests read (EDA_KUBECONFIG, EDA_HELM, EDA_KUBECTL)
#
# State lives under ${EDA_KUBE_RUN:-~/.cache/eda-kube/run}: certificates (made once per
# machine), kubeconfigs, logs, pid files and etcd's data (fresh at each start).
set -euo pipefail
cd "$(dirname "$0")/../.."

CACHE="${EDA_KUBE_CACHE:-$HOME/.cache/eda-kube}"
BIN="$CACHE/bin"
RUN="${EDA_KUBE_RUN:-$CACHE/run}"
PKI="$CACHE/pki"
API_PORT="${EDA_KUBE_API_PORT:-16443}"
ETCD_PORT="${EDA_KUBE_ETCD_PORT:-12379}"
ETCD_PEER_PORT=$((ETCD_PORT + 1))
CM_PORT="${EDA_KUBE_CM_PORT:-10357}"
SCHED_PORT="${EDA_KUBE_SCHED_PORT:-10359}"
SERVICE_CIDR=10.96.0.0/16
ADMIN_KUBECONFIG="$RUN/admin.kubeconfig"
# etcd's data is thrown away at each start; in memory where the machine has /dev/shm.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then ETCD_DATA="/dev/shm/eda-kube-etcd-$ETCD_PORT"; else ETCD_DATA="$RUN/etcd"; fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/eda-target}"

say() { printf 'control-plane: %s\n' "$*" >&2; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
kubectl_() { "$BIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }

running() { # name: its pid file names a live process that is that program (pids are reused)
  local pid
  pid="$(cat "$RUN/$1.pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n1 | grep -q "$1\$"
}

launch() { # name command...: start in the background, own process group, log and pid file
  local name="$1"
  shift
  setsid "$@" >"$RUN/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
}

wait_until() { # seconds what command...
  local seconds="$1" what="$2" i
  shift 2
  for ((i = 0; i < seconds * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  say "$what did not come up within $seconds s"
  return 1
}

# --- certificates: one CA per machine, a serving certificate, a client certificate each ---
cert() { # name subject [server]
  local name="$1" subject="$2" ext="$PKI/$1.ext"
  [ -s "$PKI/$name.crt" ] && return 0
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subject" -out "$PKI/$name.csr" 2>/dev/null
  if [ "${3:-}" = server ]; then
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth" \
      "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc" >"$ext"
  else
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=digitalSignature,keyEncipherment" \
      "extendedKeyUsage=clientAuth" >"$ext"
  fi
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$ext"
}

ensure_pki() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  if [ ! -s "$PKI/ca.crt" ]; then
    say "generating this machine's certificates in $PKI"
    openssl genrsa -out "$PKI/ca.key" 2048 2>/dev/null
    openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=eda-test-kubernetes-ca" -days 3650 \
      -sha256 -out "$PKI/ca.crt" 2>/dev/null
  fi
  cert apiserver "/CN=kube-apiserver" server
  cert admin "/O=system:masters/CN=eda-admin"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert fake-kubelet "/O=system:nodes/CN=system:node:eda-fake-node"
  [ -s "$PKI/sa.key" ] || {
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  }
}

kubeconfig() { # file user
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: eda-test
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $PKI/ca.crt
users:
- name: $2
  user:
    client-certificate: $PKI/$2.crt
    client-key: $PKI/$2.key
contexts:
- name: eda-test
  context: {cluster: eda-test, user: $2}
current-context: eda-test
EOF
}

start_etcd() {
  running etcd && return 0
  listening "$ETCD_PORT" && { say "port $ETCD_PORT is taken by something else"; return 1; }
  rm -rf "$ETCD_DATA"
  launch etcd etcd --name eda-test --data-dir "$ETCD_DATA" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "eda-test=http://127.0.0.1:$ETCD_PEER_PORT" \
    --quota-backend-bytes 4294967296
  wait_until 30 etcd env ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$ETCD_PORT" endpoint health
}

start_apiserver() {
  running kube-apiserver && return 0
  listening "$API_PORT" && { say "port $API_PORT is taken by something else"; return 1; }
  launch kube-apiserver "$BIN/kube-apiserver" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" --insecure-port 0 \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" --etcd-prefix /eda-test \
    --authorization-mode Node,RBAC --client-ca-file "$PKI/ca.crt" \
    --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --service-account-issuer https://kubernetes.default.svc --service-account-key-file "$PKI/sa.pub" \
    --service-account-signing-key-file "$PKI/sa.key" --api-audiences https://kubernetes.default.svc \
    --service-cluster-ip-range "$SERVICE_CIDR" --allow-privileged \
    --enable-admission-plugins NamespaceLifecycle,LimitRanger,ServiceAccount,ResourceQuota,DefaultStorageClass,NodeRestriction \
    --disable-admission-plugins TaintNodesByCondition \
    --profiling=false \
    --event-ttl 1h --v 1
  wait_until 90 kube-apiserver kubectl_ get --raw /readyz
}

start_controller_manager() {
  running kube-controller-manager && return 0
  kubeconfig "$RUN/controller-manager.kubeconfig" controller-manager
  # No real kubelet reports node health, so the node lifecycle controller (which would taint
  # and evict the fake node) is off, and so is the admission plugin that taints a new node
  # not-ready until that controller clears it; everything else runs as in a real cluster.
  launch kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig "$RUN/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$RUN/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$RUN/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$CM_PORT" --port 0 \
    --use-service-account-credentials --controllers '*,-nodelifecycle,-nodeipam,-cloud-node-lifecycle' \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --leader-elect=false --profiling=false --v 1
}

start_scheduler() {
  running kube-scheduler && return 0
  kubeconfig "$RUN/scheduler.kubeconfig" scheduler
  launch kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig "$RUN/scheduler.kubeconfig" \
    --authentication-kubeconfig "$RUN/scheduler.kubeconfig" \
    --authorization-kubeconfig "$RUN/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHED_PORT" --port 0 --leader-elect=false --v 1
}

start_fake_kubelet() {
  running fake-kubelet && return 0
  kubeconfig "$RUN/fake-kubelet.kubeconfig" fake-kubelet
  # The fixture is a Rust binary of the test harness (tests/src/bin/fake-kubelet.rs).
  cargo build --quiet -p eda-tests --bin fake-kubelet
  launch fake-kubelet "$CARGO_TARGET_DIR/debug/fake-kubelet" --kubeconfig "$RUN/fake-kubelet.kubeconfig"
  wait_until 60 "the fake kubelet's node" sh -c \
    "'$BIN/kubectl' --kubeconfig '$ADMIN_KUBECONFIG' get node eda-fake-node -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
}

start() {
  scripts/kube/build.sh
  mkdir -p "$RUN"
  ensure_pki
  kubeconfig "$ADMIN_KUBECONFIG" admin
  local fresh=""
  running kube-apiserver || fresh=1
  [ -n "$fresh" ] && say "starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler on 127.0.0.1:$API_PORT"
  start_etcd
  start_apiserver
  start_controller_manager
  start_scheduler
  start_fake_kubelet
  # Flux's real HelmRelease CRD: 1.20's schema does not know x-kubernetes-validations, which
  # it then ignores, so client-side validation is off.
  kubectl_ apply --validate=false -f tests/fixtures/crds/ >/dev/null
  kubectl_ wait --for condition=established --timeout 60s -f tests/fixtures/crds/ >/dev/null
  # eda's own CRDs (the Tenant), as the chart ships them; applied (not created) so that a
  # changed CRD reaches a control plane that is already running.
  kubectl_ apply -f helm/eda/crds/ >/dev/null
  kubectl_ wait --for condition=established --timeout 60s -f helm/eda/crds/ >/dev/null
  # The default ServiceAccount of `default` shows the controllers are working.
  wait_until 60 "the ServiceAccount controller" kubectl_ get serviceaccount default -n default
  [ -n "$fresh" ] && say "ready: KUBECONFIG=$ADMIN_KUBECONFIG $BIN/kubectl get nodes"
  return 0
}

stop() {
  local name pid
  for name in fake-kubelet kube-scheduler kube-controller-manager kube-apiserver etcd; do
    if running "$name"; then
      pid="$(cat "$RUN/$name.pid")"
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$RUN/$name.pid"
  done
  # etcd's data is thrown away at each start anyway; in /dev/shm it holds memory until then.
  running etcd || rm -rf "$ETCD_DATA"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) kubectl_ get --raw /readyz >/dev/null 2>&1 ;;
  env)
    printf 'export EDA_KUBECONFIG=%q\nexport EDA_HELM=%q\nexport EDA_KUBECTL=%q\nexport EDA_KUBE_ETCD=%q\n' \
      "$ADMIN_KUBECONFIG" "$BIN/helm" "$BIN/kubectl" "127.0.0.1:$ETCD_PORT"
    ;;
  *) echo "usage: $0 start|stop|restart|status|env" >&2; exit 2 ;;
esac
