#!/usr/bin/env bash
# checkov (PyPI): the chart tests run it on `helm template` and accept only the findings listed,
# with their reasons, in tests/fixtures/chart/checkov-accepted.yaml. Idempotent, silent when
# present; installs a pinned version into its own virtualenv under ~/.cache/eda-tools otherwise
# (about 300 MB, a minute), with Debian's python3 and python3-venv when the machine lacks them.
set -euo pipefail
version=3.3.30
venv="${EDA_TOOLS_CACHE:-$HOME/.cache/eda-tools}/checkov"
bin="$venv/bin/checkov"
if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "$version" ]; then exit 0; fi
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing python3 and python3-venv from the OS packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
fi
echo "installing checkov $version from PyPI into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "checkov==$version" >/dev/null
"$bin" --version >/dev/null || { echo "checkov.sh: still missing after installing" >&2; exit 1; }
