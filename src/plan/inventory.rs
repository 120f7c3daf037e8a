//! The S3 Inventory configuration the tool owns on a bucket (its ID is
//! `ids::inventory_id`; configurations with other IDs are others'): the
//! desired one from the spec's `inventory:`, and its changes. Pure. The
//! JSON shape is the one `stores::s3::inventory::config` reads back, so equal
//! means "in place" (`apply` is idempotent).

use serde_json::{Value, json};

use super::observed::Seen;
use super::{Action, Change, Resource};
use crate::spec::S3Storage;
use crate::spec::inventory::InventoryFormat;

/// What the configuration lists besides the key (and, with versioning,
/// the version fields that `IncludedObjectVersions: All` adds).
pub(crate) const OPTIONAL_FIELDS: [&str; 3] = ["LastModifiedDate", "Size", "StorageClass"];

/// The configuration `apply` puts, or `None` when the spec asks for none.
pub(crate) fn desired(s3: &S3Storage) -> Option<Value> {
    let inv = s3.inventory.as_ref()?;
    let format = match inv.format {
        InventoryFormat::Parquet => "Parquet",
        InventoryFormat::Csv => "CSV",
    };
    Some(json!({
        "Id": inv.id,
        "IsEnabled": true,
        "Destination": format!("arn:aws:s3:::{}", inv.bucket),
        "DestinationPrefix": inv.prefix,
        "Format": format,
        "Filter": s3.prefix.dir(),
        "Schedule": "Daily",
        // Versions and delete markers too, where versioning keeps them.
        "IncludedObjectVersions": if s3.versioning { "All" } else { "Current" },
        "OptionalFields": OPTIONAL_FIELDS,
    }))
}

/// The change to the tool's configuration: ours by ID on any bucket (it
/// touches no other configuration), so applied even on a bucket others own.
pub(crate) fn change(want: &Value, seen: &Seen<Value>) -> Change {
    match seen {
        Seen::Unsupported(reason) => Change::noted(
            Resource::Inventory,
            format!("not available on this server ({reason}): `--source inventory` cannot be used here; `--source auto` lists"),
        ),
        Seen::Absent => Change::new(Resource::Inventory, Action::Create)
            .with_after(want.clone())
            .with_note("S3 writes the first inventory within 48 hours; the destination bucket's policy must let s3.amazonaws.com put objects there"),
        Seen::Present(have) if have == want => Change::new(Resource::Inventory, Action::None),
        Seen::Present(have) => {
            let (before, after) = super::differing(have, want);
            Change::new(Resource::Inventory, Action::Update)
                .with_before(before)
                .with_after(after)
        }
    }
}

/// What `destroy` does to it on a bucket it keeps (a deleted bucket takes
/// its configurations with it).
pub(crate) fn removal(seen: &Seen<Value>) -> Option<Change> {
    match seen {
        Seen::Present(have) => {
            Some(Change::new(Resource::Inventory, Action::Delete).with_before(have.clone()))
        }
        Seen::Absent | Seen::Unsupported(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(versioning: bool) -> S3Storage {
        let v = if versioning {
            "    versioning: true\n    noncurrent_days: 7\n"
        } else {
            ""
        };
        let text = format!(
            "project: p\nenvironments:\n  prod:\n    storage: s3\n    region: eu-west-1\n    bucket: traces-b\n    prefix: prod/traces\n{v}    inventory: {{ destination: s3://inv-b/reports }}\n"
        );
        let spec = crate::spec::Spec::parse(&text, "t.yaml").expect("spec");
        spec.environment("prod")
            .expect("env")
            .storage
            .s3()
            .expect("an s3 environment")
            .clone()
    }

    #[test]
    fn the_configuration_lists_the_prefix_daily_with_versions_when_kept() {
        let want = desired(&s3(false)).expect("asked for");
        assert_eq!(want["Id"], "chronotrace-ops-prod");
        assert_eq!(want["Filter"], "prod/traces/");
        assert_eq!(want["Format"], "Parquet");
        assert_eq!(want["IncludedObjectVersions"], "Current");
        assert_eq!(
            desired(&s3(true)).expect("asked for")["IncludedObjectVersions"],
            "All"
        );
    }

    #[test]
    fn changes_create_update_keep_and_say_when_unsupported() {
        let want = desired(&s3(false)).expect("asked for");
        assert_eq!(change(&want, &Seen::Absent).action, Action::Create);
        assert_eq!(
            change(&want, &Seen::Present(want.clone())).action,
            Action::None
        );
        let mut csv = want.clone();
        csv["Format"] = json!("CSV");
        let update = change(&want, &Seen::Present(csv));
        assert_eq!(update.action, Action::Update);
        assert_eq!(update.after, Some(json!({"Format": "Parquet"})));
        let garage = change(
            &want,
            &Seen::Unsupported(
                "the server answers NotImplemented to GetBucketInventoryConfiguration".into(),
            ),
        );
        assert_eq!(garage.action, Action::None);
        assert!(
            garage
                .note
                .is_some_and(|n| n.contains("not available on this server"))
        );
        assert!(removal(&Seen::Absent).is_none());
        assert_eq!(
            removal(&Seen::Present(want)).map(|c| c.action),
            Some(Action::Delete)
        );
    }
}
