//! The bucket: it exists, lives in the expected region, and listing under
//! `{prefix}/` is allowed. GetBucketLocation comes first because, unlike
//! HeadBucket, its errors carry a code (wrong key, wrong secret, no bucket).
//! An answer the SDK cannot parse (SeaweedFS 4.48 sends no
//! LocationConstraint tag) falls back to HeadBucket: the bucket check never
//! fails on a server's XML dialect. A least-privilege key (the app's own)
//! may not read the bucket's location but may list its prefix: the bucket
//! is then proven by that listing, and the checks that need admin rights
//! are skipped by the runner, never failed (`Reach::least`).

use std::time::Instant;

use aws_sdk_s3::error::ProvideErrorMetadata;

use crate::check::CheckResult;
use crate::spec::S3Storage;
use crate::stores::s3::Clients;
use crate::stores::s3::errors::{api_error, status};

/// The ids of the bucket checks.
pub const IDS: [&str; 3] = ["bucket.exists", "bucket.region", "bucket.list"];

const APPLY_HINT: &str = "create it with `chronotrace-ops apply`";

/// What the bucket checks found out about these credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reach {
    /// The bucket is there and usable with these credentials.
    pub usable: bool,
    /// They may list the prefix but not read the bucket's configuration.
    pub least: bool,
}

/// Why the admin-only checks are skipped with a least-privilege key.
pub const LEAST: &str =
    "needs admin rights: these credentials are least-privilege (the app's own key?)";

/// Runs the bucket checks in order, and says what the credentials reach.
pub async fn check(clients: &Clients, s3: &S3Storage) -> (Vec<CheckResult>, Reach) {
    let started = Instant::now();
    let location = match location(clients, s3).await {
        Ok(location) => location,
        Err((result, true)) => {
            let list = list(clients, s3).await.took(started);
            if list.status != crate::check::Status::Pass {
                return unusable(result.took(started));
            }
            let exists = CheckResult::pass(
                IDS[0],
                format!("bucket {} exists (proven by listing {}: these credentials may not read its configuration)", s3.bucket, s3.prefix.dir()),
            )
            .took(started);
            let region = CheckResult::skip(IDS[1], LEAST);
            return (
                vec![exists, region, list],
                Reach {
                    usable: true,
                    least: true,
                },
            );
        }
        Err((result, false)) => return unusable(result.took(started)),
    };
    let exists = CheckResult::pass(IDS[0], format!("bucket {} exists", s3.bucket)).took(started);
    let region = match location {
        Some(location) => judge_region(&location, &clients.target.region, &s3.bucket),
        None => CheckResult::skip(
            IDS[1],
            "the server's GetBucketLocation answer is unreadable and HeadBucket names no region",
        ),
    }
    .took(started);
    let started = Instant::now();
    let list = list(clients, s3).await.took(started);
    (
        vec![exists, region, list],
        Reach {
            usable: true,
            least: false,
        },
    )
}

/// The bucket's region as GetBucketLocation says it (normalised); `None`
/// when only HeadBucket could prove the bucket and it named no region.
/// The bucket check failed: the other bucket checks are skipped, and
/// nothing after them can use the bucket.
fn unusable(failed: CheckResult) -> (Vec<CheckResult>, Reach) {
    let mut results = vec![failed];
    results.extend(crate::check::skip_all(&IDS[1..], "the bucket check failed"));
    let reach = Reach {
        usable: false,
        least: false,
    };
    (results, reach)
}

async fn location(
    clients: &Clients,
    s3: &S3Storage,
) -> Result<Option<String>, (CheckResult, bool)> {
    let answer = clients
        .s3
        .get_bucket_location()
        .bucket(&s3.bucket)
        .send()
        .await;
    match answer {
        Ok(out) => Ok(Some(normalise_region(
            out.location_constraint().map(|c| c.as_str()),
        ))),
        // A 2xx the SDK could not parse: the bucket answered, in a dialect.
        Err(e) if status(&e).is_some_and(|s| (200..300).contains(&s)) => head(clients, s3).await,
        Err(e) if e.code() == Some("NoSuchBucket") => Err((missing(clients, s3), false)),
        // Marked so `check` can try the least-privilege path.
        Err(e) if e.code() == Some("AccessDenied") || status(&e) == Some(403) => {
            let error = api_error(e, "GetBucketLocation", &s3.bucket, &clients.target);
            Err((CheckResult::from_error(IDS[0], &error), true))
        }
        Err(e) => Err((
            CheckResult::from_error(
                IDS[0],
                &api_error(e, "GetBucketLocation", &s3.bucket, &clients.target),
            ),
            false,
        )),
    }
}

fn missing(clients: &Clients, s3: &S3Storage) -> CheckResult {
    CheckResult::fail(
        IDS[0],
        format!(
            "bucket {} does not exist at {}",
            s3.bucket,
            clients.target.endpoint_label()
        ),
    )
    .with_hint(APPLY_HINT)
}

/// HeadBucket, for servers whose GetBucketLocation the SDK cannot read.
async fn head(clients: &Clients, s3: &S3Storage) -> Result<Option<String>, (CheckResult, bool)> {
    match clients.s3.head_bucket().bucket(&s3.bucket).send().await {
        Ok(out) => Ok(out.bucket_region().map(|r| normalise_region(Some(r)))),
        Err(e) if status(&e) == Some(404) => Err((missing(clients, s3), false)),
        Err(e) => Err((
            CheckResult::from_error(
                IDS[0],
                &api_error(e, "HeadBucket", &s3.bucket, &clients.target),
            ),
            false,
        )),
    }
}

/// GetBucketLocation's legacy spellings: empty is us-east-1, `EU` is eu-west-1.
pub fn normalise_region(constraint: Option<&str>) -> String {
    match constraint {
        None | Some("") => "us-east-1".to_string(),
        Some("EU") => "eu-west-1".to_string(),
        Some(region) => region.to_string(),
    }
}

/// Pass when the bucket is where the spec says.
pub fn judge_region(actual: &str, expected: &str, bucket: &str) -> CheckResult {
    if actual == expected {
        CheckResult::pass(IDS[1], format!("bucket {bucket} is in {actual}"))
    } else {
        CheckResult::fail(
            IDS[1],
            format!("bucket {bucket} is in {actual}, the spec says {expected}"),
        )
        .with_hint(format!(
            "set region: {actual} for this environment in the spec"
        ))
    }
}

async fn list(clients: &Clients, s3: &S3Storage) -> CheckResult {
    let dir = s3.prefix.dir();
    let answer = clients
        .s3
        .list_objects_v2()
        .bucket(&s3.bucket)
        .prefix(&dir)
        .max_keys(1)
        .send()
        .await;
    match answer {
        Ok(out) => {
            let some = if out.key_count().unwrap_or(0) > 0 {
                "objects present"
            } else {
                "empty so far"
            };
            CheckResult::pass(
                IDS[2],
                format!("listing {}/{dir} allowed ({some})", s3.bucket),
            )
        }
        Err(e) => CheckResult::from_error(
            IDS[2],
            &api_error(
                e,
                "ListObjectsV2",
                &format!("{}/{dir}", s3.bucket),
                &clients.target,
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    #[test]
    fn legacy_region_spellings_are_normalised() {
        for (raw, region) in [
            (None, "us-east-1"),
            (Some(""), "us-east-1"),
            (Some("EU"), "eu-west-1"),
            (Some("garage"), "garage"),
        ] {
            assert_eq!(normalise_region(raw), region, "{raw:?}");
        }
    }

    #[test]
    fn a_region_mismatch_fails_with_the_fix() {
        let result = judge_region("eu-west-1", "us-east-1", "b");
        assert_eq!(result.status, Status::Fail);
        assert!(
            result
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("eu-west-1"))
        );
        assert_eq!(judge_region("garage", "garage", "b").status, Status::Pass);
    }
}
