//! A SQL table (the seed's `DatabaseTraceStorage`, on PostgreSQL,
//! MySQL/MariaDB or SQLite) as a store plugin: its traces
//! (`store::SqlStore`), its checks (`check`), and its provisioning: the
//! table, its index and the app's user (`provisioner`), connected for
//! each step (SQLite may create its file on apply), observed, diffed with
//! the spec and executed through the shared executor, so the output and
//! the interruption handling are the buckets'.

#![warn(unreachable_pub)]

use std::path::Path;

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::Db;
use super::provisioner::SqlProvisioner;
use super::store::SqlStore;
use crate::app::contract::{Contract, Driver, Expiry};
use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::plan::database::{DesiredDatabase, ObservedDatabase};
use crate::plan::desired::{Desired, DesiredTarget};
use crate::plan::observed::{Held, Observed};
use crate::plan::{Action, Plan, Resource, destroy_plan, diff};
use crate::render::store::StoreFiles;
use crate::spec::database::Dialect;
use crate::spec::{DatabaseStorage, Environment};
use crate::stores::items::TraceItems;
use crate::stores::{Intent, Provisioned, ScanSource, Steps, Store, TraceStore};
use crate::transport::overrides::Overrides;

/// An environment whose traces are rows of a SQL table.
pub(crate) struct SqlTable<'a> {
    env: &'a Environment,
    db: &'a DatabaseStorage,
    overrides: &'a Overrides,
}

impl<'a> SqlTable<'a> {
    pub(crate) fn new(
        env: &'a Environment,
        db: &'a DatabaseStorage,
        overrides: &'a Overrides,
    ) -> SqlTable<'a> {
        SqlTable { env, db, overrides }
    }

    async fn provisioner(&self, out: &Path, create: bool) -> Result<SqlProvisioner> {
        Ok(SqlProvisioner {
            db: Db::connect(self.db, self.overrides.timeouts(), create).await?,
            want: DesiredDatabase::new(self.db, &self.env.name),
            out: out.to_path_buf(),
        })
    }

    async fn provision_table(
        &self,
        intent: &Intent,
        steps: &dyn Steps,
    ) -> Result<Option<Provisioned>> {
        let desired = Desired {
            env: self.env.name.clone(),
            target: DesiredTarget::Database(DesiredDatabase::new(self.db, &self.env.name)),
        };
        let (out, create, empty) = match intent {
            Intent::Plan => {
                if self.db.sqlite_file().is_some_and(|f| !f.exists()) {
                    // Nothing to connect to yet (apply creates the file): all absent.
                    let nothing = ObservedDatabase {
                        table: Held::Absent,
                        foreign_table: None,
                        app_user: Held::Absent,
                        cannot_create_user: None,
                    };
                    let plan = diff(&desired, &Observed::Database(nothing));
                    return Ok(Some(Provisioned::planned_only(plan)));
                }
                (Path::new("."), false, false)
            }
            Intent::Apply(keys) => (keys.out.as_path(), true, false),
            Intent::Destroy { empty } => (Path::new("."), false, *empty),
        };
        let p = self.provisioner(out, create).await?;
        let observed = p.observe().await?;
        let plan = match intent {
            Intent::Destroy { .. } => destroy_plan(&desired, &observed),
            Intent::Plan | Intent::Apply(_) => diff(&desired, &observed),
        };
        if let Intent::Plan = intent {
            p.db.close().await;
            return Ok(Some(Provisioned::planned_only(plan)));
        }
        if !steps.confirm(&plan)? {
            return Ok(None);
        }
        if let Intent::Destroy { .. } = intent {
            refuse_traces(&plan, &self.db.table, empty)?;
        }
        let done = steps.execute(&p, &plan, empty).await?;
        p.db.close().await;
        Ok(Some(Provisioned {
            planned: plan,
            done,
        }))
    }
}

impl Store for SqlTable<'_> {
    fn location(&self) -> String {
        format!("{} {}", self.db.dialect.name(), self.db.location())
    }

    /// PostgreSQL and MySQL/MariaDB partition tables; SQLite does not.
    fn may_detach_partitions(&self) -> bool {
        self.db.dialect != crate::spec::database::Dialect::Sqlite
    }

    fn traces(
        &self,
        _concurrency: usize,
        source: ScanSource,
    ) -> LocalBoxFuture<'_, Result<Box<dyn TraceStore>>> {
        async move {
            source.listing_only(&self.env.name, "a SQL table")?;
            let db = Db::connect(self.db, self.overrides.timeouts(), false).await?;
            Ok(Box::new(SqlStore::new(db)) as Box<dyn TraceStore>)
        }
        .boxed_local()
    }

    fn checks(&self) -> LocalBoxFuture<'_, Result<Vec<CheckResult>>> {
        async move { Ok(super::check::run(self.db, self.overrides.timeouts()).await) }.boxed_local()
    }

    fn provision<'a>(
        &'a self,
        intent: &'a Intent,
        steps: &'a dyn Steps,
    ) -> LocalBoxFuture<'a, Result<Option<Provisioned>>> {
        self.provision_table(intent, steps).boxed_local()
    }

    fn files(&self) -> Result<StoreFiles> {
        Ok(StoreFiles {
            settings: vec![
                // The seed registers its DatabaseTraceStorage on this value.
                ("CHRONOTRACE_STORAGE".into(), "database".into()),
                (
                    "DB_CONNECTION".into(),
                    laravel_connection(self.db.dialect).into(),
                ),
            ],
            ..StoreFiles::default()
        })
    }

    fn items(&self) -> LocalBoxFuture<'_, Result<Box<dyn TraceItems>>> {
        async move {
            let db = Db::connect(self.db, self.overrides.timeouts(), false).await?;
            Ok(Box::new(super::items::TableItems::new(db)) as Box<dyn TraceItems>)
        }
        .boxed_local()
    }

    fn app_contract(&self) -> Contract<'_> {
        Contract {
            driver: Driver::Setting {
                value: "database",
                fix: "set CHRONOTRACE_STORAGE=database (the seed's AppServiceProvider registers DatabaseTraceStorage on it)",
            },
            expiry: Expiry::Purge,
            checks: None,
        }
    }
}

/// Laravel's `DB_CONNECTION` name for a server.
fn laravel_connection(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "pgsql",
        Dialect::Mysql => "mysql",
        Dialect::Sqlite => "sqlite",
    }
}

/// A table with traces goes only with `--empty`: refused before anything
/// (the app's user included) is removed.
fn refuse_traces(plan: &Plan, table: &str, empty: bool) -> Result<()> {
    let rows = plan
        .changes
        .iter()
        .filter(|c| c.resource == Resource::SqlTable && c.action == Action::Delete)
        .filter_map(|c| c.before.as_ref()?.get("rows")?.as_u64())
        .next()
        .unwrap_or(0);
    if rows > 0 && !empty {
        return Err(Error::usage_with_hint(
            format!("table {table} holds {rows} traces: nothing was removed"),
            "destroy --empty drops it with its traces",
        ));
    }
    Ok(())
}
