//! Least privilege proven by behaviour, with the app's own key (spec with
//! `iam.user`): inside `{prefix}/` it may write, read and delete
//! (`app.access`); a write outside the prefix, a listing of the bucket
//! root, a listing of another bucket and deleting the bucket must all be
//! denied (`app.least-privilege`): a granted denial is a failure. Garage
//! scopes keys to buckets, not prefixes: there the prefix half is a
//! warning (`app.scope`), never a pass.
//!
//! Every attempt is harmless when granted: the outside write is deleted at
//! once, listings read one key, and the bucket holds the probe object while
//! DeleteBucket is tried, so a wrongly granted deletion answers
//! BucketNotEmpty instead of deleting anything.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use futures::future::join_all;

use super::probe;
use crate::check::{CheckResult, Status};
use crate::spec::{AppIdentity, S3Storage};
use crate::stores::s3::Clients;
use crate::stores::s3::errors::status;

/// The ids of the privilege checks.
pub const IDS: [&str; 3] = ["app.access", "app.least-privilege", "app.scope"];

/// Other buckets tried at most (listing one key each, at once).
const OTHER_BUCKETS: usize = 50;

/// Runs the privilege checks with `app` (clients signed with the app's key);
/// `admin` lists the other buckets when it may.
pub async fn check(app: &Clients, admin: &Clients, s3: &S3Storage) -> Vec<CheckResult> {
    let access = probe::check(app, s3).await;
    let access = CheckResult {
        id: IDS[0].to_string(),
        ..access
    };
    if access.status != Status::Pass {
        let reason = "the app's key cannot work under its prefix (see app.access)";
        return vec![
            access,
            CheckResult::skip(IDS[1], reason),
            CheckResult::skip(IDS[2], reason),
        ];
    }
    let garage = s3.provider.capabilities().app_identity == AppIdentity::GarageKey;
    let marker = format!("{}_probe/{}", s3.prefix.dir(), crate::check::probe_name());
    let _ = app
        .s3
        .put_object()
        .bucket(&s3.bucket)
        .key(&marker)
        .body(ByteStream::from_static(
            b"chronotrace-ops privilege probe\n",
        ))
        .send()
        .await;
    let mut granted = Vec::new();
    if !garage {
        granted.extend(outside_write(app, s3).await);
        granted.extend(root_listing(app, s3).await);
    }
    granted.extend(bucket_deletion(app, s3).await);
    let (others, tried) = other_buckets(app, admin, s3).await;
    granted.extend(others);
    let others = match tried {
        0 => "no other bucket visible to try".to_string(),
        n => format!("{n} other buckets tried"),
    };
    let _ = app
        .s3
        .delete_object()
        .bucket(&s3.bucket)
        .key(&marker)
        .send()
        .await;
    let verdict = if granted.is_empty() {
        let denied = if garage {
            "other buckets and deleting the bucket"
        } else {
            "writes outside the prefix, the bucket root listing, other buckets and deleting the bucket"
        };
        CheckResult::pass(
            IDS[1],
            format!("the app's key is denied {denied} ({others})"),
        )
    } else {
        CheckResult::fail(
            IDS[1],
            format!("the app's key is allowed more than it needs: {}", granted.join("; ")),
        )
        .with_hint("narrow the key's policy to the prefix (chronotrace-ops apply rewrites the tool's own), or make a new key")
    };
    let scope = if garage {
        CheckResult::warn(
            IDS[2],
            format!(
                "Garage scopes keys to buckets, not prefixes: the app's key may read and write all of {}",
                s3.bucket
            ),
        )
        .with_hint("give each app its own bucket on Garage")
    } else {
        CheckResult::pass(
            IDS[2],
            format!(
                "the app's key is scoped to {}/{}",
                s3.bucket,
                s3.prefix.dir()
            ),
        )
    };
    vec![access, verdict, scope]
}

/// A denial is a 403 (AccessDenied or a bare Forbidden).
fn denied<E: ProvideErrorMetadata, R: crate::stores::s3::errors::RawStatus>(
    e: &aws_sdk_s3::error::SdkError<E, R>,
) -> bool {
    e.code() == Some("AccessDenied") || status(e) == Some(403)
}

async fn outside_write(app: &Clients, s3: &S3Storage) -> Option<String> {
    let key = format!("chronotrace-ops-outside-{}", crate::check::probe_name());
    let put = app
        .s3
        .put_object()
        .bucket(&s3.bucket)
        .key(&key)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    match put {
        Err(e) if denied(&e) => None,
        Err(e) => Some(format!(
            "a write outside the prefix was not denied ({})",
            e.code().unwrap_or("no code")
        )),
        Ok(_) => {
            let _ = app
                .s3
                .delete_object()
                .bucket(&s3.bucket)
                .key(&key)
                .send()
                .await;
            Some(format!(
                "writing {}/{key} outside the prefix was allowed",
                s3.bucket
            ))
        }
    }
}

async fn root_listing(app: &Clients, s3: &S3Storage) -> Option<String> {
    match app
        .s3
        .list_objects_v2()
        .bucket(&s3.bucket)
        .max_keys(1)
        .send()
        .await
    {
        Err(e) if denied(&e) => None,
        Err(_) => None,
        Ok(_) => Some(format!("listing the root of {} was allowed", s3.bucket)),
    }
}

async fn bucket_deletion(app: &Clients, s3: &S3Storage) -> Option<String> {
    match app.s3.delete_bucket().bucket(&s3.bucket).send().await {
        Err(e) if denied(&e) => None,
        Err(e) if e.code() == Some("BucketNotEmpty") => Some(format!(
            "DeleteBucket on {} was allowed (refused only because it is not empty)",
            s3.bucket
        )),
        Err(_) => None,
        Ok(_) => Some(format!("DeleteBucket on {} succeeded", s3.bucket)),
    }
}

/// Lists one key of each other bucket the admin sees (or the app, when it
/// may list buckets): any answer but a denial is a grant.
async fn other_buckets(app: &Clients, admin: &Clients, s3: &S3Storage) -> (Vec<String>, usize) {
    let names = match admin.s3.list_buckets().send().await {
        Ok(out) => out
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect::<Vec<_>>(),
        Err(_) => Vec::new(),
    };
    let others: Vec<String> = names
        .into_iter()
        .filter(|n| *n != s3.bucket)
        .take(OTHER_BUCKETS)
        .collect();
    let tries = others.iter().map(|name| async move {
        let listed = app
            .s3
            .list_objects_v2()
            .bucket(name)
            .max_keys(1)
            .send()
            .await;
        match listed {
            Ok(_) => Some(format!("listing another bucket ({name}) was allowed")),
            Err(_) => None,
        }
    });
    let granted = join_all(tries).await.into_iter().flatten().collect();
    (granted, others.len())
}
