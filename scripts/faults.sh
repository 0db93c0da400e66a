#!/usr/bin/env bash
# The fault-injection suite (issue: proof). Restarts this machine's RabbitMQ and PostgreSQL,
# kills services with SIGKILL, drops their network: never run it beside the normal tests.
#   scripts/faults.sh                 # every scenario, prints a table
#   scripts/faults.sh sigterm kill-9  # some of them
#   scripts/faults.sh single|cluster|tenants  # one group: `cluster-…` run two dbwriters and
#                                     # `tenants-…` two provisioners (apply mode, the test control
#                                     # plane) on the three-node cluster of scripts/rabbit-cluster.sh
#                                     # (started here; they kill, stop, freeze, restart its nodes only)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/eda-target}"
scripts/dev-services.sh
if [ $# -eq 0 ] || printf '%s\n' "$@" | grep -qE '^(cluster|tenants)'; then scripts/rabbit-cluster.sh start; fi
if [ $# -eq 0 ] || printf '%s\n' "$@" | grep -q '^tenants'; then
  scripts/kube/control-plane.sh start
  eval "$(scripts/kube/control-plane.sh env)"
fi
cargo build --release -q -p dbwriter -p provisioner -p eda-bench --bins
exec "$CARGO_TARGET_DIR/release/eda-faults" "$@"
