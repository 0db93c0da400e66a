//! dbwriter benchmark: events/s drained from a pre-filled queue into PostgreSQL, beside the bare
//! consume rate of the same queue (the limit) and a one-INSERT-per-message baseline, and
//! publish → row-visible latency at a steady 1,000 events/s.
//!
//! `cargo run --release -p dbwriter --example bench_dbwriter -- [events] [runs] [baseline_events] [latency_seconds]`
//! (defaults 100000 3 20000 20; `BENCH_QUEUE_TYPE=classic` for classic queues, `BENCH_MIX=published`
//! for purchases only; see `setup::event`). Prints medians. `BENCH_TEMPLATE=db` drains into a copy
//! of database `db` instead of an empty one (a grown table, made on first use: `template.rs`);
//! `BENCH_IDS=v4` gives every event a random message id, as before 2026-12-01, and a template
//! made with it random ids too (see `setup::message_id`).

mod drain;
mod latency;
mod setup;
mod template;

use std::time::Duration;

use eda_common::topology::QueueType;

use setup::Setup;

/// The service's allocator (`src/main.rs`), so the figures are the service's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn arg(i: usize, default: usize) -> usize {
    std::env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let (n, runs, n_baseline, secs) = (arg(1, 100_000), arg(2, 3), arg(3, 20_000), arg(4, 20) as u32);
    let queue_type = match std::env::var("BENCH_QUEUE_TYPE").as_deref() {
        Ok("classic") => QueueType::Classic,
        _ => QueueType::Quorum,
    };
    let (mut drained, mut bare, mut baseline, mut ratio) = (vec![], vec![], vec![], vec![]);
    let mut transaction_ms = vec![];
    let (mut lat50, mut lat10) = (vec![], vec![]);
    for run in 1..=runs {
        eprintln!("run {run}/{runs}");
        let mut s = Setup::new(queue_type).await;
        s.fill(n).await;
        let (d, batch, commit_ms) = drain::dbwriter_rate(&mut s, n).await;
        eprintln!("  dbwriter: mean batch {batch:.0} messages, mean transaction {commit_ms:.1} ms");
        s.fill(n).await;
        let b = drain::bare_consume_rate(&s, n).await;
        s.fill(n_baseline).await;
        let one = drain::one_insert_per_message_rate(&mut s, n_baseline).await;
        eprintln!("  dbwriter {d:.0}/s, bare consume {b:.0}/s, one INSERT per message {one:.0}/s");
        let l50 = latency::latency(&mut s, 1000, secs, Duration::from_millis(50)).await;
        let l10 = latency::latency(&mut s, 1000, secs, Duration::from_millis(10)).await;
        eprintln!("  latency ms (p50, p99, max) (row, broker): wait 50ms {l50:.1?}, 10ms {l10:.1?}");
        s.teardown().await;
        drained.push(d);
        transaction_ms.push(commit_ms);
        bare.push(b);
        baseline.push(one);
        ratio.push(d / b);
        lat50.push(l50);
        lat10.push(l10);
    }
    type Both = (latency::Percentiles, latency::Percentiles);
    let pick = |v: &[Both], f: fn(&Both) -> f64| median(v.iter().map(f).collect());
    println!("| measure | median of {runs} runs |");
    println!("| --- | --- |");
    println!("| dbwriter drain, {n} events (batch 500, wait 50 ms) | {:.0} events/s |", median(drained));
    println!("| dbwriter: mean time of one batch transaction | {:.1} ms |", median(transaction_ms));
    println!("| bare consume + multiple-ack, same queue | {:.0} events/s |", median(bare));
    println!("| dbwriter / bare consume | {:.0} % |", median(ratio) * 100.0);
    println!("| one INSERT per message + ack each, {n_baseline} events | {:.0} events/s |", median(baseline));
    for (name, v) in [("50 ms (default)", &lat50), ("10 ms", &lat10)] {
        println!(
            "| publish → row visible at 1,000 events/s, batch-wait {name}: p50 / p99 / max | {:.1} / {:.1} / {:.1} ms |",
            pick(v, |l| l.0 .0),
            pick(v, |l| l.0 .1),
            pick(v, |l| l.0 .2)
        );
        println!(
            "| same run, broker alone (publish → delivery on a tap queue): p50 / p99 / max | {:.1} / {:.1} / {:.1} ms |",
            pick(v, |l| l.1 .0),
            pick(v, |l| l.1 .1),
            pick(v, |l| l.1 .2)
        );
    }
}
