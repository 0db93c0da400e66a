# Sourced by the snippets that install Debian packages: `os_package <what, for the message>
# <package>...` installs the packages with apt-get, as root or with sudo, quietly.
os_package() {
  local what="$1"
  shift
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing $what from the OS packages" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
