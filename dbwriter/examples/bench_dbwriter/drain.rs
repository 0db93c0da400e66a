//! Draining a pre-filled queue: the dbwriter, a bare lapin consume loop (the broker's limit)
//! and a one-INSERT-per-message baseline, each timed from start to the last row or ack.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dbwriter::row::{insert, EventRow};
use dbwriter::Application;
use eda_common::delivery::Message;
use eda_common::metrics::Metrics;
use futures_util::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};
use lapin::types::FieldTable;
use tokio_util::sync::CancellationToken;

use crate::setup::Setup;

/// Starts a dbwriter on the pre-filled queue; events/s until `n` rows are committed, the mean
/// batch size and the mean batch transaction time (ms).
pub async fn dbwriter_rate(s: &mut Setup, n: usize) -> (f64, f64, f64) {
    let (config, url) = s.dbwriter_config();
    crate::template::copy_into(&url).await;
    let app = Application::build(config).await.unwrap();
    let (metrics, readiness) = (app.metrics().clone(), app.readiness().clone());
    let stop = CancellationToken::new();
    let run = tokio::spawn(app.run_until_stopped(stop.clone()));
    // Timed from the moment it consumes: creating and migrating the database is not draining.
    readiness.wait_for("consumer", true).await;
    let started = Instant::now();
    // The counter moves after each commit: when it reaches n, every row is visible.
    while rows_inserted(&metrics) < n as u64 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    stop.cancel();
    run.await.unwrap().unwrap();
    let mean =
        |name: &str| value(&metrics, &format!("{name}_sum")) / value(&metrics, &format!("{name}_count"));
    (rate, mean("eda_batch_size"), mean("eda_dbwriter_commit_duration_seconds") * 1000.0)
}

fn value(metrics: &Metrics, name: &str) -> f64 {
    let text = metrics.encode();
    text.lines()
        .find(|l| l.starts_with(&format!("{name}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
}

fn rows_inserted(metrics: &Metrics) -> u64 {
    value(metrics, "eda_dbwriter_rows_inserted_total") as u64
}

/// A plain lapin loop on the same queue with the dbwriter's prefetch (1,000) and its ack
/// pattern (one multiple-ack per 500 deliveries): the rate the broker can hand events over.
pub async fn bare_consume_rate(s: &Setup, n: usize) -> f64 {
    let ch = s.conn.create_channel().await.unwrap();
    ch.basic_qos(1000, Default::default()).await.unwrap();
    let started = Instant::now();
    let mut consumer = ch
        .basic_consume(
            s.queue().as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut got = 0;
    while got < n {
        let d = consumer.next().await.unwrap().unwrap();
        got += 1;
        if got % 500 == 0 || got == n {
            d.acker.ack(BasicAckOptions { multiple: true }).await.unwrap();
        }
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let _ = ch.close(200, "done".into()).await;
    rate
}

/// What the dbwriter replaces: decode, one INSERT in its own transaction, ack, per message.
pub async fn one_insert_per_message_rate(s: &mut Setup, n: usize) -> f64 {
    let options = dbwriter::db::connect_options(&s.fresh_database().into(), &s.prefix).unwrap();
    let pool = dbwriter::db::prepare(&options, 1).await.unwrap();
    let pool = Arc::new(pool);
    let ch = s.conn.create_channel().await.unwrap();
    ch.basic_qos(1000, Default::default()).await.unwrap();
    let started = Instant::now();
    let mut consumer = ch
        .basic_consume(
            s.queue().as_str().into(),
            "".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    for _ in 0..n {
        let d = consumer.next().await.unwrap().unwrap();
        let row = EventRow::from_message(&Message::from_delivery(&d).unwrap());
        insert(&mut conn, &[&row]).await.unwrap();
        d.acker.ack(BasicAckOptions::default()).await.unwrap();
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    let _ = ch.close(200, "done".into()).await;
    drop(conn);
    pool.close().await;
    rate
}
