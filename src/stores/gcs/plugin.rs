//! A GCS bucket as a store plugin: its traces (`store::GcsStore`), its
//! checks (the token exchange, the bucket, its settings and lifecycle rule
//! judged by `checks`, the probe under `{prefix}/_probe/`). Provisioning (`plan`, `apply`, `destroy`) is not
//! built yet and says so; traces expire through `cleanup purge`.

#![warn(unreachable_pub)]

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::auth::ServiceAccount;
use super::client::Gcs;
use super::provision::Provisioner;
use super::store::GcsStore;
use crate::app::contract::{Contract, Driver, Expiry};
use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::render::store::StoreFiles;
use crate::spec::{Environment, GcsStorage};
use crate::stores::{Intent, Provisioned, ScanSource, Steps, Store, TraceStore};
use crate::transport::overrides::Overrides;
use crate::transport::rest::RestClient;

/// An environment whose traces live in a GCS bucket.
#[derive(Debug)]
pub(crate) struct GcsBucket<'a> {
    env: &'a Environment,
    spec: &'a GcsStorage,
    overrides: &'a Overrides,
}

impl<'a> GcsBucket<'a> {
    pub(crate) fn new(
        env: &'a Environment,
        spec: &'a GcsStorage,
        overrides: &'a Overrides,
    ) -> GcsBucket<'a> {
        GcsBucket {
            env,
            spec,
            overrides,
        }
    }

    /// The connection: the key file read and checked, nothing sent yet.
    fn connect(&self) -> Result<Gcs> {
        let account = ServiceAccount::from_env()?;
        let tls =
            crate::transport::trust::client_config(self.overrides.ca_bundle()).map_err(|e| {
                Error::usage_with_hint(e.to_string(), crate::transport::trust::BUNDLE_HINT)
            })?;
        let rest = RestClient::new(tls, self.overrides.timeouts());
        Ok(Gcs::new(rest, account, self.spec.endpoint.as_deref()))
    }

    async fn run_checks(&self) -> Result<Vec<CheckResult>> {
        let gcs = self.connect()?;
        let mut checks = Vec::new();
        match gcs.token().await {
            Ok(_) => checks.push(CheckResult::pass(
                "gcs.token",
                format!("a token for {}", gcs.client_email()),
            )),
            Err(e) => {
                checks.push(CheckResult::fail("gcs.token", e.to_string()));
                return Ok(checks);
            }
        }
        match gcs.bucket(&self.spec.bucket).await {
            Ok(Some(bucket)) => {
                checks.push(CheckResult::pass(
                    "gcs.bucket",
                    format!("bucket {} exists", self.spec.bucket),
                ));
                // fake-gcs-server serves no IAM: the check says it could
                // not read the policy rather than guessing.
                let policy = gcs.iam_policy(&self.spec.bucket).await.ok().flatten();
                checks.extend(super::checks::bucket_checks(
                    self.spec,
                    self.env.retention_days,
                    &bucket,
                    policy.as_ref(),
                ));
            }
            Ok(None) => {
                checks.push(
                    CheckResult::fail("gcs.bucket", format!("no bucket {}", self.spec.bucket))
                        .with_hint("create it (provisioning of GCS buckets is not built yet)"),
                );
                return Ok(checks);
            }
            Err(e) => {
                checks.push(CheckResult::fail("gcs.bucket", e.to_string()));
                return Ok(checks);
            }
        }
        let store = GcsStore::new(gcs, self.spec, 1);
        checks.push(store.probe().await);
        Ok(checks)
    }
}

impl Store for GcsBucket<'_> {
    fn location(&self) -> String {
        let at = self
            .spec
            .endpoint
            .as_deref()
            .unwrap_or(super::client::GOOGLE_ENDPOINT);
        format!("GCS bucket {} at {at}", self.spec.bucket)
    }

    fn traces(
        &self,
        concurrency: usize,
        source: ScanSource,
    ) -> LocalBoxFuture<'_, Result<Box<dyn TraceStore>>> {
        let opened = source
            .listing_only(&self.env.name, "a GCS bucket")
            .and_then(|()| self.connect())
            .map(|gcs| Box::new(GcsStore::new(gcs, self.spec, concurrency)) as Box<dyn TraceStore>);
        futures::future::ready(opened).boxed_local()
    }

    fn checks(&self) -> LocalBoxFuture<'_, Result<Vec<CheckResult>>> {
        self.run_checks().boxed_local()
    }

    fn provision<'a>(
        &'a self,
        intent: &'a Intent,
        steps: &'a dyn Steps,
    ) -> LocalBoxFuture<'a, Result<Option<Provisioned>>> {
        async move {
            let provisioner = Provisioner {
                gcs: self.connect()?,
                spec: self.spec,
                retention_days: self.env.retention_days,
            };
            let plan = match intent {
                Intent::Plan | Intent::Apply(_) => provisioner.plan(&self.env.name).await?,
                Intent::Destroy { .. } => provisioner.removal(&self.env.name).await?,
            };
            if let Intent::Plan = intent {
                return Ok(Some(Provisioned::planned_only(plan)));
            }
            if !steps.confirm(&plan)? {
                return Ok(None);
            }
            let done = steps.execute(&provisioner, &plan, false).await?;
            Ok(Some(Provisioned {
                planned: plan,
                done,
            }))
        }
        .boxed_local()
    }

    fn files(&self) -> Result<StoreFiles> {
        Ok(StoreFiles {
            settings: vec![
                ("CHRONOTRACE_STORAGE".into(), "gcs".into()),
                (
                    "GOOGLE_CLOUD_STORAGE_BUCKET".into(),
                    self.spec.bucket.clone(),
                ),
            ],
            ..StoreFiles::default()
        })
    }

    fn app_contract(&self) -> Contract<'_> {
        Contract {
            // The seed's GcsTraceStorage is a class the app binds itself.
            driver: Driver::Skipped(
                "storage: gcs is the app's own GcsTraceStorage class, bound in its service provider",
            ),
            expiry: Expiry::Purge,
            checks: None,
        }
    }
}
