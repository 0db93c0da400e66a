#!/usr/bin/env bash
# PostgreSQL alone: the dbwriter's batch insert (500 rows, the same columns, indexes and
# ON CONFLICT) with pgbench, one session, on a fresh database per variant. Compares the schema
# of the first migration with the current one, under the server's default collation and under
# ICU en-US (docs/decisions.md, "Identifier columns compare as bytes").
# Usage: scripts/pgbench-events.sh [transactions, default 300]
set -euo pipefail
cd "$(dirname "$0")/.."
transactions="${1:-300}"
server=(-h 127.0.0.1 -U postgres)
migrations=(dbwriter/migrations/*.sql)
script="$(mktemp)"
cat >"$script" <<'SQL'
INSERT INTO events (message_id, trace_id, event_type, company, app, client, action, retrace_intent,
    publisher, published_on, received_at, body, namespace, product, environment, release, routing_key, sent_at)
SELECT gen_random_uuid()::text, gen_random_uuid(), 'mycompany.k8s-event-exporter.client' || (i % 1000) || '.scheduled',
    'mycompany', 'k8s-event-exporter', 'client' || (i % 1000), 'scheduled', 0, 'bench', now(), clock_timestamp(),
    b::jsonb, 'client' || (i % 1000), 'product-a', 'development', CASE WHEN i % 4 = 0 THEN 'product-a' END,
    'mycompany.k8s-event-exporter.client1.scheduled', NULL
FROM generate_series(1, 500) AS i,
    (SELECT '{"MessageAttributes":{"event_type":"mycompany.k8s-event-exporter.client12.scheduled","trace_id":"6f1c1f0e-8f6a-4c1e-9a53-0d7c6f0e2b11","published_on":"2026-12-01T15:00:00.123456Z","retrace_intent":0},"Metadata":{"publisher":"bench","schema":"v1"},"client":"client12","namespace":"client12","environment":"development","archtype":"saas","hardware":"dedicated","product":"product-a"}'::text AS b) AS x
ON CONFLICT (message_id) DO NOTHING;
SQL
# run NAME "CREATE DATABASE options" migration files…
run() {
    local db="eda_pgbench_$1" options="$2"; shift 2
    psql -q "${server[@]}" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db $options" 2>&1 | grep -v NOTICE || true
    for f in "$@"; do psql -q "${server[@]}" -d "$db" -v ON_ERROR_STOP=1 -1 -f "$f" >/dev/null; done
    printf "%-34s " "$db"
    pgbench -n "${server[@]}" -c 1 -t "$transactions" -f "$script" "$db" 2>&1 | grep "latency average"
    psql -q "${server[@]}" -c "DROP DATABASE $db"
}
icu="TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
run default_first "" "${migrations[0]}"
run default_current "" "${migrations[@]}"
run icu_first "$icu" "${migrations[0]}"
run icu_current "$icu" "${migrations[@]}"
rm -f "$script"
