//! The bucket-policy read-modify-write, confirmed by reading back (see
//! `confirmed_write` for why and how): the tool's statement, by Sid, in a
//! policy other teams may write to at the same time.

use serde_json::Value;

use super::Clients;
use super::applied::seen;
use super::applied::{Applied, done};
use super::confirmed_write::{SharedDocument, write_confirmed};
use crate::error::{Error, Result};
use crate::plan::merge::{merge_policy, statements};
use crate::plan::observed::Seen;

/// Swaps (or removes, with `None`) the tool's statement `sid` in the bucket
/// policy, keeping every other statement, and confirms it by reading back;
/// deletes the policy when no statement is left.
pub async fn policy(
    clients: &Clients,
    bucket: &str,
    sid: &str,
    ours: Option<&Value>,
) -> Result<Applied> {
    write_confirmed(&Policy {
        clients,
        bucket,
        sid,
        ours,
    })
    .await
}

/// One bucket's policy and the tool's statement for it.
struct Policy<'a> {
    clients: &'a Clients,
    bucket: &'a str,
    sid: &'a str,
    ours: Option<&'a Value>,
}

impl SharedDocument for Policy<'_> {
    /// `None`: the bucket has no policy.
    type Current = Option<Value>;

    const WRITE_ACTION: &'static str = "PutBucketPolicy";

    fn our_id(&self) -> &str {
        self.sid
    }

    fn wants_ours(&self) -> bool {
        self.ours.is_some()
    }

    fn bucket(&self) -> &str {
        self.bucket
    }

    async fn read(&self) -> Result<std::result::Result<Option<Value>, String>> {
        let (clients, bucket) = (self.clients, self.bucket);
        let current = clients.s3.get_bucket_policy().bucket(bucket).send().await;
        match seen(
            current,
            &["NoSuchBucketPolicy"],
            "GetBucketPolicy",
            clients,
            bucket,
        )? {
            Seen::Present(out) => match out.policy().map(serde_json::from_str::<Value>) {
                Some(Ok(policy)) => Ok(Ok(Some(policy))),
                Some(Err(e)) => Err(Error::cloud(format!(
                    "GetBucketPolicy {bucket}: the policy is not JSON: {e}"
                ))),
                None => Ok(Ok(None)),
            },
            Seen::Absent => Ok(Ok(None)),
            Seen::Unsupported(reason) => Ok(Err(reason)),
        }
    }

    fn ids(policy: &Option<Value>) -> Vec<String> {
        policy
            .as_ref()
            .map(statements)
            .unwrap_or_default()
            .iter()
            .filter_map(|s| s["Sid"].as_str().map(str::to_string))
            .collect()
    }

    async fn write(&self, policy: Option<Value>) -> Result<Applied> {
        let (clients, bucket) = (self.clients, self.bucket);
        match merge_policy(policy.as_ref(), self.sid, self.ours.cloned()) {
            Some(doc) => {
                let result = clients
                    .s3
                    .put_bucket_policy()
                    .bucket(bucket)
                    .policy(doc.to_string())
                    .send()
                    .await;
                done(result, "PutBucketPolicy", clients, bucket)
            }
            None => {
                let result = clients
                    .s3
                    .delete_bucket_policy()
                    .bucket(bucket)
                    .send()
                    .await;
                done(result, "DeleteBucketPolicy", clients, bucket)
            }
        }
    }
}
