//! The report as plain text for a terminal.

use std::fmt::Write;

use super::fmt::{bytes, count};
use super::model::Report;

/// Renders `report` as text.
pub(crate) fn render(r: &Report) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write_all(&mut s, r);
    s
}

fn write_all(s: &mut String, r: &Report) -> std::fmt::Result {
    writeln!(
        s,
        "ChronoTrace storage report: {} (generated {})",
        r.env, r.generated_at
    )?;
    writeln!(s, "storage     {}", r.storage.location)?;
    for p in &r.storage.table_partitions {
        writeln!(
            s,
            "partition   {} {}: {} rows, {}",
            p.name,
            p.bounds,
            count(p.rows),
            bytes(p.bytes)
        )?;
    }
    if let Some(source) = &r.storage.source {
        writeln!(s, "source      {}", source.line())?;
    }
    writeln!(
        s,
        "traces      {} objects, {}",
        count(r.objects),
        bytes(r.bytes)
    )?;
    if let (Some(oldest), Some(newest)) = (&r.oldest, &r.newest) {
        writeln!(s, "age         oldest {oldest}, newest {newest}")?;
    }
    let o = r.outside_partitions;
    writeln!(
        s,
        "outside     {} objects, {} outside date partitions",
        count(o.objects),
        bytes(o.bytes)
    )?;
    for c in &r.storage_classes {
        writeln!(
            s,
            "class       {}: {} objects, {}",
            c.class,
            count(c.objects),
            bytes(c.bytes)
        )?;
    }
    if let Some(v) = &r.versions {
        writeln!(
            s,
            "versions    {} noncurrent ({}), {} delete markers",
            count(v.noncurrent_versions),
            bytes(v.noncurrent_bytes),
            count(v.delete_markers)
        )?;
    }
    let c = &r.retention;
    let verdict = if c.ok {
        "ok, nothing past retention".to_string()
    } else {
        format!(
            "{} objects ({}) past retention",
            count(c.expired_objects),
            bytes(c.expired_bytes)
        )
    };
    writeln!(
        s,
        "retention   {} days + {} grace (cutoff {}): {verdict}",
        c.retention_days, c.grace_days, c.cutoff
    )?;
    if let Some(l) = &r.lifecycle {
        let state = match (l.supported, l.present, l.matching) {
            (false, _, _) => "not supported by the store",
            (_, false, _) => "missing",
            (_, true, false) => "present, differs from the spec",
            (_, true, true) => "present and matching",
        };
        writeln!(s, "lifecycle   rule {}: {state}", l.rule_id)?;
    }
    writeln!(s, "\nby day")?;
    for d in &r.by_day {
        writeln!(
            s,
            "  {}  {:>10} objects  {:>10}",
            d.date,
            count(d.objects),
            bytes(d.bytes)
        )?;
    }
    writeln!(s, "\nby age")?;
    for b in &r.age_histogram {
        writeln!(
            s,
            "  {:<9} {:>10} objects  {:>10}",
            b.label,
            count(b.objects),
            bytes(b.bytes)
        )?;
    }
    if !r.checks.is_empty() {
        writeln!(s, "\nchecks")?;
        for c in &r.checks {
            writeln!(s, "  {:<5} {}: {}", c.status.word(), c.id, c.message)?;
        }
    }
    writeln!(s, "\nfindings")?;
    if r.findings.is_empty() {
        writeln!(s, "  none")?;
    }
    for f in &r.findings {
        let severity = f.severity.as_str();
        writeln!(s, "  {severity:<7} {}: {}", f.id, f.message)?;
    }
    Ok(())
}
