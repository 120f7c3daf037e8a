//! A hybrid pair as a store plugin: its tiers are two other environments'
//! stores (opened by `stores::open`), its traces `store::HybridTraces`, its
//! checks each tier's plus the pair's own (`checks`), its provisioning
//! each tier's in turn (`destroy` is each tier's own).

#![warn(unreachable_pub)]

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::store::HybridTraces;
use crate::app::contract::{Contract, Driver, Expiry};
use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::render::store::StoreFiles;
use crate::spec::{Environment, HybridStorage};
use crate::stores::items::TraceItems;
use crate::stores::{Intent, Provisioned, ScanSource, Steps, Store, TraceStore};

/// A hybrid environment and its two tiers' stores.
pub(crate) struct HybridPair<'a> {
    env: &'a Environment,
    hybrid: &'a HybridStorage,
    hot: Box<dyn Store + 'a>,
    cold: Box<dyn Store + 'a>,
}

impl<'a> HybridPair<'a> {
    pub(crate) fn new(
        env: &'a Environment,
        hybrid: &'a HybridStorage,
        hot: Box<dyn Store + 'a>,
        cold: Box<dyn Store + 'a>,
    ) -> HybridPair<'a> {
        HybridPair {
            env,
            hybrid,
            hot,
            cold,
        }
    }

    async fn open_traces(&self, concurrency: usize) -> Result<Box<dyn TraceStore>> {
        Ok(Box::new(HybridTraces {
            hot: self.hot.traces(concurrency, ScanSource::Listing).await?,
            cold: self.cold.traces(concurrency, ScanSource::Listing).await?,
            hot_items: self.hot.items().await?,
            cold_items: self.cold.items().await?,
            hybrid: self.hybrid.clone(),
            concurrency,
        }))
    }

    /// `plan` and `apply`: each tier's, hot then cold, one plan after the
    /// other (each confirmed and executed by its store), reported as one.
    /// `destroy` is refused: a pair's tiers may serve other environments,
    /// so each is destroyed on its own.
    async fn provision_tiers(
        &self,
        intent: &Intent,
        steps: &dyn Steps,
    ) -> Result<Option<Provisioned>> {
        if matches!(intent, Intent::Destroy { .. }) {
            return Err(Error::usage_with_hint(
                format!(
                    "environment '{}' is a hybrid pair: destroy each tier on its own",
                    self.env.name
                ),
                format!(
                    "`destroy -e {}` and `destroy -e {}`, once nothing else uses them",
                    self.hybrid.hot.name, self.hybrid.cold.name
                ),
            ));
        }
        let Some(hot) = self.hot.provision(intent, steps).await? else {
            return Ok(None);
        };
        let Some(cold) = self.cold.provision(intent, steps).await? else {
            // The hot tier's changes were made: say so.
            return Ok(Some(self.as_pair(hot, None)));
        };
        Ok(Some(self.as_pair(hot, Some(cold))))
    }

    /// The tiers' plans as the pair's.
    fn as_pair(&self, hot: Provisioned, cold: Option<Provisioned>) -> Provisioned {
        let mut planned = hot.planned;
        let mut done = hot.done;
        planned.env = self.env.name.clone();
        done.env = self.env.name.clone();
        if let Some(cold) = cold {
            planned.changes.extend(cold.planned.changes);
            done.changes.extend(cold.done.changes);
        }
        Provisioned { planned, done }
    }

    async fn all_checks(&self) -> Result<Vec<CheckResult>> {
        let mut checks = super::checks::pair_checks(self.env, self.hybrid);
        checks.extend(self.hot.checks().await?);
        checks.extend(self.cold.checks().await?);
        Ok(checks)
    }
}

impl Store for HybridPair<'_> {
    fn location(&self) -> String {
        format!(
            "hybrid: hot {} → cold {}",
            self.hot.location(),
            self.cold.location()
        )
    }

    fn traces(
        &self,
        concurrency: usize,
        source: ScanSource,
    ) -> LocalBoxFuture<'_, Result<Box<dyn TraceStore>>> {
        async move {
            source.listing_only(&self.env.name, "a hybrid pair")?;
            self.open_traces(concurrency).await
        }
        .boxed_local()
    }

    fn checks(&self) -> LocalBoxFuture<'_, Result<Vec<CheckResult>>> {
        self.all_checks().boxed_local()
    }

    fn provision<'b>(
        &'b self,
        intent: &'b Intent,
        steps: &'b dyn Steps,
    ) -> LocalBoxFuture<'b, Result<Option<Provisioned>>> {
        self.provision_tiers(intent, steps).boxed_local()
    }

    fn items(&self) -> LocalBoxFuture<'_, Result<Box<dyn TraceItems>>> {
        let refused = Err(Error::usage(format!(
            "environment '{}' is a hybrid pair: migrate from or to one of its tiers ('{}', '{}')",
            self.env.name, self.hybrid.hot.name, self.hybrid.cold.name
        )));
        futures::future::ready(refused).boxed_local()
    }

    fn files(&self) -> Result<StoreFiles> {
        // The app's HybridTraceStorage reaches both tiers with their own
        // settings (render them from the tiers' environments); the pair
        // adds its purge, which is the archive (`schedule:`).
        Ok(StoreFiles {
            settings: vec![("CHRONOTRACE_STORAGE".into(), "hybrid".into())],
            ..StoreFiles::default()
        })
    }

    fn app_contract(&self) -> Contract<'_> {
        Contract {
            driver: Driver::Skipped(
                "storage: hybrid is the app's own HybridTraceStorage class, bound in its service provider",
            ),
            expiry: Expiry::Purge,
            checks: None,
        }
    }
}
