#!/usr/bin/env bash
# Where the CPU goes during a dbwriter drain (docs/benchmarks/dbwriter.md, "CPU budget"): runs
# the dbwriter benchmark once and records every process with perf (cpu-clock, frame pointers)
# for the first drain only, then prints the share of each process and the top symbols of
# PostgreSQL and of the service. Needs perf (linux-perf) and a quiet machine.
# Usage: scripts/profile-dbwriter.sh [seconds, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-3}"
target="${CARGO_TARGET_DIR:-$HOME/.cache/eda-target}-profile"
out="$(mktemp -d)"
CARGO_TARGET_DIR="$target" CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
    cargo build --release -q -p dbwriter --example bench_dbwriter
RUST_LOG=error "$target/release/examples/bench_dbwriter" 100000 1 1000 1 2>"$out/bench.err" >/dev/null &
bench=$!
# The first "quiet after" line ends the fill: the drain starts right after it.
until grep -q "quiet after" "$out/bench.err" 2>/dev/null; do sleep 0.05; done
perf record -a -e cpu-clock -F 999 -g -o "$out/perf.data" -- sleep "$seconds" 2>/dev/null >/dev/null
wait "$bench"
grep -E "mean batch|dbwriter [0-9]" "$out/bench.err"
report() { perf report -i "$out/perf.data" --no-children -g none "$@" 2>/dev/null | grep -v '^#' | grep -v '^$'; }
echo; echo "share of both cores by command (swapper = idle; tokio-rt-worker + lapin-io-loop = the service):"
report --sort comm | head -8
echo; echo "PostgreSQL, inclusive:"
perf report -i "$out/perf.data" --children --comm postgres --sort sym -g none 2>/dev/null \
    | grep -E '\] (ExecInsertIndexTuples|ExecCheckIndexConstraints|jsonb_in|heap_insert|array_recv|ExecScan|XLogFlush)$'
echo; echo "the service, top symbols:"
report --comm tokio-rt-worker,lapin-io-loop --sort sym | head -15
echo; echo "perf data kept in $out"
