//! Read-modify-write of a bucket document that others share, made safe
//! against concurrent writers: a lifecycle configuration (rules by ID) and
//! a bucket policy (statements by Sid).
//!
//! S3 has no conditional PUT for either: two writers who read the same
//! document and each add their item leave only the last one's. So after
//! writing, and after a settling pause (so that a writer who read before
//! this write has written by then), the document is read back; when the
//! tool's item is not there (or still there after a removal), another
//! writer replaced the document meanwhile, and the merge is redone from a
//! fresh read, after a jittered pause. Two applies for two environments of
//! one bucket therefore both end with their item, as does any other writer
//! that reads back the same way. The guarantee holds for writers whose
//! read-to-write window is shorter than `SETTLE` (a few milliseconds
//! normally; S3 offers nothing stronger).
//!
//! A foreign item that was there before the write and is gone on read-back
//! was removed by someone else after the write (the tool wrote it back): it
//! is not resurrected (its owner may have deleted it on purpose; putting an
//! expiration back could delete data), but the result says so.

use std::time::Duration;

use backon::BackoffBuilder;

use super::applied::Applied;
use crate::error::{Error, Result};
use crate::transport::retry;

/// The wait between writing and reading back: longer than another
/// writer's read-to-write window, so its write, if any, is seen.
const SETTLE: Duration = Duration::from_millis(1000);

/// A shared document of items keyed by id, into which the tool merges (or
/// from which it removes) its one item.
pub(crate) trait SharedDocument {
    /// The document as read.
    type Current;

    /// The id of the tool's item (a rule ID, a statement Sid).
    fn our_id(&self) -> &str;
    /// Whether the tool's item should be there after the write.
    fn wants_ours(&self) -> bool;
    /// The write's API action, for the error when the item never stays.
    const WRITE_ACTION: &'static str;
    /// The bucket, for that error.
    fn bucket(&self) -> &str;

    /// The document now, or why the store does not support it.
    async fn read(&self) -> Result<std::result::Result<Self::Current, String>>;
    /// The ids of the document's items (items without an id are carried
    /// over by the merge but cannot be tracked).
    fn ids(current: &Self::Current) -> Vec<String>;
    /// Writes `current` with the tool's item merged in (or out).
    async fn write(&self, current: Self::Current) -> Result<Applied>;
}

/// What a read-back says about one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadBack {
    /// The tool's item is there (or gone, after a removal); `gone` lists
    /// foreign items that were written back but are missing now.
    Confirmed { gone: Vec<String> },
    /// Another writer replaced the document: merge again.
    Lost,
}

/// Judges a read-back (pure): `after` are the ids now; `carried` the ids
/// of the foreign items the write carried over.
pub fn judge(after: &[String], our_id: &str, wants_ours: bool, carried: &[String]) -> ReadBack {
    // Presence, not equality: a store may normalise the item it returns,
    // and a normalised item is not a lost one (plan reports any drift).
    let there = after.iter().any(|id| id == our_id);
    if there != wants_ours {
        return ReadBack::Lost;
    }
    let gone = carried
        .iter()
        .filter(|id| !after.contains(id))
        .cloned()
        .collect();
    ReadBack::Confirmed { gone }
}

/// Merges the tool's item into `doc` and confirms it by reading back,
/// redoing the merge when another writer replaced the document meanwhile.
pub(crate) async fn write_confirmed<D: SharedDocument>(doc: &D) -> Result<Applied> {
    // Read-modify-write rounds before giving up on a document that keeps
    // changing under the tool: the pauses of `retry::contended`.
    let mut pauses = retry::contended().build();
    loop {
        let current = match doc.read().await? {
            Ok(current) => current,
            Err(reason) => return Ok(Applied::Unsupported(reason)),
        };
        let carried: Vec<String> = D::ids(&current)
            .into_iter()
            .filter(|id| id != doc.our_id())
            .collect();
        let written = doc.write(current).await?;
        if !matches!(written, Applied::Done) {
            return Ok(written);
        }
        tokio::time::sleep(SETTLE).await;
        let after = doc.read().await?.map(|c| D::ids(&c)).unwrap_or_default();
        match judge(&after, doc.our_id(), doc.wants_ours(), &carried) {
            ReadBack::Confirmed { gone } if gone.is_empty() => return Ok(Applied::Done),
            ReadBack::Confirmed { gone } => {
                return Ok(Applied::Noted(format!(
                    "another writer removed {} meanwhile (not put back)",
                    gone.join(", ")
                )));
            }
            ReadBack::Lost => match pauses.next() {
                Some(pause) => tokio::time::sleep(pause).await,
                None => break,
            },
        }
    }
    Err(Error::cloud_with_hint(
        format!(
            "{} {}: another writer kept replacing it; {} did not stay after {} attempts",
            D::WRITE_ACTION,
            doc.bucket(),
            doc.our_id(),
            retry::CONTENDED_ROUNDS
        ),
        "run apply again once the other writer is done",
    ))
}

#[cfg(test)]
mod tests {
    use super::{ReadBack, judge};

    const OURS: &str = "chronotrace-ops:prod:retention";

    #[test]
    fn read_back_verdicts() {
        let carried = vec!["team-a".to_string()];
        let confirmed = |gone: &[&str]| ReadBack::Confirmed {
            gone: gone.iter().map(|s| s.to_string()).collect(),
        };
        let cases: [(&[&str], bool, ReadBack); 5] = [
            (&["team-a", OURS], true, confirmed(&[])),
            (&[OURS], true, confirmed(&["team-a"])),
            (&["team-a"], true, ReadBack::Lost),
            (&["team-a"], false, confirmed(&[])),
            (&["team-a", OURS], false, ReadBack::Lost),
        ];
        for (after, wants_ours, expected) in cases {
            let after: Vec<String> = after.iter().map(|s| s.to_string()).collect();
            assert_eq!(
                judge(&after, OURS, wants_ours, &carried),
                expected,
                "{after:?} {wants_ours}"
            );
        }
    }
}
