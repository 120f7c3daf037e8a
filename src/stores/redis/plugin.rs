//! A Redis server (the seed's `RedisTraceStorage`) as a store plugin: its
//! traces (`store::RedisStore`: the index and the keys), its checks
//! (`checks`), and its one provisioned resource, the app's ACL user
//! (`acl`), through the same plan → confirm → execute as every store.
//! `apply` creates the user with a generated password written once to
//! `{out}/app-credentials.<env>.env` (0600, never printed, never
//! overwritten: the file is created before the user, and removed if the
//! user cannot be), or rewrites its keys and commands when they drifted
//! (keeping its password). `destroy` deletes only that user. A connection
//! that may not manage ACL users gets a note in the plan, not a change
//! `apply` would be refused; `app_user: false` plans no user at all. On a
//! Redis Cluster, ACL users are per node: the user is observed, made,
//! updated and deleted on every node, masters and replicas, and a node
//! that lacks it is given the others' password (its hash).

#![warn(unreachable_pub)]

use std::path::PathBuf;

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::cluster::Nodes;
use super::store::RedisStore;
use super::{Redis, acl};
use crate::app::contract::{Contract, Driver, Expiry};
use crate::check::CheckResult;
use crate::credentials_file;
use crate::error::Result;
use crate::plan::{Action, Change, Plan, Resource};
use crate::render::store::StoreFiles;
use crate::secret::Secret;
use crate::spec::{Environment, RedisStorage};
use crate::stores::items::TraceItems;
use crate::stores::{
    Applied, Intent, Provision, Provisioned, ScanSource, Steps, Store, TraceStore,
};
use crate::transport::overrides::Overrides;

/// An environment whose traces live in Redis keys.
pub(crate) struct RedisKeys<'a> {
    env: &'a Environment,
    spec: &'a RedisStorage,
    overrides: &'a Overrides,
}

impl<'a> RedisKeys<'a> {
    pub(crate) fn new(
        env: &'a Environment,
        spec: &'a RedisStorage,
        overrides: &'a Overrides,
    ) -> RedisKeys<'a> {
        RedisKeys {
            env,
            spec,
            overrides,
        }
    }

    /// The server, or every node of the cluster.
    async fn connect_every_node(&self) -> Result<Vec<Redis>> {
        let (timeouts, ca_bundle) = (self.overrides.timeouts(), self.overrides.ca_bundle());
        let nodes = Nodes::open(self.spec, timeouts, ca_bundle).await?;
        if self.spec.cluster {
            nodes.every_node(self.spec, timeouts, ca_bundle).await
        } else {
            Ok(nodes.masters)
        }
    }

    async fn provision_user(
        &self,
        intent: &Intent,
        steps: &dyn Steps,
    ) -> Result<Option<Provisioned>> {
        let nodes = self.connect_every_node().await?;
        let user = AclUser {
            nodes,
            spec: self.spec.clone(),
            env: self.env.name.clone(),
            out: match intent {
                Intent::Apply(keys) => Some(keys.out.clone()),
                Intent::Plan | Intent::Destroy { .. } => None,
            },
        };
        let change = match intent {
            Intent::Plan | Intent::Apply(_) => user.diff().await?,
            Intent::Destroy { .. } => user.removal().await?,
        };
        let plan = Plan {
            env: self.env.name.clone(),
            changes: change.into_iter().collect(),
        };
        if let Intent::Plan = intent {
            return Ok(Some(Provisioned::planned_only(plan)));
        }
        if !steps.confirm(&plan)? {
            return Ok(None);
        }
        let done = steps.execute(&user, &plan, false).await?;
        Ok(Some(Provisioned {
            planned: plan,
            done,
        }))
    }
}

impl Store for RedisKeys<'_> {
    fn location(&self) -> String {
        format!("redis {} keys {}*", self.spec.url, self.spec.key_prefix)
    }

    fn traces(
        &self,
        _concurrency: usize,
        source: ScanSource,
    ) -> LocalBoxFuture<'_, Result<Box<dyn TraceStore>>> {
        async move {
            source.listing_only(&self.env.name, "a Redis store")?;
            let store = RedisStore::open(
                self.spec,
                self.overrides.timeouts(),
                self.overrides.ca_bundle(),
            )
            .await?;
            Ok(Box::new(store) as Box<dyn TraceStore>)
        }
        .boxed_local()
    }

    fn checks(&self) -> LocalBoxFuture<'_, Result<Vec<CheckResult>>> {
        async move {
            if self.spec.is_tls() {
                crate::transport::trust::usable_bundle(self.overrides.ca_bundle())?;
            }
            Ok(super::checks::check(
                self.spec,
                self.env.retention_days,
                self.overrides.timeouts(),
                self.overrides.ca_bundle(),
            )
            .await)
        }
        .boxed_local()
    }

    fn provision<'a>(
        &'a self,
        intent: &'a Intent,
        steps: &'a dyn Steps,
    ) -> LocalBoxFuture<'a, Result<Option<Provisioned>>> {
        self.provision_user(intent, steps).boxed_local()
    }

    fn files(&self) -> Result<StoreFiles> {
        // The TTL the tool sets is judged by `check`; what the app's `.env`
        // names as the retention is the scheduled purge.
        Ok(StoreFiles {
            settings: vec![
                ("CHRONOTRACE_STORAGE".into(), "redis".into()),
                ("REDIS_URL".into(), self.spec.url.clone()),
            ],
            ..StoreFiles::default()
        })
    }

    fn items(&self) -> LocalBoxFuture<'_, Result<Box<dyn TraceItems>>> {
        async move {
            let nodes = super::cluster::Nodes::open(
                self.spec,
                self.overrides.timeouts(),
                self.overrides.ca_bundle(),
            )
            .await?;
            let items = super::items::RedisItems::new(nodes, self.spec, self.env.retention_days);
            Ok(Box::new(items) as Box<dyn TraceItems>)
        }
        .boxed_local()
    }

    fn app_contract(&self) -> Contract<'_> {
        Contract {
            // The seed's RedisTraceStorage is a class the app binds itself.
            driver: Driver::Skipped(
                "storage: redis is the app's own RedisTraceStorage class, bound in its service provider",
            ),
            expiry: Expiry::Store("the keys' TTL and `cleanup purge` expire traces"),
            checks: None,
        }
    }
}

/// The app's ACL user on one server (or every node of a cluster):
/// observed, planned, made.
struct AclUser {
    nodes: Vec<Redis>,
    spec: RedisStorage,
    env: String,
    /// Where a new password goes (`apply` only).
    out: Option<PathBuf>,
}

impl AclUser {
    /// The user as each node has it, or why a node may not manage it.
    async fn observe(&self) -> Result<Vec<acl::Seen>> {
        let name = acl::user_name(&self.env);
        let mut seen = Vec::with_capacity(self.nodes.len());
        for redis in &self.nodes {
            seen.push(match acl::observe(redis, &name).await? {
                // Which node refused, when there are several.
                acl::Seen::Refused(why) if self.nodes.len() > 1 => {
                    acl::Seen::Refused(format!("{}: {why}", redis.label))
                }
                other => other,
            });
        }
        Ok(seen)
    }

    /// The change `apply` would make to the ACL user.
    /// (none with `app_user: false`; a note when the connection may not
    /// manage ACL users). On a cluster, a user missing on some nodes or
    /// different on one is an update (of every node).
    async fn diff(&self) -> Result<Option<Change>> {
        if !self.spec.app_user {
            return Ok(None);
        }
        let want = acl::desired(&self.spec, &self.env);
        let seen = self.observe().await?;
        if let Some(why) = seen.iter().find_map(|s| match s {
            acl::Seen::Refused(why) => Some(why),
            _ => None,
        }) {
            return Ok(Some(Change::noted(
                Resource::RedisAclUser,
                format!("not planned: {why}"),
            )));
        }
        let present: Vec<&serde_json::Value> = seen
            .iter()
            .filter_map(|s| match s {
                acl::Seen::Present(v) => Some(v),
                _ => None,
            })
            .collect();
        let missing: Vec<&str> = self
            .nodes
            .iter()
            .zip(&seen)
            .filter(|(_, s)| matches!(s, acl::Seen::Absent))
            .map(|(n, _)| n.label.as_str())
            .collect();
        let change = if present.is_empty() {
            Change {
                after: Some(want),
                ..Change::new(Resource::RedisAclUser, Action::Create)
            }
        } else if missing.is_empty() && present.iter().all(|v| acl::matches(v, &want)) {
            Change::new(Resource::RedisAclUser, Action::None)
        } else {
            let differing = present
                .iter()
                .find(|v| !acl::matches(v, &want))
                .unwrap_or(&present[0]);
            let change = Change {
                before: Some((*differing).clone()),
                after: Some(want),
                ..Change::new(Resource::RedisAclUser, Action::Update)
            };
            if missing.is_empty() {
                change
            } else {
                change.with_note(format!(
                    "missing on {} (it gets the other nodes' password)",
                    missing.join(", ")
                ))
            }
        };
        Ok(Some(change))
    }

    /// The change `destroy` would make: the user goes, when there is one
    /// (and the spec lets the tool manage it).
    async fn removal(&self) -> Result<Option<Change>> {
        if !self.spec.app_user {
            return Ok(Some(Change::noted(
                Resource::RedisAclUser,
                "not managed: app_user: false in the spec",
            )));
        }
        let user = acl::user_name(&self.env);
        let seen = self.observe().await?;
        // Whether the user is there is unknown: an error, as the refused
        // command was before, rather than a silent success.
        if let Some(why) = seen.iter().find_map(|s| match s {
            acl::Seen::Refused(why) => Some(why),
            _ => None,
        }) {
            return Err(crate::error::Error::cloud(format!(
                "destroy of {user}: {why}"
            )));
        }
        Ok(Some(
            match seen.into_iter().find_map(|s| match s {
                acl::Seen::Present(v) => Some(v),
                _ => None,
            }) {
                Some(seen) => Change {
                    before: Some(seen),
                    ..Change::new(Resource::RedisAclUser, Action::Delete)
                },
                None => Change::new(Resource::RedisAclUser, Action::None).with_note("no such user"),
            },
        ))
    }

    /// A new user: its password written once to the credentials file
    /// first, the file removed again (and the user from the nodes that
    /// had it made) if the user cannot be made on every node.
    async fn create(&self) -> Result<Applied> {
        let Some(out) = &self.out else {
            return Err(crate::error::Error::usage(
                "a new ACL user needs a folder for its password (apply --out)",
            ));
        };
        let password = Secret::new(credentials_file::random_hex(32)?);
        let user = acl::user_name(&self.env);
        let entries = [
            ("REDIS_USERNAME", user.as_str()),
            ("REDIS_PASSWORD", password.expose()),
        ];
        let file = credentials_file::write_once(out, &self.env, &entries)?;
        for (made, redis) in self.nodes.iter().enumerate() {
            let set = acl::set_user(redis, &self.spec, &self.env, acl::Password::New(&password));
            if let Err(e) = set.await {
                for undo in self.nodes.iter().take(made) {
                    let _ = acl::delete_user(undo, &self.env).await;
                }
                credentials_file::discard(&file);
                return Err(e);
            }
        }
        Ok(Applied::Noted(format!(
            "password written to {}",
            file.display()
        )))
    }

    /// Rewrites the keys and commands on every node, keeping the
    /// password; a node without the user gets it with the password
    /// another node keeps (its hash).
    async fn update(&self) -> Result<()> {
        let name = acl::user_name(&self.env);
        let seen = self.observe().await?;
        let mut hashes = Vec::new();
        for (redis, s) in self.nodes.iter().zip(&seen) {
            if matches!(s, acl::Seen::Present(_)) {
                hashes = acl::password_hashes(redis, &name).await?;
                break;
            }
        }
        for (redis, s) in self.nodes.iter().zip(&seen) {
            let password = match s {
                acl::Seen::Absent => acl::Password::Hashes(&hashes),
                _ => acl::Password::Kept,
            };
            acl::set_user(redis, &self.spec, &self.env, password).await?;
        }
        Ok(())
    }
}

impl Provision for AclUser {
    fn execute<'a>(
        &'a self,
        change: &'a Change,
        _empty: bool,
    ) -> LocalBoxFuture<'a, Result<Applied>> {
        async move {
            match change.action {
                Action::Create => self.create().await,
                Action::Update => {
                    self.update().await?;
                    Ok(Applied::Noted(
                        "keys and commands rewritten; the password is kept".into(),
                    ))
                }
                Action::Delete => {
                    for redis in &self.nodes {
                        acl::delete_user(redis, &self.env).await?;
                    }
                    Ok(Applied::Done)
                }
                _ => Ok(Applied::Done),
            }
        }
        .boxed_local()
    }
}
