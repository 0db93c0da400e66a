//! Resolving a parsed command line into one mode, including DESIGN.md §5's short forms.

use eda_common::CommonArgs;

use super::{BridgeArgs, Command, Config, DlqAction, LogArgs, RunArgs, TopologyAction};

/// The one thing a parsed command line asks for.
#[derive(Debug, Clone)]
pub enum Mode {
    Run(Box<RunArgs>, CommonArgs),
    Log(LogArgs, CommonArgs),
    Bridge(BridgeArgs, CommonArgs),
    Dlq(DlqAction, CommonArgs),
    Topology(TopologyAction, CommonArgs),
}

impl Config {
    /// Resolves the short forms; an error says what is missing.
    pub fn mode(self) -> Result<Mode, crate::Error> {
        match (self.command, self.run, self.bridge_from) {
            (Some(Command::Run(c)), _, _) => Ok(Mode::Run(Box::new(c.run.checked()?), c.common)),
            (Some(Command::Log(c)), _, _) => Ok(Mode::Log(c.log, c.common)),
            (Some(Command::Bridge(c)), _, _) => Ok(Mode::Bridge(c.bridge, c.common)),
            (Some(Command::Dlq(c)), _, _) => Ok(Mode::Dlq(c.action, c.common)),
            (Some(Command::Topology(c)), _, _) => Ok(Mode::Topology(c.action, c.common)),
            (None, _, Some(from)) => Ok(Mode::Bridge(BridgeArgs { from }, self.common)),
            (None, Some(run), None) if run.is_given() => Ok(Mode::Run(Box::new(run.checked()?), self.common)),
            (None, _, None) => Err(crate::Error::Usage(
                "nothing to do: use `consumer run --name NAME --bind PATTERN …`, `log`, `bridge`, `dlq` or `topology` (see --help)"
                    .into(),
            )),
        }
    }

    /// The shared flags of whichever form was used.
    pub fn common(&self) -> &CommonArgs {
        match &self.command {
            Some(Command::Run(c)) => &c.common,
            Some(Command::Log(c)) => &c.common,
            Some(Command::Bridge(c)) => &c.common,
            Some(Command::Dlq(c)) => &c.common,
            Some(Command::Topology(c)) => &c.common,
            None => &self.common,
        }
    }
}

impl Config {
    /// `RUST_LOG` when it is unset: the modes that print keep logs to what needs attention; the
    /// topology check also silences lapin, which logs every missing or refused object it probes.
    pub fn default_log_filter(&self) -> Option<&'static str> {
        match &self.command {
            Some(Command::Topology(_)) => Some("warn,lapin=off"),
            _ => self.prints_to_stdout().then_some("warn"),
        }
    }

    /// True for the modes whose stdout carries their output (`log`, `run` without a handler, `dlq`).
    pub fn prints_to_stdout(&self) -> bool {
        let no_handler = |r: &RunArgs| r.exec.is_none() && r.webhook.is_none();
        match (&self.command, &self.run) {
            (Some(Command::Log(_)), _) | (Some(Command::Dlq(_)), _) | (Some(Command::Topology(_)), _) => true,
            (Some(Command::Run(c)), _) => no_handler(&c.run),
            (None, Some(r)) => self.bridge_from.is_none() && no_handler(r),
            _ => false,
        }
    }
}

impl RunArgs {
    /// Any engine flag given at all (the short form without `run`).
    fn is_given(&self) -> bool {
        !self.name.is_empty() || !self.bindings.is_empty() || self.exec.is_some() || self.webhook.is_some()
    }

    /// The flags clap cannot require (see `name`), checked with an error naming the missing one.
    fn checked(self) -> Result<Self, crate::Error> {
        if self.name.is_empty() {
            return Err(crate::Error::Usage("--name NAME (CONSUMER_NAME) is required".into()));
        }
        if self.bindings.is_empty() {
            return Err(crate::Error::Usage(
                "at least one --bind PATTERN (CONSUMER_BIND) is required".into(),
            ));
        }
        Ok(self)
    }
}
