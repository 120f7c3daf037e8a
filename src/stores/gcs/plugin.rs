//! A GCS bucket as a store plugin: its traces (`store::GcsStore`), its
//! checks (the token exchange, the app's project-wide bindings, the
//! bucket, its settings and lifecycle rule judged by `checks`, the app's
//! permissions tested as the app, the probe under `{prefix}/_probe/`), its
//! provisioning (`provision`), its traces one at a time for `migrate`
//! (`items`); traces expire through `cleanup purge` and
//! the lifecycle rule.

#![warn(unreachable_pub)]

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::auth::{APP_KEY_FILE_ENV, Credentials, ServiceAccount};
use super::checks::APP_PERMISSIONS;
use super::client::Gcs;
use super::provision::Provisioner;
use super::store::GcsStore;
use crate::app::contract::{Contract, Driver, Expiry};
use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::render::store::StoreFiles;
use crate::spec::{Environment, GcsStorage};
use crate::stores::items::TraceItems;
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

    /// The run's HTTP client (its trust and time limits).
    fn rest(&self) -> Result<RestClient> {
        let tls =
            crate::transport::trust::client_config(self.overrides.ca_bundle()).map_err(|e| {
                Error::usage_with_hint(e.to_string(), crate::transport::trust::BUNDLE_HINT)
            })?;
        Ok(RestClient::new(tls, self.overrides.timeouts()))
    }

    /// The connection: the key file read and checked, nothing sent yet.
    fn connect(&self) -> Result<Gcs> {
        let account = Credentials::from_env()?;
        let rest = self.rest()?;
        Ok(Gcs::new(rest, account, self.spec.endpoint.as_deref()))
    }

    /// A connection as the app's own identity, from the key file
    /// `APP_KEY_FILE_ENV` names; `None` when it names none.
    fn connect_as_app(&self) -> Result<Option<Gcs>> {
        let Some(path) = std::env::var_os(APP_KEY_FILE_ENV).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let account =
            ServiceAccount::from_file(std::path::Path::new(&path)).map(Credentials::Key)?;
        let rest = self.rest()?;
        Ok(Some(Gcs::new(rest, account, self.spec.endpoint.as_deref())))
    }

    /// `gcs.project-binding`: the app's roles on the whole project.
    async fn project_check(&self, gcs: &Gcs, account: &str) -> CheckResult {
        const ID: &str = "gcs.project-binding";
        let Some(project) = self.spec.project.as_deref() else {
            return CheckResult::skip(
                ID,
                "no `project:` in the spec: the project's IAM policy was not read",
            );
        };
        match gcs.project_iam_policy(project).await {
            Ok(answer) => super::checks::project_binding(self.spec, account, project, &answer),
            Err(e) => CheckResult::fail(ID, e.to_string()),
        }
    }

    /// `gcs.app-permissions`: as the app, `testIamPermissions` on an
    /// object the operator writes under `{prefix}/_probe/` (and deletes
    /// after) and on the whole bucket.
    async fn app_permissions_check(&self, gcs: &Gcs, account: &str) -> CheckResult {
        const ID: &str = "gcs.app-permissions";
        let app = match self.connect_as_app() {
            Ok(Some(app)) => app,
            Ok(None) => {
                return CheckResult::skip(
                    ID,
                    format!(
                        "set {APP_KEY_FILE_ENV} to the app's key file to test its permissions as the app"
                    ),
                );
            }
            Err(e) => return CheckResult::fail(ID, e.to_string()),
        };
        if app.client_email() != account {
            return CheckResult::fail(
                ID,
                format!(
                    "{APP_KEY_FILE_ENV} is a key of {}, the spec's iam.service_account is {account}",
                    app.client_email()
                ),
            );
        }
        let bucket = &self.spec.bucket;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let inside = format!("{}_probe/iam-{stamp}.json", self.spec.prefix.dir());
        let tested = async {
            gcs.upload(bucket, &inside, b"{}".to_vec()).await?;
            let held_inside = app
                .held_permissions(bucket, Some(&inside), &APP_PERMISSIONS)
                .await;
            let held_outside = app.held_permissions(bucket, None, &APP_PERMISSIONS).await;
            // The tool's own object goes whatever the answers were.
            gcs.delete(bucket, &inside, None).await?;
            Ok::<_, Error>((held_inside?, held_outside?))
        };
        match tested.await {
            Ok((held_inside, held_outside)) => super::checks::app_permissions(
                self.spec,
                account,
                held_inside.as_deref(),
                held_outside.as_deref(),
            ),
            Err(e) => CheckResult::fail(ID, e.to_string()),
        }
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
        if let Some(account) = &self.spec.service_account {
            checks.push(self.project_check(&gcs, account).await);
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
        if let Some(account) = &self.spec.service_account {
            checks.push(self.app_permissions_check(&gcs, account).await);
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

    fn items(&self) -> LocalBoxFuture<'_, Result<Box<dyn TraceItems>>> {
        let opened = self.connect().map(|gcs| {
            Box::new(super::items::GcsItems::new(gcs, self.spec)) as Box<dyn TraceItems>
        });
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
