//! The local disk as a store plugin: its traces (`store::LocalStore`), its
//! checks (`check`, and the other Laravel root of `stray`), and what
//! provisioning does there: `{path}/traces/` with mode 0750
//! (`store::LocalDir`) and, on a share (`mount:`), the marker at its root
//! (`mount`), refused when the share is not mounted. Nothing to destroy: the tool never deletes a
//! directory it did not make, and traces go through `cleanup purge`, which
//! is also the store's retention (the app's `.env` and `app.package` say
//! so).

#![warn(unreachable_pub)]

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::store::{LocalDir, LocalStore};
use crate::app::contract::{Contract, Driver, Expiry};
use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::plan::desired::{Desired, DesiredTarget};
use crate::plan::diff;
use crate::render::store::StoreFiles;
use crate::report::Report;
use crate::spec::{Environment, LocalStorage};
use crate::stores::items::TraceItems;
use crate::stores::{Intent, Provision, Provisioned, ScanSource, Steps, Store, TraceStore};

/// An environment whose traces live on the local disk (or a mounted share).
#[derive(Debug)]
pub(crate) struct LocalDisk<'a> {
    env: &'a Environment,
    local: &'a LocalStorage,
}

impl<'a> LocalDisk<'a> {
    pub(crate) fn new(env: &'a Environment, local: &'a LocalStorage) -> LocalDisk<'a> {
        LocalDisk { env, local }
    }

    async fn provision_dir(
        &self,
        intent: &Intent,
        steps: &dyn Steps,
    ) -> Result<Option<Provisioned>> {
        if let Intent::Destroy { .. } = intent {
            return Err(Error::usage_with_hint(
                format!(
                    "environment '{}' keeps traces on local disk ({}): destroy removes only cloud resources",
                    self.env.name,
                    self.local.path.display()
                ),
                "delete the directory yourself if you mean to; `cleanup purge` removes old traces",
            ));
        }
        let desired = Desired {
            env: self.env.name.clone(),
            target: DesiredTarget::Local {
                traces_dir: self.local.traces_dir(),
            },
        };
        let dir = LocalDir {
            traces_dir: self.local.traces_dir(),
            share: self
                .local
                .mount
                .clone()
                .map(|want| (self.local.path.clone(), want)),
        };
        let mut plan = diff(&desired, &dir.observe());
        if let Some(want) = &self.local.mount {
            // The marker first: a share that is not mounted stops everything.
            let marker = super::mount::marker_change(&self.local.path, want)?;
            plan.changes.insert(0, marker);
        }
        if let Intent::Plan = intent {
            return Ok(Some(Provisioned::planned_only(plan)));
        }
        if !steps.confirm(&plan)? {
            return Ok(None);
        }
        // One directory, made at once and silently (the plan on stdout says
        // it all): no progress lines, nothing an interruption could split.
        for change in plan.changes.iter().filter(|c| c.pending()) {
            dir.execute(change, false).await?;
        }
        Ok(Some(Provisioned::planned_only(plan)))
    }
}

impl Store for LocalDisk<'_> {
    fn location(&self) -> String {
        format!("local disk {}", self.local.path.display())
    }

    fn traces(
        &self,
        _concurrency: usize,
        source: ScanSource,
    ) -> LocalBoxFuture<'_, Result<Box<dyn TraceStore>>> {
        let opened = source
            .listing_only(&self.env.name, "a local disk")
            .map(|()| Box::new(LocalStore::new(self.local)) as Box<dyn TraceStore>);
        futures::future::ready(opened).boxed_local()
    }

    fn checks(&self) -> LocalBoxFuture<'_, Result<Vec<CheckResult>>> {
        let mut checks = super::check::check(self.local);
        // Traces under the other Laravel root fail the store's check too.
        checks.push(super::stray::check(self.local));
        futures::future::ready(Ok(checks)).boxed_local()
    }

    fn provision<'a>(
        &'a self,
        intent: &'a Intent,
        steps: &'a dyn Steps,
    ) -> LocalBoxFuture<'a, Result<Option<Provisioned>>> {
        self.provision_dir(intent, steps).boxed_local()
    }

    fn elsewhere(&self) -> Option<super::stray::Stray> {
        super::stray::find(self.local)
    }

    fn amend_report(&self, report: &mut Report) {
        super::stray::amend(report, self.local);
    }

    fn files(&self) -> Result<StoreFiles> {
        let artifacts = match &self.local.mount {
            Some(share) => super::mount_files::files(&self.env.name, self.local, share)?,
            None => Vec::new(),
        };
        Ok(StoreFiles {
            settings: vec![("CHRONOTRACE_STORAGE".into(), "local".into())],
            local_traces_dir: Some(self.local.traces_dir().display().to_string()),
            artifacts,
            ..StoreFiles::default()
        })
    }

    fn items(&self) -> LocalBoxFuture<'_, Result<Box<dyn TraceItems>>> {
        let items = Box::new(super::items::LocalItems::new(self.local)) as Box<dyn TraceItems>;
        futures::future::ready(Ok(items)).boxed_local()
    }

    fn app_contract(&self) -> Contract<'_> {
        Contract {
            driver: Driver::Setting {
                value: "local",
                fix: "set CHRONOTRACE_STORAGE=local",
            },
            expiry: Expiry::Purge,
            checks: None,
        }
    }
}
