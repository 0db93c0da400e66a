//! The preflight's report as a table: one difference a line, with what it means and its fix.

use std::io::Write;

use super::Report;
use crate::error::Result;

const HEADER: [&str; 5] = ["OBJECT", "DIFFERENCE", "IMPACT", "CONSEQUENCE", "FIX"];

/// The table, then what is absent, what could not be checked, and a verdict.
pub fn print_report(report: &Report, out: &mut impl Write) -> Result<()> {
    writeln!(out, "topology of prefix {} checked with {}", report.prefix, report.source)?;
    let rows: Vec<[String; 5]> = report
        .differences
        .iter()
        .map(|d| {
            [
                d.object.clone(),
                d.kind().to_owned(),
                d.impact().as_str().to_owned(),
                d.consequence(),
                d.fix(&report.prefix),
            ]
        })
        .collect();
    if rows.is_empty() {
        writeln!(out, "no differences")?;
    } else {
        let width =
            |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0).max(HEADER[i].len());
        let widths = [width(0), width(1), width(2), width(3)];
        let header = HEADER.map(str::to_owned);
        for row in std::iter::once(&header).chain(rows.iter()) {
            let mut line = String::new();
            for (cell, w) in row.iter().zip(widths) {
                line.push_str(&format!("{cell:<w$}  "));
            }
            line.push_str(&row[4]);
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    if !report.absent.is_empty() {
        writeln!(out, "absent, eda declares them at start: {}", report.absent.join(", "))?;
    }
    for what in &report.unchecked {
        writeln!(out, "not checked: {what}")?;
    }
    match report.breaking() {
        0 => writeln!(out, "every guarantee holds")?,
        n => writeln!(out, "{n} difference(s) break a guarantee of eda")?,
    }
    Ok(())
}
