//! Leader election on a real coordination.k8s.io/v1 Lease: of several replicas only the
//! holder publishes; a new holder — after a clean hand-over or after the leader was killed —
//! resumes where the last one stopped. On the real control plane, except
//! `a_conflict_on_renewal_means_another_replica_won`: a real API server answers 409 only to a
//! write that races another, which a test cannot time, so the 409 is injected by the fixture.

use std::time::Duration;

use eda_tests::kube_api::KubeApiTestServer;
use k8s_event_exporter::leader::{Election, LeaseSettings};
use k8s_event_exporter::Config;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{eventually, metric, resource_version, Running, World, LEASE};

/// The identity of the other replica.
fn other(identity: &str) -> &'static str {
    if identity == "replica-a" {
        "replica-b"
    } else {
        "replica-a"
    }
}

fn replica(w: &World, identity: &str) -> Config {
    let mut c = w.config();
    c.leader_election = true;
    c.identity = Some(identity.into());
    c
}

/// Starts replicas a and b (a first: it leads) and has them export ten events: each comes
/// once, from the one replica that leads. Returns the leader, the follower, the leader's
/// identity and the closing sentinel (the last event the leader published).
async fn two_replicas_export_ten_events(w: &World, ns: &str) -> (Running, Running, String, Value) {
    let a = w.start(replica(w, "replica-a")).await;
    let b = w.start_in_background(replica(w, "replica-b")).await;
    for i in 0..10 {
        w.event(ns, &format!("e{i}"), "Scheduled", 1).await;
    }
    let got = w.take(10).await;
    let mut names: Vec<_> = got.iter().map(|m| m["event_name"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 10, "ten distinct events");
    let last = w.assert_nothing_more(ns).await;
    let leader = w.holder().await.expect("the lease has a holder");
    assert!(leader == "replica-a" || leader == "replica-b", "{leader}");
    let leading = [&a, &b].map(Running::is_leading);
    assert_eq!(leading.iter().filter(|l| **l).count(), 1, "exactly one replica leads: {leading:?}");
    let (leader_run, follower) = if leader == "replica-a" { (a, b) } else { (b, a) };
    assert!(leader_run.is_leading());
    let published = |r: &Running| metric(&r.metrics(), "eda_k8s_events_published_total", "");
    assert_eq!(published(&follower), 0.0, "the follower published nothing");
    assert!(published(&leader_run) >= 11.0, "the leader published the events and sentinels");
    (leader_run, follower, leader, last)
}

#[tokio::test]
async fn two_replicas_with_leader_election_publish_each_event_once() {
    let w = World::new().await;
    let ns = w.namespace("c1", Some(Uuid::new_v4())).await;
    let (gone, stays, leader, _) = two_replicas_export_ten_events(&w, &ns).await;

    // The leader stops cleanly (releasing the Lease); the other takes over and publishes
    // only what is new.
    gone.stop().await;
    w.event(&ns, "after-handover", "Started", 1).await;
    let got = w.take(1).await;
    assert_eq!(got[0]["event_name"], "after-handover");
    w.assert_nothing_more(&ns).await;
    assert_eq!(w.holder().await.as_deref(), Some(other(&leader)));
    stays.stop().await;
    w.cleanup().await;
}

#[tokio::test]
async fn when_the_leader_is_killed_the_other_replica_takes_over_the_expired_lease_without_duplicates() {
    let w = World::new().await;
    let ns = w.namespace("c1", Some(Uuid::new_v4())).await;
    let (leader_run, survivor, leader, last) = two_replicas_export_ten_events(&w, &ns).await;
    // A crash republishes what was confirmed after the last watermark write (at-least-once,
    // same message ids); once the watermark covers the last event, a crash repeats nothing.
    w.wait_for_watermark(resource_version(&last)).await;

    // Killed: nothing releases the Lease, so the survivor takes it once it has seen it
    // unrenewed for its duration (3 s).
    leader_run.kill().await;
    w.event(&ns, "after-kill", "Started", 1).await;
    let got = w.take(1).await;
    assert_eq!(got[0]["event_name"], "after-kill");
    w.assert_nothing_more(&ns).await;
    assert_eq!(w.holder().await.as_deref(), Some(other(&leader)));
    assert!(survivor.is_leading());
    survivor.stop().await;
    w.cleanup().await;
}

fn lease_settings(namespace: &str, identity: &str) -> LeaseSettings {
    LeaseSettings {
        namespace: namespace.into(),
        name: LEASE.into(),
        identity: identity.into(),
        duration: Duration::from_secs(15),
        renew: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn the_lease_goes_to_the_first_replica_and_a_released_one_is_taken_as_a_new_transition() {
    let w = World::new().await;
    let state = w.state_namespace();
    let client = w.cluster().client();
    let mut a = Election::new(client.clone(), lease_settings(&state, "a"));
    let mut b = Election::new(client.clone(), lease_settings(&state, "b"));
    assert!(a.try_acquire_or_renew().await.unwrap(), "a creates the lease");
    assert!(!b.try_acquire_or_renew().await.unwrap(), "b finds it held");
    assert!(a.try_acquire_or_renew().await.unwrap(), "a renews");
    let lease = w.lease().await.expect("the lease exists");
    assert_eq!(lease["spec"]["holderIdentity"], "a");
    assert_eq!(lease["spec"]["leaseDurationSeconds"], 15);

    // A released lease (no holder) is taken at once, as a new transition.
    let leases: Api<Lease> = Api::namespaced(client, &state);
    let mut released = leases.get(LEASE).await.unwrap();
    let spec = released.spec.as_mut().unwrap();
    spec.holder_identity = None;
    spec.lease_transitions = Some(3);
    leases.replace(LEASE, &PostParams::default(), &released).await.unwrap();
    assert!(b.try_acquire_or_renew().await.unwrap());
    let lease = w.lease().await.unwrap();
    assert_eq!(
        (lease["spec"]["holderIdentity"].as_str(), lease["spec"]["leaseTransitions"].as_i64()),
        (Some("b"), Some(4))
    );
    w.cleanup().await;
}

/// The tenure a leader's work checks before a step no other replica may overlap ends by itself
/// two thirds into the Lease after the last renewal, before the election's next round: a leader
/// frozen past it (here: renewing only every 10 minutes) is told on waking, not at its next renewal.
#[tokio::test]
async fn a_leaders_tenure_ends_by_itself_before_its_next_renewal_and_with_the_election() {
    let w = World::new().await;
    let settings = LeaseSettings {
        duration: Duration::from_secs(3),
        renew: Duration::from_secs(600),
        ..lease_settings(&w.state_namespace(), "a")
    };
    let election = Election::new(w.cluster().client(), settings);
    let tenure = election.tenure();
    assert!(!tenure.current(), "no Lease held yet");
    let (leader_tx, mut leader) = tokio::sync::watch::channel(false);
    let stop = tokio_util::sync::CancellationToken::new();
    let run = tokio::spawn(election.run(leader_tx, stop.clone()));
    leader.wait_for(|leading| *leading).await.unwrap();
    assert!(tenure.current(), "just renewed: certain");
    eventually("the tenure to end without a renewal", || !tenure.current()).await;
    assert!(*leader.borrow(), "the election has not looked again: only the tenure knows");
    stop.cancel();
    run.await.unwrap();
    assert!(!*leader.borrow() && !tenure.current());
    w.cleanup().await;
}

/// Stays on the fixture: the 409 must answer one chosen request (a's renewal), which only
/// the fixture can inject.
#[tokio::test]
async fn a_conflict_on_renewal_means_another_replica_won() {
    let kube = KubeApiTestServer::start().await;
    let mut a = Election::new(kube.client(), lease_settings("eda-system", "a"));
    assert!(a.try_acquire_or_renew().await.unwrap(), "a creates the lease");
    // Someone wrote the lease between a's read and a's write.
    kube.fail_next("PUT", "/leases/k8s-event-exporter", 409, 1);
    assert!(!a.try_acquire_or_renew().await.unwrap(), "409 on renew: a no longer holds it");
}

#[tokio::test]
async fn a_leader_whose_lease_is_taken_stops_publishing_and_resumes_without_loss_when_it_expires() {
    let w = World::new().await;
    let exporter = w.start(replica(&w, "replica")).await;
    let ns = w.namespace("c1", Some(Uuid::new_v4())).await;
    w.event(&ns, "before", "Scheduled", 1).await;
    assert_eq!(w.take(1).await[0]["event_name"], "before");

    // Another holder takes the lease (as after a network partition) and holds it.
    let leases: Api<Lease> = Api::namespaced(w.cluster().client(), &w.state_namespace());
    let set_intruder = |duration: i32| {
        let leases = leases.clone();
        async move {
            // Read, change, replace at the version read; a 409 means the exporter renewed in
            // between: read again.
            loop {
                let mut lease = leases.get(LEASE).await.unwrap();
                let spec = lease.spec.as_mut().unwrap();
                spec.holder_identity = Some("intruder".into());
                spec.lease_duration_seconds = Some(duration);
                match leases.replace(LEASE, &PostParams::default(), &lease).await {
                    Ok(_) => return,
                    Err(kube::Error::Api(status)) if status.code == 409 => continue,
                    Err(e) => panic!("replace the lease: {e}"),
                }
            }
        }
    };
    set_intruder(3600).await;
    // The exporter shows it stepped down only in its gauge.
    eventually("the exporter stepping down", || !exporter.is_leading()).await;

    w.event(&ns, "while-follower", "Pulled", 1).await;
    // The intruder shortens its lease to one second and never renews it: once it expires the
    // exporter takes it back and publishes what happened meanwhile, once.
    set_intruder(1).await;
    assert_eq!(w.take(1).await[0]["event_name"], "while-follower");
    w.assert_nothing_more(&ns).await;
    assert_eq!(w.holder().await.as_deref(), Some("replica"));
    exporter.stop().await;
    w.cleanup().await;
}
