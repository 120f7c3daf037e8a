//! Checks that the walk's two loops move on (pure). Both end only when the
//! server says so (an empty index page, `SCAN`'s cursor 0): a server, or a
//! proxy in front of it, that answers from the start again would keep the
//! walk going for ever, every call a success, so no time limit would fire.

use std::cmp::Ordering;
use std::collections::HashSet;

/// The cursors `SCAN` handed over in one iteration.
#[derive(Debug, Default)]
pub(super) struct Cursors(HashSet<u64>);

impl Cursors {
    /// The cursor to send next, `None` when the iteration is over (`0`).
    /// Redis's cursors grow in reversed-bit order, so one iteration never
    /// hands the same cursor twice; one handed again is an error (why).
    pub(super) fn next(&mut self, cursor: u64) -> Result<Option<u64>, String> {
        if cursor == 0 {
            return Ok(None);
        }
        if !self.0.insert(cursor) {
            return Err(format!(
                "the server handed back cursor {cursor} a second time in one iteration, so the walk would never end"
            ));
        }
        Ok(Some(cursor))
    }
}

/// The first member of the last index page (`ZRANGE` by rank), by the
/// index's order: score, then member bytes.
#[derive(Debug, Default)]
pub(super) struct Ranks {
    first: Option<(f64, Vec<u8>)>,
}

impl Ranks {
    /// Checks that a page, whose first member is `first`, starts after the
    /// last page's first member; an error (why) when it does not. Each page
    /// starts at a rank past the members the last one kept, so it starts
    /// further on unless a whole page of members were added before it
    /// meanwhile (the app adds today's, at the end) or the server ignores
    /// the rank asked for (or keeps members it answered it removed).
    pub(super) fn page(&mut self, first: &(Vec<u8>, f64)) -> Result<(), String> {
        let (member, score) = first;
        if let Some((last_score, last_member)) = &self.first {
            let order = score
                .total_cmp(last_score)
                .then_with(|| member.as_slice().cmp(last_member));
            if order != Ordering::Greater {
                return Err(format!(
                    "a page of the index starts at member {:?} (score {score}) again, where the last page started: the server does not answer from the rank asked for, so the walk would never end",
                    String::from_utf8_lossy(member)
                ));
            }
        }
        self.first = Some((*score, member.clone()));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pager over `cursors` (the server's answers in turn); how many
    /// calls the loop made, or its error.
    fn scan(answers: &[u64]) -> Result<usize, String> {
        let mut cursors = Cursors::default();
        let mut calls = 0;
        let mut answers = answers.iter().cycle();
        loop {
            calls += 1;
            assert!(calls < 1000, "the loop did not stop");
            let next = *answers.next().expect("an answer");
            match cursors.next(next)? {
                Some(_) => continue,
                None => return Ok(calls),
            }
        }
    }

    #[test]
    fn a_scan_that_reaches_cursor_zero_ends() {
        assert_eq!(scan(&[12, 5, 7, 0]), Ok(4));
    }

    #[test]
    fn a_scan_that_hands_a_cursor_back_stops() {
        // The same cursor forever, or a round of several.
        assert!(scan(&[17]).is_err());
        assert!(scan(&[3, 9, 4]).expect_err("a cycle").contains("cursor 3"));
    }

    fn member(id: &str, score: f64) -> (Vec<u8>, f64) {
        (id.as_bytes().to_vec(), score)
    }

    #[test]
    fn index_pages_further_on_pass() {
        let mut ranks = Ranks::default();
        for first in [member("b", 1.0), member("a", 2.0), member("c", 2.0)] {
            assert!(ranks.page(&first).is_ok());
        }
    }

    #[test]
    fn an_index_page_from_the_start_again_stops_the_walk() {
        // A server that ignores the start rank answers the first page
        // every time, whatever rank the walk asks for.
        let mut ranks = Ranks::default();
        let pages = std::iter::repeat_n(member("a", 1.0), 1000);
        let stopped = pages
            .enumerate()
            .find_map(|(i, first)| ranks.page(&first).err().map(|e| (i, e)));
        let (at, why) = stopped.expect("the walk stops");
        assert_eq!(at, 1);
        assert!(why.contains("\"a\"") && !why.contains('\n'), "{why}");
        let mut back = Ranks::default();
        assert!(back.page(&member("b", 2.0)).is_ok());
        assert!(back.page(&member("a", 2.0)).is_err());
    }
}
