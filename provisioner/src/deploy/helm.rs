//! The helm deployer: runs the helm binary with an argument vector (never a shell), values
//! in a generated `-f` file, and reads the revision from `--output json`.

use std::io::Write;
use std::process::Stdio;

use tokio::process::Command;
use tracing::Instrument as _;

use super::helm_args::{helm_args_for, rollback_args_for, uninstall_args_for, HelmSettings};
use super::helm_classify::classify_stderr;
use super::{safe_argument, Deployed, Deployer, Release, ReleaseState};
use crate::error::{Error, Result};
use crate::order::{OrderError, Tenant};

/// Deploys with `helm upgrade --install --wait`.
#[derive(Debug, Clone)]
pub struct HelmDeployer {
    pub settings: HelmSettings,
}

impl Deployer for HelmDeployer {
    fn name(&self) -> &'static str {
        "helm"
    }

    async fn deploy(&self, release: &Release) -> Result<Deployed> {
        check_names(&release.tenant)?;
        let values_file = write_values(&release.values)?;
        let args = helm_args_for(release, &self.settings, values_file.path());
        let stdout = self.run("upgrade", &args).await?;
        Ok(Deployed { revision: revision_of(&stdout) })
    }

    async fn uninstall(&self, tenant: &Tenant) -> Result<()> {
        check_names(tenant)?;
        match self.run("uninstall", &uninstall_args_for(tenant, &self.settings)).await {
            // Already gone (a replayed `cancelled`): the wanted state holds.
            Err(Error::Helm { reason, .. }) if reason.contains("not found") => {
                tracing::info!(release = %tenant.release, "release already uninstalled");
                Ok(())
            }
            other => other.map(drop),
        }
    }

    fn uses_helm_storage(&self) -> bool {
        true
    }

    /// A first install that never finished is uninstalled; an upgrade or rollback that never
    /// finished is rolled back to the revision before it.
    async fn recover(&self, tenant: &Tenant, state: &ReleaseState) -> Result<()> {
        check_names(tenant)?;
        tracing::warn!(namespace = %tenant.namespace, release = %tenant.release, status = %state.status,
            revision = state.revision, "recovering a release helm left pending");
        if state.status == "pending-install" || state.revision <= 1 {
            return self.uninstall(tenant).await;
        }
        let previous = Some(state.revision - 1);
        self.run("rollback", &rollback_args_for(tenant, previous, &self.settings)).await.map(drop)
    }
}

impl HelmDeployer {
    /// Runs helm, in a span of its own; `Ok(stdout)` on exit 0, a classified error otherwise.
    async fn run(&self, command: &'static str, args: &[String]) -> Result<String> {
        let span =
            tracing::info_span!("helm", otel.name = %format_args!("helm {command}"), helm.command = command);
        self.run_helm(command, args).instrument(span).await
    }

    async fn run_helm(&self, command: &'static str, args: &[String]) -> Result<String> {
        tracing::info!(helm = %self.settings.bin.display(), ?args, "running helm");
        let child = Command::new(&self.settings.bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::Io {
                context: format!("cannot run {}", self.settings.bin.display()),
                source: e,
            })?;
        let limit = self.settings.timeout + self.settings.kill_grace;
        let output = match tokio::time::timeout(limit, child.wait_with_output()).await {
            Err(_) => {
                let reason = format!("no answer within {limit:?}; killed");
                return Err(Error::Helm { command, transient: true, reason });
            }
            Ok(result) => result.map_err(|e| Error::Io { context: "waiting for helm".into(), source: e })?,
        };
        if output.status.success() {
            return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let (transient, reason) = classify_stderr(output.status.code(), &stderr);
        tracing::warn!(command, transient, reason = %reason, "helm failed");
        Err(Error::Helm { command, transient, reason })
    }
}

/// Refuses, permanently, any name that could be read as a flag.
fn check_names(tenant: &Tenant) -> Result<()> {
    for (field, value) in [("release", &tenant.release), ("namespace", &tenant.namespace)] {
        if !safe_argument(value) {
            return Err(
                OrderError(format!("{field}: not a DNS-1123 label; refusing to pass it to helm")).into()
            );
        }
    }
    Ok(())
}

/// The values as YAML in a private temporary file, removed when the returned value drops.
fn write_values(values: &serde_json::Value) -> Result<tempfile::NamedTempFile> {
    let io = |source| Error::Io { context: "writing the values file for helm".into(), source };
    let yaml = serde_yaml::to_string(values).map_err(|e| io(std::io::Error::other(e)))?;
    let mut file = tempfile::Builder::new().prefix("eda-values-").suffix(".yaml").tempfile().map_err(io)?;
    file.write_all(yaml.as_bytes()).map_err(io)?;
    file.flush().map_err(io)?;
    Ok(file)
}

/// The `version` (Helm's revision) of the release JSON helm printed, if it printed one.
fn revision_of(stdout: &str) -> Option<i64> {
    let parsed = serde_json::from_str::<serde_json::Value>(stdout.trim()).ok().or_else(|| {
        // Some plugins print a line before the JSON; take the last line that parses.
        stdout.lines().rev().find_map(|l| serde_json::from_str(l.trim()).ok())
    })?;
    parsed.get("version").and_then(serde_json::Value::as_i64)
}

#[cfg(test)]
mod tests {
    use super::revision_of;

    #[test]
    fn the_revision_is_read_from_helms_json_output() {
        let out = r#"{"name":"product-a","namespace":"c","version":3,"info":{"status":"deployed"}}"#;
        assert_eq!(revision_of(out), Some(3));
        assert_eq!(revision_of(&format!("WARNING: kube config is group-readable\n{out}\n")), Some(3));
        assert_eq!(revision_of("Release \"x\" has been upgraded."), None);
    }
}
