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
//! `apply` would be refused; `app_user: false` plans no user at all.

#![warn(unreachable_pub)]

use std::path::PathBuf;

use futures::FutureExt;
use futures::future::LocalBoxFuture;

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

    async fn connect(&self) -> Result<Redis> {
        Redis::connect(
            self.spec,
            self.overrides.timeouts(),
            self.overrides.ca_bundle(),
        )
        .await
    }

    async fn provision_user(
        &self,
        intent: &Intent,
        steps: &dyn Steps,
    ) -> Result<Option<Provisioned>> {
        let redis = self.connect().await?;
        let user = AclUser {
            redis,
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

/// The app's ACL user on one server: observed, planned, made.
struct AclUser {
    redis: Redis,
    spec: RedisStorage,
    env: String,
    /// Where a new password goes (`apply` only).
    out: Option<PathBuf>,
}

impl AclUser {
    /// The change `apply` would make to the ACL user.
    /// (none with `app_user: false`; a note when the connection may not
    /// manage ACL users).
    async fn diff(&self) -> Result<Option<Change>> {
        if !self.spec.app_user {
            return Ok(None);
        }
        let want = acl::desired(&self.spec, &self.env);
        let change = match acl::observe(&self.redis, &acl::user_name(&self.env)).await? {
            acl::Seen::Refused(why) => {
                Change::noted(Resource::RedisAclUser, format!("not planned: {why}"))
            }
            acl::Seen::Absent => Change {
                after: Some(want),
                ..Change::new(Resource::RedisAclUser, Action::Create)
            },
            acl::Seen::Present(seen) if acl::matches(&seen, &want) => {
                Change::new(Resource::RedisAclUser, Action::None)
            }
            acl::Seen::Present(seen) => Change {
                before: Some(seen),
                after: Some(want),
                ..Change::new(Resource::RedisAclUser, Action::Update)
            },
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
        Ok(Some(match acl::observe(&self.redis, &user).await? {
            // Whether the user is there is unknown: an error, as the refused
            // command was before, rather than a silent success.
            acl::Seen::Refused(why) => {
                return Err(crate::error::Error::cloud(format!(
                    "destroy of {user}: {why}"
                )));
            }
            acl::Seen::Present(seen) => Change {
                before: Some(seen),
                ..Change::new(Resource::RedisAclUser, Action::Delete)
            },
            acl::Seen::Absent => {
                Change::new(Resource::RedisAclUser, Action::None).with_note("no such user")
            }
        }))
    }

    /// A new user: its password written once to the credentials file
    /// first, the file removed again if the user cannot be made.
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
        if let Err(e) = acl::set_user(&self.redis, &self.spec, &self.env, Some(&password)).await {
            credentials_file::discard(&file);
            return Err(e);
        }
        Ok(Applied::Noted(format!(
            "password written to {}",
            file.display()
        )))
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
                    acl::set_user(&self.redis, &self.spec, &self.env, None).await?;
                    Ok(Applied::Noted(
                        "keys and commands rewritten; the password is kept".into(),
                    ))
                }
                Action::Delete => {
                    acl::delete_user(&self.redis, &self.env).await?;
                    Ok(Applied::Done)
                }
                _ => Ok(Applied::Done),
            }
        }
        .boxed_local()
    }
}
