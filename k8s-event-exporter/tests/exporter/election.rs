//! Leader election: of several replicas only the Lease holder publishes, and a new holder
//! resumes where the last one stopped.

use std::time::Duration;

use eda_tests::kube_api::KubeApiTestServer;
use k8s_event_exporter::leader::{Election, LeaseSettings};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::{World, STATE_NAMESPACE, WITHIN};

fn holder(w: &World) -> Option<String> {
    let lease = w.kube.get("coordination.k8s.io/v1/leases", Some(STATE_NAMESPACE), "k8s-event-exporter")?;
    lease["spec"]["holderIdentity"].as_str().map(str::to_owned)
}

#[tokio::test]
async fn two_replicas_with_leader_election_publish_each_event_once() {
    let w = World::new().await;
    let replica = |identity: &str| {
        let mut c = w.config();
        c.leader_election = true;
        c.identity = Some(identity.into());
        c
    };
    let a = w.start(replica("replica-a")).await;
    let b = w.start_in_background(replica("replica-b")).await;
    w.namespace("c1", Some(Uuid::new_v4()));
    for i in 0..10 {
        w.event("c1", &format!("e{i}"), "Scheduled", 1);
    }
    let got = w.take(10).await;
    let mut names: Vec<_> = got.iter().map(|m| m["event_name"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 10, "ten distinct events");
    w.assert_nothing_more("c1").await;
    let leader = holder(&w).expect("the lease has a holder");
    assert!(leader == "replica-a" || leader == "replica-b", "{leader}");
    let leading = [&a, &b]
        .map(|r| r.metrics().contains("eda_k8s_event_exporter_leader{service=\"k8s-event-exporter\"} 1"));
    assert_eq!(leading.iter().filter(|l| **l).count(), 1, "exactly one replica leads: {leading:?}");

    // The leader goes away; the other takes over and publishes only what is new.
    let (gone, stays) = if leader == "replica-a" { (a, b) } else { (b, a) };
    gone.stop().await;
    w.event("c1", "after-handover", "Started", 1);
    let got = w.take(1).await;
    assert_eq!(got[0]["event_name"], "after-handover");
    w.assert_nothing_more("c1").await;
    assert_ne!(holder(&w), Some(leader));
    stays.stop().await;
    w.cleanup().await;
}

fn lease_settings(identity: &str) -> LeaseSettings {
    LeaseSettings {
        namespace: STATE_NAMESPACE.into(),
        name: "k8s-event-exporter".into(),
        identity: identity.into(),
        duration: Duration::from_secs(15),
        renew: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn the_lease_goes_to_the_first_replica_and_a_conflict_means_another_won() {
    let kube = KubeApiTestServer::start().await;
    let mut a = Election::new(kube.client(), lease_settings("a"));
    let mut b = Election::new(kube.client(), lease_settings("b"));
    assert!(a.try_acquire_or_renew().await.unwrap(), "a creates the lease");
    assert!(!b.try_acquire_or_renew().await.unwrap(), "b finds it held");
    assert!(a.try_acquire_or_renew().await.unwrap(), "a renews");
    let lease =
        kube.get("coordination.k8s.io/v1/leases", Some(STATE_NAMESPACE), "k8s-event-exporter").unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "a");
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 15);

    // Someone wrote the lease between a's read and a's write.
    kube.fail_next("PUT", "/leases/k8s-event-exporter", 409, 1);
    assert!(!a.try_acquire_or_renew().await.unwrap(), "409 on renew: a no longer holds it");

    // A released lease (no holder) is taken at once, as a new transition.
    kube.put_object(json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "k8s-event-exporter", "namespace": STATE_NAMESPACE},
        "spec": {"leaseDurationSeconds": 15, "leaseTransitions": 3}}));
    assert!(b.try_acquire_or_renew().await.unwrap());
    let lease =
        kube.get("coordination.k8s.io/v1/leases", Some(STATE_NAMESPACE), "k8s-event-exporter").unwrap();
    assert_eq!(
        (lease["spec"]["holderIdentity"].as_str(), lease["spec"]["leaseTransitions"].as_i64()),
        (Some("b"), Some(4))
    );
}

#[tokio::test]
async fn a_leader_whose_lease_is_taken_stops_publishing_and_resumes_without_loss_when_it_expires() {
    let w = World::new().await;
    let mut config = w.config();
    config.leader_election = true;
    config.identity = Some("replica".into());
    let exporter = w.start(config).await;
    w.namespace("c1", Some(Uuid::new_v4()));
    w.event("c1", "before", "Scheduled", 1);
    assert_eq!(w.take(1).await[0]["event_name"], "before");

    // Another holder takes the lease for one second (as after a network partition).
    let mut lease =
        w.kube.get("coordination.k8s.io/v1/leases", Some(STATE_NAMESPACE), "k8s-event-exporter").unwrap();
    lease["spec"]["holderIdentity"] = json!("intruder");
    lease["spec"]["leaseDurationSeconds"] = json!(1);
    w.kube.put_object(lease);
    let stepped_down = |_: &KubeApiTestServer| {
        exporter
            .metrics()
            .contains("eda_k8s_event_exporter_leader{service=\"k8s-event-exporter\"} 0")
            .then_some(())
    };
    // The exporter polls the lease every 200 ms, so the fixture sees activity to re-check on.
    w.kube.wait_for(WITHIN, stepped_down).await;

    w.event("c1", "while-follower", "Pulled", 1);
    // The intruder never renews: once its lease expires the exporter takes it back and
    // publishes what happened meanwhile, once.
    assert_eq!(w.take(1).await[0]["event_name"], "while-follower");
    w.assert_nothing_more("c1").await;
    assert_eq!(holder(&w).as_deref(), Some("replica"));
    exporter.stop().await;
    w.cleanup().await;
}
