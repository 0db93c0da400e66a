//! A broker outage in the middle of a stream of events loses none of them. On the real
//! control plane; the outage is the real broker closing the exporter's connection.

use std::collections::{BTreeMap, BTreeSet};

use uuid::Uuid;

use crate::helpers::{metric, World, WITHIN};

#[tokio::test]
async fn a_broker_outage_mid_stream_loses_no_event() {
    let w = World::new().await;
    let exporter = w.start(w.config()).await;
    let ns = w.namespace("c1", Some(Uuid::new_v4())).await;
    w.event(&ns, "warm-up", "Scheduled", 1).await;
    assert_eq!(w.take(1).await[0]["event_name"], "warm-up");

    let expected: BTreeSet<String> = (0..30).map(|i| format!("e{i:02}")).collect();
    for (i, name) in expected.iter().enumerate() {
        w.event(&ns, name, "Pulled", 1).await;
        if i == 10 {
            assert!(w.t.close_service_connections().await >= 1, "the exporter's connection was closed");
        }
    }
    w.event(&ns, "sentinel", "Sentinel", 1).await;
    // Everything up to the sentinel; a publish whose confirm was lost with the connection
    // is sent again, so duplicates may come, always with the same message id.
    let mut ids: BTreeMap<String, String> = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + WITHIN;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "no sentinel within {WITHIN:?}; got {ids:?}");
        let d = w.take_deliveries(1).await.remove(0);
        let body = eda_tests::broker::json(&d);
        let name = body["event_name"].as_str().unwrap().to_owned();
        let id = d.properties.message_id().as_ref().unwrap().to_string();
        if let Some(previous) = ids.insert(name.clone(), id.clone()) {
            assert_eq!(previous, id, "a republished event keeps its message id");
        }
        if name == "sentinel" {
            break;
        }
    }
    let got: BTreeSet<String> = ids.into_keys().filter(|n| n != "sentinel").collect();
    assert_eq!(got, expected);
    let health = exporter.health.clone();
    exporter.stop().await;
    assert_eq!(metric(&health.metrics.encode(), "eda_broker_reconnects_total", ""), 1.0);
    w.cleanup().await;
}
