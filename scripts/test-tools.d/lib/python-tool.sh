# Sourced by the snippets of Python tools: `python_tool <pip package> <version> <venv name>
# <executable>` makes sure the pinned version runs from its own virtualenv under
# ~/.cache/eda-tools (EDA_TOOLS_CACHE), installing Debian's python3 and python3-venv first when
# the machine lacks them. Idempotent and silent when the tool is already there.
python_tool() {
  local package="$1" version="$2" name="$3" executable="$4"
  local venv="${EDA_TOOLS_CACHE:-$HOME/.cache/eda-tools}/$name"
  local bin="$venv/bin/$executable"
  # Every one of these prints its version with --version (checkov: "3.3.30", schemathesis:
  # "schemathesis, version 4.32.5").
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -qw -- "$version"; then
    return 0
  fi
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "installing python3 and python3-venv from the OS packages" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >/dev/null
    $sudo apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
  fi
  echo "installing $package $version from PyPI into $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$package==$version" >/dev/null
  "$bin" --version >/dev/null || { echo "$package is still missing after installing it" >&2; return 1; }
}
