//! docs/operations.md's configuration reference is generated from every binary's clap
//! definition; this test fails when the two differ. `EDA_BLESS=1` rewrites the doc.

mod reference;

use std::path::PathBuf;

use clap::{Args, CommandFactory};

const START: &str = "<!-- config-reference:start -->";
const END: &str = "<!-- config-reference:end -->";

fn operations_md() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/operations.md"))
}

/// The reference as the binaries define it today.
fn generated() -> String {
    reference::render(
        eda_common::CommonArgs::augment_args(clap::Command::new("every binary")),
        vec![
            producer::Cli::command(),
            consumer::Config::command(),
            dbwriter::Config::command(),
            provisioner::Config::command(),
            k8s_event_exporter::Config::command(),
        ],
    )
}

#[test]
fn the_configuration_reference_in_operations_md_matches_the_clap_definitions() {
    let path = operations_md();
    let doc = std::fs::read_to_string(&path).expect("docs/operations.md exists");
    let (Some(start), Some(end)) = (doc.find(START), doc.find(END)) else {
        panic!("docs/operations.md lacks the {START} … {END} markers");
    };
    let current = &doc[start + START.len()..end];
    let wanted = format!("\n{}\n", generated());
    if current == wanted {
        return;
    }
    if std::env::var_os("EDA_BLESS").is_some_and(|v| v == "1") {
        let updated = format!("{}{START}{wanted}{}", &doc[..start], &doc[end..]);
        std::fs::write(&path, updated).expect("write docs/operations.md");
        return;
    }
    let first_difference = current
        .lines()
        .zip(wanted.lines())
        .find(|(a, b)| a != b)
        .map(|(a, b)| format!("doc:       {a}\ngenerated: {b}"))
        .unwrap_or_else(|| "one is a prefix of the other".into());
    panic!(
        "docs/operations.md's configuration reference is out of date; run \
         `EDA_BLESS=1 cargo test -p eda-tests --test operations` to regenerate it.\n{first_difference}"
    );
}

#[test]
fn the_reference_names_every_binary_and_the_shared_variables() {
    let text = generated();
    for heading in [
        "### producer",
        "### consumer",
        "### consumer dlq replay",
        "### dbwriter",
        "### provisioner",
        "### k8s-event-exporter",
    ] {
        assert!(text.lines().any(|l| l == heading), "a section {heading}");
    }
    for var in ["`AMQP_URL`", "`EDA_PREFIX`", "`DATABASE_URL`", "`PROVISIONER_MODE`", "`PRODUCER_API_TOKENS`"]
    {
        assert!(text.contains(var), "{var} is documented");
    }
}

#[test]
fn the_broker_policies_in_operations_md_are_the_ones_the_services_and_the_preflight_give() {
    use eda_common::topology::policy::{
        events_policy, parking_lot_policy, policy_command, retry_policy, service_queues_policy,
    };
    let doc = std::fs::read_to_string(operations_md()).expect("docs/operations.md exists");
    for policy in [
        events_policy("eda"),
        parking_lot_policy("eda"),
        service_queues_policy("eda", &["dbwriter", "provisioner"]),
        retry_policy("eda", "dbwriter"),
    ] {
        let command = policy_command(&policy);
        assert!(doc.lines().any(|l| l == command), "docs/operations.md gives `{command}`");
        if policy.name != "eda-retry-dbwriter" {
            let yaml = format!(
                "  pattern: '{}'\n  applyTo: {}\n  priority: {}\n",
                policy.pattern, policy.apply_to, policy.priority
            );
            assert!(doc.contains(&yaml), "the operator's Policy for {}:\n{yaml}", policy.name);
        }
    }
}
