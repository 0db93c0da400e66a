use std::collections::HashSet;

use eda_common::delivery;

use crate::helpers::*;

#[tokio::test]
async fn connections_closed_by_the_broker_mid_stream_lose_no_message() {
    let h = Harness::new("survivor").await;
    let (handler, mut seen) = Scripted::new(vec![]);
    let spec = h.spec("survivor", &["#"]);
    h.declare(&spec).await;
    let (p, s) = (h.publisher.clone(), h.shutdown.clone());
    let run = tokio::spawn(async move { delivery::run(&p, spec, handler, s).await });

    let total = 300;
    let first: Vec<_> = (0..total / 2).map(|i| h.publisher.event(&order(&format!("c{i}")))).collect();
    h.publisher.send_all(first).await.unwrap();
    let mut ids = HashSet::new();
    while ids.len() < 20 {
        ids.insert(next_seen(&mut seen, "messages before the cut").await.message_id);
    }

    let closed = h.t.close_service_connections().await;
    assert!(closed >= 1, "the service's connection was closed by the broker");
    // The publisher reconnects too: the second half goes out over the new connection. A publish
    // racing the close can fail (a transient error, as documented); like a real publisher, the
    // test sends the same messages (same ids) again, and each attempt waits for a connection.
    let second: Vec<_> = (total / 2..total).map(|i| h.publisher.event(&order(&format!("c{i}")))).collect();
    let mut failures = Vec::new();
    while let Err(error) = h.publisher.send_all(second.clone()).await {
        failures.push(error.to_string());
        assert!(failures.len() < 5, "publishing did not resume after reconnect: {failures:?}");
    }

    while ids.len() < total {
        ids.insert(next_seen(&mut seen, "every message after the reconnect").await.message_id);
    }
    assert_eq!(ids.len(), total);
    assert!(h.health.metrics.reconnects.get() >= 1, "the runtime reconnected");
    h.health.readiness.wait_for("broker", true).await;
    h.shutdown.cancel();
    run.await.unwrap().unwrap();
    assert_eq!(h.t.queue_len(&h.t.name("survivor")).await, 0, "everything was acked in the end");
    h.finish().await;
}

#[tokio::test]
async fn readyz_is_not_ready_while_the_broker_is_unreachable() {
    eda_common::telemetry::init_for_tests();
    let mut args = eda_common::config::CommonArgs::for_prefix("unreachable");
    args.amqp_url = Some("amqp://guest:guest@127.0.0.1:1/%2f".to_string().into());
    let health = eda_common::health::Health {
        readiness: eda_common::health::Readiness::new(),
        metrics: std::sync::Arc::new(eda_common::metrics::Metrics::new("probe")),
    };
    let broker = eda_common::Broker::start(&args, "probe", &health);
    let served = ServedHealth::start(&health).await;
    let addr = served.addr;
    let (status, body) = http_get(addr, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"broker\":false"), "{body}");
    let (status, _) = http_get(addr, "/healthz").await;
    assert_eq!(status, 200, "alive even when not ready");
    let (_, metrics) = http_get(addr, "/metrics").await;
    assert!(metrics.contains("eda_broker_connected{service=\"probe\"} 0"), "{metrics}");
    broker.close().await;
    served.stop().await;
}

/// `/healthz`, `/readyz` and `/metrics` of `health` on a port of their own, until stopped.
pub struct ServedHealth {
    pub addr: std::net::SocketAddr,
    stop: tokio_util::sync::CancellationToken,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl ServedHealth {
    pub async fn start(health: &eda_common::health::Health) -> ServedHealth {
        let router = eda_common::health::router(health.clone());
        let server =
            eda_common::health::HttpServer::bind("127.0.0.1:0".parse().unwrap(), router).await.unwrap();
        let addr = server.local_addr();
        let stop = tokio_util::sync::CancellationToken::new();
        let serving = tokio::spawn(server.serve(stop.clone()));
        ServedHealth { addr, stop, serving }
    }

    pub async fn stop(self) {
        self.stop.cancel();
        self.serving.await.unwrap().unwrap();
    }
}

/// A minimal HTTP/1.0 GET, enough for health endpoints.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes()).await.unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.unwrap();
    let status = buf.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}
