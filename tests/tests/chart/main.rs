//! Checks of the `helm/eda` chart (and `helm/demo-product`) that need no cluster: the real helm 4
//! (`helm lint --strict`, `helm template`, its schema validation; the binary comes with the test
//! control plane, `scripts/kube/build.sh`), and static checks of what rendering cannot show on
//! its own: values against the schema, every referenced value exists, templates are YAML once
//! their actions are stripped, the hardening and probes of every Deployment, secrets only
//! referenced, RBAC without wildcards. Installing the chart and enforcing its RBAC on a real API
//! server: tests/tests/chart_on_cluster.

mod files;
mod helm;
mod rbac;
mod templates;
mod values;
