//! An S3-compatible bucket as a store plugin: its traces (the listing,
//! `store::S3Store`, or the bucket's S3 Inventory, `inventory::store`), its
//! checks (`check_order`, over `checks`), and its provisioning: the bucket and its
//! settings (`provision::Provisioner`), the app's own identity on the
//! self-hosted stores (`app_identity`) with its new key written once
//! (`app_identity::key_file`), and `apply`'s closing proof that the bucket
//! still takes writes (`proof`).
//!
//! Which source a read-only scan reads: the listing (the default), or the
//! S3 Inventory (`--source inventory`, or `auto`: the inventory when its
//! newest complete manifest is fresher than 48 hours, else the listing).
//! `cleanup purge` always lists: an inventory lags by up to a day.

#![warn(unreachable_pub)]

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::app_identity::KeySink;
use super::app_identity::execute::AppSetup;
use super::app_identity::key_file::{CredentialsFile, credentials_path};
use super::inventory::store::{InventoryStore, Want};
use super::provision::Provisioner;
use super::store::S3Store;
use super::{ClientCache, Clients, Target};
use crate::app::contract::Contract;
use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::plan::desired::{Desired, DesiredBucket, DesiredTarget};
use crate::plan::observed::Observed;
use crate::plan::{Action, Plan, Resource, destroy_plan, diff};
use crate::render::store::StoreFiles;
use crate::spec::{Environment, S3Storage};
use crate::stores::items::TraceItems;
use crate::stores::{Intent, KeyOptions, Provisioned, ScanSource, Steps, Store, TraceStore};
use crate::transport::overrides::Overrides;

/// An environment whose traces live in an S3-compatible bucket.
pub(crate) struct Bucket<'a> {
    env: &'a Environment,
    s3: &'a S3Storage,
    overrides: &'a Overrides,
    clients: &'a ClientCache,
    /// Where `apply` wrote the app's key (`check` reads it back).
    state_dir: std::path::PathBuf,
}

impl<'a> Bucket<'a> {
    pub(crate) fn new(
        env: &'a Environment,
        s3: &'a S3Storage,
        overrides: &'a Overrides,
        clients: &'a ClientCache,
        state_dir: std::path::PathBuf,
    ) -> Bucket<'a> {
        Bucket {
            env,
            s3,
            overrides,
            clients,
            state_dir,
        }
    }

    /// Where the bucket's requests go.
    fn target(&self) -> Target {
        Target::with_overrides(self.s3, self.overrides)
    }

    /// The run's clients of that target (connected once per run).
    async fn clients(&self) -> Result<Clients> {
        self.clients.get(self.target()).await
    }

    async fn open_traces(
        &self,
        concurrency: usize,
        source: ScanSource,
    ) -> Result<Box<dyn TraceStore>> {
        let want = match source {
            ScanSource::Listing => return self.listing(concurrency).await,
            ScanSource::Inventory => Want::Inventory,
            ScanSource::Auto => Want::Auto,
        };
        match &self.s3.inventory {
            Some(inventory) => {
                let clients = self.clients().await?;
                let store =
                    InventoryStore::open(clients, self.s3, inventory, concurrency, want).await?;
                Ok(Box::new(store))
            }
            None if want == Want::Auto => self.listing(concurrency).await,
            None => Err(Error::usage_with_hint(
                format!(
                    "--source inventory: environment '{}' has no inventory",
                    self.env.name
                ),
                "add `inventory: { destination: s3://bucket/prefix }` to it in the spec and run `apply`",
            )),
        }
    }

    async fn listing(&self, concurrency: usize) -> Result<Box<dyn TraceStore>> {
        let clients = self.clients().await?;
        Ok(Box::new(
            S3Store::open(clients, self.s3, concurrency).await?,
        ))
    }

    async fn run_checks(&self) -> Result<Vec<CheckResult>> {
        let target = self.target();
        let endpoint = target.probe_endpoint().map_err(|e| {
            Error::usage_with_hint(
                e.to_string(),
                "an endpoint looks like https://minio.example.com or http://127.0.0.1:9000",
            )
        })?;
        crate::transport::trust::usable_bundle(self.overrides.ca_bundle())?;
        let app_key = self.s3.app_user.as_ref().and_then(|_| {
            super::app_identity::key_check::read_key(&self.state_dir, &self.env.name)
        });
        Ok(super::check_order::run_s3(
            self.env,
            self.s3,
            &target,
            &endpoint,
            self.clients(),
            app_key.as_ref(),
        )
        .await)
    }

    async fn provision_bucket(
        &self,
        intent: &Intent,
        steps: &dyn Steps,
    ) -> Result<Option<Provisioned>> {
        let desired = super::desired::desired(self.env, self.s3)?;
        let want = bucket_of(&desired)?;
        let clients = self.clients().await?;
        let keys = match intent {
            Intent::Apply(keys) => Some(keys),
            Intent::Plan | Intent::Destroy { .. } => None,
        };
        let sink = keys.and_then(|keys| self.credentials_file(keys));
        let sink = sink.as_ref().map(|s| s as &dyn KeySink);
        let provisioner = Provisioner::new(&clients, want, &self.env.name)
            .await?
            .with_app(self.app_setup(&clients, sink)?);
        let observed = provisioner.observe().await?;
        let empty = match intent {
            Intent::Plan => return Ok(Some(Provisioned::planned_only(diff(&desired, &observed)))),
            Intent::Apply(_) => false,
            Intent::Destroy { empty } => *empty,
        };
        let plan = match keys {
            Some(keys) => {
                let mut plan = diff(&desired, &observed);
                if keys.rotate {
                    rotate_key(&mut plan, &observed)?;
                }
                plan
            }
            None => {
                // Destroy must know the app's identity to remove it: refused,
                // it stops before anything, as it did when the observation
                // failed.
                if let Some(refusal) = app_refused(&observed) {
                    return Err(refusal.error());
                }
                destroy_plan(&desired, &observed)
            }
        };
        if !steps.confirm(&plan)? {
            return Ok(None);
        }
        let destroying = keys.is_none();
        if destroying {
            if !plan.has_changes() {
                return Ok(Some(Provisioned::planned_only(plan)));
            }
            let bucket_goes = plan
                .changes
                .iter()
                .any(|c| c.resource == Resource::Bucket && c.action == Action::Delete);
            if bucket_goes {
                provisioner.check_deletable(empty).await?;
            }
        }
        let done = steps.execute(&provisioner, &plan, empty).await?;
        if !destroying {
            let tls_only = want.tls_skipped.is_none();
            super::proof::writes_still_work(&clients, self.s3, &done, tls_only).await?;
        }
        Ok(Some(Provisioned {
            planned: plan,
            done,
        }))
    }

    /// The app identity's adapter and key sink, when the spec names an app user.
    fn app_setup<'k>(
        &self,
        clients: &Clients,
        keys: Option<&'k dyn KeySink>,
    ) -> Result<Option<AppSetup<'k>>> {
        Ok(
            super::app_identity::adapters::admin(clients, self.s3, &self.env.name)?.map(|admin| {
                AppSetup {
                    admin,
                    keys,
                    s3: self.s3.clone(),
                }
            }),
        )
    }

    /// The credentials file a new app key goes to (an app user in the spec).
    fn credentials_file(&self, keys: &KeyOptions) -> Option<CredentialsFile> {
        self.s3.app_user.as_ref().map(|app| CredentialsFile {
            path: credentials_path(&keys.out, &self.env.name),
            env: self.env.name.clone(),
            user: app.user.clone(),
        })
    }
}

impl Store for Bucket<'_> {
    fn location(&self) -> String {
        // With the command-line overrides: where the requests really go.
        let target = self.target();
        format!(
            "bucket {} in {} at {}",
            self.s3.bucket,
            target.region,
            target.endpoint_label()
        )
    }

    fn traces(
        &self,
        concurrency: usize,
        source: ScanSource,
    ) -> LocalBoxFuture<'_, Result<Box<dyn TraceStore>>> {
        self.open_traces(concurrency, source).boxed_local()
    }

    fn checks(&self) -> LocalBoxFuture<'_, Result<Vec<CheckResult>>> {
        self.run_checks().boxed_local()
    }

    fn provision<'a>(
        &'a self,
        intent: &'a Intent,
        steps: &'a dyn Steps,
    ) -> LocalBoxFuture<'a, Result<Option<Provisioned>>> {
        self.provision_bucket(intent, steps).boxed_local()
    }

    fn files(&self) -> Result<StoreFiles> {
        super::files::files(self.env, self.s3)
    }

    fn items(&self) -> LocalBoxFuture<'_, Result<Box<dyn TraceItems>>> {
        async move {
            let clients = self.clients().await?;
            Ok(Box::new(super::items::BucketItems::new(clients, self.s3)) as Box<dyn TraceItems>)
        }
        .boxed_local()
    }

    fn app_contract(&self) -> Contract<'_> {
        super::laravel::contract(self.s3)
    }
}

/// `--rotate-app-key`: the key change becomes a rotation; refused when
/// there is no key of the tool's to rotate.
fn rotate_key(plan: &mut Plan, observed: &Observed) -> Result<()> {
    if let Some(refusal) = app_refused(observed) {
        return Err(refusal.error());
    }
    let Observed::Bucket {
        app: Some(seen), ..
    } = observed
    else {
        return Err(Error::usage(
            "--rotate-app-key: the spec names no app user (iam: {user, policy}) for this environment",
        ));
    };
    for change in &mut plan.changes {
        if change.resource == Resource::IamAccessKey && change.action == Action::Create {
            return Ok(());
        }
        if let Some(rotation) = crate::plan::app::rotation(change, seen) {
            *change = rotation;
            return Ok(());
        }
    }
    Err(Error::usage(
        "--rotate-app-key: the app user is not chronotrace-ops's, or has no key to rotate",
    ))
}

/// Why the run may not manage the app's identity, when it may not.
fn app_refused(observed: &Observed) -> Option<&crate::plan::observed::Refusal> {
    match observed {
        Observed::Bucket {
            app: Some(seen), ..
        } => seen.refused.as_ref(),
        _ => None,
    }
}

/// The bucket of an S3 environment's desired state.
fn bucket_of(desired: &Desired) -> Result<&DesiredBucket> {
    match &desired.target {
        DesiredTarget::Bucket(b) => Ok(b),
        DesiredTarget::Local { .. } | DesiredTarget::Database(_) => {
            Err(Error::usage("no bucket in the spec"))
        }
    }
}
