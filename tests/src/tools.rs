//! Where `scripts/test-tools.d` installs the Python tools the tests drive (kubernetes-validate,
//! checkov, schemathesis): a virtualenv each under `~/.cache/eda-tools` (`EDA_TOOLS_CACHE`).

use std::path::PathBuf;

/// The executable `bin` of the virtualenv `venv`.
pub fn python_tool(venv: &str, bin: &str) -> PathBuf {
    let cache = std::env::var_os("EDA_TOOLS_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/eda-tools")
    });
    cache.join(venv).join("bin").join(bin)
}
