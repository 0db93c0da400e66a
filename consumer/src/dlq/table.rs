//! Printing dead letters: a table cut to the terminal's width, or one JSON object per line.

use std::io::{IsTerminal, Write};

use super::DeadLetter;
use crate::error::Result;

const TIME: usize = 24;
const TRACE: usize = 36;
const MIN_REASON: usize = 20;
const HEADER: [&str; 5] = ["TIME", "QUEUE", "EVENT TYPE", "TRACE ID", "REASON"];

/// The terminal's width when stdout is one (`COLUMNS`, else 120); `None` when piped (no cutting).
pub fn terminal_width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    Some(std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()).unwrap_or(120))
}

/// `time  queue  event type  trace id  reason`, one message a line, cells cut with `…` to `width`.
pub fn print_table(letters: &[DeadLetter], width: Option<usize>, out: &mut impl Write) -> Result<()> {
    let dash = || "-".to_owned();
    let rows: Vec<[String; 5]> = letters
        .iter()
        .map(|l| {
            [
                l.failed_at.clone().unwrap_or_else(dash),
                l.queue.clone().unwrap_or_else(dash),
                l.event_type.clone().unwrap_or_else(dash),
                l.trace_id.map_or_else(dash, |t| t.to_string()),
                one_line(l.reason.as_deref().unwrap_or("-")),
            ]
        })
        .collect();
    let longest = |i: usize, cap: usize| {
        rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0).clamp(HEADER[i].len(), cap)
    };
    let (queue, event) = (longest(1, 32), longest(2, 56));
    let fixed = TIME + queue + event + TRACE + 8;
    let reason = width.map_or(usize::MAX, |w| w.saturating_sub(fixed).max(MIN_REASON));
    let widths = [TIME, queue, event, TRACE, reason];
    let header = HEADER.map(str::to_owned);
    for row in std::iter::once(&header).chain(rows.iter()) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                let cut = cut(cell, w);
                if i == 4 {
                    cut
                } else {
                    format!("{cut:<w$}")
                }
            })
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end())?;
    }
    writeln!(out, "{} message(s)", letters.len())?;
    Ok(())
}

/// One JSON object per dead letter, for scripts.
pub fn print_json(letters: &[DeadLetter], out: &mut impl Write) -> Result<()> {
    for letter in letters {
        let line = serde_json::to_string(letter).expect("a dead letter always serializes");
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_owned();
    }
    let kept: String = s.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(reason: &str) -> DeadLetter {
        DeadLetter {
            failed_at: Some("2026-11-23T15:00:00.000Z".into()),
            queue: Some("eda.enrich".into()),
            event_type: Some("mycompany.producer.event.c1.published".into()),
            trace_id: Some(uuid::Uuid::nil()),
            reason: Some(reason.into()),
            message_id: Some("m1".into()),
        }
    }

    #[test]
    fn a_table_fits_the_terminal_width_and_keeps_every_column() {
        let mut out = Vec::new();
        print_table(&[letter(&"boom\nagain ".repeat(40))], Some(140), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("TIME") && lines[0].ends_with("REASON"), "{text}");
        assert!(lines[1].contains("eda.enrich") && lines[1].contains("boom again"), "{text}");
        assert!(lines[1].chars().count() <= 140 && lines[1].ends_with('…'), "{text}");
        assert_eq!(lines[2], "1 message(s)");
    }

    #[test]
    fn piped_tables_are_not_cut_and_json_is_one_object_per_line() {
        let mut out = Vec::new();
        let long = "x".repeat(500);
        print_table(&[letter(&long)], None, &mut out).unwrap();
        assert!(String::from_utf8(out).unwrap().contains(&long));
        let mut out = Vec::new();
        print_json(&[letter("a"), letter("b")], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let parsed: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1]["reason"], "b");
        assert_eq!(parsed[0]["queue"], "eda.enrich");
    }
}
