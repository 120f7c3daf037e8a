//! Traces one directory away. Laravel 11 moved the `local` disk from
//! `storage/app` to `storage/app/private`: a tool reading one root while
//! the app writes (or once wrote) under the other would see an empty,
//! compliant store. Whatever the path, the other root is looked at too,
//! and traces there are a failure of `check`, of `cleanup verify` and a
//! finding of `report`, naming the directory.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::check::CheckResult;
use crate::report::{Finding, Severity};
use crate::retention::{self, Rule};
use crate::scan::{Judge, Progress, Selection};
use crate::spec::LocalStorage;
use crate::stores::local;

/// The check's id.
pub(crate) const ID: &str = "local.other-root";

/// Traces found under the other root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Stray {
    /// The other `traces/` directory.
    pub(crate) traces_dir: String,
    pub(crate) objects: u64,
    pub(crate) bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) oldest: Option<String>,
}

impl Stray {
    /// One line saying where they are.
    pub(crate) fn message(&self) -> String {
        format!(
            "{} traces ({}) lie under {}{}, outside the path this environment reads",
            crate::report::fmt::count(self.objects),
            crate::report::fmt::bytes(self.bytes),
            self.traces_dir,
            self.oldest
                .as_ref()
                .map(|d| format!(" (the oldest from {d})"))
                .unwrap_or_default()
        )
    }

    /// How to fix it.
    pub(crate) fn hint(&self, local: &LocalStorage) -> String {
        format!(
            "the path is {} ({}); point the environment's `path:` (or --app) at the root the app writes to, and move or purge the traces left in the other",
            local.path.display(),
            local.origin
        )
    }
}

/// The other local roots of `path`: `{path}/private` for a pre-11 root,
/// the parent for a `…/private` one.
fn other_roots(path: &Path) -> Vec<PathBuf> {
    if path.file_name().is_some_and(|n| n == "private") {
        path.parent().map(Path::to_path_buf).into_iter().collect()
    } else {
        vec![path.join("private")]
    }
}

/// Traces under the other root of `local`, if any. An unreadable tree is
/// no finding here (`check` reports the directory it reads).
pub(crate) fn find(local: &LocalStorage) -> Option<Stray> {
    let judge = Judge::new(
        Rule {
            retention_days: 0,
            grace_days: 0,
        },
        retention::today(),
    );
    other_roots(&local.path).into_iter().find_map(|root| {
        let traces_dir = root.join("traces");
        let outcome = local::scan::scan(
            &traces_dir,
            &judge,
            Selection::All,
            false,
            &Progress::default(),
        )
        .ok()?;
        let volume = outcome.tally.current;
        (volume.objects > 0).then(|| Stray {
            traces_dir: traces_dir.display().to_string(),
            objects: volume.objects,
            bytes: volume.bytes,
            oldest: outcome.tally.oldest.map(|d| d.to_string()),
        })
    })
}

/// `local.other-root`: fails when traces sit under the other root.
pub(crate) fn check(local: &LocalStorage) -> CheckResult {
    let started = std::time::Instant::now();
    let result = match find(local) {
        Some(stray) => CheckResult::fail(ID, stray.message()).with_hint(stray.hint(local)),
        None => CheckResult::pass(
            ID,
            format!(
                "no traces under {} (path {}: {})",
                other_roots(&local.path)
                    .iter()
                    .map(|r| r.join("traces").display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                local.path.display(),
                local.origin
            ),
        ),
    };
    result.took(started)
}

/// Adds to a local environment's report the traces under the other root:
/// an error finding instead of "no traces stored yet".
pub(crate) fn amend(report: &mut crate::report::Report, local: &LocalStorage) {
    if let Some(stray) = find(local) {
        report.findings.retain(|f| f.id != "storage.empty");
        report.findings.push(finding(&stray));
        report.findings.sort_by_key(|f| f.severity);
    }
}

/// The report's finding for traces under the other root.
pub(crate) fn finding(stray: &Stray) -> Finding {
    Finding {
        severity: Severity::Error,
        id: "storage.other-root".into(),
        message: format!(
            "{}: the counts above miss them; fix the environment's path (or --app)",
            stray.message()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_other_root_is_one_directory_away() {
        assert_eq!(
            other_roots(Path::new("storage/app")),
            [PathBuf::from("storage/app/private")]
        );
        assert_eq!(
            other_roots(Path::new("/srv/app/storage/app/private")),
            [PathBuf::from("/srv/app/storage/app")]
        );
    }
}
