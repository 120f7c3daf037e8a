//! Two environments on one bucket, by prefix (issue 3: nothing others own
//! is lost): destroying one removes only its lifecycle rule and keeps the
//! bucket, its objects and the bucket-wide TLS-only statement for the other.

use std::path::Path;

use super::{rules, unique};
use crate::servers::{Endpoint, s3_client, server};
use crate::support::{Outcome, Run, tempdir};

fn two_envs(dir: &Path, moto: &Endpoint, bucket: &str) {
    let env = |name: &str| {
        format!(
            "  {name}:\n    storage: s3\n    provider: aws\n    endpoint: {}\n    region: us-east-1\n    bucket: {bucket}\n    prefix: {name}/traces\n    retention_days: 30\n",
            moto.url
        )
    };
    let text = format!("project: t\nenvironments:\n{}{}", env("alpha"), env("beta"));
    std::fs::write(dir.join("chronotrace-ops.yaml"), text).expect("spec written");
}

fn on(dir: &Path, moto: &Endpoint, env: &str, args: &[&str]) -> Outcome {
    Run::new(dir)
        .args(["-e", env])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &moto.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &moto.secret_access_key)
        .run()
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn destroying_one_env_keeps_the_shared_bucket_for_the_other() {
    let moto = server("moto");
    let dir = tempdir();
    let bucket = unique("shared");
    two_envs(dir.path(), &moto, &bucket);
    on(dir.path(), &moto, "alpha", &["apply", "--yes"]).code(0);
    on(dir.path(), &moto, "beta", &["apply", "--yes"]).code(0);
    on(dir.path(), &moto, "alpha", &["plan", "--exit-code"]).code(0);
    on(dir.path(), &moto, "beta", &["plan", "--exit-code"]).code(0);

    let kept = on(dir.path(), &moto, "alpha", &["destroy", "--yes", "--empty"]).code(0);
    assert!(kept.stdout.contains("still use it"), "{}", kept.stdout);
    let s3 = s3_client(&moto);
    let ids: Vec<String> = rules(&s3, &bucket)
        .await
        .iter()
        .filter_map(|r| r.id().map(str::to_string))
        .collect();
    assert_eq!(ids, vec!["chronotrace-ops:beta:retention".to_string()]);
    on(dir.path(), &moto, "beta", &["plan", "--exit-code"]).code(0);

    // Once beta is gone, alpha's bucket can go too.
    on(dir.path(), &moto, "beta", &["destroy", "--yes"]).code(0);
    on(dir.path(), &moto, "alpha", &["destroy", "--yes"]).code(0);
    assert!(
        s3.head_bucket().bucket(&bucket).send().await.is_err(),
        "bucket gone at last"
    );
}
