#!/usr/bin/env bash
# Runs every test of the suite against the real RabbitMQ and PostgreSQL of this machine
# (started, or installed from the OS packages, by scripts/dev-services.sh) and a real
# Kubernetes control plane on loopback (scripts/kube/control-plane.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/eda-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
scripts/dev-services.sh
scripts/test-tools.sh
# A real Kubernetes control plane on loopback (built once, cached under ~/.cache/eda-kube), or
# the cluster of EDA_E2E_KUBECONFIG (kind, k3d, …) instead: docs/operations.md.
if [ -n "${EDA_E2E_KUBECONFIG:-}" ]; then scripts/kube/build.sh; else scripts/kube/control-plane.sh start; fi
eval "$(scripts/kube/control-plane.sh env)"
if [ -n "${EDA_E2E_KUBECONFIG:-}" ]; then export EDA_KUBECONFIG="$EDA_E2E_KUBECONFIG"; fi
# The three-node RabbitMQ cluster of the `on_the_rabbit_cluster` tests, started here so that a
# start that fails says why once, before any test runs (the tests start it again if it is down).
scripts/rabbit-cluster.sh start

cargo fmt --all -- --check
if cargo nextest --version >/dev/null 2>&1; then
  # nextest does not run doc tests; run them first so the closing summary is nextest's.
  if ! doc=$(cargo test --workspace --doc --quiet 2>&1); then printf '%s\n' "$doc"; exit 1; fi
  printf '%s\n' "$doc" | grep -vE '^(test result: ok\. 0 passed.*|running 0 tests|)$' || true
  cargo nextest run --workspace --no-fail-fast --profile "${EDA_NEXTEST_PROFILE:-default}" "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi

# The demo, headless: one purchase must reach `provisioned` (and be recorded) end to end.
scripts/run.sh --once
