//! Declaring a [`Plan`] on a broker that may already hold some of it with other arguments
//! (another team's publisher declared `<prefix>.events` the tutorial way, say). Arguments
//! cannot change after declaration, and a refused declaration (PRECONDITION_FAILED) closes
//! the channel: so a fresh channel checks passively that the object exists, eda uses it as it
//! is, and the refusal becomes a [`Difference`]. The broker names one differing argument per
//! refusal; the preflight (`consumer topology check`) shows them all.

use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};
use lapin::{Channel, Connection};

use super::difference::{Difference, Found};
use super::plan::{Object, Plan, Shape, Value};

/// What a passive look at one object found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Absent,
    /// It exists and an active declaration with eda's arguments is accepted.
    AsDeclared,
    Different(Difference),
}

/// Declares every object and binding of `plan`, tolerating objects that exist with other
/// arguments; returns how they differ. Errors other than a refused declaration are returned.
pub async fn declare(conn: &Connection, plan: &Plan) -> lapin::Result<Vec<Difference>> {
    let mut channel = conn.create_channel().await?;
    let mut differences = Vec::new();
    for object in &plan.objects {
        match declare_active(&channel, object).await {
            Ok(()) => {}
            Err(error) => {
                let Some(message) = precondition_failed(&error) else { return Err(error) };
                channel = conn.create_channel().await?;
                declare_passive(&channel, object).await?;
                differences.push(from_refusal(object, &message));
            }
        }
    }
    bind_all(&channel, plan).await?;
    let _ = channel.close(200, "topology declared".into()).await;
    Ok(differences)
}

/// Looks at one object without creating it: passively, then (only if it exists) with an
/// active declaration that either changes nothing or is refused naming a difference.
pub async fn probe(conn: &Connection, object: &Object) -> lapin::Result<Presence> {
    let channel = conn.create_channel().await?;
    if let Err(error) = declare_passive(&channel, object).await {
        return if is_not_found(&error) { Ok(Presence::Absent) } else { Err(error) };
    }
    let presence = match declare_active(&channel, object).await {
        Ok(()) => Presence::AsDeclared,
        Err(error) => match precondition_failed(&error) {
            Some(message) => Presence::Different(from_refusal(object, &message)),
            None => return Err(error),
        },
    };
    let _ = channel.close(200, "probe done".into()).await;
    Ok(presence)
}

/// Declares strictly: a refusal is an error (for callers that own their prefix, like tests).
pub(crate) async fn declare_strict(channel: &Channel, plan: &Plan) -> lapin::Result<()> {
    for object in &plan.objects {
        declare_active(channel, object).await?;
    }
    bind_all(channel, plan).await
}

/// The plan's bindings (binding again what is bound changes nothing).
async fn bind_all(channel: &Channel, plan: &Plan) -> lapin::Result<()> {
    for binding in &plan.bindings {
        channel
            .queue_bind(
                binding.queue.as_str().into(),
                binding.exchange.as_str().into(),
                binding.key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

async fn declare_active(channel: &Channel, object: &Object) -> lapin::Result<()> {
    let mut args = FieldTable::default();
    for (name, value) in &object.arguments {
        let value = match value {
            Value::Text(s) => AMQPValue::LongString(LongString::from(s.as_str())),
            Value::Number(n) => AMQPValue::LongLongInt(*n),
        };
        args.insert((*name).into(), value);
    }
    match object.shape {
        Shape::Exchange(kind) => {
            let options = ExchangeDeclareOptions { durable: true, ..Default::default() };
            channel.exchange_declare(object.name.as_str().into(), kind.to_lapin(), options, args).await
        }
        Shape::Queue(queue_type) => {
            args.insert("x-queue-type".into(), AMQPValue::LongString(queue_type.as_str().into()));
            let options = QueueDeclareOptions { durable: true, ..Default::default() };
            channel.queue_declare(object.name.as_str().into(), options, args).await.map(|_| ())
        }
    }
}

async fn declare_passive(channel: &Channel, object: &Object) -> lapin::Result<()> {
    match object.shape {
        Shape::Exchange(kind) => {
            let options = ExchangeDeclareOptions { passive: true, ..Default::default() };
            channel
                .exchange_declare(
                    object.name.as_str().into(),
                    kind.to_lapin(),
                    options,
                    FieldTable::default(),
                )
                .await
        }
        Shape::Queue(_) => {
            let options = QueueDeclareOptions { passive: true, ..Default::default() };
            channel
                .queue_declare(object.name.as_str().into(), options, FieldTable::default())
                .await
                .map(|_| ())
        }
    }
}

fn amqp_error(error: &lapin::Error) -> Option<&lapin::protocol::AMQPError> {
    match error.kind() {
        lapin::ErrorKind::ProtocolError(e) => Some(e),
        _ => None,
    }
}

/// The broker's text, when `error` is a refused declaration (406 PRECONDITION_FAILED).
fn precondition_failed(error: &lapin::Error) -> Option<String> {
    amqp_error(error).filter(|e| e.get_id() == 406).map(|e| e.get_message().to_string())
}

/// True for the channel error of a refused declaration: lapin reports it on the connection's
/// events too, but the connection is fine (only that channel closed).
pub fn is_refused_declaration(error: &lapin::Error) -> bool {
    precondition_failed(error).is_some_and(|m| m.contains("inequivalent arg"))
}

fn is_not_found(error: &lapin::Error) -> bool {
    amqp_error(error).is_some_and(|e| e.get_id() == 404)
}

/// Reads RabbitMQ's "inequivalent arg 'X' for queue 'Q' in vhost '/': received … but current is …".
pub fn from_refusal(object: &Object, message: &str) -> Difference {
    let arg = between(message, "inequivalent arg '", "'").unwrap_or("unknown").to_owned();
    let received = message.split_once("received ").map(|(_, rest)| rest).unwrap_or_default();
    let (received, current) = received.split_once(" but current is ").unwrap_or((received, "unknown"));
    let (expected, actual) = (value_of(received), value_of(current));
    let found = match arg.as_str() {
        "type" => Found::ExchangeType {
            expected: expected.unwrap_or_default(),
            actual: actual.unwrap_or_else(|| "unknown".into()),
        },
        "x-queue-type" => Found::QueueType {
            expected: expected.unwrap_or_default(),
            // A queue declared without the argument is a classic queue.
            actual: actual.unwrap_or_else(|| "classic".into()),
        },
        "durable" => Found::NotDurable,
        _ => Found::Argument { name: arg, expected, actual, policy: None },
    };
    Difference { role: object.role, object: object.name.clone(), found }
}

/// `the value 'x' of type 'longstr'` → `x`; `'true'` → `true`; `none` → None.
fn value_of(text: &str) -> Option<String> {
    let text = text.trim();
    if text.starts_with("none") {
        return None;
    }
    let text = text.strip_prefix("the value ").unwrap_or(text);
    between(text, "'", "'").map(str::to_owned).or_else(|| Some(text.to_owned()))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &text[text.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}
