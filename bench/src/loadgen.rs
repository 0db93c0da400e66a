//! The load generator: publishes envelopes through the eda Publisher at a target rate with a
//! window of confirms in flight, consumes them back from a sink queue, and measures publish,
//! confirm and consume rates and end-to-end latency (the send time is stamped in the body).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eda_common::config::CommonArgs;
use eda_common::health::{Health, Readiness};
use eda_common::metrics::Metrics;
use eda_common::topology::ServiceQueue;
use eda_common::{Broker, Envelope, EventType, Publisher};
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicQosOptions};
use lapin::types::FieldTable;

use crate::latency::Latencies;

/// What to generate (PerfTest's knobs).
#[derive(Debug, Clone, clap::Args)]
pub struct LoadSpec {
    /// Messages per second to publish; 0 = as fast as confirms allow.
    #[arg(long, default_value_t = 0)]
    pub rate: u32,
    /// Extra body bytes per message (a `pad` field), on top of the ~450-byte envelope.
    #[arg(long, default_value_t = 0)]
    pub size: usize,
    /// Publishes awaiting their confirm at once.
    #[arg(long, default_value_t = 1000)]
    pub confirm_window: usize,
    /// Prefetch of the measuring consumer.
    #[arg(long, default_value_t = 1000)]
    pub consumer_prefetch: u16,
    /// Messages to publish (stops at whichever of count and duration comes first).
    #[arg(long, default_value_t = 20_000)]
    pub count: usize,
    /// Longest publishing time, e.g. 30s.
    #[arg(long, value_parser = eda_common::config::parse_duration, default_value = "60s")]
    pub duration: Duration,
}

/// What a run measured.
#[derive(Debug)]
pub struct Report {
    pub published: usize,
    pub consumed: usize,
    pub publish_seconds: f64,
    pub consume_seconds: f64,
    pub latency: Latencies,
}

impl Report {
    pub fn publish_rate(&self) -> f64 {
        self.published as f64 / self.publish_seconds.max(1e-9)
    }

    pub fn consume_rate(&self) -> f64 {
        self.consumed as f64 / self.consume_seconds.max(1e-9)
    }
}

fn envelope(seq: usize, pad: &str) -> Envelope {
    let client = format!("load{}", seq % 100);
    let now_ns = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
    let body = serde_json::json!({"client": client, "seq": seq, "sent_at_ns": now_ns, "pad": pad});
    let event_type = EventType::new("mycompany", "loadgen", &client, "measured").expect("valid event type");
    Envelope::new(event_type, uuid::Uuid::new_v4(), body.as_object().cloned().unwrap_or_default())
}

/// Runs one measurement against the broker of `args` under `args.prefix`.
pub async fn run(args: &CommonArgs, spec: &LoadSpec) -> anyhow::Result<Report> {
    let health = Health { readiness: Readiness::new(), metrics: Arc::new(Metrics::new("loadgen")) };
    let broker = Broker::start(args, "loadgen", &health);
    let publisher = Publisher::new(&broker, Duration::from_secs(30));
    let stop = tokio_util::sync::CancellationToken::new();
    let (_, conn) = broker.connected(&stop).await.ok_or_else(|| anyhow::anyhow!("no broker"))?;
    let channel = conn.create_channel().await?;
    let sink = ServiceQueue { service: "loadgen-sink".into(), bindings: vec!["*.loadgen.event.#".into()] };
    broker.topology().declare_shared(&channel).await?;
    broker.topology().declare_service(&channel, &sink, broker.retry_policy()).await?;
    channel
        .queue_purge(broker.topology().service_queue("loadgen-sink").as_str().into(), Default::default())
        .await?;
    channel.basic_qos(spec.consumer_prefetch, BasicQosOptions::default()).await?;

    let latency = Arc::new(Mutex::new(Latencies::default()));
    let mut consumer = channel
        .basic_consume(
            broker.topology().service_queue("loadgen-sink").as_str().into(),
            "".into(),
            Default::default(),
            FieldTable::default(),
        )
        .await?;
    let (lat, started_consuming) = (latency.clone(), Instant::now());
    let (done_tx, done_rx) = tokio::sync::watch::channel(0usize);
    let consuming = tokio::spawn(async move {
        let mut n = 0usize;
        let mut first: Option<Instant> = None;
        let mut last = Instant::now();
        while let Some(Ok(d)) = consumer.next().await {
            first.get_or_insert_with(Instant::now);
            n += 1;
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&d.data) {
                if let Some(sent) = v["sent_at_ns"].as_i64() {
                    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
                    lat.lock().unwrap().record(Duration::from_nanos((now - sent).max(0) as u64));
                }
            }
            if n % 100 == 0 {
                let _ = d.acker.ack(BasicAckOptions { multiple: true }).await;
            }
            last = Instant::now();
            let _ = done_tx.send(n);
        }
        (first.unwrap_or(started_consuming), last)
    });

    let pad = "x".repeat(spec.size);
    let started = Instant::now();
    let mut sent = 0usize;
    let per_tick = if spec.rate == 0 { spec.confirm_window } else { (spec.rate as usize / 100).max(1) };
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    while sent < spec.count && started.elapsed() < spec.duration {
        if spec.rate != 0 {
            tick.tick().await;
        }
        let n = per_tick.min(spec.count - sent).min(spec.confirm_window);
        let batch = (sent..sent + n).map(|i| publisher.event(&envelope(i, &pad))).collect();
        publisher.send_all(batch).await?;
        sent += n;
    }
    let publish_seconds = started.elapsed().as_secs_f64();

    let mut rx = done_rx;
    let drained =
        tokio::time::timeout(Duration::from_secs(120), rx.wait_for(|n| *n >= sent)).await.map(|_| ());
    let consumed = *rx.borrow();
    let _ = channel.basic_ack(0, BasicAckOptions { multiple: true }).await;
    let _ = channel.close(200, "done".into()).await;
    let (first, last) = consuming.await?;
    broker.close().await;
    if drained.is_err() {
        anyhow::bail!("only {consumed} of {sent} messages came back within 120 s");
    }
    let latency = std::mem::take(&mut *latency.lock().unwrap());
    Ok(Report {
        published: sent,
        consumed,
        publish_seconds,
        consume_seconds: last.duration_since(first).as_secs_f64().max(publish_seconds.min(1e-3)),
        latency,
    })
}
