//! Where the index walk of `kv::walk` is between two pages: the last
//! member handled (the next page starts after it, whatever another purge
//! removed before it meanwhile), and the range bound its score becomes.

use super::Member;

/// Where the index walk is: the last member handled, and how many members
/// sharing its score may still be in the index at or before it (those
/// this walk saw there and did not remove itself).
pub(super) struct Cursor {
    pub(super) score: f64,
    id: Vec<u8>,
    pub(super) ties: usize,
}

impl Cursor {
    /// The cursor after a page handled (`None`, an empty page: unchanged).
    pub(super) fn after(cursor: Option<Cursor>, page: &[Member]) -> Option<Cursor> {
        let Some(last) = page.last() else {
            return cursor;
        };
        let kept = page
            .iter()
            .filter(|m| m.score == last.score && !m.left)
            .count();
        let ties = match cursor {
            Some(c) if c.score == last.score => c.ties.saturating_add(kept),
            _ => kept,
        };
        Some(Cursor {
            score: last.score,
            id: last.id.clone(),
            ties,
        })
    }

    /// Whether the cursor comes before a member in the index's order:
    /// score, then member bytes compared as Redis compares them (`memcmp`,
    /// the shorter first on a common prefix, as `Vec<u8>` orders).
    pub(super) fn before(&self, id: &[u8], score: f64) -> bool {
        score > self.score || (score == self.score && id > self.id.as_slice())
    }
}

/// A score as a range bound Redis reads back to the same double (Rust's
/// shortest round-trip form; `inf` and `-inf` as Redis spells them).
pub(super) fn score_arg(score: f64) -> String {
    if score == f64::INFINITY {
        "+inf".to_string()
    } else if score == f64::NEG_INFINITY {
        "-inf".to_string()
    } else {
        format!("{score}")
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn member(id: &str, score: f64, left: bool) -> Member {
        Member {
            id: id.as_bytes().to_vec(),
            score,
            day: NaiveDate::MIN,
            pttl: -1,
            size: 0,
            deleted: None,
            left,
        }
    }

    #[test]
    fn the_cursor_orders_members_as_redis_does() {
        let c = Cursor {
            score: 10.0,
            id: b"b".to_vec(),
            ties: 0,
        };
        assert!(!c.before(b"a", 10.0));
        assert!(!c.before(b"b", 10.0));
        assert!(c.before(b"ba", 10.0), "a longer member after its prefix");
        assert!(c.before(b"c", 10.0));
        assert!(c.before(b"a", 10.5));
        assert!(!c.before(b"z", 9.0));
    }

    #[test]
    fn the_cursor_counts_only_the_ties_still_in_the_index() {
        let page = [
            member("a", 1.0, false),
            member("b", 2.0, true),
            member("c", 2.0, false),
        ];
        let c = Cursor::after(None, &page).expect("a cursor");
        assert_eq!((c.score, c.id.as_slice(), c.ties), (2.0, &b"c"[..], 1));
        // The same score again: the ties add up; a new score starts over.
        let c = Cursor::after(Some(c), &[member("d", 2.0, false)]).expect("a cursor");
        assert_eq!(c.ties, 2);
        let c = Cursor::after(Some(c), &[member("e", 3.0, true)]).expect("a cursor");
        assert_eq!(c.ties, 0);
        assert!(
            Cursor::after(Some(c), &[]).is_some(),
            "an empty page keeps it"
        );
    }

    #[test]
    fn scores_go_back_to_redis_as_the_same_double() {
        for score in [0.0, 1_767_225_600.0, 1_767_225_600.123_456, -3.5, 1e300] {
            assert_eq!(score_arg(score).parse::<f64>().ok(), Some(score));
        }
        assert_eq!(score_arg(f64::INFINITY), "+inf");
        assert_eq!(score_arg(f64::NEG_INFINITY), "-inf");
    }
}
