#!/usr/bin/env bash
# A three-node RabbitMQ cluster on loopback, from Debian's rabbitmq-server package, for the
# fault suite, the cluster tests and the cluster benchmark (docs/operations.md, "Running on a
# RabbitMQ cluster"):
#   node   name                      AMQP    distribution  management
#   1      eda-cluster-1@localhost   5681    25681         15681
#   2      eda-cluster-2@localhost   5682    25682         15682
#   3      eda-cluster-3@localhost   5683    25683         15683
# (ports shift with EDA_CLUSTER_PORT_BASE, default 5680; names with EDA_CLUSTER_NAME, default
# eda-cluster). One Erlang cookie of their own; epmd is the machine's (it only maps names to
# ports). Nodes 2 and 3 join node 1 with `rabbitmqctl join_cluster`.
#
# A cluster whose nodes all died (a machine shut down, every VM killed) restarts only when its
# nodes boot together: each waits up to five minutes for the peers it last saw running. So
# `start` launches every stopped node first and waits for them after. A cluster that still does
# not form (its data torn by a kill mid-join) is test data only: it is wiped and built afresh,
# once, saying so.
#
#   rabbit-cluster.sh start        start what is not running, join, wait; idempotent, quiet when all is well
#   rabbit-cluster.sh stop         stop the three nodes (their pid files), nothing else
#   rabbit-cluster.sh status       exit 0 when all three nodes run and are clustered
#   rabbit-cluster.sh env          print the variables the tests and the suite read (EDA_CLUSTER_*)
#   rabbit-cluster.sh ctl N ARGS   rabbitmqctl ARGS against node N (with the cluster's cookie)
#   rabbit-cluster.sh pid N        the OS pid of node N (for kill -9, SIGSTOP)
#   rabbit-cluster.sh start-node N / stop-node N   one node (after a kill or for a rolling restart)
#
# It never touches the machine's default node (rabbit@localhost on 5672, its cookie in
# /var/lib/rabbitmq): every command names one of these nodes with -n, and our cookie would not
# be accepted there anyway. State (cookie, data, logs, pid files) lives under
# ${EDA_CLUSTER_DIR:-~/.cache/eda-rabbit-cluster}.
set -euo pipefail

DIR="${EDA_CLUSTER_DIR:-$HOME/.cache/eda-rabbit-cluster}"
BASE="${EDA_CLUSTER_PORT_BASE:-5680}"
NAME="${EDA_CLUSTER_NAME:-eda-cluster}"
RABBIT_BIN=/usr/lib/rabbitmq/bin
NODES=(1 2 3)

say() { printf 'rabbit-cluster: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
node_name() { echo "$NAME-$1@localhost"; }
amqp_port() { echo $((BASE + $1)); }
mgmt_port() { echo $((BASE + 10000 + $1)); }
dist_port() { echo $((BASE + 20000 + $1)); }

# The environment every rabbitmq script gets for node N: its own files, none of /etc/rabbitmq's.
node_env() {
  local n="$1" d="$DIR/node$1"
  echo HOME="$DIR" \
    RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf" \
    RABBITMQ_NODENAME="$(node_name "$n")" \
    RABBITMQ_USE_LONGNAME=false \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$(amqp_port "$n")" \
    RABBITMQ_DIST_PORT="$(dist_port "$n")" \
    RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$d/mnesia" \
    RABBITMQ_LOG_BASE="$d/log" \
    RABBITMQ_PID_FILE="$d/pid" \
    ERL_EPMD_ADDRESS=127.0.0.1
}

with_node() { # N command...: runs a rabbitmq script for node N
  local n="$1"
  shift
  # shellcheck disable=SC2046
  env $(node_env "$n") "$@"
}

ctl() { # N args...: rabbitmqctl against node N only, never hanging longer than 330 s
  local n="$1"
  shift
  with_node "$n" timeout 330 "$RABBIT_BIN/rabbitmqctl" -q -n "$(node_name "$n")" "$@"
}

log_tail() { # N: the end of node N's log, for a failure's message
  local f
  for f in "$DIR/node$1/log/$(node_name "$1").log" "$DIR/node$1/log/start.log"; do
    [ -s "$f" ] && { say "the end of $f:"; tail -n 15 "$f" | sed 's/^/  /' >&2; }
  done
  return 0
}

pid_of() { # N: the pid of node N's beam, if it lives and is that node
  local pid
  pid="$(cat "$DIR/node$1/pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
    && tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx "RABBITMQ_NODENAME=$(node_name "$1")" \
    && echo "$pid"
}

running() { pid_of "$1" >/dev/null; }

prepare() {
  mkdir -p "$DIR"
  if [ ! -s "$DIR/.erlang.cookie" ]; then
    umask 077
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | tr 'a-f' 'A-F' >"$DIR/.erlang.cookie"
    umask 022
  fi
  chmod 400 "$DIR/.erlang.cookie"
  : >"$DIR/rabbitmq-env.conf"
  echo '[rabbitmq_management].' >"$DIR/enabled_plugins"
  local n d
  for n in "${NODES[@]}"; do
    d="$DIR/node$n"
    mkdir -p "$d/mnesia" "$d/log"
    # pause_minority: a node cut off from the other two stops serving instead of diverging.
    cat >"$d/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$(amqp_port "$n")
management.tcp.ip = 127.0.0.1
management.tcp.port = $(mgmt_port "$n")
cluster_partition_handling = pause_minority
loopback_users.guest = true
EOF
    echo '[{kernel, [{inet_dist_use_interface, {127,0,0,1}}]}].' >"$d/advanced.config"
  done
}

launch_node() { # N: starts node N's VM unless it runs; does not wait for it to boot
  local n="$1"
  running "$n" && return 0
  if listening "$(amqp_port "$n")"; then
    say "port $(amqp_port "$n") is taken by something that is not node $n"; return 1
  fi
  # A stale pid file from a kill -9 would make the start script refuse.
  rm -f "$DIR/node$n/pid"
  # From the node's own directory: a node that fails to boot drops MnesiaCore.* and
  # erl_crash.dump files in its working directory. The redirections are the subshell's, so that
  # nothing left running holds the caller's stdout (a test reading it would wait forever).
  (cd "$DIR/node$n" && with_node "$n" setsid "$RABBIT_BIN/rabbitmq-server") \
    >"$DIR/node$n/log/start.log" 2>&1 </dev/null &
  local i
  for ((i = 0; i < 120; i++)); do
    [ -s "$DIR/node$n/pid" ] && return 0
    sleep 0.5
  done
  say "node $n wrote no pid file"; log_tail "$n"; return 1
}

await_node() { # N: waits until node N has booted (its app running)
  local n="$1"
  # Up to 300 s: a node that saw peers running waits five minutes for them (10 x 30 s).
  ctl "$n" wait --timeout 300 "$DIR/node$n/pid" >/dev/null 2>&1 || {
    say "node $n did not start"; log_tail "$n"; return 1
  }
  # stop_app leaves the VM running: start the app again.
  ctl "$n" await_startup --timeout 120 >/dev/null 2>&1 || ctl "$n" start_app >/dev/null
  ctl "$n" await_startup --timeout 120 >/dev/null
}

start_node() { launch_node "$1" && await_node "$1"; }

clustered() { # N: node N's running nodes include all three
  local status n
  status="$(ctl "$1" cluster_status --formatter json 2>/dev/null)" || return 1
  for n in "${NODES[@]}"; do
    grep -q "\"running_nodes\":\[[^]]*\"$(node_name "$n")\"" <<<"$status" || return 1
  done
}

member() { # N: node N's cluster lists node 1 among its disc nodes
  ctl "$1" cluster_status --formatter json 2>/dev/null | grep -q "\"disk_nodes\":\[[^]]*\"$(node_name 1)\""
}

join() { # N: node N joins node 1's cluster (a fresh node only)
  local n="$1"
  member "$n" && return 0
  # The CLI warns about feature flags while a node joins: kept in join.log, shown on failure.
  local log="$DIR/node$n/log/join.log"
  { ctl "$n" stop_app && ctl "$n" reset && ctl "$n" join_cluster "$(node_name 1)" \
    && ctl "$n" start_app && ctl "$n" await_startup --timeout 120; } >"$log" 2>&1 \
    || { say "node $n did not join node 1:"; sed 's/^/  /' "$log" >&2; log_tail "$n"; return 1; }
}

status() {
  local n
  for n in "${NODES[@]}"; do running "$n" || return 1; done
  clustered 1
}

form() { # launches every node, then waits for each, joins 2 and 3, waits until clustered
  local n
  for n in "${NODES[@]}"; do launch_node "$n" || return 1; done
  for n in "${NODES[@]}"; do await_node "$n" || return 1; done
  join 2 && join 3 || return 1
  local i
  for ((i = 0; i < 60; i++)); do status && return 0; sleep 1; done
  say "the three nodes run but are not clustered: rabbit-cluster.sh ctl 1 cluster_status"
  return 1
}

start() {
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    say "installing rabbitmq-server from the OS packages"
    as_root apt-get update -qq >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null
  fi
  status && return 0
  prepare
  form && return 0
  say "rebuilding the cluster from scratch (its state under $DIR/node*/mnesia is test data only)"
  local n pid
  for n in "${NODES[@]}"; do
    if pid="$(pid_of "$n")"; then kill -KILL "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done; fi
    rm -rf "$DIR/node$n/mnesia"
  done
  prepare
  form
}

stop_node() { # N: stops node N and waits for its process to end
  local n="$1" pid
  pid="$(pid_of "$n")" || return 0
  ctl "$n" stop >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 120; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
  say "node $n (pid $pid) did not stop"; return 1
}

stop() {
  local n
  for n in 3 2 1; do stop_node "$n"; done
}

print_env() {
  local n urls=()
  for n in "${NODES[@]}"; do urls+=("amqp://guest:guest@127.0.0.1:$(amqp_port "$n")/%2f"); done
  local joined
  joined="$(IFS=,; echo "${urls[*]}")"
  echo "export EDA_CLUSTER_AMQP_URL='$joined'"
  echo "export EDA_CLUSTER_MANAGEMENT='http://127.0.0.1:$(mgmt_port 1)'"
  echo "export EDA_CLUSTER_NODES='$(node_name 1),$(node_name 2),$(node_name 3)'"
  echo "export EDA_CLUSTER_SCRIPT='$(cd "$(dirname "$0")" && pwd)/rabbit-cluster.sh'"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) print_env ;;
  ctl) shift; n="$1"; shift; ctl "$n" "$@" ;;
  pid) pid_of "$2" ;;
  start-node) prepare; start_node "$2" ;;
  stop-node) stop_node "$2" ;;
  *) echo "usage: $0 start|stop|status|env|ctl N ARGS|pid N|start-node N|stop-node N" >&2; exit 2 ;;
esac
