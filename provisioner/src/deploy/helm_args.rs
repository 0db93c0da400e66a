//! The argument vectors of the helm binary, built from validated names only; values always
//! go through a `-f` file, never `--set` (whose parser splits on commas and dots).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Release;
use crate::catalog::ChartSource;
use crate::order::Tenant;

/// How helm is run.
#[derive(Debug, Clone)]
pub struct HelmSettings {
    /// The helm executable (`--helm-bin`).
    pub bin: PathBuf,
    /// `--timeout` of `upgrade --install --wait` and `uninstall --wait`.
    pub timeout: Duration,
    /// `--kubeconfig` passed on to helm, when the provisioner was given one.
    pub kubeconfig: Option<PathBuf>,
    /// Where the catalog's local chart paths resolve.
    pub chart_root: PathBuf,
    /// Extra time helm gets beyond `timeout` before it is killed (`--helm-kill-grace`).
    pub kill_grace: Duration,
}

/// `helm upgrade --install <release> <chart> [--repo <url>] --namespace <ns> --version <v>
/// -f <values> --wait --timeout <t> --output json [--kubeconfig <path>]`
pub fn helm_args_for(release: &Release, settings: &HelmSettings, values_file: &Path) -> Vec<String> {
    let tenant = &release.tenant;
    let mut args = vec!["upgrade".to_string(), "--install".into(), tenant.release.clone()];
    match release.chart.source() {
        ChartSource::Path(path) => args.push(settings.chart_root.join(path).display().to_string()),
        ChartSource::Repo { url, name } => args.extend([name.to_string(), "--repo".into(), url.to_string()]),
        ChartSource::Oci(reference) => args.push(reference.to_string()),
    }
    args.extend([
        "--namespace".into(),
        tenant.namespace.clone(),
        "--version".into(),
        release.chart.version.clone(),
        "-f".into(),
        values_file.display().to_string(),
        "--wait".into(),
        "--timeout".into(),
        timeout_arg(settings),
        "--output".into(),
        "json".into(),
    ]);
    push_kubeconfig(&mut args, settings);
    args
}

/// `helm uninstall <release> --namespace <ns> --wait --timeout <t> [--kubeconfig <path>]`
pub fn uninstall_args_for(tenant: &Tenant, settings: &HelmSettings) -> Vec<String> {
    let mut args = vec![
        "uninstall".to_string(),
        tenant.release.clone(),
        "--namespace".into(),
        tenant.namespace.clone(),
        "--wait".into(),
        "--timeout".into(),
        timeout_arg(settings),
    ];
    push_kubeconfig(&mut args, settings);
    args
}

/// `helm rollback <release> [<revision>] --namespace <ns> --wait --timeout <t>`: back to the
/// revision before a `pending-upgrade` / `pending-rollback` that nobody finishes.
pub fn rollback_args_for(tenant: &Tenant, to_revision: Option<i64>, settings: &HelmSettings) -> Vec<String> {
    let mut args = vec!["rollback".to_string(), tenant.release.clone()];
    if let Some(revision) = to_revision {
        args.push(revision.to_string());
    }
    args.extend(["--namespace".into(), tenant.namespace.clone(), "--wait".into(), "--timeout".into()]);
    args.push(timeout_arg(settings));
    push_kubeconfig(&mut args, settings);
    args
}

fn timeout_arg(settings: &HelmSettings) -> String {
    format!("{}s", settings.timeout.as_secs().max(1))
}

fn push_kubeconfig(args: &mut Vec<String>, settings: &HelmSettings) {
    if let Some(path) = &settings.kubeconfig {
        args.extend(["--kubeconfig".into(), path.display().to_string()]);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

    use super::*;
    use crate::catalog::{Catalog, Chart};
    use crate::objects::tests::order;

    fn settings() -> HelmSettings {
        HelmSettings {
            bin: "helm".into(),
            timeout: Duration::from_secs(300),
            kubeconfig: None,
            chart_root: PathBuf::from("/srv/eda"),
            kill_grace: Duration::from_secs(60),
        }
    }

    fn release(chart: Chart) -> Release {
        let catalog = Catalog::load(None).unwrap();
        let mut r = Release::for_order(&order("development", "classic"), &catalog).unwrap();
        r.chart = chart;
        r
    }

    fn chart(path: Option<&str>, repo: Option<&str>, name: Option<&str>, oci: Option<&str>) -> Chart {
        let s = |o: Option<&str>| o.map(str::to_string);
        Chart { path: s(path), repo: s(repo), name: s(name), oci: s(oci), version: "1.2.3".into() }
    }

    #[test]
    fn a_local_chart_resolves_against_the_chart_root() {
        let args = helm_args_for(
            &release(chart(Some("helm/demo-product"), None, None, None)),
            &settings(),
            Path::new("/tmp/v.yaml"),
        );
        assert_eq!(
            args,
            [
                "upgrade",
                "--install",
                "product-a",
                "/srv/eda/helm/demo-product",
                "--namespace",
                "cliente02",
                "--version",
                "1.2.3",
                "-f",
                "/tmp/v.yaml",
                "--wait",
                "--timeout",
                "300s",
                "--output",
                "json",
            ]
        );
    }

    #[test]
    fn repo_and_oci_charts_and_a_kubeconfig_become_arguments() {
        let mut s = settings();
        s.kubeconfig = Some("/etc/kube/config".into());
        let repo = helm_args_for(
            &release(chart(None, Some("https://charts.example"), Some("web"), None)),
            &s,
            Path::new("v.yaml"),
        );
        assert_eq!(&repo[3..6], ["web", "--repo", "https://charts.example"]);
        assert_eq!(&repo[repo.len() - 2..], ["--kubeconfig", "/etc/kube/config"]);
        let oci = helm_args_for(
            &release(chart(None, None, None, Some("oci://r.example/c/web"))),
            &s,
            Path::new("v"),
        );
        assert_eq!(oci[3], "oci://r.example/c/web");
    }

    #[test]
    fn uninstall_waits_in_the_tenant_namespace() {
        let r = release(chart(Some("x"), None, None, None));
        assert_eq!(
            uninstall_args_for(&r.tenant, &settings()),
            ["uninstall", "product-a", "--namespace", "cliente02", "--wait", "--timeout", "300s"]
        );
    }
}
