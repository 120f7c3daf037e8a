//! The age rule, pure: when a trace is past retention.
//!
//! S3 lifecycle expires an object `days` after its creation, rounded up to
//! the next midnight UTC. A trace stored on day D (its `traces/{D}/`
//! partition) is therefore past retention from the start of day
//! D + retention_days + 1 (UTC). `grace_days` allows for lifecycle lag (it
//! runs asynchronously and can be days late). Everything is expressed as a
//! `cutoff` day: a trace dated strictly before it is past retention.
//! `RuleStatus` is what a store says of its own retention mechanism (the
//! lifecycle rule of a bucket), for `cleanup verify` and `report`.

#![warn(unreachable_pub)]

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

/// Retention of one run: the spec's (or `--days`) plus the lag allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) retention_days: u32,
    pub(crate) grace_days: u32,
}

impl Rule {
    /// The first day whose traces are NOT past retention at `today`
    /// (traces dated before it are).
    pub(crate) fn cutoff(&self, today: NaiveDate) -> NaiveDate {
        let back = u64::from(self.retention_days) + u64::from(self.grace_days);
        today
            .checked_sub_days(Days::new(back))
            .unwrap_or(NaiveDate::MIN)
    }

    /// Whether a trace dated `day` is past retention (plus grace) at `today`.
    #[cfg(test)]
    pub(crate) fn is_expired(&self, day: NaiveDate, today: NaiveDate) -> bool {
        day < self.cutoff(today)
    }
}

/// The first UTC day on which a trace dated `day` is past retention (no grace).
#[cfg(test)]
pub(crate) fn expires_on(day: NaiveDate, retention_days: u32) -> NaiveDate {
    day.checked_add_days(Days::new(u64::from(retention_days) + 1))
        .unwrap_or(NaiveDate::MAX)
}

/// The cutoff as an instant: midnight UTC at the start of the cutoff day.
pub(crate) fn cutoff_instant(cutoff: NaiveDate) -> DateTime<Utc> {
    cutoff.and_time(NaiveTime::MIN).and_utc()
}

/// The date of a partition folder name (`YYYY-MM-DD`, nothing else).
pub(crate) fn parse_partition(name: &str) -> Option<NaiveDate> {
    let bytes = name.as_bytes();
    let shape = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(name, "%Y-%m-%d").ok()
}

/// Today in UTC (the clock the lifecycle uses), from the tool's one clock.
pub(crate) fn today() -> NaiveDate {
    crate::clock::now().date_naive()
}

/// What `cleanup verify` and `report` say about the lifecycle rule.
#[expect(
    unreachable_pub,
    reason = "`cloud::retention_rule` re-exports it with `pub use`, which needs `pub`"
)]
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RuleStatus {
    pub rule_id: String,
    /// False when the store has no lifecycle API.
    pub supported: bool,
    pub present: bool,
    /// Present, enabled, expiring after the spec's days, scoped to the prefix.
    pub matching: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_days: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// What differs from the spec, one line each.
    pub problems: Vec<String>,
    /// The rule the store says applies to a listed trace (`x-amz-expiration`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applies: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    #[test]
    fn expiry_day_is_partition_plus_retention_plus_one() {
        let table = [
            ("2026-11-01", 15, "2026-11-17"),
            ("2026-11-01", 1, "2026-11-03"),
            ("2026-02-28", 1, "2026-03-02"),
            ("2024-02-28", 1, "2024-03-01"),
            ("2026-12-31", 0, "2027-01-01"),
            ("2026-10-01", 90, "2026-12-31"),
        ];
        for (day, days, want) in table {
            assert_eq!(expires_on(d(day), days), d(want), "{day} + {days}");
        }
    }

    #[test]
    fn expired_exactly_from_the_expiry_day() {
        // Retention 15, no grace: a trace of 11-01 lives through 11-16 and is
        // past retention on 11-17 at 00:00 UTC.
        let rule = Rule {
            retention_days: 15,
            grace_days: 0,
        };
        let day = d("2026-11-01");
        let table = [
            ("2026-11-15", false),
            ("2026-11-16", false),
            ("2026-11-17", true),
            ("2026-11-18", true),
        ];
        for (today, want) in table {
            assert_eq!(rule.is_expired(day, d(today)), want, "today {today}");
            assert_eq!(
                d(today) >= expires_on(day, 15),
                want,
                "agrees with expires_on"
            );
        }
    }

    #[test]
    fn grace_days_push_the_cutoff_back() {
        let rule = Rule {
            retention_days: 15,
            grace_days: 2,
        };
        let day = d("2026-11-01");
        assert!(!rule.is_expired(day, d("2026-11-17")));
        assert!(!rule.is_expired(day, d("2026-11-18")));
        assert!(rule.is_expired(day, d("2026-11-19")));
        assert_eq!(rule.cutoff(d("2026-11-19")), d("2026-11-02"));
    }

    #[test]
    fn cutoff_never_underflows() {
        let rule = Rule {
            retention_days: u32::MAX,
            grace_days: u32::MAX,
        };
        assert_eq!(rule.cutoff(d("2026-11-19")), NaiveDate::MIN);
        assert!(!rule.is_expired(d("1970-01-01"), d("2026-11-19")));
    }

    #[test]
    fn cutoff_instant_is_midnight_utc() {
        assert_eq!(
            cutoff_instant(d("2026-11-02")).to_rfc3339(),
            "2026-11-02T00:00:00+00:00"
        );
    }

    #[test]
    fn partition_names() {
        assert_eq!(parse_partition("2026-11-26"), Some(d("2026-11-26")));
        for bad in [
            "2026-11-2",
            "2026-13-01",
            "2026-02-30",
            "20261126",
            "2026_11_26",
            "+026-11-26",
            "2026-11-26x",
            "",
            "diagnostic-test-1.txt",
        ] {
            assert_eq!(parse_partition(bad), None, "{bad}");
        }
    }
}
