//! What a failed helm run means: helm has no machine-readable errors, so its stderr is
//! matched against the messages it is known to print. Unknown failures count as transient:
//! retried a few times, then dead-lettered with helm's own words.

/// Messages of failures that may pass: a concurrent operation, an unreachable or slow cluster.
const TRANSIENT: [&str; 9] = [
    "another operation (install/upgrade/rollback) is in progress",
    "connection refused",
    "i/o timeout",
    "kubernetes cluster unreachable",
    "context deadline exceeded",
    "timed out waiting",
    "tls handshake timeout",
    "connection reset by peer",
    "the server is currently unable to handle the request",
];

/// Messages of failures that will repeat: the chart or the values are wrong.
const PERMANENT: [&str; 9] = [
    "chart not found",
    "not found in",
    "no chart name",
    "failed to download",
    "values don't meet the specifications",
    "yaml parse error",
    "invalid",
    "not a valid chart repository",
    "path does not exist",
];

/// `(transient, reason)`: the class, and the last lines of stderr as the reason.
pub fn classify_stderr(exit: Option<i32>, stderr: &str) -> (bool, String) {
    let lower = stderr.to_ascii_lowercase();
    // Transient first: "timed out waiting for the condition" may mention an invalid object.
    let transient = if TRANSIENT.iter().any(|m| lower.contains(m)) {
        true
    } else {
        !PERMANENT.iter().any(|m| lower.contains(m))
    };
    (transient, summary(exit, stderr))
}

/// Exit status and the last three non-empty lines of stderr, at most 1000 characters.
fn summary(exit: Option<i32>, stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
    let exit = exit.map_or_else(|| "killed by a signal".to_string(), |c| format!("exit status {c}"));
    let reason = if tail.is_empty() { exit } else { format!("{exit}: {tail}") };
    eda_common::text::excerpt(&reason, 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_releases_and_unreachable_clusters_are_transient() {
        for stderr in [
            "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress",
            "Error: Kubernetes cluster unreachable: Get \"https://10.0.0.1/version\": dial tcp: connection refused",
            "Error: UPGRADE FAILED: context deadline exceeded",
            "Error: timed out waiting for the condition",
        ] {
            assert!(classify_stderr(Some(1), stderr).0, "{stderr}");
        }
    }

    #[test]
    fn missing_charts_and_bad_values_are_permanent() {
        for stderr in [
            "Error: chart \"web\" version \"9.9.9\" not found in https://charts.example repository",
            "Error: INSTALLATION FAILED: chart not found",
            "Error: failed to download \"oci://r/x\"",
            "Error: values don't meet the specifications of the schema(s) in the following chart(s):",
            "Error: YAML parse error on demo-product/templates/deployment.yaml",
        ] {
            assert!(!classify_stderr(Some(1), stderr).0, "{stderr}");
        }
    }

    #[test]
    fn an_unknown_failure_is_transient_and_reports_the_last_lines() {
        let (transient, reason) = classify_stderr(Some(3), "line one\n\nline two\nline three\nline four\n");
        assert!(transient);
        assert_eq!(reason, "exit status 3: line two | line three | line four");
    }
}
