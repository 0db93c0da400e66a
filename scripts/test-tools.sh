#!/usr/bin/env bash
# Tools some tests drive besides the services: nothing yet beyond the Rust toolchain.
set -euo pipefail
