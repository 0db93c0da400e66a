//! The command line: run the service (default) or `hash-password` for `PRODUCER_BASIC_AUTH`.

use std::io::Read;

use crate::config::Config;

/// The producer's command line.
#[derive(clap::Parser, Debug)]
#[command(
    name = "producer",
    version,
    about = "Client portal and order API: publishes purchases as events",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Reads a password on stdin and prints its argon2id hash, for
    /// `PRODUCER_BASIC_AUTH=user:<hash>` (the password never goes on the command line).
    HashPassword,
}

/// `hash-password`: the hash of the first line of stdin.
pub fn hash_password_from_stdin() -> anyhow::Result<String> {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let password = input.lines().next().unwrap_or("");
    anyhow::ensure!(
        !password.is_empty(),
        "no password on stdin (try: printf '%s' \"$PASSWORD\" | producer hash-password)"
    );
    crate::auth::password::hash_password(password).map_err(anyhow::Error::msg)
}
