//! The provisioner and the k8s-event-exporter in-process, each with a kubeconfig carrying its
//! chart ServiceAccount's token: an order is provisioned end to end (the real helm runs with
//! that kubeconfig too) and cancelled, and the exporter, elected leader through its Lease,
//! publishes the real events recorded in the new tenant, the real scheduler's among them.

use std::time::Duration;

use eda_common::publisher::envelope_properties;
use eda_common::topology::Topology;
use eda_common::{Envelope, EventType};
use eda_tests::broker::{json, TestBroker};
use eda_tests::control_plane::{ControlPlane, WITHIN};
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::release::{repo_root, TestRelease};
use crate::service_accounts::{apply_chart_rbac, ServiceAccount};

/// A service running in-process until stopped.
struct Running {
    stop: provisioner::Shutdown,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    fn spawn(run: impl FnOnce(provisioner::Shutdown) -> JoinHandle<anyhow::Result<()>>) -> Running {
        let stop = provisioner::Shutdown::new();
        Running { task: run(stop.clone()), stop }
    }

    async fn stop(self, what: &str) {
        self.stop.cancel();
        let ended = tokio::time::timeout(WITHIN, self.task).await;
        ended
            .unwrap_or_else(|_| panic!("the {what} did not stop"))
            .unwrap_or_else(|e| panic!("the {what} panicked: {e}"))
            .unwrap_or_else(|e| panic!("the {what} ended with an error: {e:#}"));
    }
}

/// The exporter as the chart runs it (its Lease and watermark in the release namespace, leader
/// election on), watching only this test's tenant.
async fn start_exporter(
    t: &TestBroker,
    release: &TestRelease,
    account: &ServiceAccount,
    client: &str,
) -> Running {
    let mut config = k8s_event_exporter::Config::for_prefix(&t.prefix);
    config.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
    config.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
    config.namespace_selector = format!("eda.io/client={client}");
    config.leader_election = true;
    config.identity = Some(exporter_identity(t));
    config.lease_name = format!("{}-k8s-event-exporter", release.name);
    config.state_namespace = Some(release.namespace.clone());
    config.state_configmap = format!("{}-k8s-event-exporter-state", release.name);
    config.checkpoint_interval = Duration::from_millis(200);
    let app = k8s_event_exporter::Application::build(config, account.client.clone())
        .await
        .expect("the exporter starts");
    Running::spawn(|stop| tokio::spawn(app.run_until_stopped(stop)))
}

fn exporter_identity(t: &TestBroker) -> String {
    format!("{}-exporter", t.prefix)
}

/// The provisioner with the built-in catalog (or `catalog`), the real helm and the
/// ServiceAccount's kubeconfig, configured as the chart configures it.
async fn start_provisioner(
    t: &TestBroker,
    cluster: &ControlPlane,
    account: &ServiceAccount,
    catalog: Option<&std::path::Path>,
) -> Running {
    let mut config = provisioner::Config::for_prefix(&t.prefix);
    config.common.amqp_url = Some(eda_tests::broker::amqp_url().into());
    config.common.http_addr = Some("127.0.0.1:0".parse().unwrap());
    config.common.max_retries = 3;
    config.common.retry_delays = eda_common::config::parse_delays("50ms,100ms").unwrap();
    config.kubeconfig = Some(account.kubeconfig.clone());
    // As the chart runs it: its Lease in its own namespace, the tenant role bound to itself.
    config.lease_namespace = account.namespace.clone();
    let release =
        account.name.strip_suffix("-provisioner").expect("the chart names it <release>-provisioner");
    config.tenant_role = format!("{release}-tenant-deployer");
    config.subject = Some(account.user());
    config.reader_role = format!("{release}-tenant-reader");
    config.reader_subject =
        Some(format!("system:serviceaccount:{}:{release}-k8s-event-exporter", account.namespace));
    config.catalog = catalog.map(std::path::Path::to_path_buf);
    config.helm_bin = cluster.helm.clone();
    config.helm_timeout = Duration::from_secs(60);
    config.chart_root = repo_root();
    t.track_service("provisioner", config.common.retry_delays.0.len());
    let app = provisioner::Application::build(config).await.expect("the provisioner starts");
    let readiness = app.health().readiness.clone();
    let running = Running::spawn(|stop| tokio::spawn(app.run_until_stopped(stop)));
    tokio::time::timeout(WITHIN, readiness.wait_for("consumer", true))
        .await
        .expect("the provisioner never started consuming");
    running
}

async fn publish_order(t: &TestBroker, client: &str, action: &str, trace_id: Uuid) {
    let event_type = EventType::new("mycompany", "producer", client, action).unwrap();
    let body = json!({
        "client": client, "namespace": client, "environment": "development",
        "archtype": "saas", "hardware": "dedicated", "product": "product-a"
    });
    let envelope = Envelope::new(event_type, trace_id, body.as_object().unwrap().clone());
    let props = envelope_properties(&envelope, &Uuid::new_v4().to_string(), "producer");
    t.publish_event(envelope.event_type().as_str(), &envelope.to_json(), props).await;
}

/// The next `n` messages of a tap as (action, body).
async fn next(t: &TestBroker, tap: &str, n: usize) -> Vec<(String, Value)> {
    let taken = t.take(tap, n, WITHIN).await;
    taken
        .iter()
        .map(json)
        .map(|body| {
            let event_type = body["MessageAttributes"]["event_type"]["Value"].as_str().unwrap();
            (event_type.rsplit('.').next().unwrap().to_owned(), body)
        })
        .collect()
}

/// The Tenants this test's provisioner wrote (cluster-scoped: no namespace takes them along).
async fn delete_tenants(cluster: &ControlPlane, prefix: &str) {
    for tenant in cluster.list("tenants", None, Some(&format!("eda.io/prefix={prefix}"))).await {
        cluster.delete("tenants", None, tenant["metadata"]["name"].as_str().unwrap_or_default()).await;
    }
}

fn managed_by_provisioner(object: &Value) -> bool {
    let managers = object["metadata"]["managedFields"].as_array().cloned().unwrap_or_default();
    managers.iter().any(|m| m["manager"] == "eda-provisioner")
}

#[tokio::test]
async fn the_provisioner_and_the_exporter_do_their_work_as_the_charts_service_accounts() {
    eda_common::telemetry::init_for_tests();
    let cluster = ControlPlane::connect().await;
    let t = TestBroker::new().await;
    let release = TestRelease::new(&cluster, &t.prefix);
    let accounts = apply_chart_rbac(&release).await;
    let client = ControlPlane::name(&t.prefix, "c01");
    release.owns_namespace(&client);
    let trace_id = Uuid::new_v4();
    let queue_type = provisioner::Config::for_prefix(&t.prefix).common.queue_type;
    Topology::new(&t.prefix, queue_type).declare_shared(t.channel()).await.expect("the shared topology");
    let orders = t.tap("provisioner-events", "*.provisioner.event.#").await;
    let kube_events = t.tap("exporter-events", "*.k8s-event-exporter.event.#").await;

    // The exporter leads through its Lease (coordination.k8s.io in its Role) before any order.
    let exporter = start_exporter(&t, &release, &accounts.exporter, &client).await;
    let lease = format!("{}-k8s-event-exporter", release.name);
    let identity = exporter_identity(&t);
    cluster
        .wait_for("leases", Some(&release.namespace), &lease, |l| l["spec"]["holderIdentity"] == identity)
        .await;
    let provisioner = start_provisioner(&t, &cluster, &accounts.provisioner, None).await;

    publish_order(&t, &client, "published", trace_id).await;
    let events = next(&t, &orders, 2).await;
    assert_eq!(events[0].0, "provisioning", "{:#}", events[0].1);
    let (action, provisioned) = &events[1];
    assert_eq!(action, "provisioned", "{provisioned:#}");
    assert_eq!(provisioned["MessageAttributes"]["trace_id"], trace_id.to_string());
    assert_eq!((&provisioned["namespace"], &provisioned["release"]), (&json!(client), &json!("product-a")));
    assert_eq!(provisioned["dry_run"], false);

    // What the provisioner applied under its ServiceAccount. (Stored, not enforced here: no CNI
    // plugin runs, so the NetworkPolicy filters nothing, and 1.20 has no PodSecurity admission,
    // so the namespace's pod-security labels admit everything.)
    let ns = cluster.get("namespaces", None, &client).await.expect("the tenant namespace");
    assert_eq!(ns["metadata"]["labels"]["app.kubernetes.io/managed-by"], "eda-provisioner");
    assert_eq!(ns["metadata"]["labels"]["eda.io/client"], client.as_str());
    assert_eq!(ns["metadata"]["annotations"]["eda.io/trace-id"], trace_id.to_string());
    assert!(managed_by_provisioner(&ns));
    for resource in ["resourcequotas", "limitranges", "networkpolicies"] {
        let object = cluster.get(resource, Some(&client), "eda-tenant-baseline").await;
        let object = object.unwrap_or_else(|| panic!("no {resource} eda-tenant-baseline"));
        assert!(managed_by_provisioner(&object), "{resource}: {:#}", object["metadata"]);
    }
    // helm, run by the provisioner with the same kubeconfig, deployed and waited for the release.
    let status = cluster.helm(&["status", "product-a", "--namespace", &client, "--output", "json"]);
    let status: Value = serde_json::from_slice(&status.stdout).expect("helm status prints JSON");
    assert_eq!(status["info"]["status"], "deployed");
    let deployment =
        cluster.get("deployments", Some(&client), "product-a").await.expect("the release's Deployment");
    assert_eq!(deployment["status"]["availableReplicas"], 1, "{:#}", deployment["status"]);

    // The exporter publishes the events recorded in the tenant namespace, each with the order's
    // trace id, up to the real scheduler's `Scheduled` for the release's pod (which it reads
    // with `get pods`, through the RoleBinding the provisioner wrote for it in the tenant
    // namespace: it reads pods nowhere else). That one is awaited: the scheduler stamps its events
    // to the microsecond, while the controllers' whole-second stamps can fall before the
    // exporter's start and be skipped as old (the exporter's own tests cover those).
    let scheduled = loop {
        let (action, event) = next(&t, &kube_events, 1).await.remove(0);
        assert_eq!(event["MessageAttributes"]["trace_id"], trace_id.to_string(), "{event:#}");
        assert_eq!((&event["namespace"], &event["client"]), (&json!(client), &json!(client)), "{event:#}");
        let reason = event["reason"].as_str().unwrap();
        assert_eq!(action, reason.to_lowercase(), "the routing key ends in the reason");
        if reason == "Scheduled" {
            break event;
        }
    };
    assert_eq!(scheduled["involved_object"]["kind"], "Pod");
    let pod = scheduled["involved_object"]["name"].as_str().unwrap();
    assert!(pod.starts_with("product-a-"), "{scheduled:#}");
    // Its watermark goes to the ConfigMap its Role lets it write.
    let state = format!("{}-k8s-event-exporter-state", release.name);
    cluster
        .wait_for("configmaps", Some(&release.namespace), &state, |cm| {
            cm["data"]["resourceVersion"].is_string()
        })
        .await;

    // The rights it bound in the tenant namespace: its own and the exporter's, nothing else.
    let exporter_account = &accounts.exporter;
    assert!(exporter_account.can_i(&release, &["get", "pods", "-n", &client]));
    assert!(!exporter_account.can_i(&release, &["get", "pods", "-n", "kube-system"]));
    assert!(accounts.provisioner.can_i(&release, &["create", "secrets", "-n", &client]));

    publish_order(&t, &client, "cancelled", trace_id).await;
    let events = next(&t, &orders, 1).await;
    assert_eq!(events[0].0, "deprovisioned", "{:#}", events[0].1);
    // The namespace stays (the product says so); the rights in it go.
    for binding in ["eda-provisioner", "eda-k8s-event-exporter"] {
        assert!(cluster.get("rolebindings", Some(&client), binding).await.is_none(), "{binding} was kept");
    }
    assert_eq!(events[0].1["MessageAttributes"]["trace_id"], trace_id.to_string());
    let status = cluster.helm(&["status", "product-a", "--namespace", &client]);
    assert!(String::from_utf8_lossy(&status.stderr).contains("not found"), "the release is gone: {status:?}");
    assert!(cluster.get("deployments", Some(&client), "product-a").await.is_none(), "its objects are gone");

    provisioner.stop("provisioner").await;
    exporter.stop("exporter").await;
    // Stopping, the exporter released its Lease (update, in its Role) for a quick hand-over.
    let held = cluster.get("leases", Some(&release.namespace), &lease).await.expect("the Lease stays");
    assert!(held["spec"]["holderIdentity"].is_null(), "{:#}", held["spec"]);
    delete_tenants(&cluster, &t.prefix).await;
    t.cleanup().await;
}

#[tokio::test]
async fn the_provisioner_upgrades_deletes_a_managed_namespace_and_refuses_a_foreign_one_as_its_account() {
    eda_common::telemetry::init_for_tests();
    let cluster = ControlPlane::connect().await;
    let t = TestBroker::new().await;
    let release = TestRelease::new(&cluster, &t.prefix);
    let accounts = apply_chart_rbac(&release).await;
    let (client, foreign) = (ControlPlane::name(&t.prefix, "c02"), ControlPlane::name(&t.prefix, "c03"));
    release.owns_namespace(&client);
    release.owns_namespace(&foreign);
    let queue_type = provisioner::Config::for_prefix(&t.prefix).common.queue_type;
    Topology::new(&t.prefix, queue_type).declare_shared(t.channel()).await.expect("the shared topology");
    let orders = t.tap("provisioner-events", "*.provisioner.event.#").await;
    let catalog = release.dir.join("catalog.yaml");
    let deleting = provisioner::catalog::BUILT_IN
        .replace("    deleteNamespaceOnCancel: false\n", "    deleteNamespaceOnCancel: true\n");
    std::fs::write(&catalog, deleting).unwrap();
    let provisioner = start_provisioner(&t, &cluster, &accounts.provisioner, Some(&catalog)).await;

    let trace_id = Uuid::new_v4();
    publish_order(&t, &client, "published", trace_id).await;
    assert_eq!(next(&t, &orders, 2).await[1].1["revision"], 1);
    // A newer purchase of the same tenant: helm upgrades, under the same rights.
    publish_order(&t, &client, "published", trace_id).await;
    let events = next(&t, &orders, 2).await;
    assert_eq!(
        (events[1].0.as_str(), &events[1].1["revision"]),
        ("provisioned", &json!(2)),
        "{:#}",
        events[1].1
    );
    publish_order(&t, &client, "cancelled", trace_id).await;
    let events = next(&t, &orders, 1).await;
    assert_eq!((events[0].0.as_str(), &events[0].1["namespace_deleted"]), ("deprovisioned", &json!(true)));
    // Deleted through its RoleBinding there: the namespace controller empties it, then it goes.
    cluster.wait_until_gone("namespaces", None, &client).await;

    // A namespace eda did not make: refused before anything in it is touched.
    cluster.create(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": foreign}})).await;
    publish_order(&t, &foreign, "published", Uuid::new_v4()).await;
    let events = next(&t, &orders, 2).await;
    assert_eq!(events[1].0, "failed", "{:#}", events[1].1);
    let error = events[1].1["error"].as_str().unwrap();
    assert!(error.contains(&format!("namespace `{foreign}` exists and is not eda's")), "{error}");
    assert!(
        cluster.get("rolebindings", Some(&foreign), "eda-provisioner").await.is_none(),
        "no rights taken there"
    );
    provisioner.stop("provisioner").await;
    delete_tenants(&cluster, &t.prefix).await;
    t.cleanup().await;
}
