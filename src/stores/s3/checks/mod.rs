//! The checks of an S3-compatible store that need signed requests:
//! `identity` (STS), `bucket`, `probe` (write, read, delete), `retention`
//! (the lifecycle rule), `security` (public access, ACLs, policy: judged by
//! `policy`), `iam` (policy simulation). Each returns `check` results.

pub mod bucket;
pub mod iam;
pub mod identity;
pub mod policy;
pub mod privilege;
pub mod probe;
pub mod retention;
pub mod security;
