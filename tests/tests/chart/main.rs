//! Static checks of the `helm/eda` chart. No helm binary can be installed on this machine (it
//! is in neither Debian's packages, PyPI nor npm), so `helm lint` / `helm template` do not run
//! here; these tests check what can be checked without rendering: values against the schema,
//! every referenced value exists, templates are YAML once their actions are stripped, the
//! hardening and probes of every Deployment, secrets only referenced, RBAC without wildcards.

mod files;
mod rbac;
mod templates;
mod values;
