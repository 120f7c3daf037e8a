//! An S3 environment's `inventory:`: the destination (a valid bucket name,
//! a plain prefix, never inside the traces prefix it lists), the format,
//! the schedule. Every problem is reported, with its line and rule.

use serde_saphyr::Spanned;

use super::Checker;
use crate::spec::ids::inventory_id;
use crate::spec::inventory::{Inventory, InventoryFormat};
use crate::spec::names;
use crate::spec::raw::RawInventory;

/// AWS's limit on an inventory configuration's ID.
const MAX_ID_LEN: usize = 64;

/// Where the inventory is for: the environment and its bucket and prefix.
pub(super) struct Listed<'a> {
    pub(super) env: &'a str,
    pub(super) bucket: Option<&'a str>,
    /// `{prefix}/`.
    pub(super) prefix_dir: Option<String>,
}

impl Checker<'_> {
    pub(super) fn inventory(
        &mut self,
        raw: &Spanned<RawInventory>,
        listed: &Listed<'_>,
    ) -> Option<Inventory> {
        let inv = &raw.value;
        let format = match &inv.format {
            None => Some(InventoryFormat::Parquet),
            Some(f) => {
                let parsed = InventoryFormat::parse(&f.value);
                if parsed.is_none() {
                    self.problem(
                        &f.referenced,
                        "inventory.format",
                        format!("inventory format '{}' is not one of: parquet, csv", f.value),
                    );
                }
                parsed
            }
        };
        if let Some(s) = inv.schedule.as_ref().filter(|s| s.value != "daily") {
            self.problem(
                &s.referenced,
                "inventory.schedule",
                format!(
                    "inventory schedule '{}' is not supported: only daily (a weekly inventory is always too old for --source auto)",
                    s.value
                ),
            );
        }
        let id = inventory_id(listed.env);
        if id.len() > MAX_ID_LEN {
            self.problem(
                &raw.referenced,
                "inventory.id-length",
                format!("the inventory ID '{id}' would be longer than {MAX_ID_LEN} characters: use a shorter environment name"),
            );
        }
        let (bucket, prefix) = self.destination(&inv.destination, listed)?;
        let ok = inv.schedule.as_ref().is_none_or(|s| s.value == "daily") && id.len() <= MAX_ID_LEN;
        Some(Inventory {
            bucket,
            prefix,
            format: format?,
            id,
        })
        .filter(|_| ok)
    }

    /// `s3://bucket[/prefix]` split and checked.
    fn destination(
        &mut self,
        raw: &Spanned<String>,
        listed: &Listed<'_>,
    ) -> Option<(String, String)> {
        let at = raw.referenced;
        let Some(rest) = raw.value.strip_prefix("s3://") else {
            self.problem(
                &at,
                "inventory.destination",
                format!(
                    "inventory destination '{}' must be s3://bucket[/prefix]",
                    raw.value
                ),
            );
            return None;
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let prefix = prefix.trim_matches('/');
        if let Err((rule, message)) = names::check_bucket(bucket) {
            self.problem(&at, rule, format!("inventory destination: {message}"));
            return None;
        }
        let plain = prefix
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
            && !prefix
                .chars()
                .any(|c| c.is_control() || "*?\\{}^%`[]\"<>~#|".contains(c));
        if !prefix.is_empty() && !plain {
            self.problem(
                &at,
                "inventory.destination",
                format!("inventory destination prefix '{prefix}' must be plain path segments (no '//', '.', '..' or wildcard characters)"),
            );
            return None;
        }
        // Inside the prefix it lists, the inventory would list itself, and
        // the retention rule and purges would delete it.
        let inside = listed.bucket == Some(bucket)
            && listed
                .prefix_dir
                .as_ref()
                .is_some_and(|dir| format!("{prefix}/").starts_with(dir.as_str()));
        if inside {
            self.problem(
                &at,
                "inventory.destination-inside-prefix",
                format!("inventory destination '{}' is inside the traces prefix it lists: the lifecycle rule and purges would delete it; use another prefix or bucket", raw.value),
            );
            return None;
        }
        Some((bucket.to_string(), prefix.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::spec::Spec;
    use crate::spec::inventory::InventoryFormat;

    fn spec(inventory: &str) -> Result<Spec, Error> {
        let text = format!(
            "project: p\nenvironments:\n  prod:\n    storage: s3\n    provider: s3-compatible\n    endpoint: http://127.0.0.1:9\n    bucket: traces-b\n    prefix: prod/traces\n    inventory: {inventory}\n"
        );
        Spec::parse(&text, "t.yaml")
    }

    #[test]
    fn a_destination_elsewhere_is_accepted_with_its_defaults() {
        let parsed = spec("{ destination: s3://inv-b/reports/ }").expect("valid");
        let Some(crate::spec::Storage::S3(s3)) =
            parsed.environment("prod").ok().map(|e| &e.storage)
        else {
            panic!("an s3 environment");
        };
        let inv = s3.inventory.as_ref().expect("inventory");
        assert_eq!(
            (inv.bucket.as_str(), inv.prefix.as_str()),
            ("inv-b", "reports")
        );
        assert_eq!(inv.format, InventoryFormat::Parquet);
        assert_eq!(inv.id, "chronotrace-ops-prod");
        assert_eq!(
            inv.reports_dir("traces-b"),
            "reports/traces-b/chronotrace-ops-prod/"
        );
        // The same bucket, outside the traces prefix, is fine too.
        assert!(spec("{ destination: s3://traces-b/inventory, format: csv }").is_ok());
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_line_and_rule() {
        let err =
            spec("{ destination: s3://traces-b/prod/traces/inv, format: orc, schedule: weekly }")
                .expect_err("invalid")
                .to_string();
        for rule in [
            "inventory.format",
            "inventory.schedule",
            "inventory.destination-inside-prefix",
        ] {
            assert!(err.contains(rule), "{rule}: {err}");
        }
        assert!(err.contains("t.yaml:9:"), "{err}");
        for (dest, rule) in [
            ("ftp://x/y", "inventory.destination"),
            ("s3://Bad_Bucket", "bucket.name"),
            ("s3://inv-b/a//b", "inventory.destination"),
        ] {
            let err = spec(&format!("{{ destination: {dest} }}"))
                .expect_err(dest)
                .to_string();
            assert!(err.contains(rule), "{dest}: {err}");
        }
    }

    #[test]
    fn inventory_applies_only_to_s3() {
        let text = "project: p\nenvironments:\n  l:\n    storage: local\n    path: /tmp/x\n    inventory: { destination: s3://inv-b }\n";
        let err = Spec::parse(text, "t.yaml")
            .expect_err("not applicable")
            .to_string();
        assert!(err.contains("spec.key-not-applicable"), "{err}");
    }
}
