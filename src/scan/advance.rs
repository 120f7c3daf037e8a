//! Checks that a paged listing moves on (pure; S3's listings and
//! inventories, GCS's object lists). Every page must start past
//! everything the pages before it held, and hand over a token no page
//! handed over before. A server that ignores the token it is asked with
//! answers from the start again, with the same token or a new one; every
//! call succeeds, so no time limit ever fires, and without this check the
//! listing would go on for ever.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::fmt;
use std::hash::Hash;

/// Pages in a row that list nothing yet say more follows, at most. Such
/// pages happen (S3 directory buckets answer them, a store may skip
/// deleted keys page by page), but they show no progress: a server that
/// answers them under a new token every time would never end.
const EMPTY_PAGES: usize = 1000;

/// What a listing has passed so far.
#[derive(Debug)]
pub(crate) struct Advance<T> {
    /// The highest key or folder of the pages so far (S3 orders keys by
    /// their UTF-8 bytes, as `str` compares).
    reached: Option<String>,
    /// Listing by version: the versions of the key `reached` listed so far
    /// (a key's versions may go on from one page to the next).
    at_reached: HashSet<String>,
    /// Every token a page handed over.
    handed: HashSet<T>,
    /// Pages in a row, up to the last, that listed nothing.
    empty: usize,
    by_version: bool,
}

/// Why a listing cannot go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stuck {
    /// A page held a key (or folder) the pages before it had passed.
    Behind { key: String, reached: String },
    /// A page held a version the pages before it had listed.
    VersionAgain { key: String, version: String },
    /// A page handed over a token an earlier page had handed over.
    TokenAgain,
    /// `EMPTY_PAGES` pages in a row listed nothing, each saying more follows.
    Empty,
}

/// The end of every `Stuck` message but the token's.
const NEVER_ENDS: &str =
    "the server does not go on from where it is asked to, so the listing would never end";

impl fmt::Display for Stuck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Debug quoting: a key may hold a newline, an error is one line.
            Stuck::Behind { key, reached } => write!(
                f,
                "a page lists {key:?}, which the listing had already passed (it had reached {reached:?}): {NEVER_ENDS}"
            ),
            Stuck::VersionAgain { key, version } => write!(
                f,
                "a page lists version {version:?} of {key:?}, which the listing had already passed: {NEVER_ENDS}"
            ),
            Stuck::TokenAgain => f.write_str(
                "a page hands back a continuation token an earlier page had already given: the listing would go round for ever",
            ),
            Stuck::Empty => write!(
                f,
                "{EMPTY_PAGES} pages in a row list nothing, each saying more follows: {NEVER_ENDS}"
            ),
        }
    }
}

impl<T: Eq + Hash + Clone> Advance<T> {
    /// For a listing of keys (ListObjectsV2): each page strictly past the last.
    pub(crate) fn by_key() -> Advance<T> {
        Advance {
            reached: None,
            at_reached: HashSet::new(),
            handed: HashSet::new(),
            empty: 0,
            by_version: false,
        }
    }

    /// For a listing of versions (ListObjectVersions): each page past the
    /// last, or on at its last key with versions not listed yet.
    pub(crate) fn by_version() -> Advance<T> {
        Advance {
            by_version: true,
            ..Advance::by_key()
        }
    }

    /// Checks one page: its entries (key and version id), its folders
    /// (common prefixes) and the token it hands over for the next.
    pub(crate) fn page<'a>(
        &mut self,
        entries: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
        folders: impl IntoIterator<Item = &'a str>,
        next: Option<&T>,
    ) -> Result<(), Stuck> {
        let mut high: Option<&str> = None;
        let mut versions_at_high: Vec<&str> = Vec::new();
        // A folder has no version (`None`), an entry may lack its id.
        let entries = entries
            .into_iter()
            .map(|(key, version)| (key, Some(version)));
        let items = entries.chain(folders.into_iter().map(|f| (f, None)));
        for (item, version) in items {
            self.check(item, version)?;
            let version = version.flatten();
            match high {
                Some(h) if item < h => {}
                Some(h) if item == h => versions_at_high.extend(version),
                _ => {
                    high = Some(item);
                    versions_at_high = version.into_iter().collect();
                }
            }
        }
        if let Some(next) = next {
            if !self.handed.insert(next.clone()) {
                return Err(Stuck::TokenAgain);
            }
            self.empty = if high.is_none() { self.empty + 1 } else { 0 };
            if self.empty >= EMPTY_PAGES {
                return Err(Stuck::Empty);
            }
        }
        let versions = versions_at_high.into_iter().map(str::to_string);
        match high {
            None => {}
            // Every item is at or past `reached` (checked): still there.
            Some(high) if self.reached.as_deref() == Some(high) => self.at_reached.extend(versions),
            Some(high) => {
                self.reached = Some(high.to_string());
                self.at_reached = versions.collect();
            }
        }
        Ok(())
    }

    /// Checks only the cursor a page hands over, for listings whose order
    /// the caller cannot compare as text (a Redis index by score, a table
    /// by primary key, a store behind the `items` seam): a cursor handed
    /// over twice means the listing went back.
    pub(crate) fn cursor(&mut self, next: &T) -> Result<(), Stuck> {
        if self.handed.insert(next.clone()) {
            Ok(())
        } else {
            Err(Stuck::TokenAgain)
        }
    }

    /// Checks one key (with its version id, if any) or folder (`None`)
    /// against what the pages before had reached. By version, a version
    /// without an id cannot be told from the others: it is let through.
    fn check(&self, item: &str, version: Option<Option<&str>>) -> Result<(), Stuck> {
        let Some(reached) = self.reached.as_deref() else {
            return Ok(());
        };
        match (item.cmp(reached), version) {
            (Ordering::Greater, _) => Ok(()),
            (Ordering::Equal, Some(None)) if self.by_version => Ok(()),
            (Ordering::Equal, Some(Some(version)))
                if self.by_version && !self.at_reached.contains(version) =>
            {
                Ok(())
            }
            (Ordering::Equal, Some(Some(version))) if self.by_version => Err(Stuck::VersionAgain {
                key: item.to_string(),
                version: version.to_string(),
            }),
            _ => Err(Stuck::Behind {
                key: item.to_string(),
                reached: reached.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_handed_over_twice_is_stuck() {
        let mut advance = Advance::by_key();
        assert_eq!(advance.cursor(&"a".to_string()), Ok(()));
        assert_eq!(advance.cursor(&"b".to_string()), Ok(()));
        assert_eq!(advance.cursor(&"a".to_string()), Err(Stuck::TokenAgain));
    }

    /// Pages of (keys, folders, next token); a key `k#v` is version `v` of `k`.
    type Pages<'a> = &'a [(&'a [&'a str], &'a [&'a str], Option<&'a str>)];

    /// Runs `pages` through a guard, up to the first page it refuses.
    fn walk(mut advance: Advance<String>, pages: Pages<'_>) -> Result<usize, Stuck> {
        for (i, (keys, folders, next)) in pages.iter().enumerate() {
            let next = next.map(str::to_string);
            let entries = keys.iter().map(|k| match k.split_once('#') {
                Some((key, version)) => (key, Some(version)),
                None => (*k, None),
            });
            advance
                .page(entries, folders.iter().copied(), next.as_ref())
                .map_err(|e| {
                    eprintln!("page {i}: {e}");
                    e
                })?;
        }
        Ok(pages.len())
    }

    #[test]
    fn pages_that_move_on_pass() {
        let pages: Pages<'_> = &[
            (&["p/a", "p/b"], &["p/c/"], Some("t1")),
            (&["p/d"], &[], Some("t2")),
            (&[], &[], Some("t3")),
            (&["p/e"], &["p/f/"], None),
        ];
        assert_eq!(walk(Advance::by_key(), pages), Ok(4));
    }

    #[test]
    fn a_page_from_the_start_again_with_a_new_token_is_refused() {
        let pages: Pages<'_> = &[
            (&["p/a", "p/b"], &[], Some("t1")),
            (&["p/a", "p/b"], &[], Some("t2")),
        ];
        let stuck = walk(Advance::by_key(), pages).expect_err("a repeat");
        assert_eq!(
            stuck,
            Stuck::Behind {
                key: "p/a".into(),
                reached: "p/b".into()
            }
        );
        assert!(!stuck.to_string().contains('\n'));
    }

    #[test]
    fn a_folder_already_passed_or_a_key_repeated_is_refused() {
        let folder: Pages<'_> = &[(&["p/a"], &["p/x/"], Some("t1")), (&[], &["p/x/"], None)];
        assert!(walk(Advance::by_key(), folder).is_err());
        let key: Pages<'_> = &[(&["p/a"], &[], Some("t1")), (&["p/a", "p/b"], &[], None)];
        assert!(walk(Advance::by_key(), key).is_err());
    }

    #[test]
    fn versions_of_one_key_may_go_on_across_pages_but_not_go_back() {
        let pages: Pages<'_> = &[
            (&["p/a#1", "p/b#3"], &[], Some("b|3")),
            (&["p/b#2", "p/b#1"], &[], Some("b|1")),
            (&["p/b#0", "p/c#1"], &[], None),
        ];
        assert_eq!(walk(Advance::by_version(), pages), Ok(3));
        let back: Pages<'_> = &[
            (&["p/a#1", "p/b#2"], &[], Some("b|2")),
            (&["p/a#1"], &[], None),
        ];
        assert!(matches!(
            walk(Advance::by_version(), back),
            Err(Stuck::Behind { .. })
        ));
    }

    #[test]
    fn the_versions_of_one_key_listed_again_under_new_markers_are_refused() {
        // Every version of one key (`versions_of`), answered again.
        let pages: Pages<'_> = &[
            (&["p/k#3", "p/k#2"], &[], Some("m1")),
            (&["p/k#3", "p/k#2"], &[], Some("m2")),
        ];
        let stuck = walk(Advance::by_version(), pages).expect_err("a repeat");
        assert_eq!(
            stuck,
            Stuck::VersionAgain {
                key: "p/k".into(),
                version: "3".into()
            }
        );
        assert!(!stuck.to_string().contains('\n'));
        // Versions without ids cannot be told apart: let through.
        let unnamed: Pages<'_> = &[(&["p/k", "p/k"], &[], Some("m1")), (&["p/k"], &[], None)];
        assert_eq!(walk(Advance::by_version(), unnamed), Ok(2));
    }

    #[test]
    fn empty_pages_may_follow_each_other_but_not_for_ever() {
        let mut advance: Advance<String> = Advance::by_key();
        let mut page = |i: usize, key: Option<&str>| {
            let next = format!("t{i}");
            advance.page(key.map(|k| (k, None)), None, Some(&next))
        };
        for i in 0..EMPTY_PAGES - 1 {
            assert!(page(i, None).is_ok());
        }
        // A key in between starts the count again.
        assert!(page(EMPTY_PAGES, Some("p/a")).is_ok());
        let stopped =
            (EMPTY_PAGES + 1..4 * EMPTY_PAGES).find_map(|i| page(i, None).err().map(|e| (i, e)));
        assert_eq!(stopped, Some((2 * EMPTY_PAGES, Stuck::Empty)));
    }

    #[test]
    fn a_token_handed_over_twice_is_refused_even_with_pages_between() {
        let pages: Pages<'_> = &[
            (&[], &[], Some("t1")),
            (&[], &[], Some("t2")),
            (&[], &[], Some("t1")),
        ];
        assert_eq!(walk(Advance::by_key(), pages), Err(Stuck::TokenAgain));
    }
}
