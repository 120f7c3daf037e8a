//! The bucket's S3 Inventory configuration with the tool's ID: read for
//! `plan` (as the JSON of `plan::inventory`, so equal means in place),
//! put by `apply`, deleted by `destroy`. Other configurations on the bucket
//! are never read or touched (each is its own ID's).

use aws_sdk_s3::types::{
    InventoryConfiguration, InventoryDestination, InventoryFilter, InventoryFormat,
    InventoryFrequency, InventoryIncludedObjectVersions, InventoryOptionalField,
    InventoryS3BucketDestination, InventorySchedule,
};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::plan::observed::Seen;
use crate::stores::s3::Clients;
use crate::stores::s3::applied::seen;
use crate::stores::s3::applied::{Applied, done};

/// The configuration `id` of `bucket`, in `plan::inventory`'s JSON shape.
pub async fn read(clients: &Clients, bucket: &str, id: &str) -> Result<Seen<Value>> {
    let got = clients
        .s3
        .get_bucket_inventory_configuration()
        .bucket(bucket)
        .id(id)
        .send()
        .await;
    // AWS says NoSuchConfiguration; moto 5.2.5 NoSuchInventoryConfig, and
    // NoSuchBucket once one was deleted, of a bucket that exists (observe
    // reads this only once the bucket is seen).
    let absent = [
        "NoSuchConfiguration",
        "NoSuchInventoryConfig",
        "NoSuchBucket",
    ];
    let out = seen(
        got,
        &absent,
        "GetBucketInventoryConfiguration",
        clients,
        bucket,
    )?;
    Ok(out
        .map(|o| o.inventory_configuration().map(to_json))
        .flatten_option())
}

fn to_json(c: &InventoryConfiguration) -> Value {
    let dest = c.destination().and_then(|d| d.s3_bucket_destination());
    let mut fields: Vec<&str> = c.optional_fields().iter().map(|f| f.as_str()).collect();
    fields.sort_unstable();
    json!({
        "Id": c.id(),
        "IsEnabled": c.is_enabled(),
        "Destination": dest.map(|d| d.bucket()),
        "DestinationPrefix": dest.and_then(|d| d.prefix()).unwrap_or(""),
        "Format": dest.map(|d| d.format().as_str()),
        "Filter": c.filter().map(|f| f.prefix()),
        "Schedule": c.schedule().map(|s| s.frequency().as_str()),
        "IncludedObjectVersions": c.included_object_versions().as_str(),
        "OptionalFields": fields,
    })
}

/// Puts the configuration `want` (`plan::inventory::desired`).
pub async fn put(clients: &Clients, bucket: &str, want: &Value) -> Result<Applied> {
    let config = from_json(want)
        .map_err(|e| Error::cloud(format!("PutBucketInventoryConfiguration {bucket}: {e}")))?;
    let result = clients
        .s3
        .put_bucket_inventory_configuration()
        .bucket(bucket)
        .id(config.id())
        .inventory_configuration(config)
        .send()
        .await;
    done(result, "PutBucketInventoryConfiguration", clients, bucket)
}

/// Deletes the configuration `id` (only the tool's), then makes sure the
/// bucket is still there: moto 5.2.5 routes this request to DeleteBucket
/// (an empty bucket goes, a full one answers BucketNotEmpty), and a server
/// that did the same must be reported, never passed over.
pub async fn delete(clients: &Clients, bucket: &str, id: &str) -> Result<Applied> {
    let result = clients
        .s3
        .delete_bucket_inventory_configuration()
        .bucket(bucket)
        .id(id)
        .send()
        .await;
    let applied = done(
        result,
        "DeleteBucketInventoryConfiguration",
        clients,
        bucket,
    )?;
    let head = clients.s3.head_bucket().bucket(bucket).send().await;
    if head
        .as_ref()
        .err()
        .and_then(crate::stores::s3::applied::status)
        == Some(404)
    {
        return Err(Error::cloud_with_hint(
            format!(
                "DeleteBucketInventoryConfiguration {bucket}: the server deleted the bucket itself, not only the inventory configuration"
            ),
            "the server mistakes this request for DeleteBucket (moto 5.2.5 does): remove the configuration with the provider's own tools",
        ));
    }
    Ok(applied)
}

fn from_json(want: &Value) -> std::result::Result<InventoryConfiguration, String> {
    let text = |field: &str| {
        want[field]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("the desired configuration has no {field}"))
    };
    let mut dest = InventoryS3BucketDestination::builder()
        .bucket(text("Destination")?)
        .format(InventoryFormat::from(text("Format")?.as_str()));
    let prefix = text("DestinationPrefix")?;
    if !prefix.is_empty() {
        dest = dest.prefix(prefix);
    }
    let dest = dest.build().map_err(|e| e.to_string())?;
    let fields = want["OptionalFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let builder = InventoryConfiguration::builder()
        .id(text("Id")?)
        .is_enabled(true)
        .destination(
            InventoryDestination::builder()
                .s3_bucket_destination(dest)
                .build(),
        )
        .filter(
            InventoryFilter::builder()
                .prefix(text("Filter")?)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .schedule(
            InventorySchedule::builder()
                .frequency(InventoryFrequency::Daily)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .included_object_versions(InventoryIncludedObjectVersions::from(
            text("IncludedObjectVersions")?.as_str(),
        ))
        .set_optional_fields(Some(
            fields
                .iter()
                .filter_map(Value::as_str)
                .map(InventoryOptionalField::from)
                .collect(),
        ));
    builder.build().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_desired_configuration_round_trips_through_the_sdk_types() {
        let want = json!({
            "Id": "chronotrace-ops-prod", "IsEnabled": true,
            "Destination": "arn:aws:s3:::inv-b", "DestinationPrefix": "reports",
            "Format": "Parquet", "Filter": "prod/traces/", "Schedule": "Daily",
            "IncludedObjectVersions": "All",
            "OptionalFields": ["LastModifiedDate", "Size", "StorageClass"],
        });
        let config = from_json(&want).expect("valid");
        assert_eq!(to_json(&config), want);
    }
}
