#!/usr/bin/env bash
# promtool: the tests lint every service's /metrics with `promtool check metrics`. Idempotent,
# silent when present; installs Debian's prometheus package (which ships promtool) otherwise.
set -euo pipefail
command -v promtool >/dev/null 2>&1 && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing promtool (Debian's prometheus package) from the OS packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v promtool >/dev/null || { echo "promtool.sh: promtool still missing" >&2; exit 1; }
