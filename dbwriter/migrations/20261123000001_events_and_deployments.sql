-- The audit log and the state of each client deployment (DESIGN.md §5).

-- One row per distinct message; the columns up to body are the contract, the rest are
-- extracted so dashboards need no JSON operators.
CREATE TABLE IF NOT EXISTS events (
    message_id     text PRIMARY KEY,
    trace_id       uuid        NOT NULL,
    event_type     text        NOT NULL,
    company        text        NOT NULL,
    app            text        NOT NULL,
    client         text        NOT NULL,
    action         text        NOT NULL,
    retrace_intent int         NOT NULL DEFAULT 0,
    publisher      text,
    published_on   timestamptz NOT NULL,
    received_at    timestamptz NOT NULL,
    body           jsonb       NOT NULL,
    -- Business fields of the body, when present.
    namespace      text,
    product        text,
    environment    text,
    -- Set only on events that drive the deployments table (its key with namespace).
    release        text,
    routing_key    text        NOT NULL,
    -- The AMQP timestamp property (seconds), when the publisher set one.
    sent_at        timestamptz,
    stored_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS events_trace_id_idx ON events (trace_id, published_on);
-- Rows arrive in received_at order: a BRIN index serves time ranges at almost no write cost.
CREATE INDEX IF NOT EXISTS events_received_at_idx ON events USING brin (received_at);
CREATE INDEX IF NOT EXISTS events_client_time_idx ON events (client, received_at);
CREATE INDEX IF NOT EXISTS events_event_type_time_idx ON events (event_type, received_at);
-- The history a deployment's state is computed from (its current cycle: from a time on).
CREATE INDEX IF NOT EXISTS events_deployment_idx ON events (namespace, release, published_on)
    WHERE release IS NOT NULL;

CREATE TABLE IF NOT EXISTS deployments (
    namespace        text        NOT NULL,
    release          text        NOT NULL,
    client           text        NOT NULL,
    product          text,
    environment      text,
    status           text        NOT NULL,
    trace_id         uuid        NOT NULL,
    -- The event time (published_on) of the event that set the status.
    updated_at       timestamptz NOT NULL,
    -- The published_on of the purchase that started the current cycle, if seen.
    cycle_started_at timestamptz,
    event_type       text        NOT NULL,
    message_id       text        NOT NULL,
    written_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, release)
);

-- Grafana: events per minute and action (time column `minute`).
CREATE OR REPLACE VIEW v_events_per_minute AS
SELECT date_bin('1 minute', received_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS minute,
       action,
       count(*) AS events
FROM events
GROUP BY 1, 2;

-- Grafana: every event of a trace in order, the suite's own and the Kubernetes events the
-- k8s-event-exporter tagged with the trace id.
CREATE OR REPLACE VIEW v_trace_timeline AS
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

-- Grafana: the current state of every deployment.
CREATE OR REPLACE VIEW v_current_deployments AS
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
