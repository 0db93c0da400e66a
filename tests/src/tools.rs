//! Where `scripts/test-tools.d` installs the tools the tests drive: the Python ones
//! (kubernetes-validate, checkov, schemathesis) in a virtualenv each, the npm ones
//! (oidc-provider) in a directory each, under `~/.cache/eda-tools` (`EDA_TOOLS_CACHE`).

use std::path::PathBuf;

/// The directory `scripts/test-tools.d` installs the tool `name` into.
pub fn tool_dir(name: &str) -> PathBuf {
    let cache = std::env::var_os("EDA_TOOLS_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/eda-tools")
    });
    cache.join(name)
}

/// The executable `bin` of the virtualenv `venv`.
pub fn python_tool(venv: &str, bin: &str) -> PathBuf {
    tool_dir(venv).join("bin").join(bin)
}
