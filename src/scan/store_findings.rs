//! What a store finds beside the traces themselves: defects of its own
//! layout that `cleanup verify` must report and `cleanup purge` repairs
//! (Redis: index members whose key is gone, keys without a TTL). The
//! generic commands carry them without knowing the store.

use serde::Serialize;

/// One kind of defect in a store's layout, counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreFinding {
    /// A stable id, such as `redis.orphaned-index-members`.
    pub id: &'static str,
    /// How many the scan found.
    pub count: u64,
    /// Whether any of them fails `cleanup verify` (something past
    /// retention, or something that never leaves, remains).
    pub fails: bool,
    /// How many a purge repaired (always 0 on a verify or a dry run).
    pub repaired: u64,
    /// What it is and why it matters, in one line.
    pub message: String,
    /// A figure, not a defect (a hybrid pair's tier counts): reported as
    /// information, never failing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub note: bool,
}

impl StoreFinding {
    /// Whether this finding fails a verification.
    pub fn failing(&self) -> bool {
        self.fails && self.count > self.repaired
    }
}

/// Whether every finding passes a verification.
pub fn all_pass(findings: &[StoreFinding]) -> bool {
    !findings.iter().any(StoreFinding::failing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(count: u64, fails: bool, repaired: u64) -> StoreFinding {
        StoreFinding {
            id: "x",
            count,
            fails,
            repaired,
            message: String::new(),
            note: false,
        }
    }

    #[test]
    fn only_unrepaired_failing_findings_fail() {
        assert!(all_pass(&[finding(0, true, 0), finding(5, false, 0)]));
        assert!(!all_pass(&[finding(1, true, 0)]));
        assert!(all_pass(&[finding(3, true, 3)]));
    }
}
