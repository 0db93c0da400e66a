#!/usr/bin/env bash
# Tools some tests drive besides the services (a browser, Python, Node.js, …): each snippet in
# scripts/test-tools.d makes sure one is installed, from the OS packages where missing.
set -euo pipefail
cd "$(dirname "$0")"
for snippet in test-tools.d/*.sh; do
  [ -e "$snippet" ] || continue
  bash "$snippet"
done
