//! `apply`, `plan` and `destroy` of the S3 Inventory configuration (issue
//! 14, item 2) on the bench: on moto (which implements Put, Get and
//! DeleteBucketInventoryConfiguration) the configuration is created as
//! the spec says, converges, follows a spec change, and `destroy` removes
//! the tool's configuration only; on Garage (which has no S3 Inventory) the
//! plan says so as a finding, and nothing fails.

use aws_sdk_s3::types::{
    InventoryConfiguration, InventoryDestination, InventoryFormat, InventoryFrequency,
    InventoryIncludedObjectVersions, InventoryS3BucketDestination, InventorySchedule,
};
use serde_json::Value;

use crate::cleanup::{create_bucket, json, run_with, write_s3_spec};
use crate::servers::{Endpoint, s3_client, server, unique_bucket};
use crate::support::tempdir;

const OURS: &str = "chronotrace-ops-staging";
const THEIRS: &str = "someone-elses-inventory";

/// A spec of environment `staging` on `endpoint` with an inventory.
/// `versioned` on moto: moto 5.2.5 answers `IncludedObjectVersions: All`
/// whatever was put, so only a versioned spec (which asks for All)
/// converges there.
fn spec_with_inventory(
    dir: &std::path::Path,
    endpoint: &Endpoint,
    (bucket, versioned): (&str, bool),
    dest: &str,
    format: &str,
) {
    write_s3_spec(dir, endpoint, "aws", bucket, versioned);
    let file = dir.join("chronotrace-ops.yaml");
    let mut text = std::fs::read_to_string(&file).expect("spec");
    text.push_str(&format!(
        "    inventory: {{ destination: s3://{dest}/inventories, format: {format} }}\n"
    ));
    std::fs::write(&file, text).expect("spec written");
}

/// The plan's or apply's change to the inventory.
fn inventory_change(out: &Value) -> Value {
    out["changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["resource"] == "bucket.inventory"))
        .cloned()
        .unwrap_or_else(|| panic!("no bucket.inventory change in {out:#}"))
}

async fn read(s3: &aws_sdk_s3::Client, bucket: &str, id: &str) -> Option<InventoryConfiguration> {
    let out = s3
        .get_bucket_inventory_configuration()
        .bucket(bucket)
        .id(id)
        .send()
        .await
        .ok()?;
    out.inventory_configuration().cloned()
}

/// Someone else's inventory configuration on `bucket`.
async fn put_theirs(s3: &aws_sdk_s3::Client, bucket: &str, dest: &str) {
    let dest = InventoryS3BucketDestination::builder()
        .bucket(format!("arn:aws:s3:::{dest}"))
        .format(InventoryFormat::Csv)
        .build()
        .expect("destination");
    let config = InventoryConfiguration::builder()
        .id(THEIRS)
        .is_enabled(true)
        .destination(
            InventoryDestination::builder()
                .s3_bucket_destination(dest)
                .build(),
        )
        .schedule(
            InventorySchedule::builder()
                .frequency(InventoryFrequency::Weekly)
                .build()
                .expect("schedule"),
        )
        .included_object_versions(InventoryIncludedObjectVersions::Current)
        .build()
        .expect("configuration");
    s3.put_bucket_inventory_configuration()
        .bucket(bucket)
        .id(THEIRS)
        .inventory_configuration(config)
        .send()
        .await
        .expect("their inventory configuration");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn moto_apply_sets_up_the_inventory_and_destroy_removes_only_it() {
    let moto = server("moto");
    let s3 = s3_client(&moto);
    let dir = tempdir();
    // A bucket the tool did not create, with someone else's inventory.
    let bucket = unique_bucket("invcfg");
    let dest = unique_bucket("invcfg-dest");
    create_bucket(&s3, &moto, &bucket).await;
    create_bucket(&s3, &moto, &dest).await;
    put_theirs(&s3, &bucket, &dest).await;
    spec_with_inventory(dir.path(), &moto, (&bucket, true), &dest, "parquet");

    let plan = json(&run_with(dir.path(), &moto, &["plan", "--exit-code"]).code(1));
    assert_eq!(inventory_change(&plan)["action"], "create", "{plan:#}");
    let applied = json(&run_with(dir.path(), &moto, &["apply", "--yes"]).code(0));
    assert_eq!(inventory_change(&applied)["action"], "create");

    let ours = read(&s3, &bucket, OURS).await.expect("our configuration");
    let dest_of = |c: &InventoryConfiguration| {
        c.destination()
            .and_then(|d| d.s3_bucket_destination())
            .map(|d| {
                (
                    d.bucket().to_string(),
                    d.prefix().map(str::to_string),
                    d.format().clone(),
                )
            })
    };
    assert_eq!(
        dest_of(&ours),
        Some((
            format!("arn:aws:s3:::{dest}"),
            Some("inventories".into()),
            InventoryFormat::Parquet
        ))
    );
    assert_eq!(ours.filter().map(|f| f.prefix()), Some("staging/traces/"));
    assert_eq!(
        ours.schedule().map(|s| s.frequency().clone()),
        Some(InventoryFrequency::Daily)
    );
    assert_eq!(
        ours.included_object_versions(),
        &InventoryIncludedObjectVersions::All,
        "versions and delete markers too: the bucket is versioned"
    );
    let mut fields: Vec<&str> = ours.optional_fields().iter().map(|f| f.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["LastModifiedDate", "Size", "StorageClass"]);

    // Converged: nothing pending, and a second apply changes nothing.
    run_with(dir.path(), &moto, &["plan", "--exit-code"]).code(0);

    // A new format in the spec is an update of the configuration.
    spec_with_inventory(dir.path(), &moto, (&bucket, true), &dest, "csv");
    let plan = json(&run_with(dir.path(), &moto, &["plan", "--exit-code"]).code(1));
    let change = inventory_change(&plan);
    assert_eq!(change["action"], "update", "{change}");
    assert_eq!(change["after"]["Format"], "CSV", "{change}");
    run_with(dir.path(), &moto, &["apply", "--yes"]).code(0);
    let ours = read(&s3, &bucket, OURS).await.expect("our configuration");
    assert_eq!(dest_of(&ours).map(|d| d.2), Some(InventoryFormat::Csv));
    run_with(dir.path(), &moto, &["plan", "--exit-code"]).code(0);

    // The bucket is not the tool's: destroy plans to keep it and to remove
    // the tool's configuration only (shown, then refused without --yes).
    let shown = run_with(dir.path(), &moto, &["destroy"]).code(2);
    let line = shown
        .stderr
        .lines()
        .find(|l| l.contains("bucket.inventory"))
        .unwrap_or_default();
    assert!(
        line.trim_start().starts_with("- bucket.inventory") && line.contains(OURS),
        "{}",
        shown.stderr
    );
    assert!(!shown.stderr.contains(THEIRS), "{}", shown.stderr);
    // moto 5.2.5 takes DeleteBucketInventoryConfiguration for DeleteBucket:
    // the tool checks the bucket afterwards and says so rather than report
    // a clean destroy (on AWS the bucket and their configuration stay).
    run_with(dir.path(), &moto, &["destroy", "--yes"])
        .code(2)
        .stderr_contains("bucket.inventory failed after these changes were made")
        .stderr_contains("error: DeleteBucketInventoryConfiguration")
        .stderr_contains("the server deleted the bucket itself");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn garage_plan_says_it_has_no_inventory() {
    let garage = server("garage");
    let dir = tempdir();
    let bucket = unique_bucket("invcfg-garage");
    spec_with_inventory(
        dir.path(),
        &garage,
        (&bucket, false),
        &unique_bucket("invd"),
        "parquet",
    );
    // Before the bucket exists the plan can only say create; apply then
    // meets the server's NotImplemented and says so, and the next plan
    // reads it as a finding.
    let applied = json(&run_with(dir.path(), &garage, &["apply", "--yes"]).code(0));
    let change = inventory_change(&applied);
    assert_eq!(change["action"], "none", "{change}");
    assert!(
        change["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("unsupported")),
        "{change}"
    );
    let plan = json(&run_with(dir.path(), &garage, &["plan", "--exit-code"]).code(0));
    let change = inventory_change(&plan);
    assert_eq!(change["action"], "none", "{change}");
    assert!(
        change["note"]
            .as_str()
            .is_some_and(|n| n.contains("not available on this server")),
        "{change}"
    );
    run_with(dir.path(), &garage, &["destroy", "--yes"]).code(0);
}
