#!/usr/bin/env bash
# python3 and node: the consumer's example handlers and publishers (docs/examples/) are run by
# its tests. Idempotent, silent when both are present; installs Debian's packages otherwise.
set -euo pipefail

missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "node-python.sh: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "installing ${missing[*]} from the OS packages" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v python3 >/dev/null && command -v node >/dev/null || {
  echo "node-python.sh: python3 or node still missing after installing ${missing[*]}" >&2
  exit 1
}
