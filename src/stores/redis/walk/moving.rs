//! Checks that the walk's two loops move on (pure). Both end only when the
//! server says so (an empty index page, `SCAN`'s cursor 0): a server, or a
//! proxy in front of it, that answers from the start again would keep the
//! walk going for ever, every call a success, so no time limit would fire.

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
}
