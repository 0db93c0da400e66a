#!/usr/bin/env bash
# oidc-provider (npm, OpenID Certified): the OpenID provider the producer's sign-in tests run on
# loopback (tests/fixtures/oidc/provider.mjs). Installed with `npm ci` from the fixture's pinned
# package.json and package-lock.json into ~/.cache/eda-tools/oidc-provider (EDA_TOOLS_CACHE),
# again whenever the lock changes. Idempotent and silent when present; needs node (installed by
# node-python.sh, which runs first) and npm (Debian's package when missing).
set -euo pipefail
fixture="$(cd "$(dirname "$0")/../../tests/fixtures/oidc" && pwd)"
dir="${EDA_TOOLS_CACHE:-$HOME/.cache/eda-tools}/oidc-provider"
stamp="$dir/.installed-lock.sha256"
want="$(sha256sum "$fixture/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$dir/node_modules/oidc-provider/package.json" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  . "$(dirname "$0")/lib/os-package.sh"
  os_package npm npm
fi
version="$(node -p "require('$fixture/package.json').dependencies['oidc-provider']")"
echo "installing oidc-provider $version from npm into $dir" >&2
rm -rf "$dir"
mkdir -p "$dir"
cp "$fixture/package.json" "$fixture/package-lock.json" "$dir/"
(cd "$dir" && npm ci --silent --no-audit --no-fund --ignore-scripts >/dev/null)
[ -f "$dir/node_modules/oidc-provider/package.json" ] || { echo "oidc-provider.sh: oidc-provider still missing" >&2; exit 1; }
echo "$want" > "$stamp"
