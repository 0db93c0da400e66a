-- The ledger as the producer's tenants page reads it (DESIGN.md §10), through a read-only group
-- role. The producer pages `v_tenants` by (client, namespace, release) with an optional client
-- prefix and status, and reads one trace at a time from `v_trace_timeline`: both through indexes.

-- A tenant is a deployment row with the hardware its current cycle's purchase asked for (the
-- deployments table does not carry it; the purchase event does, found through the deployment
-- history index). `client` is read as bytes (COLLATE "C"), as the index below is built.
CREATE OR REPLACE VIEW v_tenants AS
SELECT d.client COLLATE "C" AS client,
       d.namespace,
       d.release,
       d.product,
       d.environment,
       (SELECT e.body ->> 'hardware'
          FROM events e
         WHERE e.namespace = d.namespace
           AND e.release = d.release
           AND e.release IS NOT NULL
           AND e.published_on = d.cycle_started_at
           AND e.action = 'published'
         ORDER BY e.message_id
         LIMIT 1) AS hardware,
       d.status,
       d.trace_id,
       d.updated_at
FROM deployments d;

-- The page order, and a client-prefix range, without a sort or a scan.
CREATE INDEX IF NOT EXISTS deployments_tenant_page_idx
    ON deployments ((client COLLATE "C"), namespace, release);
-- The same order within one status (the status filter).
CREATE INDEX IF NOT EXISTS deployments_tenant_status_page_idx
    ON deployments (status, (client COLLATE "C"), namespace, release);

-- The group role the producer's login role joins. Roles belong to the whole server, so this
-- migration may run in many databases at once: whichever creates it first wins, the others
-- find it (duplicate_object once it is committed, unique_violation while it is not).
DO $$
BEGIN
    CREATE ROLE eda_ledger_reader NOLOGIN;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- Views run with their owner's rights: SELECT on these two is all the producer needs, and all
-- it gets (no table, no write).
GRANT USAGE ON SCHEMA public TO eda_ledger_reader;
GRANT SELECT ON v_tenants, v_trace_timeline TO eda_ledger_reader;
