#!/usr/bin/env bash
# The demo: makes sure RabbitMQ and PostgreSQL run (scripts/dev-services.sh), builds the
# binaries, starts every service, places one purchase through the producer's API and prints
# its timeline as it happens (published → recorded → provisioning → provisioned). Keeps the
# suite running until Ctrl-C, then stops everything it started.
#
#   scripts/run.sh            # interactive demo
#   scripts/run.sh --once     # CI: exit 0 once the purchase is provisioned and recorded
#   scripts/run.sh --kube     # provision for real on the local control plane
#                             # (scripts/kube/control-plane.sh: built once, then cached)
#
# Settings (environment): EDA_PREFIX (default demo), DATABASE_URL (default the local eda_demo
# database), PRODUCER_API_TOKENS (default a random token, printed), PRODUCER_PORT (8080),
# EDA_RUN_TIMEOUT (120 s for --once), EDA_DEMO_PRODUCT (product-db on a cluster: a tenant with
# a database of its own on the local PostgreSQL; product-a otherwise), KUBECONFIG (a reachable cluster turns on apply mode and
# the k8s-event-exporter; otherwise the provisioner only plans), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

ONCE=""
KUBE=""
TIMEOUT="${EDA_RUN_TIMEOUT:-120}"
while [ $# -gt 0 ]; do
  case "$1" in
    --once) ONCE=1 ;;
    --kube) KUBE=1 ;;
    --timeout) TIMEOUT="$2"; shift ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

RUN_DIR=.eda-run
LOGS="$RUN_DIR/logs"
mkdir -p "$LOGS"
say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
fail() { printf '\033[31mrun.sh: %s\033[0m\n' "$*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# --- leftovers of a previous run: stop only processes that are our binaries -------------------
is_ours() { # pid service
  { tr '\0' '\n' <"/proc/$1/cmdline" | head -n1 | grep -q "/$2\$"; } 2>/dev/null
}
stop_pid_file() { # file
  local file="$1" service pid i
  service="$(basename "$file" .pid)"
  pid="$(cat "$file" 2>/dev/null || true)"
  if [ -n "$pid" ] && is_ours "$pid" "$service"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do is_ours "$pid" "$service" || break; sleep 0.1; done
    is_ours "$pid" "$service" && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}
for f in "$RUN_DIR"/*.pid; do [ -e "$f" ] && stop_pid_file "$f"; done

# --- tools -------------------------------------------------------------------------------------
if ! command -v curl >/dev/null 2>&1; then
  say "installing curl"
  as_root apt-get update -qq >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
fi
command -v python3 >/dev/null 2>&1 || fail "python3 is needed to read JSON answers"
command -v cargo >/dev/null 2>&1 || fail "cargo is needed (https://rustup.rs)"

say "RabbitMQ and PostgreSQL"
scripts/dev-services.sh

# EDA_PROFILE=release runs optimised binaries (benchmarks); the default shares the tests' build.
PROFILE="${EDA_PROFILE:-debug}"
say "building (cargo build --bins, $PROFILE)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/eda-target}"
if [ "$PROFILE" = release ]; then cargo build --bins --release --quiet; else cargo build --bins --quiet; fi
BIN="$CARGO_TARGET_DIR/$PROFILE"

# --- settings ----------------------------------------------------------------------------------
export EDA_PREFIX="${EDA_PREFIX:-demo}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/eda_demo}"
export LOG_FORMAT="${LOG_FORMAT:-json}" RUST_LOG="${RUST_LOG:-info}"
# A purchase that fails transiently is retried quickly in a demo, not after minutes.
export EDA_RETRY_DELAYS="${EDA_RETRY_DELAYS:-1s,2s,5s}"
TOKEN="${PRODUCER_API_TOKENS:-}"
if [ -z "$TOKEN" ]; then TOKEN="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"; fi
TOKEN="${TOKEN%%,*}"

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_for() { # preferred port; another free one when it is taken (a shared machine)
  if listening "$1"; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
  else echo "$1"; fi
}
PRODUCER_PORT="$(port_for "${PRODUCER_PORT:-8080}")"
CONSUMER_PORT="$(port_for 9091)"
DBWRITER_PORT="$(port_for 9092)"
PROVISIONER_PORT="$(port_for 9093)"
EXPORTER_PORT="$(port_for 9094)"

if [ -n "$KUBE" ]; then
  say "the local Kubernetes control plane (scripts/kube/control-plane.sh)"
  scripts/kube/control-plane.sh start
  eval "$(scripts/kube/control-plane.sh env)"
  # Its own helm and kubectl first: the machine may have others on the PATH.
  export KUBECONFIG="$EDA_KUBECONFIG" PATH="$(dirname "$EDA_HELM"):$PATH"
fi
CLUSTER=""
if command -v kubectl >/dev/null 2>&1 && kubectl get --raw /readyz --request-timeout=5s >/dev/null 2>&1; then
  if command -v helm >/dev/null 2>&1; then CLUSTER=1; else say "a cluster answers but helm is missing: planning only"; fi
fi
MODE=plan
[ -n "$CLUSTER" ] && MODE=apply

# --- start the services --------------------------------------------------------------------------
PIDS=()
cleanup() {
  trap - EXIT INT TERM
  if [ ${#PIDS[@]} -gt 0 ]; then
    say "stopping the services"
    for f in "$RUN_DIR"/*.pid; do [ -e "$f" ] && stop_pid_file "$f"; done
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # service port args… (environment is inherited)
  local service="$1" port="$2"; shift 2
  HTTP_ADDR="127.0.0.1:$port" "$BIN/$service" "$@" >"$LOGS/$service.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  echo "$pid" >"$RUN_DIR/$service.pid"
}
wait_ready() { # service port
  local i
  for ((i = 0; i < 600; i++)); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$2/readyz")" = 200 ] && return 0
    if ! kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; then
      tail -n 20 "$LOGS/$1.log" >&2
      fail "$1 exited (log: $LOGS/$1.log)"
    fi
    sleep 0.1
  done
  tail -n 20 "$LOGS/$1.log" >&2
  fail "$1 is not ready after 60 s (log: $LOGS/$1.log)"
}

say "starting the suite on prefix '$EDA_PREFIX' (provisioner: $MODE mode${CLUSTER:+, k8s-event-exporter on})"
start dbwriter "$DBWRITER_PORT"
PRODUCER_API_TOKENS="$TOKEN" start producer "$PRODUCER_PORT"
# Tenant databases (product-db) on the local PostgreSQL, whose admin the machine trusts.
PROVISIONER_TENANT_DATABASE_URL="${PROVISIONER_TENANT_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" \
  start provisioner "$PROVISIONER_PORT" --mode "$MODE" --chart-root .
start consumer "$CONSUMER_PORT" log --bind '#' --name demo-log
[ -n "$CLUSTER" ] && start k8s-event-exporter "$EXPORTER_PORT" --state-namespace default
wait_ready dbwriter "$DBWRITER_PORT"
wait_ready producer "$PRODUCER_PORT"
wait_ready provisioner "$PROVISIONER_PORT"
wait_ready consumer "$CONSUMER_PORT"
[ -n "$CLUSTER" ] && wait_ready k8s-event-exporter "$EXPORTER_PORT"

# --- one purchase --------------------------------------------------------------------------------
API="http://127.0.0.1:$PRODUCER_PORT/api/v1"
CLIENT="demo-$(python3 -c 'import secrets; print(secrets.token_hex(3))')"
# On a cluster, the product with a database of its own: a tenant with its release and its database.
PRODUCT="${EDA_DEMO_PRODUCT:-$([ -n "$CLUSTER" ] && echo product-db || echo product-a)}"
ORDER="{\"client\":\"$CLIENT\",\"product\":\"$PRODUCT\",\"environment\":\"development\",\"archtype\":\"saas\",\"hardware\":\"classic\"}"
say "placing a purchase: $ORDER"
ANSWER="$(curl -sS -X POST "$API/orders" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d "$ORDER" -w '\n%{http_code}')"
STATUS="${ANSWER##*$'\n'}"
BODY="${ANSWER%$'\n'*}"
[ "$STATUS" = 202 ] || fail "the producer answered $STATUS: $BODY"
TRACE_ID="$(printf '%s' "$BODY" | python3 -c 'import json,sys; print(json.load(sys.stdin)["trace_id"])')"
printf '\n  trace id  \033[1m%s\033[0m\n\n' "$TRACE_ID"

# --- its timeline, as it happens -------------------------------------------------------------------
# The producer's trace endpoint gives the events; psql tells whether the dbwriter recorded them.
HAVE_PSQL=""
command -v psql >/dev/null 2>&1 && HAVE_PSQL=1
[ -n "$HAVE_PSQL" ] || say "psql is missing: whether the dbwriter recorded the purchase cannot be shown"
recorded() { # action → number of rows of this trace with that action
  [ -n "$HAVE_PSQL" ] || { echo 0; return; }
  psql "$DATABASE_URL" -tAqc "SELECT count(*) FROM events WHERE trace_id = '$TRACE_ID' AND action = '$1'" 2>/dev/null || echo 0
}
SEEN=""
PRINTED_RECORDED=""
OUTCOME=""
DEADLINE=$((SECONDS + TIMEOUT))
printf '  timeline (UTC):\n'
step() { printf '  \033[32m✔\033[0m %-14s %-20s %s\n' "$1" "$2" "$3"; }
while [ "$SECONDS" -lt "$DEADLINE" ]; do
  TIMELINE="$(curl -s -H "Authorization: Bearer $TOKEN" "$API/traces/$TRACE_ID" || true)"
  while IFS=$'\t' read -r id action app time detail; do
    [ -n "$id" ] || continue
    case " $SEEN " in *" $id "*) continue ;; esac
    SEEN="$SEEN $id"
    step "$action" "$app" "$time${detail:+  $detail}"
    # The dbwriter's row usually lands right after the purchase: show it in that order.
    if [ -z "$PRINTED_RECORDED" ] && [ "$(recorded published)" -gt 0 ]; then
      step recorded dbwriter "a row in PostgreSQL (events)"
      PRINTED_RECORDED=1
    fi
    case "$action" in
      provisioned) OUTCOME=provisioned ;;
      failed) [ "$app" = provisioner ] && OUTCOME=failed ;;
    esac
  done < <(printf '%s' "$TIMELINE" | python3 -c '
import json, sys
try:
    events = json.load(sys.stdin).get("events", [])
except ValueError:
    events = []
for e in events:
    f = e.get("fields", {})
    if e.get("action") == "provisioned" and not f.get("dry_run"):
        detail = "namespace %s, release %s revision %s (pods ready)" % (f.get("namespace"), f.get("release"), f.get("revision"))
    else:
        detail = f.get("error") or ("dry run" if f.get("dry_run") else "") or f.get("message") or ""
    print("\t".join([e.get("message_id", ""), e.get("action", ""), e.get("app", ""), e.get("time", "")[11:23], str(detail).replace("\t", " ")]))
' 2>/dev/null)
  if [ -z "$PRINTED_RECORDED" ] && [ "$(recorded published)" -gt 0 ]; then
    step recorded dbwriter "a row in PostgreSQL (events)"
    PRINTED_RECORDED=1
  fi
  if [ "$OUTCOME" = provisioned ] && { [ -z "$HAVE_PSQL" ] || [ "$(recorded provisioned)" -gt 0 ]; }; then
    # On a cluster, wait for the exported Kubernetes events of the pods too (Scheduled).
    if [ -z "$CLUSTER" ] || printf '%s' "$TIMELINE" | grep -q '"action":"scheduled"'; then break; fi
  fi
  if [ "$OUTCOME" = failed ]; then break; fi
  sleep 0.5
done

echo
PORTAL="http://127.0.0.1:$PRODUCER_PORT/"
case "$OUTCOME" in
  provisioned)
    DEPLOYMENT="$(psql "$DATABASE_URL" -tAqc "SELECT namespace || '/' || release || ' is ' || status FROM deployments WHERE trace_id = '$TRACE_ID'" 2>/dev/null || true)"
    say "provisioned${DEPLOYMENT:+: $DEPLOYMENT} (recorded by the dbwriter)" ;;
  failed) say "the purchase failed; see $LOGS/provisioner.log"; [ -n "$ONCE" ] && exit 1 ;;
  *)
    NOTE=""
    [ "$OUTCOME" = provisioned ] && NOTE=" (provisioned, but the dbwriter has not recorded it)"
    [ -z "$PRINTED_RECORDED" ] && NOTE="$NOTE (the dbwriter recorded nothing of it)"
    say "timed out after $TIMEOUT s waiting for 'provisioned'$NOTE; logs in $LOGS/"
    [ -n "$ONCE" ] && exit 1 ;;
esac

if [ -n "$CLUSTER" ] && [ "$OUTCOME" = provisioned ]; then
  NS="$(psql "$DATABASE_URL" -tAqc "SELECT namespace FROM deployments WHERE trace_id = '$TRACE_ID'" 2>/dev/null || echo "$CLIENT")"
  echo >&2
  kubectl get pods -n "$NS" -L trace_id >&2 || true
  KUBECTL_HINT="  kubernetes     KUBECONFIG=$KUBECONFIG $(command -v kubectl) get ns,pods,events -n $NS"
  if [ "$PRODUCT" = product-db ]; then
    DB_URL="$(kubectl get secret -n "$NS" product-db-database -o jsonpath='{.data.url}' 2>/dev/null | base64 -d || true)"
    [ -n "$DB_URL" ] && KUBECTL_HINT="$KUBECTL_HINT
  tenant db      psql \"\$(kubectl get secret -n $NS product-db-database -o jsonpath='{.data.url}' | base64 -d)\"   (its own role and database)"
  fi
elif [ -z "$CLUSTER" ]; then
  KUBECTL_HINT="  kubernetes     planned only; scripts/run.sh --kube provisions for real on a local control plane"
fi

cat >&2 <<EOF

${KUBECTL_HINT:-}
  portal         $PORTAL   (status of this purchase: ${PORTAL}orders/$TRACE_ID)
  API token      $TOKEN
  trace API      curl -H 'Authorization: Bearer $TOKEN' $API/traces/$TRACE_ID
  metrics        http://127.0.0.1:$PRODUCER_PORT/metrics, :$DBWRITER_PORT, :$PROVISIONER_PORT, :$CONSUMER_PORT (/metrics)
  database       psql $DATABASE_URL -c 'SELECT * FROM v_trace_timeline WHERE trace_id = '"'"'$TRACE_ID'"'"''
  logs           $LOGS/<service>.log

EOF
[ -n "$ONCE" ] && exit 0
say "running; Ctrl-C stops everything"
wait
