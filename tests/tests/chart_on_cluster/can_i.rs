//! What each identity may do, as the real authorizer answers `kubectl auth can-i --list` for
//! it in a namespace that is no tenant's, is written in docs/operations.md; this test fails
//! when the two differ, so a widening of the rights shows up in review. `EDA_BLESS=1` rewrites
//! the doc's blocks.

use eda_tests::control_plane::ControlPlane;

use crate::release::{fresh_prefix, repo_root, TestRelease};
use crate::service_accounts::apply_chart_rbac;

/// The doc holds, after each marker, a ```text block with the identity's answer.
const MARKERS: [(&str, &str); 2] =
    [("provisioner", "<!-- can-i:provisioner -->"), ("exporter", "<!-- can-i:k8s-event-exporter -->")];

/// `kubectl auth can-i --list` as the ServiceAccount, with the release's names made generic
/// (the column widths stay those of the real names, whose length every test prefix shares).
fn rights(release: &TestRelease, user: &str, namespace: &str) -> String {
    let out = release.cluster.kubectl(&["auth", "can-i", "--list", "--as", user, "-n", namespace]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout)
        .replace(&release.name, "<release>")
        .replace(&release.namespace, "<namespace>");
    text.lines().map(str::trim_end).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn each_identitys_rights_in_operations_md_are_what_the_authorizer_lists() {
    let cluster = ControlPlane::connect().await;
    let release = TestRelease::new(&cluster, &fresh_prefix());
    let accounts = apply_chart_rbac(&release).await;
    let path = repo_root().join("docs/operations.md");
    let mut doc = std::fs::read_to_string(&path).unwrap();
    let bless = std::env::var_os("EDA_BLESS").is_some_and(|v| v == "1");
    for ((identity, marker), account) in MARKERS.iter().zip([&accounts.provisioner, &accounts.exporter]) {
        let listed = rights(&release, &account.user(), "default") + "\n";
        let at = doc.find(marker).unwrap_or_else(|| panic!("docs/operations.md has no {marker}"));
        let start =
            doc[at..].find("```text\n").map(|i| at + i + "```text\n".len()).expect("a text block follows");
        let end = start + doc[start..].find("```").expect("the block ends");
        if bless {
            doc.replace_range(start..end, &listed);
            continue;
        }
        assert_eq!(
            doc[start..end],
            listed,
            "the {identity}'s rights differ from docs/operations.md; review, then EDA_BLESS=1 rewrites it"
        );
    }
    if bless {
        std::fs::write(&path, doc).unwrap();
    }
}
