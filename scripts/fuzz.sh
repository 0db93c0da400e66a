#!/usr/bin/env bash
# Fuzzes envelope parsing (JSON, CloudEvents structured and binary headers) with cargo-fuzz.
#   scripts/fuzz.sh [SECONDS]   (default 300)
# The corpus in fuzz/corpus/envelope_decode is seeded from the envelope test fixtures; a crash
# is written to fuzz/artifacts/ and makes this script fail.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export CARGO_TARGET_DIR="${EDA_FUZZ_TARGET_DIR:-$HOME/.cache/eda-fuzz-target}"
# cargo-fuzz passes a few unstable flags; the stable toolchain accepts them this way.
export RUSTC_BOOTSTRAP=1
exec cargo fuzz run envelope_decode --sanitizer none corpus/envelope_decode -- \
  -max_total_time="${1:-300}" -max_len=65536 -print_final_stats=1
