//! Google Cloud Storage (the seed's `GcsTraceStorage`): a bucket's
//! `{prefix}/` over the JSON API. `auth`: the service-account key file and
//! the token exchange; `checks`: the verdicts on the bucket's settings
//! and lifecycle rule; `client`: the JSON API calls (the only code that
//! talks to the server); `items`: its traces one at a time for
//! `migrate`; `layout`: where a trace sits and its age;
//! `store`: the scan, purge and probe; `plugin`: the store as `ops` sees
//! it; `provision`: the bucket, its settings and the tool's lifecycle
//! rule (the app's IAM binding is not built yet).

pub(crate) mod auth;
pub(crate) mod checks;
pub(crate) mod client;
pub(crate) mod items;
pub(crate) mod layout;
pub(crate) mod plugin;
pub(crate) mod provision;
pub(crate) mod store;
