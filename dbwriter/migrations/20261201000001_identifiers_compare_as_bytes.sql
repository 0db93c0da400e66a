-- Identifier columns compare as bytes (COLLATE "C"): message ids, event types, client names,
-- namespaces and releases are identifiers, not prose, and every index on them is maintained on
-- each insert. Under the database's default collation (en_US.UTF-8, C.UTF-8, ICU, …) each
-- B-tree comparison goes through the collation library (strcoll or ICU); under "C" it is a
-- memcmp. PostgreSQL keeps the rows (no table rewrite) and rebuilds the indexes on these columns.
--
-- The views read these columns, so they are dropped and created again unchanged; privileges
-- granted on them (a Grafana reader role, say) are noted first and granted again at the end.

CREATE TEMPORARY TABLE eda_view_grants AS
SELECT c.relname::text AS view,
       a.privilege_type,
       a.is_grantable,
       CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee
FROM pg_class c
CROSS JOIN LATERAL aclexplode(c.relacl) AS a
LEFT JOIN pg_roles r ON r.oid = a.grantee
WHERE c.oid IN (to_regclass('v_trace_timeline'), to_regclass('v_current_deployments'))
  AND a.grantee <> c.relowner;

DROP VIEW IF EXISTS v_trace_timeline;
DROP VIEW IF EXISTS v_current_deployments;

ALTER TABLE events
    ALTER COLUMN message_id TYPE text COLLATE "C",
    ALTER COLUMN event_type TYPE text COLLATE "C",
    ALTER COLUMN client TYPE text COLLATE "C",
    ALTER COLUMN namespace TYPE text COLLATE "C",
    ALTER COLUMN release TYPE text COLLATE "C";

ALTER TABLE deployments
    ALTER COLUMN namespace TYPE text COLLATE "C",
    ALTER COLUMN release TYPE text COLLATE "C";

-- As in 20261123000001_events_and_deployments.sql.
CREATE VIEW v_trace_timeline AS
SELECT trace_id,
       published_on,
       received_at,
       CASE WHEN app = 'k8s-event-exporter' THEN 'kubernetes' ELSE 'eda' END AS source,
       app,
       action,
       event_type,
       client,
       namespace,
       coalesce(release, product) AS release,
       retrace_intent,
       coalesce(body ->> 'error', body ->> 'message', body ->> 'note', body ->> 'reason') AS detail,
       message_id,
       body
FROM events;

CREATE VIEW v_current_deployments AS
SELECT namespace,
       release,
       client,
       product,
       environment,
       status,
       trace_id,
       updated_at,
       extract(epoch FROM now() - updated_at)::bigint AS age_seconds,
       cycle_started_at,
       event_type AS last_event_type
FROM deployments;

DO $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT * FROM eda_view_grants LOOP
        EXECUTE format('GRANT %s ON %I TO %s%s', g.privilege_type, g.view, g.grantee,
                       CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
END
$$;

DROP TABLE eda_view_grants;
