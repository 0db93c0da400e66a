//! The plan deployer (`--mode plan`): computes what the real deployer would run or apply and
//! logs it as JSON lines; it touches nothing.

use std::path::Path;

use super::flux_release::{helm_release_for, source_for};
use super::helm_args::{helm_args_for, uninstall_args_for};
use super::{Deployed, Deployer, FluxSettings, HelmSettings, Release};
use crate::error::Result;
use crate::order::Tenant;

/// Stands in the values file's path in a planned helm command line.
pub const PLANNED_VALUES_FILE: &str = "<values.yaml>";

/// Which deployer is being planned.
#[derive(Debug, Clone)]
pub enum PlanDeployer {
    Helm(HelmSettings),
    Flux(FluxSettings),
}

impl Deployer for PlanDeployer {
    fn name(&self) -> &'static str {
        match self {
            PlanDeployer::Helm(_) => "plan-helm",
            PlanDeployer::Flux(_) => "plan-flux",
        }
    }

    async fn deploy(&self, release: &Release) -> Result<Deployed> {
        match self {
            PlanDeployer::Helm(settings) => {
                let argv = helm_args_for(release, settings, Path::new(PLANNED_VALUES_FILE));
                let values = serde_json::to_string(&release.values).unwrap_or_default();
                tracing::info!(plan = "helm", helm = %settings.bin.display(), argv = ?argv, values = %values,
                    "plan: would run helm");
            }
            PlanDeployer::Flux(settings) => {
                if let Some(source) = source_for(release, settings) {
                    log_object(&source);
                }
                log_object(&helm_release_for(release, settings));
            }
        }
        Ok(Deployed { revision: None })
    }

    async fn uninstall(&self, tenant: &Tenant) -> Result<()> {
        match self {
            PlanDeployer::Helm(settings) => {
                let argv = uninstall_args_for(tenant, settings);
                tracing::info!(plan = "helm", argv = ?argv, "plan: would run helm");
            }
            PlanDeployer::Flux(_) => {
                tracing::info!(plan = "delete", kind = "HelmRelease", namespace = %tenant.namespace,
                    name = %tenant.release, "plan: would delete");
            }
        }
        Ok(())
    }
}

/// One JSON line per object: its kind and the full object it would apply.
pub fn log_object(object: &impl serde::Serialize) {
    let json = serde_json::to_value(object).unwrap_or_default();
    let kind = json["kind"].as_str().unwrap_or_default().to_string();
    tracing::info!(plan = "apply", kind = %kind, object = %json, "plan: would apply");
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use serde_json::Value;

    use super::*;
    use crate::catalog::Catalog;
    use crate::objects::tests::order;

    /// Log lines written during the test, as JSON.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<Value> {
            let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn the_helm_plan_logs_the_argument_vector_and_the_values_as_json() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let release =
            Release::for_order(&order("development", "classic"), &Catalog::load(None).unwrap()).unwrap();
        let plan = PlanDeployer::Helm(HelmSettings {
            bin: "helm".into(),
            timeout: Duration::from_secs(60),
            kubeconfig: None,
            chart_root: PathBuf::from("/charts"),
            kill_grace: Duration::from_secs(60),
        });
        assert_eq!(plan.deploy(&release).await.unwrap(), Deployed { revision: None });
        let lines = captured.lines();
        assert_eq!(lines.len(), 1);
        let fields = &lines[0]["fields"];
        assert_eq!(fields["message"], "plan: would run helm");
        assert_eq!(
            fields["argv"],
            r#"["upgrade", "--install", "product-a", "/charts/helm/demo-product", "--namespace", "cliente02", "--version", "0.1.0", "-f", "<values.yaml>", "--wait", "--timeout", "60s", "--output", "json"]"#
        );
        let values: Value = serde_json::from_str(fields["values"].as_str().unwrap()).unwrap();
        assert_eq!(values["podLabels"]["trace_id"], "9a2ae9de-3f82-4f55-966b-47df50ff51ff");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_planned_object_is_logged_whole_with_its_kind() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let catalog = Catalog::load(None).unwrap();
        log_object(&crate::objects::namespace_for(&order("production", "classic"), &catalog));
        let lines = captured.lines();
        assert_eq!(lines[0]["fields"]["kind"], "Namespace");
        let object: Value = serde_json::from_str(lines[0]["fields"]["object"].as_str().unwrap()).unwrap();
        assert_eq!(object["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted");
    }
}
