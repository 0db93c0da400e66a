//! `--exec CMD`: one process per event, envelope JSON on stdin, answer on stdout, logs on stderr.
//! Exit 0 = done, 75 (EX_TEMPFAIL) or a signal = try again later, any other code = never.

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use eda_common::delivery::{HandlerError, Message};
use eda_common::envelope::MAX_BODY_BYTES;
use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::output::{parse_answer, tail};
use crate::error::{Error, Result};

/// EX_TEMPFAIL from sysexits.h: the conventional "try again later" exit code.
pub const EXIT_TEMPFAIL: i32 = 75;
/// How much of the handler's stderr (its last lines) becomes the failure reason.
const STDERR_TAIL_BYTES: usize = 2048;

/// A command line split once at start (shell-words rules, no shell involved).
#[derive(Debug, Clone)]
pub struct Exec {
    argv: Vec<String>,
    timeout: Duration,
}

impl Exec {
    /// Splits `command` like a POSIX shell would and checks the program can be found.
    pub fn parse(command: &str, timeout: Duration) -> Result<Exec> {
        let fail = |reason: String| Error::Exec { command: command.to_owned(), reason };
        let argv = shell_words::split(command).map_err(|e| fail(format!("cannot split it: {e}")))?;
        let Some(program) = argv.first() else {
            return Err(fail("the command is empty".into()));
        };
        if !program_exists(program) {
            return Err(fail(format!("program {program:?} not found (not a file, and not on PATH)")));
        }
        Ok(Exec { argv, timeout })
    }

    pub fn program(&self) -> &str {
        &self.argv[0]
    }

    /// Runs the command for one message; its stdout, when a JSON object, is the follow-up body.
    pub async fn call(&self, m: &Message) -> std::result::Result<Option<Map<String, Value>>, HandlerError> {
        let env = &m.envelope;
        let mut child = Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .env("EDA_TRACE_ID", env.trace_id().to_string())
            .env("EDA_EVENT_TYPE", env.event_type().as_str())
            .env("EDA_RETRACE_INTENT", env.attributes.retrace_intent.to_string())
            .env("EDA_MESSAGE_ID", &m.message_id)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A run abandoned for any reason (timeout, shutdown) must not leave the process behind.
            .kill_on_drop(true)
            .spawn()
            // Fork failures (EAGAIN, EMFILE) pass; a missing program was ruled out at start.
            .map_err(|e| HandlerError::transient(format!("could not start {}: {e}", self.argv[0])))?;

        let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let input = env.to_json();
        let feed = async move {
            if let Some(mut stdin) = stdin {
                // A handler that does not read its stdin closes the pipe early: not an error.
                let _ = stdin.write_all(&input).await;
                let _ = stdin.shutdown().await;
            }
        };
        let trace_id = env.trace_id().to_string();
        let run = async {
            let (_, out, err, status) =
                tokio::join!(feed, read_capped(stdout), relay_stderr(stderr, &trace_id), child.wait());
            (out, err, status)
        };
        let finished = tokio::time::timeout(self.timeout, run).await;
        let (out, stderr_tail, status) = match finished {
            Ok(done) => done,
            Err(_) => {
                let _ = child.start_kill();
                let _ = child.wait().await;
                return Err(HandlerError::transient(format!(
                    "{} timed out after {:?} and was killed",
                    self.argv[0], self.timeout
                )));
            }
        };
        let status =
            status.map_err(|e| HandlerError::transient(format!("waiting for {}: {e}", self.argv[0])))?;
        judge(&self.argv[0], status, &stderr_tail)?;
        let out = out.ok_or_else(|| {
            HandlerError::permanent(format!(
                "{} wrote more than {MAX_BODY_BYTES} bytes on stdout",
                self.argv[0]
            ))
        })?;
        parse_answer(&out, "the handler's stdout")
    }
}

/// Exit status → outcome: 0 ok, 75 or a signal transient, anything else permanent.
fn judge(program: &str, status: ExitStatus, stderr_tail: &str) -> std::result::Result<(), HandlerError> {
    let with_stderr = |head: String| {
        if stderr_tail.is_empty() {
            head
        } else {
            format!("{head}; stderr: {stderr_tail}")
        }
    };
    match (status.code(), status.signal()) {
        (Some(0), _) => Ok(()),
        (Some(EXIT_TEMPFAIL), _) => {
            Err(HandlerError::transient(with_stderr(format!("{program} exited with 75 (EX_TEMPFAIL)"))))
        }
        (Some(code), _) => Err(HandlerError::permanent(with_stderr(format!("{program} exited with {code}")))),
        (None, Some(signal)) => {
            Err(HandlerError::transient(with_stderr(format!("{program} was killed by signal {signal}"))))
        }
        (None, None) => {
            Err(HandlerError::transient(with_stderr(format!("{program} ended without a status"))))
        }
    }
}

/// All of stdout, or `None` when it exceeds the envelope size limit (the rest is drained).
async fn read_capped(stdout: Option<impl AsyncRead + Unpin>) -> Option<Vec<u8>> {
    let mut stdout = stdout?;
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut over = false;
    loop {
        match stdout.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) if out.len() + n <= MAX_BODY_BYTES => out.extend_from_slice(&chunk[..n]),
            // Keep reading so the handler is not blocked on a full pipe.
            Ok(_) => over = true,
        }
    }
    (!over).then_some(out)
}

/// Logs each stderr line with the trace id and returns the last lines (at most 2 KiB).
async fn relay_stderr(stderr: Option<impl AsyncRead + Unpin>, trace_id: &str) -> String {
    use tokio::io::AsyncBufReadExt;
    let Some(stderr) = stderr else { return String::new() };
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let mut kept: std::collections::VecDeque<String> = Default::default();
    let mut kept_bytes = 0;
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::info!(trace_id, stream = "stderr", "{}", tail(&line, STDERR_TAIL_BYTES));
        kept_bytes += line.len() + 1;
        kept.push_back(line);
        while kept_bytes > STDERR_TAIL_BYTES && kept.len() > 1 {
            kept_bytes -= kept.pop_front().map_or(0, |l| l.len() + 1);
        }
    }
    let joined: Vec<String> = kept.into_iter().collect();
    tail(joined.join("\n").trim_end(), STDERR_TAIL_BYTES)
}

/// A path (with a `/`) that exists, or a name found in a `PATH` directory.
fn program_exists(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_like_a_shell_without_running_one() {
        let exec = Exec::parse("sh -c 'echo \"a b\" | cat'", Duration::from_secs(1)).unwrap();
        assert_eq!(exec.argv, ["sh", "-c", "echo \"a b\" | cat"]);
        let exec = Exec::parse("echo $HOME; rm -rf /", Duration::from_secs(1)).unwrap();
        assert_eq!(exec.argv, ["echo", "$HOME;", "rm", "-rf", "/"]);
    }

    #[test]
    fn bad_commands_are_refused_at_start_naming_the_problem() {
        let e = Exec::parse("", Duration::from_secs(1)).unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
        let e = Exec::parse("echo 'unterminated", Duration::from_secs(1)).unwrap_err().to_string();
        assert!(e.contains("cannot split"), "{e}");
        let e = Exec::parse("no-such-program-xyz --flag", Duration::from_secs(1)).unwrap_err().to_string();
        assert!(e.contains("\"no-such-program-xyz\" not found"), "{e}");
    }

    #[test]
    fn exit_codes_are_classified() {
        let ok = ExitStatus::from_raw(0);
        assert!(judge("h", ok, "").is_ok());
        let tempfail = ExitStatus::from_raw(75 << 8);
        assert!(judge("h", tempfail, "busy").unwrap_err().is_transient());
        let failed = judge("h", ExitStatus::from_raw(1 << 8), "boom").unwrap_err();
        assert!(!failed.is_transient());
        assert_eq!(failed.reason(), "h exited with 1; stderr: boom");
        let killed = ExitStatus::from_raw(9);
        assert!(judge("h", killed, "").unwrap_err().reason().contains("signal 9"));
    }
}
