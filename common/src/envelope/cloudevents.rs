//! CloudEvents in and out (DESIGN.md §2): any AMQP message that is a CloudEvent is read
//! onto the envelope, and every message the suite publishes carries binary-mode `ce-`
//! headers, so CloudEvents tooling can route and trace it without reading the body.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::read::{check_size, parse_object, read_object, ATTRIBUTES, METADATA};
use super::trace::parse_traceparent;
use super::{
    format_published_on, json_type, parse_published_on, stable_trace_id, traceparent, Decoded, Envelope,
    EnvelopeError, Headers, MessageAttributes, Metadata, PublishedOnForm,
};

/// Binary-mode attribute prefixes: Knative's RabbitMQ broker writes `ce-` headers; the
/// CloudEvents AMQP binding writes `cloudEvents_` or `cloudEvents:` application properties.
const BINARY_PREFIXES: [&str; 3] = ["ce-", "cloudEvents_", "cloudEvents:"];
const STRUCTURED_CONTENT_TYPE: &str = "application/cloudevents+json";

/// Where a CloudEvent's context attributes are: in the JSON event (structured mode) or
/// in headers under a prefix (binary mode), which errors name.
enum Attributes<'a> {
    Structured(&'a Map<String, Value>),
    Binary { headers: &'a Headers, prefix: String },
}

impl Attributes<'_> {
    fn field(&self, name: &str) -> String {
        match self {
            Self::Structured(_) => name.to_owned(),
            Self::Binary { prefix, .. } => format!("{prefix}{name}"),
        }
    }

    fn optional(&self, name: &str) -> Option<String> {
        match self {
            Self::Structured(event) => event.get(name).map(attribute_text),
            Self::Binary { headers, .. } => headers.iter().find_map(|(key, value)| {
                let (_, found) = split_prefix(key)?;
                found.eq_ignore_ascii_case(name).then(|| value.clone())
            }),
        }
    }

    fn required(&self, name: &str) -> Result<String, EnvelopeError> {
        self.optional(name).ok_or_else(|| EnvelopeError::missing(self.field(name)))
    }
}

impl Envelope {
    /// Reads an AMQP message: CloudEvents structured mode (`content_type` starting with
    /// `application/cloudevents+json`), CloudEvents binary mode (a `specversion` attribute
    /// under a `ce-` header, case-insensitive, or a `cloudEvents_` / `cloudEvents:`
    /// application property), otherwise wire format v1 via [`from_json`](Self::from_json).
    /// The size limit applies to all.
    ///
    /// CloudEvents map as: `type` → event type, `id` → [`Decoded::cloudevent_id`],
    /// `traceparent` → trace id (missing: [`stable_trace_id`] of the body), `time` →
    /// published_on (missing: now), `source` → `Metadata.publisher`, `data` → body.
    /// When `data` is itself a v1 envelope (it has `MessageAttributes`), that envelope is
    /// authoritative and the CloudEvent attributes only fill what it lacks: this is what
    /// the suite's own messages look like through a CloudEvents hop, and the inner
    /// envelope also carries what CloudEvents cannot (retrace_intent, Metadata).
    /// Other attributes and extensions (`subject`, `dataschema`, …) are not kept.
    pub fn decode(
        body: &[u8],
        content_type: Option<&str>,
        headers: &Headers,
    ) -> Result<Decoded, EnvelopeError> {
        check_size(body)?;
        if is_structured(content_type) {
            let mut event = parse_object(body)?;
            let data = take_structured_data(&mut event)?;
            return from_cloudevent(&Attributes::Structured(&event), data, body);
        }
        match binary_attributes(headers) {
            Some(attributes) => {
                let data =
                    if body.iter().all(u8::is_ascii_whitespace) { Map::new() } else { parse_object(body)? };
                from_cloudevent(&attributes, data, body)
            }
            None => Ok(Decoded { envelope: Self::from_json(body)?, cloudevent_id: None }),
        }
    }
}

fn is_structured(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.trim_start()
            .get(..STRUCTURED_CONTENT_TYPE.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(STRUCTURED_CONTENT_TYPE))
    })
}

/// A structured event's `data`, which must be a JSON object (absent or null: empty).
fn take_structured_data(event: &mut Map<String, Value>) -> Result<Map<String, Value>, EnvelopeError> {
    if event.contains_key("data_base64") {
        let reason = "is not supported: send the JSON object in data";
        return Err(EnvelopeError::invalid("data_base64", reason));
    }
    match event.shift_remove("data") {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(data)) => Ok(data),
        Some(other) => Err(not_an_object("data", &other)),
    }
}

/// The binary-mode attributes, if the headers hold a `specversion` under a known prefix
/// (the bindings define binary mode by that attribute's presence).
fn binary_attributes(headers: &Headers) -> Option<Attributes<'_>> {
    let prefix = headers.keys().find_map(|key| {
        let (head, name) = split_prefix(key)?;
        name.eq_ignore_ascii_case("specversion").then(|| head.to_owned())
    })?;
    Some(Attributes::Binary { headers, prefix })
}

/// `("ce-", "type")` for `ce-type`, `CE-Type`, …; `None` for a header of no binding.
fn split_prefix(key: &str) -> Option<(&str, &str)> {
    BINARY_PREFIXES.into_iter().find_map(|prefix| {
        let head = key.get(..prefix.len())?;
        head.eq_ignore_ascii_case(prefix).then(|| (head, &key[prefix.len()..]))
    })
}

/// A structured-mode attribute as text: strings as they are, anything else as JSON.
fn attribute_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn from_cloudevent(
    attributes: &Attributes<'_>,
    data: Map<String, Value>,
    raw: &[u8],
) -> Result<Decoded, EnvelopeError> {
    attributes.required("specversion")?;
    let id = attributes.required("id")?;
    let type_name = attributes.required("type")?;
    let trace_id = match attributes.optional("traceparent") {
        Some(header) => Some(parse_traceparent(&attributes.field("traceparent"), &header)?),
        None => None,
    };
    let time = match attributes.optional("time") {
        Some(text) => Some(
            parse_published_on(&text)
                .map_err(|reason| EnvelopeError::invalid(attributes.field("time"), reason))?,
        ),
        None => None,
    };
    let source = attributes.optional("source");

    let envelope = if data.contains_key(ATTRIBUTES) {
        read_object(fill_inner(data, &type_name, trace_id, time, source), raw)?
    } else {
        let event_type = type_name.parse().map_err(|error| match error {
            EnvelopeError::Invalid { reason, .. } => EnvelopeError::invalid(attributes.field("type"), reason),
            other => other,
        })?;
        Envelope {
            body: data,
            attributes: MessageAttributes {
                event_type,
                published_on: time.unwrap_or_else(Utc::now),
                published_on_form: match &time {
                    Some(_) => PublishedOnForm::Full,
                    None => PublishedOnForm::Missing,
                },
                trace_id: trace_id.unwrap_or_else(|| stable_trace_id(raw)),
                retrace_intent: 0,
                extra: Map::new(),
            },
            metadata: Metadata { publisher: source, ..Metadata::default() },
        }
    };
    Ok(Decoded { envelope, cloudevent_id: Some(id) })
}

/// Gives an inner v1 envelope the CloudEvent's attributes where it has none of its own.
fn fill_inner(
    mut data: Map<String, Value>,
    type_name: &str,
    trace_id: Option<uuid::Uuid>,
    time: Option<DateTime<Utc>>,
    source: Option<String>,
) -> Map<String, Value> {
    if let Some(Value::Object(attributes)) = data.get_mut(ATTRIBUTES) {
        attributes.entry("event_type").or_insert_with(|| type_name.into());
        if let Some(trace_id) = trace_id {
            attributes.entry("trace_id").or_insert_with(|| trace_id.hyphenated().to_string().into());
        }
        if let Some(time) = time {
            attributes.entry("published_on").or_insert_with(|| format_published_on(&time).into());
        }
    }
    if let Some(source) = source {
        let metadata = data.entry(METADATA).or_insert_with(|| Map::new().into());
        if let Value::Object(metadata) = metadata {
            metadata.entry("publisher").or_insert_with(|| source.into());
        }
    }
    data
}

fn not_an_object(field: &str, value: &Value) -> EnvelopeError {
    EnvelopeError::invalid(field, format!("is {}, expected a JSON object", json_type(value)))
}

/// The binary-mode CloudEvents headers of a message the suite publishes: `ce-specversion`
/// 1.0, `ce-id` = message id, `ce-type` = event type, `ce-source`, `ce-time` = published_on
/// (RFC 3339 UTC) and `ce-traceparent` = [`traceparent`] of the trace id, its span seeded
/// by the message id.
pub fn cloudevent_headers(envelope: &Envelope, message_id: &str, source: &str) -> Vec<(String, String)> {
    let attributes = &envelope.attributes;
    [
        ("ce-specversion", "1.0".to_owned()),
        ("ce-id", message_id.to_owned()),
        ("ce-type", attributes.event_type.to_string()),
        ("ce-source", source.to_owned()),
        ("ce-time", format_published_on(&attributes.published_on)),
        ("ce-traceparent", traceparent(attributes.trace_id, message_id)),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

#[cfg(test)]
mod tests;
