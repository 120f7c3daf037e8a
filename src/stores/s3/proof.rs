//! `apply`'s last step on a bucket: prove the store still takes the app's
//! writes. A server may accept a setting and then refuse every write
//! (SeaweedFS 4.48 with default encryption answers PutObject with
//! `500 InternalError`), so "done" is only said after a write, read and
//! delete under `{prefix}/` succeeded; otherwise the run fails (exit 2)
//! naming the change made last.

use std::io::Write;

use crate::check::Status;
use crate::error::{Error, Result};
use crate::plan::Plan;
use crate::spec::S3Storage;
use crate::stores::s3::Clients;
use crate::stores::s3::checks::probe;

/// Runs the write/read/delete probe after `done` was executed. With the
/// TLS-only statement in force (`tls_only`), a plain-http endpoint (an AWS
/// test double such as moto) denies every write by design: not probed.
pub(crate) async fn writes_still_work(
    clients: &Clients,
    s3: &S3Storage,
    done: &Plan,
    tls_only: bool,
) -> Result<()> {
    let plain = clients
        .target
        .endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"));
    if tls_only && plain {
        tracing::debug!("write probe skipped: TLS-only statement over plain http");
        return Ok(());
    }
    let result = probe::check(clients, s3).await;
    if result.status == Status::Pass {
        if done.has_changes() {
            let _ = writeln!(std::io::stderr().lock(), "  proved: {}", result.message);
        }
        return Ok(());
    }
    Err(failure(s3, done, &result.message))
}

/// The error of a failed probe: which change came last, and what to do.
fn failure(s3: &S3Storage, done: &Plan, said: &str) -> Error {
    let place = format!("{}/{}", s3.bucket, s3.prefix.dir());
    match done.changes.iter().rev().find(|c| c.pending()) {
        Some(last) => Error::cloud_with_hint(
            format!(
                "writes under {place} fail after apply's last change ({} {}): {said}",
                last.action.sign(),
                last.resource.id()
            ),
            format!(
                "the server accepted {} but no longer takes writes: undo it on the server, and report the provider so its capability row says so",
                last.resource.id()
            ),
        ),
        None => Error::cloud_with_hint(
            format!("writes under {place} fail (apply changed nothing): {said}"),
            "the bucket exists but these credentials cannot write under the prefix; see `chronotrace-ops check`",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Action, Change, Resource};

    fn s3() -> S3Storage {
        let spec = "project: p\nenvironments:\n  e:\n    storage: s3\n    provider: s3-compatible\n    endpoint: http://127.0.0.1:9\n    bucket: b-e\n    prefix: t\n";
        let spec = crate::spec::Spec::parse(spec, "t.yaml").expect("spec");
        match &spec.environment("e").expect("env").storage {
            crate::spec::Storage::S3(s3) => s3.clone(),
            _ => panic!("an s3 env"),
        }
    }

    #[test]
    fn a_failed_probe_names_the_last_change_made() {
        let done = Plan {
            env: "e".into(),
            changes: vec![
                Change::new(Resource::Bucket, Action::Create),
                Change::new(Resource::Encryption, Action::Create),
                Change::noted(Resource::Policy, "not applied"),
            ],
        };
        let err = failure(&s3(), &done, "PutObject: InternalError").to_string();
        assert!(err.contains("(+ bucket.encryption)"), "{err}");
        assert!(err.contains("b-e/t/"), "{err}");
        assert_eq!(err.lines().count(), 1);
    }

    #[test]
    fn a_failed_probe_without_changes_says_nothing_changed() {
        let done = Plan {
            env: "e".into(),
            changes: vec![Change::new(Resource::Bucket, Action::None)],
        };
        let err = failure(&s3(), &done, "denied").to_string();
        assert!(err.contains("apply changed nothing"), "{err}");
    }
}
