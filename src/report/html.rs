//! The report as one self-contained HTML file: inline CSS and inline SVG
//! charts (volume per day, age histogram); no script, no external asset.

use std::fmt::Write;

use super::fmt::{bytes, count};
use chrono::NaiveDate;

use super::model::{DayRow, Report};
use super::svg::{Bar, bar_chart, escape};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:60rem}\
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}\
td.n{text-align:right}.ok{color:#176f2c}.bad{color:#b3261e}.chart{width:100%;max-width:720px;height:auto}\
.bar{fill:#3b6ea8}.axis{font-size:11px;fill:#555}.error{color:#b3261e}.warning{color:#8a5a00}.info{color:#555}";

/// Renders `report` as HTML.
pub fn render(r: &Report) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = write_all(&mut s, r);
    s
}

fn write_all(s: &mut String, r: &Report) -> std::fmt::Result {
    let env = escape(&r.env);
    writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ChronoTrace storage report: {env}</title><style>{STYLE}</style></head><body>"
    )?;
    writeln!(s, "<h1>ChronoTrace storage report: {env}</h1>")?;
    summary(s, r)?;
    writeln!(s, "<h2>Findings</h2><ul>")?;
    if r.findings.is_empty() {
        writeln!(s, "<li>None.</li>")?;
    }
    for f in &r.findings {
        let class = f.severity.as_str();
        writeln!(
            s,
            "<li class=\"{class}\"><code>{}</code>: {}</li>",
            escape(&f.id),
            escape(&f.message)
        )?;
    }
    writeln!(s, "</ul>")?;
    charts(s, r)?;
    if !r.checks.is_empty() {
        writeln!(
            s,
            "<h2>Checks</h2><table><tr><th>check</th><th>status</th><th>message</th></tr>"
        )?;
        for c in &r.checks {
            writeln!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&c.id),
                escape(c.status.word()),
                escape(&c.message)
            )?;
        }
        writeln!(s, "</table>")?;
    }
    writeln!(
        s,
        "<h2>Traces per day</h2><table><tr><th>date</th><th>objects</th><th>bytes</th></tr>"
    )?;
    for d in &r.by_day {
        writeln!(
            s,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            d.date,
            count(d.objects),
            bytes(d.bytes)
        )?;
    }
    writeln!(
        s,
        "</table>\n<p>Generated {}.</p></body></html>",
        escape(&r.generated_at)
    )
}

fn summary(s: &mut String, r: &Report) -> std::fmt::Result {
    let c = &r.retention;
    let (class, verdict) = if c.ok {
        ("ok", "nothing past retention".to_string())
    } else {
        (
            "bad",
            format!(
                "{} objects ({}) past retention",
                count(c.expired_objects),
                bytes(c.expired_bytes)
            ),
        )
    };
    writeln!(s, "<table id=\"summary\">")?;
    writeln!(
        s,
        "<tr><th>Storage</th><td>{}</td></tr>",
        escape(&r.storage.location)
    )?;
    writeln!(
        s,
        "<tr><th>Traces</th><td id=\"objects\">{} objects, {}</td></tr>",
        count(r.objects),
        bytes(r.bytes)
    )?;
    if let (Some(oldest), Some(newest)) = (&r.oldest, &r.newest) {
        writeln!(
            s,
            "<tr><th>Oldest / newest</th><td>{oldest} / {newest}</td></tr>"
        )?;
    }
    writeln!(
        s,
        "<tr><th>Retention</th><td class=\"{class}\">{} days + {} grace (cutoff {}): {verdict}</td></tr>",
        c.retention_days,
        c.grace_days,
        escape(&c.cutoff)
    )?;
    if let Some(l) = &r.lifecycle {
        let (class, state) = if l.matching {
            ("ok", "present and matching")
        } else {
            ("bad", "missing or different")
        };
        writeln!(
            s,
            "<tr><th>Lifecycle rule</th><td class=\"{class}\"><code>{}</code>: {state}</td></tr>",
            escape(&l.rule_id)
        )?;
    }
    for k in &r.storage_classes {
        writeln!(
            s,
            "<tr><th>Class {}</th><td>{} objects, {}</td></tr>",
            escape(&k.class),
            count(k.objects),
            bytes(k.bytes)
        )?;
    }
    writeln!(s, "</table>")
}

/// At most this many days are drawn with their empty days filled in.
const MAX_FILLED_DAYS: i64 = 400;

fn charts(s: &mut String, r: &Report) -> std::fmt::Result {
    let days: Vec<Bar> = continuous_days(&r.by_day)
        .iter()
        .map(|d| Bar {
            label: d.date.get(5..).unwrap_or(&d.date).to_string(),
            value: d.objects,
            tip: format!(
                "{}: {} objects, {}",
                d.date,
                count(d.objects),
                bytes(d.bytes)
            ),
        })
        .collect();
    let ages: Vec<Bar> = r
        .age_histogram
        .iter()
        .map(|b| Bar {
            label: b.label.clone(),
            value: b.objects,
            tip: format!(
                "{}: {} objects, {}",
                b.label,
                count(b.objects),
                bytes(b.bytes)
            ),
        })
        .collect();
    writeln!(
        s,
        "<h2>Volume per day</h2>{}",
        bar_chart("volume-per-day", "Traces per day", &days)
    )?;
    writeln!(
        s,
        "<h2>Age</h2>{}",
        bar_chart("age-histogram", "Traces by age in days", &ages)
    )
}

/// The rows with the days between them that hold no trace filled in as
/// zeros, so the chart's axis is time (unless the span is very long).
fn continuous_days(rows: &[DayRow]) -> Vec<DayRow> {
    let parse = |row: &DayRow| NaiveDate::parse_from_str(&row.date, "%Y-%m-%d").ok();
    let (Some(first), Some(last)) = (rows.first().and_then(parse), rows.last().and_then(parse))
    else {
        return rows.to_vec();
    };
    if (last - first).num_days() > MAX_FILLED_DAYS {
        return rows.to_vec();
    }
    let mut filled = Vec::new();
    let mut given = rows.iter().peekable();
    for day in first.iter_days().take_while(|d| *d <= last) {
        let date = day.to_string();
        match given.next_if(|row| row.date == date) {
            Some(row) => filled.push(row.clone()),
            None => filled.push(DayRow {
                date,
                objects: 0,
                bytes: 0,
            }),
        }
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_days_are_filled_in() {
        let row = |date: &str, objects| DayRow {
            date: date.into(),
            objects,
            bytes: objects,
        };
        let filled = continuous_days(&[row("2026-02-27", 1), row("2026-03-02", 2)]);
        let dates: Vec<(&str, u64)> = filled
            .iter()
            .map(|r| (r.date.as_str(), r.objects))
            .collect();
        assert_eq!(
            dates,
            [
                ("2026-02-27", 1),
                ("2026-02-28", 0),
                ("2026-03-01", 0),
                ("2026-03-02", 2)
            ]
        );
        assert!(continuous_days(&[]).is_empty());
    }
}
