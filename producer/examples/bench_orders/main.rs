//! Orders per second through `POST /api/v1/orders` (publish with confirms), at 64 concurrent
//! HTTP/1.1 keep-alive connections, with p50/p99 latency; beside it, in the same run and on the
//! same topology, the bare publish-with-confirms rate of a plain lapin loop with the same
//! number of publishes in flight.
//!
//! `cargo run --release -p producer --example bench_orders -- [seconds] [connections] [otlp] > /dev/null`
//! (figures on stderr; the producer's JSON logs go to stdout, as in production). With `otlp`,
//! spans are exported (`OTEL_EXPORTER_OTLP_ENDPOINT`) to an OTLP receiver in this process, as
//! to a collector on the same machine.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eda_common::publisher::envelope_properties;
use eda_common::{Envelope, EventType};
use futures_util::future::join_all;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{Connection, ConnectionProperties};
use producer::{Application, Config};
use tokio_util::sync::CancellationToken;

mod raw_http;

use raw_http::{load, Figures};

const WARMUP: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let connections: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(64);
    let amqp_url = std::env::var("AMQP_URL").unwrap_or_else(|_| eda_common::config::DEFAULT_AMQP_URL.into());
    let receiver = match args.next().as_deref() {
        Some("otlp") => {
            let receiver = eda_tests::otlp::OtlpReceiver::start().await;
            std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.endpoint);
            Some(receiver)
        }
        Some(other) => anyhow::bail!("third argument: `otlp` or nothing, not {other:?}"),
        None => None,
    };
    let telemetry = eda_common::telemetry::init(eda_common::telemetry::LogFormat::Json, "producer")?;

    let prefix = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let mut config = Config::for_prefix(&prefix);
    config.common.amqp_url = Some(amqp_url.clone().into());
    config.common.http_addr = Some("127.0.0.1:0".parse()?);
    config.common.queue_type = eda_common::topology::QueueType::Classic;
    config.insecure_no_auth = true;
    let app = Application::build(config).await?;
    let port = app.port();
    let health = app.health().clone();
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    health.readiness.wait_for("broker", true).await;
    health.readiness.wait_for(producer::feed::tap::READINESS_CHECK, true).await;

    let window = Duration::from_secs(seconds);
    let bare = bare_publish(&amqp_url, &prefix, connections, window).await?;
    let http = http_orders(port, connections, window).await;

    eprintln!("prefix {prefix}, {connections} in flight, {seconds}s measured after {WARMUP:?} warm-up");
    eprintln!("bare publish with confirms: {:.0} msg/s", bare);
    eprintln!(
        "POST /api/v1/orders: {:.0} orders/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} non-202",
        http.rate, http.p50_ms, http.p99_ms, http.max_ms, http.failures
    );
    eprintln!("ratio orders/bare publishes: {:.2}", http.rate / bare);
    shutdown.cancel();
    run.await??;
    if let Some(receiver) = receiver {
        drop(telemetry);
        eprintln!("spans exported: {} in {} requests", receiver.spans().len(), receiver.requests());
    }
    cleanup(&amqp_url, &prefix).await;
    Ok(())
}

/// Publishes order-shaped envelopes with confirms from `in_flight` loops on one channel.
async fn bare_publish(url: &str, prefix: &str, in_flight: usize, window: Duration) -> anyhow::Result<f64> {
    let conn = Connection::connect(url, ConnectionProperties::default()).await?;
    let channel = conn.create_channel().await?;
    channel.confirm_select(ConfirmSelectOptions::default()).await?;
    let exchange = format!("{prefix}.events");
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let loops = (0..in_flight).map(|i| {
        let (channel, exchange, stop, measuring) = (channel.clone(), exchange.clone(), stop.clone(), measuring.clone());
        async move {
            let client = format!("bare{i}");
            let event_type = EventType::new("mycompany", "producer", &client, "published").unwrap();
            let mut count = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let body = serde_json::json!({"client": client, "namespace": client, "environment": "development",
                    "archtype": "saas", "hardware": "dedicated", "product": "product-a"});
                let envelope = Envelope::new(event_type.clone(), uuid::Uuid::new_v4(), body.as_object().unwrap().clone());
                let props = envelope_properties(&envelope, &uuid::Uuid::new_v4().to_string(), "bench");
                let confirm = channel
                    .basic_publish(
                        exchange.as_str().into(),
                        event_type.as_str().into(),
                        BasicPublishOptions::default(),
                        &envelope.to_json(),
                        props,
                    )
                    .await
                    .expect("publish");
                assert!(confirm.await.expect("confirm").is_ack());
                if measuring.load(Ordering::Relaxed) {
                    count += 1;
                }
            }
            count
        }
    });
    let timer = async {
        tokio::time::sleep(WARMUP).await;
        measuring.store(true, Ordering::Relaxed);
        tokio::time::sleep(window).await;
        measuring.store(false, Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
    };
    let (counts, ()) = tokio::join!(join_all(loops), timer);
    let _ = conn.close(200, "bench done".into()).await;
    Ok(counts.iter().sum::<u64>() as f64 / window.as_secs_f64())
}

/// `connections` clients posting orders back to back, each for a client of its own.
async fn http_orders(port: u16, connections: usize, window: Duration) -> Figures {
    let requests = (0..connections)
        .map(|i| {
            let body = serde_json::json!({"client": format!("bench{i}"), "environment": "development",
                "archtype": "saas", "hardware": "dedicated", "product": "product-a"})
            .to_string();
            format!(
                "POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
        })
        .collect();
    load(port, requests, 202, WARMUP, window).await
}

/// Deletes the benchmark's exchanges and queues (the unrouted queue holds nothing: the feed takes all).
async fn cleanup(url: &str, prefix: &str) {
    let Ok(conn) = Connection::connect(url, ConnectionProperties::default()).await else { return };
    let Ok(ch) = conn.create_channel().await else { return };
    for q in ["dead", "unrouted"] {
        let _ = ch.queue_delete(format!("{prefix}.{q}").as_str().into(), Default::default()).await;
    }
    for x in ["events", "retry", "unrouted"] {
        let _ = ch.exchange_delete(format!("{prefix}.{x}").as_str().into(), Default::default()).await;
    }
    let _ = conn.close(200, "cleanup".into()).await;
}
