//! A message as an `events` row, and a batch of rows as the column arrays one `INSERT … SELECT
//! FROM UNNEST` takes.

use chrono::{DateTime, Utc};
use eda_common::delivery::Message;
use sqlx::error::BoxDynError;
use sqlx::postgres::PgArguments;
use sqlx::Arguments;
use uuid::Uuid;

use crate::deployments;

/// One `events` row.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub message_id: String,
    pub trace_id: Uuid,
    pub event_type: String,
    pub company: String,
    pub app: String,
    pub client: String,
    pub action: String,
    pub retrace_intent: i32,
    pub publisher: Option<String>,
    pub published_on: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// The whole envelope as written on the wire (`Envelope::to_json`), as JSON text.
    pub body: String,
    pub namespace: Option<String>,
    pub product: Option<String>,
    pub environment: Option<String>,
    /// Set when the event drives the deployments table.
    pub release: Option<String>,
    pub routing_key: String,
    pub sent_at: Option<DateTime<Utc>>,
}

impl EventRow {
    pub fn from_message(m: &Message) -> EventRow {
        let env = &m.envelope;
        let event_type = env.event_type();
        let key = deployments::key_of(env);
        EventRow {
            message_id: m.message_id.clone(),
            trace_id: env.trace_id(),
            event_type: event_type.as_str().to_owned(),
            company: event_type.company().to_owned(),
            app: event_type.app().to_owned(),
            client: event_type.client().to_owned(),
            action: event_type.action().to_owned(),
            retrace_intent: i32::try_from(env.attributes.retrace_intent).unwrap_or(i32::MAX),
            publisher: env.metadata.publisher.clone(),
            published_on: env.attributes.published_on,
            received_at: m.received_at,
            body: serde_json::to_string(env).expect("an envelope always serializes"),
            namespace: key.as_ref().map(|k| k.namespace.clone()).or_else(|| owned(env.body_str("namespace"))),
            product: owned(env.body_str("product")),
            environment: owned(env.body_str("environment")),
            release: key.map(|k| k.release),
            routing_key: m.routing_key.clone(),
            sent_at: m.sent_at,
        }
    }
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

/// Rows as the column arrays the insert binds, borrowed: nothing is copied but pointers.
#[derive(Debug, Default)]
struct Columns<'a> {
    message_id: Vec<&'a str>,
    trace_id: Vec<Uuid>,
    event_type: Vec<&'a str>,
    company: Vec<&'a str>,
    app: Vec<&'a str>,
    client: Vec<&'a str>,
    action: Vec<&'a str>,
    retrace_intent: Vec<i32>,
    publisher: Vec<Option<&'a str>>,
    published_on: Vec<DateTime<Utc>>,
    received_at: Vec<DateTime<Utc>>,
    body: Vec<&'a str>,
    namespace: Vec<Option<&'a str>>,
    product: Vec<Option<&'a str>>,
    environment: Vec<Option<&'a str>>,
    release: Vec<Option<&'a str>>,
    routing_key: Vec<&'a str>,
    sent_at: Vec<Option<DateTime<Utc>>>,
}

impl<'a> FromIterator<&'a EventRow> for Columns<'a> {
    fn from_iter<I: IntoIterator<Item = &'a EventRow>>(rows: I) -> Self {
        let mut c = Columns::default();
        for r in rows {
            c.message_id.push(&r.message_id);
            c.trace_id.push(r.trace_id);
            c.event_type.push(&r.event_type);
            c.company.push(&r.company);
            c.app.push(&r.app);
            c.client.push(&r.client);
            c.action.push(&r.action);
            c.retrace_intent.push(r.retrace_intent);
            c.publisher.push(r.publisher.as_deref());
            c.published_on.push(r.published_on);
            c.received_at.push(r.received_at);
            c.body.push(&r.body);
            c.namespace.push(r.namespace.as_deref());
            c.product.push(r.product.as_deref());
            c.environment.push(r.environment.as_deref());
            c.release.push(r.release.as_deref());
            c.routing_key.push(&r.routing_key);
            c.sent_at.push(r.sent_at);
        }
        c
    }
}

/// Inserts the rows that are new; returns how many were inserted (the rest were duplicates).
pub async fn insert(tx: &mut sqlx::PgConnection, rows: &[&EventRow]) -> sqlx::Result<u64> {
    let columns: Columns = rows.iter().copied().collect();
    let arguments = columns.into_arguments(encoded_size(rows)).map_err(sqlx::Error::Encode)?;
    let done = sqlx::query_with(INSERT, arguments).execute(tx).await?;
    Ok(done.rows_affected())
}

impl Columns<'_> {
    /// The bind parameters, in `INSERT`'s order, in a buffer allocated once at `size` bytes.
    /// Grown by doubling instead, a batch's buffer (most of a kilobyte a row) is copied a dozen
    /// times and, past the allocator's small sizes, each copy lands on freshly zeroed pages.
    fn into_arguments(self, size: usize) -> Result<PgArguments, BoxDynError> {
        let mut a = PgArguments::default();
        a.reserve(PARAMETERS, size);
        a.add(self.message_id)?;
        a.add(self.trace_id)?;
        a.add(self.event_type)?;
        a.add(self.company)?;
        a.add(self.app)?;
        a.add(self.client)?;
        a.add(self.action)?;
        a.add(self.retrace_intent)?;
        a.add(self.publisher)?;
        a.add(self.published_on)?;
        a.add(self.received_at)?;
        a.add(self.body)?;
        a.add(self.namespace)?;
        a.add(self.product)?;
        a.add(self.environment)?;
        a.add(self.release)?;
        a.add(self.routing_key)?;
        a.add(self.sent_at)?;
        Ok(a)
    }
}

/// The parameters of `INSERT`, one array per column.
const PARAMETERS: usize = 18;

/// The binary size of the rows as bind parameters: each array element is a 4-byte length and its
/// bytes (a uuid 16, an int 4, three timestamps 8 each); each array has a 20-byte header and a
/// 4-byte length (32 bytes are counted).
fn encoded_size(rows: &[&EventRow]) -> usize {
    const FIXED: usize = PARAMETERS * 4 + 16 + 4 + 3 * 8;
    let text = |r: &EventRow| {
        let optional = [&r.publisher, &r.namespace, &r.product, &r.environment, &r.release];
        [&r.message_id, &r.event_type, &r.company, &r.app, &r.client, &r.action, &r.body, &r.routing_key]
            .iter()
            .map(|s| s.len())
            .sum::<usize>()
            + optional.iter().filter_map(|s| s.as_ref()).map(String::len).sum::<usize>()
    };
    PARAMETERS * 32 + rows.iter().map(|r| FIXED + text(r)).sum::<usize>()
}

/// The envelope travels as JSON text and PostgreSQL parses it once, into `jsonb`.
const INSERT: &str = "INSERT INTO events (message_id, trace_id, event_type, company, app, client, action, \
    retrace_intent, publisher, published_on, received_at, body, namespace, product, environment, release, \
    routing_key, sent_at) \
    SELECT m, t, et, co, ap, cl, ac, ri, pu, po, ra, b::jsonb, ns, pr, en, re, rk, sa \
    FROM UNNEST($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], \
    $8::int4[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::text[], $13::text[], $14::text[], \
    $15::text[], $16::text[], $17::text[], $18::timestamptz[]) \
    AS u(m, t, et, co, ap, cl, ac, ri, pu, po, ra, b, ns, pr, en, re, rk, sa) \
    ON CONFLICT (message_id) DO NOTHING";
