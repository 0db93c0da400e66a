#!/usr/bin/env bash
# schemathesis (PyPI): the producer's tests run it on the served OpenAPI document with
# `--checks all`. Idempotent, silent when present; installs a pinned version into its own
# virtualenv under ~/.cache/eda-tools otherwise, with Debian's python3 and python3-venv when the
# machine lacks them.
set -euo pipefail
version=4.32.5
venv="${EDA_TOOLS_CACHE:-$HOME/.cache/eda-tools}/schemathesis"
bin="$venv/bin/schemathesis"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "version $version\$"; then exit 0; fi
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing python3 and python3-venv from the OS packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
fi
echo "installing schemathesis $version from PyPI into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$version" >/dev/null
"$bin" --version >/dev/null || { echo "schemathesis.sh: still missing after installing" >&2; exit 1; }
