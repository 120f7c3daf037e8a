//! The human rendering of a check report: one line per check (status, id,
//! message), the hint indented below, a summary line; colour only when
//! asked (on a terminal).

use std::io::{self, Write};

use super::{Report, Status};

fn paint(status: Status, color: bool) -> String {
    let word = status.word().to_uppercase();
    if !color {
        return word;
    }
    let code = match status {
        Status::Pass => "32",
        Status::Warn => "33",
        Status::Fail => "1;31",
        Status::Skip => "2",
    };
    format!("\x1b[{code}m{word}\x1b[0m")
}

/// Writes the report as a compact table.
pub(crate) fn write(out: &mut dyn Write, report: &Report, color: bool) -> io::Result<()> {
    let width = report.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
    for check in &report.checks {
        writeln!(
            out,
            "{}  {:<width$}  {}",
            paint(check.status, color),
            check.id,
            check.message
        )?;
        if let Some(hint) = &check.hint {
            writeln!(out, "      {:<width$}  hint: {hint}", "")?;
        }
    }
    let verdict = if report.ok { "ok" } else { "FAILED" };
    writeln!(
        out,
        "{}: {verdict}: {} passed, {} warnings, {} failed, {} skipped",
        report.env,
        report.count(Status::Pass),
        report.count(Status::Warn),
        report.count(Status::Fail),
        report.count(Status::Skip)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckResult;

    #[test]
    fn the_table_aligns_and_summarises() {
        let report = Report::new(
            "staging",
            vec![
                CheckResult::pass("network.dns", "resolves"),
                CheckResult::fail("probe", "denied").with_hint("grant it"),
            ],
        );
        let mut out = Vec::new();
        write(&mut out, &report, false).expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            text,
            "PASS  network.dns  resolves\n\
             FAIL  probe        denied\n\
             \x20                  hint: grant it\n\
             staging: FAILED: 1 passed, 0 warnings, 1 failed, 0 skipped\n"
        );
        let mut out = Vec::new();
        write(&mut out, &report, true).expect("writes");
        assert!(
            String::from_utf8(out)
                .expect("utf-8")
                .contains("\x1b[32mPASS\x1b[0m")
        );
    }
}
