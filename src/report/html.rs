//! The report as one self-contained HTML file: inline CSS and inline SVG
//! charts (volume per day, age histogram); no script, no external asset.
//!
//! The page is the Tera template `templates/report/report.html.tera`,
//! embedded in the binary and rendered with autoescaping on. This file
//! only turns the report into the template's typed context: every number
//! and text the page shows, already formatted, and the charts' geometry.
//! Nothing here writes markup, so nothing here can forget to escape.

use chrono::NaiveDate;
use serde::Serialize;
use tera::Tera;

use super::fmt::{bytes, count};
use super::model::{AgeBucket, DayRow, Report};
use super::svg::{Bar, Chart, CutoffAt, Standing, bar_chart};
use crate::error::Result;

/// The template's name: its suffix is the one autoescaping applies to.
const TEMPLATE: &str = "report/report.html.tera";
const TEMPLATE_TEXT: &str = include_str!("../../templates/report/report.html.tera");

/// Renders `reports` as one HTML page, a section per environment.
pub(crate) fn render(reports: &[Report]) -> Result<String> {
    let mut tera = Tera::default();
    // Explicit rather than Tera's default list (.html, .htm, .xml): this
    // template must stay escaped whatever that default becomes.
    tera.autoescape_on(vec![".html.tera"]);
    tera.add_raw_template(TEMPLATE, TEMPLATE_TEXT)
        .map_err(|e| crate::render::template_error(TEMPLATE, &e))?;
    let many = reports.len() > 1;
    let document = Document {
        title: reports
            .iter()
            .map(|r| r.env.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        pages: reports.iter().map(|r| Page::new(r, many)).collect(),
    };
    let context = tera::Context::from_serialize(document)
        .map_err(|e| crate::render::template_error(TEMPLATE, &e))?;
    tera.render(TEMPLATE, &context)
        .map_err(|e| crate::render::template_error(TEMPLATE, &e))
}

/// The whole page: its title and one section per environment.
#[derive(Debug, Serialize)]
struct Document<'a> {
    title: String,
    pages: Vec<Page<'a>>,
}

/// Everything one environment's section shows, as text and numbers.
#[derive(Debug, Serialize)]
struct Page<'a> {
    env: &'a str,
    /// Appended to the section's element ids (`-{env}`) when the page has
    /// several environments, so every id stays unique.
    suffix: String,
    location: &'a str,
    /// Where the figures come from and how old they are (an S3 Inventory).
    source: Option<String>,
    traces: String,
    /// `oldest / newest`, when the store holds a trace.
    span: Option<String>,
    retention: Verdict,
    /// The retention cutoff's date, for the charts' legend.
    cutoff: &'a str,
    lifecycle: Option<Lifecycle<'a>>,
    classes: Vec<ClassLine<'a>>,
    findings: Vec<FindingLine<'a>>,
    charts: [Chart; 2],
    checks: Vec<CheckLine<'a>>,
    days: Vec<DayLine<'a>>,
    generated_at: &'a str,
}

/// A summary cell with its CSS class (`ok` or `bad`).
#[derive(Debug, Serialize)]
struct Verdict {
    class: &'static str,
    text: String,
}

#[derive(Debug, Serialize)]
struct Lifecycle<'a> {
    class: &'static str,
    rule_id: &'a str,
    state: &'static str,
}

#[derive(Debug, Serialize)]
struct ClassLine<'a> {
    name: &'a str,
    volume: String,
}

#[derive(Debug, Serialize)]
struct FindingLine<'a> {
    severity: &'static str,
    id: &'a str,
    message: &'a str,
}

#[derive(Debug, Serialize)]
struct CheckLine<'a> {
    id: &'a str,
    status: &'static str,
    message: &'a str,
}

#[derive(Debug, Serialize)]
struct DayLine<'a> {
    date: &'a str,
    objects: String,
    bytes: String,
}

impl<'a> Page<'a> {
    fn new(r: &'a Report, many: bool) -> Page<'a> {
        Page {
            env: &r.env,
            suffix: if many {
                format!("-{}", r.env)
            } else {
                String::new()
            },
            location: &r.storage.location,
            source: r.storage.source.as_ref().map(crate::scan::DataSource::line),
            traces: format!("{} objects, {}", count(r.objects), bytes(r.bytes)),
            span: match (&r.oldest, &r.newest) {
                (Some(oldest), Some(newest)) => Some(format!("{oldest} / {newest}")),
                _ => None,
            },
            retention: retention(r),
            cutoff: r.retention.cutoff.get(..10).unwrap_or(&r.retention.cutoff),
            lifecycle: r.lifecycle.as_ref().map(|l| Lifecycle {
                class: if l.matching { "ok" } else { "bad" },
                rule_id: &l.rule_id,
                state: if l.matching {
                    "present and matching"
                } else {
                    "missing or different"
                },
            }),
            classes: r
                .storage_classes
                .iter()
                .map(|k| ClassLine {
                    name: &k.class,
                    volume: format!("{} objects, {}", count(k.objects), bytes(k.bytes)),
                })
                .collect(),
            findings: r
                .findings
                .iter()
                .map(|f| FindingLine {
                    severity: f.severity.as_str(),
                    id: &f.id,
                    message: &f.message,
                })
                .collect(),
            charts: charts(r),
            checks: r
                .checks
                .iter()
                .map(|c| CheckLine {
                    id: &c.id,
                    status: c.status.word(),
                    message: &c.message,
                })
                .collect(),
            days: r
                .by_day
                .iter()
                .map(|d| DayLine {
                    date: &d.date,
                    objects: count(d.objects),
                    bytes: bytes(d.bytes),
                })
                .collect(),
            generated_at: &r.generated_at,
        }
    }
}

fn retention(r: &Report) -> Verdict {
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
    Verdict {
        class,
        text: format!(
            "{} days + {} grace (cutoff {}): {verdict}",
            c.retention_days, c.grace_days, c.cutoff
        ),
    }
}

/// At most this many days are drawn with their empty days filled in.
const MAX_FILLED_DAYS: i64 = 400;

fn charts(r: &Report) -> [Chart; 2] {
    let bar = |label: String, when: &str, objects: u64, size: u64, standing: Standing| Bar {
        label,
        value: objects,
        tip: format!("{when}: {} objects, {}", count(objects), bytes(size)),
        standing,
    };
    let day = |text: &str| NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok();
    let cutoff = day(&r.retention.cutoff);
    let text = format!(
        "cutoff {}",
        r.retention.cutoff.get(..10).unwrap_or_default()
    );
    let filled = continuous_days(&r.by_day);
    let days: Vec<Bar> = filled
        .iter()
        .map(|d| {
            let label = d.date.get(5..).unwrap_or(&d.date).to_string();
            let past = match (day(&d.date), cutoff) {
                (Some(date), Some(cutoff)) if date < cutoff => Standing::Past,
                _ => Standing::Within,
            };
            bar(label, &d.date, d.objects, d.bytes, past)
        })
        .collect();
    let day_cutoff = cutoff.and_then(|cutoff| {
        // The line stands before the first day kept; the day after the
        // last one shown is still on the chart's right edge.
        let first_kept = filled.iter().position(|d| day(&d.date) >= Some(cutoff));
        let last = filled.last().and_then(|d| day(&d.date))?;
        let bars = match first_kept {
            Some(0) if day(&filled[0].date) != Some(cutoff) => return None,
            Some(i) => i,
            None if cutoff == last.succ_opt()? => filled.len(),
            None => return None,
        };
        #[allow(clippy::cast_precision_loss)]
        Some(CutoffAt {
            bars: bars as f64,
            text: text.clone(),
        })
    });
    // Ages past the cutoff: from `first_past` days on.
    let first_past = match (day(&r.generated_at), cutoff) {
        (Some(today), Some(cutoff)) => Some((today - cutoff).num_days() + 1),
        _ => None,
    };
    let ages: Vec<Bar> = r
        .age_histogram
        .iter()
        .map(|b| {
            let past = first_past.map_or(Standing::Within, |from| age_past(b, from));
            bar(b.label.clone(), &b.label, b.objects, b.bytes, past)
        })
        .collect();
    let age_cutoff = first_past.and_then(|from| {
        let (i, bucket) = (0_u32..)
            .zip(&r.age_histogram)
            .find(|(_, b)| b.max_days.is_none_or(|max| max >= from))?;
        let inside = match bucket.max_days {
            _ if from <= bucket.min_days => 0.0,
            #[allow(clippy::cast_precision_loss)]
            Some(max) => (from - bucket.min_days) as f64 / (max - bucket.min_days + 1) as f64,
            None => 0.5,
        };
        Some(CutoffAt {
            bars: f64::from(i) + inside,
            text: text.clone(),
        })
    });
    [
        bar_chart(
            "volume-per-day",
            "Volume per day",
            "Traces per day",
            &days,
            day_cutoff,
        ),
        bar_chart(
            "age-histogram",
            "Age",
            "Traces by age in days",
            &ages,
            age_cutoff,
        ),
    ]
}

/// Where an age bucket stands when traces are past the cutoff from
/// `first_past` days of age on.
fn age_past(bucket: &AgeBucket, first_past: i64) -> Standing {
    if bucket.min_days >= first_past {
        Standing::Past
    } else if bucket.max_days.is_some_and(|max| max < first_past) {
        Standing::Within
    } else {
        Standing::Partly
    }
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
#[path = "html_tests.rs"]
mod tests;
