//! The report as Markdown, sized for a CI job summary
//! (`>> "$GITHUB_STEP_SUMMARY"`): a summary table, per-day and age tables,
//! checks and findings.

use std::fmt::Write;

use super::fmt::{bytes, count};
use super::model::{Report, Severity};

/// Renders `report` as Markdown.
pub(crate) fn render(r: &Report) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write_all(&mut s, r);
    s
}

/// Escapes the characters that would break a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn write_all(s: &mut String, r: &Report) -> std::fmt::Result {
    let c = &r.retention;
    let icon = if c.ok { "✅" } else { "❌" };
    writeln!(s, "## ChronoTrace storage report: `{}`\n", cell(&r.env))?;
    writeln!(s, "| | |\n|---|---|")?;
    writeln!(s, "| Storage | `{}` |", cell(&r.storage.location))?;
    if let Some(source) = &r.storage.source {
        writeln!(s, "| Source | {} |", cell(&source.line()))?;
    }
    writeln!(
        s,
        "| Traces | {} objects, {} |",
        count(r.objects),
        bytes(r.bytes)
    )?;
    if let (Some(oldest), Some(newest)) = (&r.oldest, &r.newest) {
        writeln!(s, "| Oldest / newest | {oldest} / {newest} |")?;
    }
    writeln!(
        s,
        "| Retention | {icon} {} days + {} grace, cutoff {}: {} objects ({}) past retention |",
        c.retention_days,
        c.grace_days,
        c.cutoff,
        count(c.expired_objects),
        bytes(c.expired_bytes)
    )?;
    if let Some(l) = &r.lifecycle {
        let state = if l.matching {
            "✅ present and matching"
        } else {
            "❌ missing or different"
        };
        writeln!(s, "| Lifecycle rule | `{}`: {state} |", cell(&l.rule_id))?;
    }
    if let Some(v) = &r.versions {
        writeln!(
            s,
            "| Versions | {} noncurrent ({}), {} delete markers |",
            count(v.noncurrent_versions),
            bytes(v.noncurrent_bytes),
            count(v.delete_markers)
        )?;
    }
    writeln!(s, "| Generated | {} |", r.generated_at)?;
    writeln!(s, "\n### Findings\n")?;
    if r.findings.is_empty() {
        writeln!(s, "None.")?;
    }
    for f in &r.findings {
        let mark = match f.severity {
            Severity::Error => "❌",
            Severity::Warning => "⚠️",
            Severity::Info => "ℹ️",
        };
        writeln!(s, "- {mark} `{}`: {}", f.id, f.message)?;
    }
    if !r.checks.is_empty() {
        writeln!(
            s,
            "\n### Checks\n\n| check | status | message |\n|---|---|---|"
        )?;
        for c in &r.checks {
            writeln!(
                s,
                "| `{}` | {} | {} |",
                cell(&c.id),
                c.status.word(),
                cell(&c.message)
            )?;
        }
    }
    writeln!(
        s,
        "\n<details><summary>Traces per day ({} days)</summary>\n",
        r.by_day.len()
    )?;
    writeln!(s, "| date | objects | bytes |\n|---|---:|---:|")?;
    for d in &r.by_day {
        writeln!(
            s,
            "| {} | {} | {} |",
            d.date,
            count(d.objects),
            bytes(d.bytes)
        )?;
    }
    writeln!(
        s,
        "\n</details>\n\n### Age\n\n| age | objects | bytes |\n|---|---:|---:|"
    )?;
    for b in &r.age_histogram {
        writeln!(
            s,
            "| {} | {} | {} |",
            b.label,
            count(b.objects),
            bytes(b.bytes)
        )?;
    }
    Ok(())
}
