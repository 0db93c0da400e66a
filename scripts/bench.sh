#!/usr/bin/env bash
# Reruns every benchmark of docs/benchmarks.md, one after the other, on this machine (release
# builds; RabbitMQ and PostgreSQL local, the test Kubernetes control plane on loopback). Takes
# about 45 minutes (25 of them the provisioner on the real control plane); run it on a quiet machine.
# The fault-injection suite is separate (scripts/faults.sh): it restarts the shared services.
# The last section starts the three-node RabbitMQ cluster (scripts/rabbit-cluster.sh) beside the
# machine's broker.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/eda-target}"
export RUST_LOG="${RUST_LOG:-error}"
scripts/dev-services.sh
cargo build --release -q --workspace --examples --bins
ex="$CARGO_TARGET_DIR/release/examples"
section() { printf '\n## %s\n\n' "$*"; }
section "runtime vs bare lapin (quorum)";  "$ex/bench_runtime" 20000 5 quorum
section "runtime vs bare lapin (classic)"; "$ex/bench_runtime" 20000 5 classic
section "producer orders/s";               for _ in 1 2 3; do "$ex/bench_orders" 10 64 2>&1 >/dev/null | tail -3; done
section "producer tenants page (10,000 and 100,000 tenants)"; "$ex/bench_tenants" 5 2>&1 >/dev/null
section "dbwriter (quorum)";               "$ex/bench_dbwriter" 100000 3 10000 15
section "dbwriter (classic)";              BENCH_QUEUE_TYPE=classic "$ex/bench_dbwriter" 100000 3 10000 15
section "provisioner";                     "$ex/bench_provisioner" 200 200 4
section "provisioner on the real control plane, against bare helm"
scripts/kube/control-plane.sh start
# RUST_LOG unset: the provisioner logs with its default filter, as in production, and the
# benchmark reads its "running helm" lines to split eda's own time.
(eval "$(scripts/kube/control-plane.sh env)" && env -u RUST_LOG "$ex/bench_real_cluster" --tenants 40,200 --concurrency 4 --rounds 3)
section "provisioner: resync of 1,000 tenants (real control plane, the chart's RoleBindings)"
(eval "$(scripts/kube/control-plane.sh env)" && "$ex/bench_resync" --tenants 1000 --concurrency 4 \
  --subject system:serviceaccount:eda:eda-provisioner \
  --reader-subject system:serviceaccount:eda:eda-k8s-event-exporter)
section "k8s-event-exporter";              "$ex/bench_exporter" 20000
section "consumer engine";                 "$ex/bench_consumer" 300 3
section "load generator (1,000 msg/s)";    "$CARGO_TARGET_DIR/release/eda-loadgen" --rate 1000 --count 30000 --runs 3
section "full pipeline and memory of every service"; scripts/bench-pipeline.py 1000 3
section "the three-node cluster beside the single node (quorum queues, alternated rounds)"
scripts/rabbit-cluster.sh start
cluster="$(eval "$(scripts/rabbit-cluster.sh env)" && echo "$EDA_CLUSTER_AMQP_URL")"
for _ in 1 2 3; do
  printf 'single  '; "$CARGO_TARGET_DIR/release/eda-loadgen" --count 20000 | tail -1
  printf 'cluster '; "$CARGO_TARGET_DIR/release/eda-loadgen" --amqp-url "$cluster" --count 20000 | tail -1
done
for _ in 1 2 3; do
  printf 'single  '; "$ex/bench_dbwriter" 30000 1 5000 5 | grep -iE 'drain|bare consume'
  printf 'cluster '; AMQP_URL="${cluster%%,*}" "$ex/bench_dbwriter" 30000 1 5000 5 | grep -iE 'drain|bare consume'
done
