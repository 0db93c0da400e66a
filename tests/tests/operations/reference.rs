//! Renders clap commands as Markdown tables: flag, environment variable, default, help.

use std::collections::BTreeSet;

use clap::{Arg, Command};

/// The shared flags once, then each binary and each of its subcommands without them.
pub fn render(mut common: Command, binaries: Vec<Command>) -> String {
    common.build();
    let shared: BTreeSet<String> = visible(&common).map(|a| a.get_id().to_string()).collect();
    let mut out = String::from(
        "Generated from the binaries' clap definitions by `tests/tests/operations` \
         (`EDA_BLESS=1 cargo test -p eda-tests --test operations` rewrites it). \
         A flag's variable is read when the flag is not given.\n\n### Shared by every binary\n\n",
    );
    out.push_str(&table(visible(&common).collect()));
    for mut binary in binaries {
        binary.build();
        section(&binary, binary.get_name(), &shared, &mut out);
    }
    out.truncate(out.trim_end().len());
    out
}

fn section(cmd: &Command, path: &str, shared: &BTreeSet<String>, out: &mut String) {
    out.push_str(&format!("\n### {path}\n\n"));
    if let Some(about) = cmd.get_about() {
        out.push_str(&format!("{}\n\n", one_line(&about.to_string())));
    }
    let own: Vec<&Arg> = visible(cmd).filter(|a| !shared.contains(a.get_id().as_str())).collect();
    if own.is_empty() {
        out.push_str("No flags of its own.\n");
    } else {
        out.push_str(&table(own));
    }
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help" && !s.is_hide_set()) {
        section(sub, &format!("{path} {}", sub.get_name()), shared, out);
    }
}

fn visible(cmd: &Command) -> impl Iterator<Item = &Arg> {
    cmd.get_arguments().filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"))
}

fn table(args: Vec<&Arg>) -> String {
    let mut out = String::from("| flag | variable | default | description |\n| --- | --- | --- | --- |\n");
    for arg in args {
        out.push_str(&format!("| {} | {} | {} | {} |\n", flag(arg), env(arg), default(arg), help(arg)));
    }
    out
}

fn flag(arg: &Arg) -> String {
    let value = arg
        .get_value_names()
        .map(|names| names.iter().map(|n| format!("<{n}>")).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| format!("<{}>", arg.get_id().as_str().to_uppercase()));
    match arg.get_long() {
        Some(long) if arg.get_action().takes_values() => format!("`--{long} {value}`"),
        Some(long) => format!("`--{long}`"),
        None => format!("`{value}`"),
    }
}

fn env(arg: &Arg) -> String {
    arg.get_env().map(|e| format!("`{}`", e.to_string_lossy())).unwrap_or_else(|| "—".into())
}

fn default(arg: &Arg) -> String {
    let values: Vec<String> =
        arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
    if arg.is_hide_default_value_set() || values.is_empty() || values.iter().all(String::is_empty) {
        "—".into()
    } else {
        format!("`{}`", values.join(","))
    }
}

fn help(arg: &Arg) -> String {
    let text = arg.get_long_help().or(arg.get_help()).map(|h| h.to_string()).unwrap_or_default();
    let mut text = one_line(&text);
    if let Some(values) = possible_values(arg) {
        if !text.is_empty() && !text.ends_with('.') {
            text.push('.');
        }
        text.push_str(&format!(" One of: {values}."));
    }
    text
}

fn possible_values(arg: &Arg) -> Option<String> {
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| format!("`{}`", v.get_name()))
        .collect();
    // Booleans list true/false, which the default column already shows.
    (!values.is_empty() && values != ["`true`", "`false`"]).then(|| values.join(", "))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ").replace('|', "\\|")
}

#[test]
fn a_flag_renders_with_its_variable_default_and_help() {
    let common = Command::new("c").arg(
        Arg::new("prefix").long("prefix").env("EDA_PREFIX").default_value("eda").help("Prefix | of names"),
    );
    let binary = Command::new("tool")
        .about("Does things")
        .arg(Arg::new("prefix").long("prefix").env("EDA_PREFIX").default_value("eda"))
        .arg(Arg::new("dry").long("dry").action(clap::ArgAction::SetTrue).help("Change\nnothing"))
        .subcommand(Command::new("sub").arg(Arg::new("limit").long("limit").value_name("N")));
    let text = render(common, vec![binary]);
    assert!(text.contains("| `--prefix <PREFIX>` | `EDA_PREFIX` | `eda` | Prefix \\| of names |"), "{text}");
    assert!(text.contains("### tool\n\nDoes things\n\n| flag"), "{text}");
    assert!(text.contains("| `--dry` | — | `false` | Change nothing |"), "{text}");
    assert!(
        !text[text.find("### tool").unwrap()..].contains("--prefix"),
        "shared flags are listed once: {text}"
    );
    assert!(text.contains("### tool sub\n\n| flag | variable | default | description |\n| --- | --- | --- | --- |\n| `--limit <N>` | — | — |  |"), "{text}");
}
