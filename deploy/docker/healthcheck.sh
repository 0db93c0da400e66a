#!/usr/bin/env bash
# The images' Docker HEALTHCHECK: GET /healthz of the eda service in this container, with
# bash alone (the image has no curl). Liveness, not readiness: /readyz is 503 while the broker
# is away, by design, and an orchestrator that restarts unhealthy containers must not restart
# every service because the broker is down (docs/operations.md, "Health checks").
#
# The port comes from HTTP_ADDR, else from the service found running here (its default port,
# DESIGN.md §6). EDA_HEALTHCHECK_PATH picks another path (`/readyz` for a readiness gate);
# EDA_HEALTHCHECK_PROC another /proc (for its tests).
set -u

default_port() {
  case "$1" in
    producer) echo 8080 ;;
    consumer) echo 9091 ;;
    dbwriter) echo 9092 ;;
    provisioner) echo 9093 ;;
    k8s-event-expor*) echo 9094 ;; # /proc/<pid>/comm keeps 15 characters
    *) return 1 ;;
  esac
}

host=127.0.0.1
port=
if [ -n "${HTTP_ADDR:-}" ]; then
  port=${HTTP_ADDR##*:}
  bound=${HTTP_ADDR%:*}
  bound=${bound#[}
  bound=${bound%]}
  case "$bound" in '' | 0.0.0.0 | :: | localhost) ;; *) host=$bound ;; esac
else
  for comm in "${EDA_HEALTHCHECK_PROC:-/proc}"/[0-9]*/comm; do
    port=$(default_port "$(cat "$comm" 2>/dev/null)") && break
    port=
  done
fi
if [ -z "$port" ]; then
  echo "healthcheck: no eda service runs in this container and HTTP_ADDR is not set" >&2
  exit 1
fi
if ! exec 3<>"/dev/tcp/$host/$port"; then
  echo "healthcheck: nothing listens on $host:$port" >&2
  exit 1
fi
printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "${EDA_HEALTHCHECK_PATH:-/healthz}" "$host" >&3
if ! read -r -t 5 status <&3; then
  echo "healthcheck: no answer from $host:$port within 5s" >&2
  exit 1
fi
case "$status" in
  "HTTP/1."?" 200"*) exit 0 ;;
  *)
    echo "healthcheck: $host:$port answered ${status%$'\r'}" >&2
    exit 1
    ;;
esac
