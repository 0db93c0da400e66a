#!/usr/bin/env bash
# promtool: the tests lint every service's /metrics with `promtool check metrics`. Idempotent,
# silent when present; installs Debian's prometheus package (which ships promtool) otherwise.
set -euo pipefail
command -v promtool >/dev/null 2>&1 && exit 0
. "$(dirname "$0")/lib/os-package.sh"
os_package "promtool (Debian's prometheus package)" prometheus
command -v promtool >/dev/null || { echo "promtool.sh: promtool still missing" >&2; exit 1; }
