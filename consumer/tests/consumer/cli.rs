//! The command line: subcommands, DESIGN.md §5's short forms, and refusals.

use clap::Parser;
use consumer::config::DlqAction;
use consumer::{Config, Mode};

fn mode(args: &[&str]) -> Mode {
    Config::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}")).mode().unwrap()
}

#[test]
fn run_takes_a_name_bindings_a_command_and_its_limits() {
    let m = mode(&[
        "consumer",
        "run",
        "--name",
        "enrich",
        "--bind",
        "*.*.event.*.published",
        "--bind",
        "#",
        "--exec",
        "python3 enrich.py",
        "--emit",
        "enriched",
        "--concurrency",
        "8",
        "--timeout",
        "5s",
        "--ordered",
        "--prefix",
        "t1",
    ]);
    let Mode::Run(args, common) = m else { panic!("not run: {m:?}") };
    assert_eq!(args.name, "enrich");
    assert_eq!(args.bindings, ["*.*.event.*.published", "#"]);
    assert_eq!(args.exec.as_deref(), Some("python3 enrich.py"));
    assert_eq!(args.emit.as_deref(), Some("enriched"));
    assert_eq!((args.concurrency, args.timeout.as_secs(), args.ordered), (8, 5, true));
    assert_eq!(common.prefix, "t1");
}

#[test]
fn the_design_short_form_without_run_is_the_engine() {
    let m = mode(&["consumer", "--name", "hook", "--bind", "#", "--webhook", "http://127.0.0.1:9/h"]);
    let Mode::Run(args, _) = m else { panic!("not run: {m:?}") };
    assert_eq!(args.webhook.as_deref(), Some("http://127.0.0.1:9/h"));
    assert_eq!(args.timeout.as_secs(), 30, "default timeout");
    assert_eq!(args.concurrency, 4, "default concurrency");
}

#[test]
fn bridge_from_is_accepted_both_ways() {
    for args in [&["consumer", "--bridge-from", "infra"][..], &["consumer", "bridge", "--from", "infra"]] {
        let Mode::Bridge(b, _) = mode(args) else { panic!("{args:?}") };
        assert_eq!(b.from, "infra");
    }
}

#[test]
fn log_defaults_its_queue_name_to_log() {
    let Mode::Log(args, _) = mode(&["consumer", "log", "--bind", "#"]) else { panic!() };
    assert_eq!(args.name, "log");
}

#[test]
fn dlq_commands_parse_with_their_filters() {
    let trace = "9a2ae9de-3f82-4f55-966b-47df50ff51ff";
    let Mode::Dlq(DlqAction::List(l), _) =
        mode(&["consumer", "dlq", "list", "--limit", "5", "--trace-id", trace, "--json"])
    else {
        panic!()
    };
    assert_eq!((l.limit, l.json, l.trace_id.unwrap().to_string()), (Some(5), true, trace.to_owned()));
    let Mode::Dlq(DlqAction::Replay(r), _) = mode(&["consumer", "dlq", "replay", "--all", "--dry-run"])
    else {
        panic!()
    };
    assert!(r.all && r.dry_run && r.trace_id.is_none());
}

/// True when clap or the mode resolution refuses the command line.
fn refused(args: &[&str]) -> bool {
    !matches!(Config::try_parse_from(args).map(Config::mode), Ok(Ok(_)))
}

#[test]
fn bad_command_lines_are_refused_with_a_reason() {
    // Replay needs exactly one selection.
    assert!(refused(&["consumer", "dlq", "replay"]));
    assert!(refused(&[
        "consumer",
        "dlq",
        "replay",
        "--all",
        "--trace-id",
        "9a2ae9de-3f82-4f55-966b-47df50ff51ff"
    ]));
    assert!(refused(&["consumer", "dlq", "list", "--trace-id", "not-a-uuid"]));
    // A command and a webhook at once, or no bindings.
    assert!(refused(&[
        "consumer",
        "run",
        "--name",
        "x",
        "--bind",
        "#",
        "--exec",
        "true",
        "--webhook",
        "http://h/"
    ]));
    assert!(refused(&["consumer", "run", "--name", "x"]));
    assert!(refused(&["consumer", "run", "--bind", "#"]));
    // Nothing to do.
    assert!(refused(&["consumer"]));
    // The reason names what is missing.
    let error = Config::try_parse_from(["consumer", "run", "--bind", "#"]).unwrap().mode().unwrap_err();
    assert!(error.to_string().contains("--name NAME"), "{error}");
}

#[tokio::test]
async fn run_reports_a_missing_program_as_a_clear_error() {
    let config = Config::try_parse_from([
        "consumer",
        "run",
        "--name",
        "x",
        "--bind",
        "#",
        "--exec",
        "no-such-program-xyz --flag",
        "--http-addr",
        "127.0.0.1:0",
    ])
    .unwrap();
    let error = consumer::run(config, tokio_util::sync::CancellationToken::new()).await.unwrap_err();
    assert!(error.to_string().contains("program \"no-such-program-xyz\" not found"), "{error}");
}
