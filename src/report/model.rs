//! The report's data model, built purely from what was observed. Every
//! renderer (and the JSON contract) reads this and nothing else.

use chrono::NaiveDate;
use serde::Serialize;

use crate::check::{CheckResult, Status};

use crate::retention::RuleStatus;
use crate::scan::{Judge, ScanOutcome, Volume};

/// The health report of one environment.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub(crate) env: String,
    pub(crate) generated_at: String,
    pub(crate) storage: StorageSummary,
    /// Current objects under the prefix (or files under `traces/`).
    pub(crate) objects: u64,
    pub(crate) bytes: u64,
    /// Traces per partition day, oldest first.
    pub(crate) by_day: Vec<DayRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) oldest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) newest: Option<String>,
    /// Objects outside dated partitions (diagnostic files, probes).
    pub(crate) outside_partitions: Volume,
    pub(crate) storage_classes: Vec<ClassRow>,
    /// Noncurrent versions and delete markers (versioned buckets only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) versions: Option<Versions>,
    /// Traces by age in days (from the partition dates).
    pub(crate) age_histogram: Vec<AgeBucket>,
    pub(crate) retention: Compliance,
    /// The tool's lifecycle rule (`null` on local storage).
    pub(crate) lifecycle: Option<RuleStatus>,
    /// The `check` results, when the environment was checked.
    pub(crate) checks: Vec<CheckResult>,
    pub(crate) findings: Vec<Finding>,
}

/// Where the traces live; never a credential.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct StorageSummary {
    /// `s3`, `local` or `database`.
    pub(crate) kind: String,
    /// `s3://bucket/prefix/ at endpoint`, or the traces directory.
    pub(crate) location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) provider: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) bucket: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) versioned: Option<bool>,
    /// A database store's table, and its sizes from the server's catalog.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) table: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) table_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) index_bytes: Option<u64>,
    /// A partitioned table's partitions, each with all its rows.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) table_partitions: Vec<crate::scan::TablePartition>,
    /// Where the figures come from when not a listing (an S3 Inventory,
    /// with its age), or why `--source auto` listed instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<crate::scan::DataSource>,
}

/// One partition day.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct DayRow {
    pub(crate) date: String,
    pub(crate) objects: u64,
    pub(crate) bytes: u64,
}

impl DayRow {
    /// The row of `day`.
    pub(crate) fn new(day: NaiveDate, volume: Volume) -> DayRow {
        DayRow {
            date: day.to_string(),
            objects: volume.objects,
            bytes: volume.bytes,
        }
    }
}

/// One storage class.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ClassRow {
    pub(crate) class: String,
    pub(crate) objects: u64,
    pub(crate) bytes: u64,
}

/// What versioning keeps beside the current objects.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Versions {
    pub(crate) noncurrent_versions: u64,
    pub(crate) noncurrent_bytes: u64,
    pub(crate) delete_markers: u64,
}

/// Traces whose age (days since their partition date) is in `[min, max]`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct AgeBucket {
    pub(crate) label: String,
    pub(crate) min_days: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_days: Option<i64>,
    pub(crate) objects: u64,
    pub(crate) bytes: u64,
}

/// Retention compliance: what is still there past retention plus grace.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Compliance {
    pub(crate) ok: bool,
    pub(crate) retention_days: u32,
    pub(crate) grace_days: u32,
    pub(crate) cutoff: String,
    pub(crate) expired_objects: u64,
    pub(crate) expired_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) oldest_expired: Option<String>,
}

/// How much a finding matters.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    /// The JSON spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Something worth a look, with a stable id.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Finding {
    pub(crate) severity: Severity,
    pub(crate) id: String,
    pub(crate) message: String,
}

/// What the report is built from.
#[derive(Debug)]
pub(crate) struct Inputs<'a> {
    pub(crate) env: &'a str,
    pub(crate) generated_at: String,
    pub(crate) storage: StorageSummary,
    pub(crate) judge: &'a Judge,
    pub(crate) outcome: &'a ScanOutcome,
    pub(crate) lifecycle: Option<RuleStatus>,
    /// The spec sets an expiration for noncurrent versions.
    pub(crate) noncurrent_expiry: bool,
}

impl Report {
    /// The figures of one scan (pure); the findings they call for are
    /// added by `Report::build` (`report/mod.rs`), the checks by
    /// `with_checks`.
    pub(crate) fn figures(inputs: Inputs<'_>) -> Report {
        let tally = &inputs.outcome.tally;
        let judge = inputs.judge;
        let versioned = inputs.storage.versioned == Some(true);
        Report {
            env: inputs.env.to_string(),
            generated_at: inputs.generated_at,
            storage: inputs.storage,
            objects: tally.current.objects,
            bytes: tally.current.bytes,
            by_day: tally
                .by_day
                .iter()
                .map(|(d, v)| DayRow::new(*d, *v))
                .collect(),
            oldest: tally.oldest.map(|d| d.to_string()),
            newest: tally.newest.map(|d| d.to_string()),
            outside_partitions: tally.unpartitioned,
            storage_classes: tally
                .by_class
                .iter()
                .map(|(c, v)| ClassRow {
                    class: c.clone(),
                    objects: v.objects,
                    bytes: v.bytes,
                })
                .collect(),
            versions: versioned.then_some(Versions {
                noncurrent_versions: tally.noncurrent.objects,
                noncurrent_bytes: tally.noncurrent.bytes,
                delete_markers: tally.delete_markers,
            }),
            age_histogram: age_histogram(&tally.by_day, judge.today),
            retention: Compliance {
                ok: tally.expired.objects == 0,
                retention_days: judge.rule.retention_days,
                grace_days: judge.rule.grace_days,
                cutoff: judge.cutoff_text(),
                expired_objects: tally.expired.objects,
                expired_bytes: tally.expired.bytes,
                oldest_expired: tally.oldest_expired.map(|d| d.to_string()),
            },
            lifecycle: inputs.lifecycle,
            checks: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// The store's layout defects (Redis: orphaned index members...): a
    /// failing one is an error, a figure (a note) information, another a
    /// warning; none found, nothing.
    pub(crate) fn add_store_findings(&mut self, findings: &[crate::scan::StoreFinding]) {
        for f in findings.iter().filter(|f| f.count > 0) {
            self.findings.push(Finding {
                severity: if f.fails {
                    Severity::Error
                } else if f.note {
                    Severity::Info
                } else {
                    Severity::Warning
                },
                id: f.id.to_string(),
                message: f.message.clone(),
            });
            self.retention.ok &= !f.failing();
        }
        self.findings.sort_by_key(|f| f.severity);
    }

    /// Plugs in the results of `check`; a failed check becomes a finding.
    pub(crate) fn with_checks(mut self, checks: Vec<CheckResult>) -> Report {
        for check in checks.iter().filter(|c| c.status == Status::Fail) {
            self.findings.push(Finding {
                severity: Severity::Error,
                id: format!("check.{}", check.id),
                message: check.message.clone(),
            });
        }
        self.findings.sort_by_key(|f| f.severity);
        self.checks = checks;
        self
    }
}

/// The age buckets, in days since the partition date.
const AGE_BUCKETS: [(&str, i64, Option<i64>); 8] = [
    ("0-1 d", 0, Some(1)),
    ("2-7 d", 2, Some(7)),
    ("8-14 d", 8, Some(14)),
    ("15-30 d", 15, Some(30)),
    ("31-60 d", 31, Some(60)),
    ("61-90 d", 61, Some(90)),
    ("91-180 d", 91, Some(180)),
    ("> 180 d", 181, None),
];

/// Traces per age bucket (a partition dated in the future counts as 0 days).
pub(crate) fn age_histogram(
    by_day: &std::collections::BTreeMap<NaiveDate, Volume>,
    today: NaiveDate,
) -> Vec<AgeBucket> {
    let mut buckets: Vec<AgeBucket> = AGE_BUCKETS
        .iter()
        .map(|(label, min, max)| AgeBucket {
            label: (*label).to_string(),
            min_days: *min,
            max_days: *max,
            objects: 0,
            bytes: 0,
        })
        .collect();
    for (day, volume) in by_day {
        let age = (today - *day).num_days().max(0);
        if let Some(bucket) = buckets
            .iter_mut()
            .find(|b| age >= b.min_days && b.max_days.is_none_or(|max| age <= max))
        {
            bucket.objects += volume.objects;
            bucket.bytes += volume.bytes;
        }
    }
    buckets
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn age_buckets_have_inclusive_bounds() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).expect("date");
        let mut by_day = BTreeMap::new();
        for (age, objects) in [
            (0, 1),
            (1, 2),
            (2, 4),
            (14, 8),
            (15, 16),
            (181, 32),
            (-1, 64),
        ] {
            let day = today - chrono::Duration::days(age);
            by_day.insert(
                day,
                Volume {
                    objects,
                    bytes: objects,
                },
            );
        }
        let counts: Vec<u64> = age_histogram(&by_day, today)
            .iter()
            .map(|b| b.objects)
            .collect();
        // A future-dated partition counts as age 0.
        assert_eq!(counts, [1 + 2 + 64, 4, 8, 16, 0, 0, 0, 32]);
    }
}
