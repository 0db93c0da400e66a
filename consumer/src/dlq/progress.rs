//! A one-line progress bar on stderr for long replays, shown only when stderr is a terminal.

use std::io::{IsTerminal, Write};

/// Redraws `replaying n/total [####    ]` in place; silent when stderr is not a terminal.
#[derive(Debug)]
pub struct Progress {
    total: u64,
    done: u64,
    visible: bool,
}

impl Progress {
    pub fn new(total: u64) -> Progress {
        // Small replays finish before a bar helps; pipes and logs get no control characters.
        let visible = total >= 20 && std::io::stderr().is_terminal();
        Progress { total, done: 0, visible }
    }

    pub fn inc(&mut self) {
        self.done += 1;
        if !self.visible {
            return;
        }
        const WIDTH: u64 = 30;
        let filled = (self.done * WIDTH / self.total.max(1)).min(WIDTH) as usize;
        let bar = format!("{}{}", "#".repeat(filled), " ".repeat(WIDTH as usize - filled));
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\rreplaying {}/{} [{bar}]", self.done, self.total);
        let _ = err.flush();
    }

    pub fn finish(&self) {
        if self.visible {
            eprintln!();
        }
    }
}
