#!/usr/bin/env bash
# Makes sure RabbitMQ (127.0.0.1:5672, management API on 15672) and PostgreSQL (127.0.0.1:5432) run on this machine:
# starts them if installed, installs them from the OS packages (apt) if not, waits until they
# answer. Idempotent and quiet when all is well. For development and CI machines only.
set -euo pipefail

say() { printf 'dev-services: %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port name seconds
  local i
  for ((i = 0; i < $3 * 5; i++)); do listening "$1" && return 0; sleep 0.2; done
  say "$2 did not start listening on 127.0.0.1:$1 within $3 s"; return 1
}
apt_install() {
  say "installing $* from the OS packages"
  if [ -z "${EDA_APT_UPDATED:-}" ]; then as_root apt-get update -qq >/dev/null; export EDA_APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_rabbitmq() {
  listening 5672 && return 0
  if ! command -v rabbitmq-server >/dev/null 2>&1; then apt_install rabbitmq-server; fi
  listening 5672 && return 0
  say "starting RabbitMQ"
  if ! as_root rabbitmq-server -detached >/dev/null 2>&1; then
    as_root service rabbitmq-server start >/dev/null 2>&1 || true
  fi
  wait_port 5672 RabbitMQ 90
  # The port opens before the broker accepts logins: wait for the node to report running.
  local i
  for ((i = 0; i < 60; i++)); do
    as_root rabbitmq-diagnostics -q check_running >/dev/null 2>&1 && return 0
    sleep 1
  done
  say "RabbitMQ listens but does not report running"; return 1
}

ensure_management() { # `consumer topology check` and its tests read the management API (127.0.0.1:15672)
  listening 15672 && return 0
  say "enabling the RabbitMQ management plugin"
  as_root rabbitmq-plugins enable rabbitmq_management >/dev/null
  wait_port 15672 "RabbitMQ management" 60
}

pg_trust_local() { # a freshly installed server asks TCP clients for a password; dev-only trust for localhost
  local hba
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    [ -f "$hba" ] || continue
    grep -q 'eda dev-services' "$hba" && continue
    as_root sed -i '1i host all postgres 127.0.0.1/32 trust # eda dev-services\nhost all postgres ::1/128 trust # eda dev-services' "$hba"
  done
}

ensure_postgres() {
  local installed_now=""
  if ! listening 5432; then
    if ! command -v pg_lsclusters >/dev/null 2>&1; then apt_install postgresql; installed_now=1; pg_trust_local; fi
    if ! listening 5432; then
      say "starting PostgreSQL"
      local v
      for v in $(ls /etc/postgresql 2>/dev/null); do
        as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start >/dev/null 2>&1 \
          || as_root pg_ctlcluster "$v" main start >/dev/null 2>&1 || true
      done
      wait_port 5432 PostgreSQL 60
    fi
  fi
  if [ -n "$installed_now" ]; then for v in $(ls /etc/postgresql); do as_root pg_ctlcluster "$v" main reload >/dev/null 2>&1 || true; done; fi
  local i
  for ((i = 0; i < 60; i++)); do
    if command -v pg_isready >/dev/null 2>&1; then
      pg_isready -q -h 127.0.0.1 -p 5432 && return 0
    else
      return 0
    fi
    sleep 0.5
  done
  say "PostgreSQL listens but is not ready"; return 1
}

ensure_rabbitmq
ensure_management
ensure_postgres
