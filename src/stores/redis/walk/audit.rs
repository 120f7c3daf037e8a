//! The counts a Redis walk keeps beside the tally, and the findings they
//! make (pure: the walk fills the counts, this judges them).

use crate::scan::{StoreFinding, Volume};

/// What the walk of one Redis store counted (and, purging, repaired).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Audit {
    /// Index members dated before the cutoff (with or without their key).
    pub(crate) index_past_retention: u64,
    /// Of those, removed from the index.
    pub(crate) index_past_removed: u64,
    /// Index members whose key is gone (the seed's purge leaves them).
    pub(crate) orphaned: u64,
    pub(crate) orphans_removed: u64,
    /// Indexed keys within retention without a TTL.
    pub(crate) indexed_without_ttl: u64,
    /// Indexed keys past the cutoff without a TTL (a purge deletes them).
    pub(crate) expired_without_ttl: u64,
    pub(crate) expired_without_ttl_deleted: u64,
    /// Keys under the prefix without an index entry, and of those the ones
    /// without a TTL.
    pub(crate) unindexed: u64,
    pub(crate) unindexed_without_ttl: u64,
    /// Keys whose TTL outlives the retention.
    pub(crate) ttl_beyond_retention: u64,
    /// TTLs a purge set on keys that had none.
    pub(crate) ttl_set: u64,
    /// Keys of index members still there after the index pass (to tell
    /// whether the database holds anything else).
    pub(crate) indexed_keys_left: u64,
    /// What a purge deleted (keys `UNLINK` removed, bytes read before).
    pub(crate) deleted: Volume,
}

impl Audit {
    /// Adds what one master's keys pass found (a cluster walks each).
    pub(crate) fn add_keys_pass(&mut self, found: &Audit) {
        self.ttl_beyond_retention += found.ttl_beyond_retention;
        self.unindexed += found.unindexed;
        self.unindexed_without_ttl += found.unindexed_without_ttl;
        self.ttl_set += found.ttl_set;
    }

    /// The findings, in a fixed order, zero counts included (scripts read
    /// them by id). `purge`: the repairs happened (with `--yes`).
    pub(crate) fn findings(&self, purge: bool) -> Vec<StoreFinding> {
        let repaired = |n: u64| if purge { n } else { 0 };
        let without_ttl =
            self.indexed_without_ttl + self.expired_without_ttl + self.unindexed_without_ttl;
        vec![
            StoreFinding {
                id: "redis.orphaned-index-members",
                count: self.orphaned,
                fails: true,
                repaired: repaired(self.orphans_removed),
                message: format!(
                    "{} index members without their key (the seed's purge leaves every trace expired by TTL in the index: it grows without bound)",
                    self.orphaned
                ),
                note: false,
            },
            StoreFinding {
                id: "redis.index-past-retention",
                count: self.index_past_retention,
                fails: true,
                repaired: repaired(self.index_past_removed),
                message: format!(
                    "{} index entries dated before the cutoff",
                    self.index_past_retention
                ),
                note: false,
            },
            StoreFinding {
                id: "redis.keys-without-ttl",
                count: without_ttl,
                fails: true,
                repaired: repaired(self.ttl_set + self.expired_without_ttl_deleted),
                message: format!(
                    "{without_ttl} trace keys without a TTL never leave by themselves ({} within retention, {} past it, {} not indexed)",
                    self.indexed_without_ttl, self.expired_without_ttl, self.unindexed_without_ttl
                ),
                note: false,
            },
            StoreFinding {
                id: "redis.keys-without-index",
                count: self.unindexed,
                fails: false,
                repaired: 0,
                message: format!(
                    "{} trace keys without an index entry (invisible to the app's list and purge)",
                    self.unindexed
                ),
                note: false,
            },
            StoreFinding {
                id: "redis.ttl-beyond-retention",
                count: self.ttl_beyond_retention,
                fails: false,
                repaired: 0,
                message: format!(
                    "{} trace keys whose TTL outlives retention_days",
                    self.ttl_beyond_retention
                ),
                note: false,
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::all_pass;

    #[test]
    fn a_clean_store_passes_with_every_finding_at_zero() {
        let findings = Audit::default().findings(false);
        assert_eq!(findings.len(), 5);
        assert!(findings.iter().all(|f| f.count == 0));
        assert!(all_pass(&findings));
    }

    #[test]
    fn the_seeds_defects_fail_until_a_purge_repairs_them() {
        let audit = Audit {
            orphaned: 3,
            orphans_removed: 3,
            indexed_without_ttl: 2,
            ttl_set: 2,
            unindexed: 1,
            ..Audit::default()
        };
        // Counted, not repaired: a verify (or a dry run) fails.
        assert!(!all_pass(&audit.findings(false)));
        // The same counts after a purge with --yes: everything repaired.
        let repaired = audit.findings(true);
        assert!(all_pass(&repaired), "{repaired:?}");
        // Keys without an index entry are worth a look, not a failure.
        let unindexed = &repaired[3];
        assert_eq!((unindexed.count, unindexed.fails), (1, false));
    }
}
