//! `consumer topology check`: the preflight. Compares the broker's exchanges, queues and
//! policies with what eda needs for a prefix and says, for each difference, what it means and
//! the command that fixes it. Reads only: nothing is declared, a missing object is reported as
//! what eda will declare at start. With the management API (`EDA_MANAGEMENT_URL`) it sees every
//! argument, policy and queue; without it, passive declares show whether each object exists and
//! the first argument the broker refuses — and the report says what that could not check.

mod compare;
mod management;
mod table;

use eda_common::topology::tolerant::{probe, Presence};
use eda_common::topology::{Difference, Plan, ServiceQueue, Topology};
use eda_common::CommonArgs;
use lapin::{Connection, ConnectionProperties};
use secrecy::ExposeSecret;

pub use compare::Policies;
pub use management::Management;
pub use table::print_report;

use crate::config::{CheckArgs, TopologyAction};
use crate::error::{Error, Result};

/// What the preflight found for one prefix (bindings are eda's own: `unrouted`'s, each retry
/// queue's; a missing one is declared at start like a missing object).
#[derive(Debug, Default)]
pub struct Report {
    pub prefix: String,
    /// `management API (RabbitMQ 3.10.8)` or `AMQP passive declares`.
    pub source: String,
    pub differences: Vec<Difference>,
    /// Objects not on the broker yet: eda declares them at start.
    pub absent: Vec<String>,
    /// What this source could not check.
    pub unchecked: Vec<String>,
}

impl Report {
    /// The differences that break one of eda's guarantees (the exit status counts them).
    pub fn breaking(&self) -> usize {
        self.differences.iter().filter(|d| d.impact().breaks_a_guarantee()).count()
    }
}

/// Runs one topology command: prints the report, fails when a guarantee breaks.
pub async fn run(common: &CommonArgs, action: TopologyAction) -> Result<()> {
    let TopologyAction::Check(args) = action;
    let report = check(common, &args).await?;
    print_report(&report, &mut std::io::stdout().lock())?;
    match report.breaking() {
        0 => Ok(()),
        count => Err(Error::TopologyBroken { count }),
    }
}

/// Checks the prefix of `common` with the management API if `args` names it, else over AMQP.
pub async fn check(common: &CommonArgs, args: &CheckArgs) -> Result<Report> {
    let topology = Topology::new(&common.prefix, common.queue_type).with_quorum_size(common.quorum_size);
    let mut report = Report { prefix: common.prefix.clone(), ..Default::default() };
    match &args.management_url {
        Some(url) => {
            let api = Management::new(url, &common.amqp_url())?;
            with_management(&api, &topology, common, &args.services, &mut report).await?;
        }
        None => with_amqp(&topology, common, &args.services, &mut report).await?,
    }
    report.differences.sort();
    Ok(report)
}

fn plans(topology: &Topology, common: &CommonArgs, services: &[String]) -> Vec<Plan> {
    let mut plans = vec![topology.shared_plan()];
    for service in services {
        let queue = ServiceQueue { service: service.clone(), bindings: Vec::new() };
        plans.push(topology.service_plan(&queue, &common.retry_policy()));
    }
    plans
}

async fn with_management(
    api: &Management,
    topology: &Topology,
    common: &CommonArgs,
    named: &[String],
    report: &mut Report,
) -> Result<()> {
    let version = api.version().await?;
    let rabbitmq4 = version.split('.').next().and_then(|m| m.parse::<u32>().ok()).is_some_and(|m| m >= 4);
    report.source = format!("management API (RabbitMQ {version})");
    let policies = Policies::new(api.policies().await?);
    let mut services: Vec<String> = named.to_vec();
    for name in api.queue_names().await? {
        if let Some(service) = service_of(&common.prefix, &name) {
            if !services.contains(&service) {
                services.push(service);
            }
        }
    }
    for plan in plans(topology, common, &services) {
        let mut missing = Vec::new();
        for object in &plan.objects {
            let existing = if object.role.is_exchange() {
                api.exchange(&object.name).await?
            } else {
                api.queue(&object.name).await?
            };
            match existing {
                None => {
                    report.absent.push(described(object));
                    missing.push(object.name.clone());
                }
                Some(existing) => {
                    report.differences.extend(compare::differences(object, &existing, &policies, rabbitmq4));
                }
            }
        }
        for b in &plan.bindings {
            if missing.contains(&b.exchange) || missing.contains(&b.queue) {
                continue;
            }
            if !api.bindings(&b.exchange, &b.queue).await?.iter().any(|f| f.routing_key == b.key) {
                report.absent.push(format!("binding {} → {} ({:?})", b.exchange, b.queue, b.key));
            }
        }
    }
    for name in &policies.unreadable {
        report.unchecked.push(format!("policy {name}: its pattern uses what the check cannot evaluate"));
    }
    report.unchecked.push("each service's own bindings (it binds them at start); operator policies".into());
    Ok(())
}

fn described(object: &eda_common::topology::Object) -> String {
    let kind = if object.role.is_exchange() { "exchange" } else { "queue" };
    format!("{} ({kind})", object.name)
}

/// `<prefix>.<service>` → `service`; eda's own queues and retry queues are not services.
fn service_of(prefix: &str, queue: &str) -> Option<String> {
    let rest = queue.strip_prefix(prefix)?.strip_prefix('.')?;
    let eda_own = ["dead", "unrouted", "events", "retry"].contains(&rest);
    (!rest.is_empty() && !rest.contains('.') && !eda_own).then(|| rest.to_owned())
}

async fn with_amqp(
    topology: &Topology,
    common: &CommonArgs,
    named: &[String],
    report: &mut Report,
) -> Result<()> {
    report.source = "AMQP passive declares (EDA_MANAGEMENT_URL unset)".into();
    let props = ConnectionProperties::default()
        .with_connection_name(format!("{}.topology-check", common.prefix).into());
    let conn = Connection::connect(common.amqp_url().expose_secret(), props)
        .await
        .map_err(Error::amqp("connecting to the broker"))?;
    for plan in plans(topology, common, named) {
        for object in &plan.objects {
            match probe(&conn, object).await.map_err(Error::amqp(format!("looking at {}", object.name)))? {
                Presence::Absent => report.absent.push(described(object)),
                Presence::AsDeclared => {}
                Presence::Different(difference) => report.differences.push(difference),
            }
        }
    }
    let _ = conn.close(200, "topology checked".into()).await;
    report.unchecked.extend([
        "more than the first differing argument of each object (the broker names one)".to_owned(),
        "policies, and what they give: alternate exchange, dead-lettering, delivery limits (RabbitMQ 4)"
            .into(),
        if named.is_empty() {
            "service queues: AMQP cannot list queues; name them with --service".into()
        } else {
            "service queues other than those named with --service".into()
        },
        "set EDA_MANAGEMENT_URL to check all of it".into(),
    ]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::service_of;

    #[test]
    fn only_a_prefix_s_own_service_queues_are_taken_for_services() {
        assert_eq!(service_of("eda", "eda.dbwriter").as_deref(), Some("dbwriter"));
        for queue in ["eda.dead", "eda.unrouted", "eda.retry.dbwriter.1", "edax.dbwriter", "other.dbwriter"] {
            assert_eq!(service_of("eda", queue), None, "{queue}");
        }
    }
}
