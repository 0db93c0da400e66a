//! Publish → row-visible latency at a steady rate: each event's send instant is remembered (and
//! stamped in its body); a poller looks the outstanding message ids up by primary key every
//! millisecond, so a figure includes up to ~1 ms of polling resolution. A tap queue of the same
//! type, bound to `#` and consumed without acks, measures the broker's own publish → deliver
//! latency in the same run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dbwriter::Application;
use eda_common::publisher::envelope_properties;
use eda_common::topology::QueueType;
use futures_util::StreamExt;
use lapin::options::{BasicConsumeOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use tokio_util::sync::CancellationToken;

use crate::setup::{event, message_id, Setup};

/// p50, p99 and max, in milliseconds.
pub type Percentiles = (f64, f64, f64);

/// Row-visible and broker-delivered latencies of `rate` events/s for `seconds`.
pub async fn latency(
    s: &mut Setup,
    rate: u32,
    seconds: u32,
    batch_wait: Duration,
) -> (Percentiles, Percentiles) {
    let (mut config, url) = s.dbwriter_config();
    config.batch_wait = batch_wait;
    let app = Application::build(config).await.unwrap();
    let readiness = app.readiness().clone();
    let stop = CancellationToken::new();
    let run = tokio::spawn(app.run_until_stopped(stop.clone()));
    readiness.wait_for("consumer", true).await;
    readiness.wait_for("database", true).await;
    let pool = sqlx::PgPool::connect(&url).await.unwrap();

    let outstanding: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let total = (rate * seconds) as usize;
    let tap_channel = s.conn.create_channel().await.unwrap();
    let tap_consumer = tap(&tap_channel, &s.prefix, s.args.queue_type).await;
    let tap = tokio::spawn(broker_latencies(tap_consumer, total, sent.clone()));
    let publisher = tokio::spawn(publish_steadily(
        s.conn.create_channel().await.unwrap(),
        s.prefix.clone(),
        rate,
        total,
        [outstanding.clone(), sent],
    ));
    let mut latencies = Vec::with_capacity(total);
    while latencies.len() < total {
        let ids: Vec<String> = outstanding.lock().unwrap().keys().cloned().collect();
        if !ids.is_empty() {
            let visible: Vec<String> =
                sqlx::query_scalar("SELECT message_id FROM events WHERE message_id = ANY($1)")
                    .bind(&ids)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            let now = Instant::now();
            let mut map = outstanding.lock().unwrap();
            for id in visible {
                if let Some(sent) = map.remove(&id) {
                    latencies.push((now - sent).as_secs_f64() * 1000.0);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    publisher.await.unwrap();
    stop.cancel();
    run.await.unwrap().unwrap();
    pool.close().await;
    let broker = tap.await.unwrap();
    let tap_queue = format!("{}.latency-tap", s.prefix);
    let _ = tap_channel.queue_delete(tap_queue.as_str().into(), Default::default()).await;
    (percentiles(latencies), percentiles(broker))
}

fn percentiles(mut v: Vec<f64>) -> Percentiles {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    (at(0.50), at(0.99), *v.last().unwrap())
}

/// A consumer (without acks) of a tap queue of the dbwriter queue's type, bound before any
/// event is published (quorum queues cannot be exclusive: it is deleted after the run).
async fn tap(ch: &lapin::Channel, prefix: &str, queue_type: QueueType) -> lapin::Consumer {
    let queue = format!("{prefix}.latency-tap");
    let mut args = FieldTable::default();
    let kind = if queue_type == QueueType::Classic { "classic" } else { "quorum" };
    args.insert("x-queue-type".into(), AMQPValue::LongString(kind.into()));
    let durable = QueueDeclareOptions { durable: true, ..Default::default() };
    ch.queue_declare(queue.as_str().into(), durable, args).await.unwrap();
    ch.queue_purge(queue.as_str().into(), Default::default()).await.unwrap();
    let exchange = format!("{prefix}.events");
    ch.queue_bind(
        queue.as_str().into(),
        exchange.as_str().into(),
        "#".into(),
        Default::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.basic_qos(1000, Default::default()).await.unwrap();
    let no_ack = BasicConsumeOptions { no_ack: true, ..Default::default() };
    ch.basic_consume(queue.as_str().into(), "".into(), no_ack, FieldTable::default()).await.unwrap()
}

/// Publish → delivery latencies seen by the tap.
async fn broker_latencies(
    mut consumer: lapin::Consumer,
    total: usize,
    sent: Arc<Mutex<HashMap<String, Instant>>>,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(total);
    while out.len() < total {
        let d = consumer.next().await.unwrap().unwrap();
        let now = Instant::now();
        let id = d.properties.message_id().as_ref().map(|m| m.as_str().to_owned()).unwrap_or_default();
        if let Some(at) = sent.lock().unwrap().remove(&id) {
            out.push((now - at).as_secs_f64() * 1000.0);
        }
    }
    out
}

async fn publish_steadily(
    ch: lapin::Channel,
    prefix: String,
    rate: u32,
    total: usize,
    outstanding: [Arc<Mutex<HashMap<String, Instant>>>; 2],
) {
    ch.confirm_select(ConfirmSelectOptions::default()).await.unwrap();
    let exchange = format!("{prefix}.events");
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    let mut confirms = Vec::with_capacity(total);
    for i in 0..total {
        tick.tick().await;
        let mut env = event(i);
        env.body.insert("bench_sent_at".into(), chrono::Utc::now().to_rfc3339().into());
        let id = message_id(&env);
        let props = envelope_properties(&env, &id, "bench");
        let body = env.to_json();
        let now = Instant::now();
        for map in &outstanding {
            map.lock().unwrap().insert(id.clone(), now);
        }
        let key = env.event_type().as_str().to_owned();
        confirms.push(
            ch.basic_publish(
                exchange.as_str().into(),
                key.as_str().into(),
                BasicPublishOptions::default(),
                &body,
                props,
            )
            .await
            .unwrap(),
        );
    }
    for c in confirms {
        assert!(c.await.unwrap().is_ack());
    }
}
