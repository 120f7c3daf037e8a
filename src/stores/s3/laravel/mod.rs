//! What a bucket expects of the Laravel app (`check --app`): the `s3`
//! driver, the lifecycle rule that expires traces while the package's
//! purge does not, and the bucket's own app checks in report order: its
//! settings (`settings`), the keys the app signs with (`credentials`) and
//! the S3 adapter the package does not require (`app.s3_adapter`).

mod credentials;
mod settings;

use crate::app::contract::{Contract, Driver, Expiry, StoreChecks};
use crate::app::tree::{Tree, shown};
use crate::check::CheckResult;
use crate::spec::S3Storage;

/// The S3 adapter Laravel's `s3` disks need.
const S3_ADAPTER: &str = "league/flysystem-aws-s3-v3";

/// The contract of a bucket `s3` with its app.
pub(crate) fn contract(s3: &S3Storage) -> Contract<'_> {
    Contract {
        driver: Driver::Setting {
            value: "s3",
            fix: "set CHRONOTRACE_STORAGE=s3 (with CHRONOTRACE_S3_ENDPOINT for MinIO and other S3-compatible stores)",
        },
        expiry: Expiry::Store("the bucket's lifecycle rule expires traces"),
        checks: Some(Box::new(BucketChecks { s3 })),
    }
}

/// The bucket's own app checks.
struct BucketChecks<'a> {
    s3: &'a S3Storage,
}

impl StoreChecks for BucketChecks<'_> {
    fn ids(&self) -> Vec<&'static str> {
        vec![
            "app.s3_bucket",
            "app.s3_region",
            "app.s3_endpoint",
            "app.s3_prefix",
            "app.credentials",
            "app.s3_adapter",
        ]
    }

    fn run(&self, tree: &Tree) -> Vec<CheckResult> {
        let mut out = settings::s3_settings(tree, self.s3);
        out.push(credentials::check(tree, self.s3));
        out.push(s3_adapter(tree));
        out
    }
}

/// `app.s3_adapter`: Laravel's S3 disk needs the adapter, which the
/// package does not require.
fn s3_adapter(tree: &Tree) -> CheckResult {
    const ID: &str = "app.s3_adapter";
    let hint = format!("composer require {S3_ADAPTER}");
    match tree.lock.as_ref().and_then(|l| l.package(S3_ADAPTER)) {
        Some((version, false)) => CheckResult::pass(ID, format!("{S3_ADAPTER} {}", shown(version))),
        Some((_, true)) => CheckResult::fail(
            ID,
            format!("{S3_ADAPTER} is only in require-dev: production cannot write to S3"),
        )
        .with_hint(hint),
        None => CheckResult::fail(
            ID,
            format!("{S3_ADAPTER} is not installed: every write to the bucket fails (the package does not require it)"),
        )
        .with_hint(hint),
    }
}
