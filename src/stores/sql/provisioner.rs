//! Provisioning a database store through the seam: observe the table and
//! the app's user, execute one planned change. The app's password is
//! generated here, written once to `{out}/app-credentials.<env>.env`
//! (0600) BEFORE the user is created (a failed creation removes the file
//! again), and never shown: the plan and the output name only the file.
//! Whether the connection may create the user is read with the rest, so a
//! plan never holds a user `apply` cannot make.

#![warn(unreachable_pub)]

use std::path::PathBuf;

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::credentials_file;
use crate::error::{Error, Result};
use crate::plan::database::{DesiredDatabase, ObservedDatabase, partition_name};
use crate::plan::observed::{Held, Observed};
use crate::plan::{Action, Change, Resource};
use crate::stores::sql::Db;
use crate::stores::{Applied, Provision};

/// A connected database and what the spec asks of it.
#[derive(Debug)]
pub(crate) struct SqlProvisioner {
    pub(crate) db: Db,
    pub(crate) want: DesiredDatabase,
    /// Where the app's credentials file goes (`apply --out`).
    pub(crate) out: PathBuf,
}

impl SqlProvisioner {
    /// What exists now of what the spec names.
    pub(crate) async fn observe(&self) -> Result<Observed> {
        self.observe_all().await.map(Observed::Database)
    }

    async fn observe_all(&self) -> Result<ObservedDatabase> {
        let mark = self.want.mark();
        let (table, foreign_table) = self.db.observe_table(&mark).await?;
        let Some(user) = &self.want.app_user else {
            return Ok(ObservedDatabase {
                table,
                foreign_table,
                app_user: Held::Absent,
                cannot_create_user: None,
            });
        };
        let present = !matches!(table, Held::Absent);
        let cannot_create_user = self.db.cannot_create_user(user, present).await?;
        let app_user = match self.db.observe_user(user, &mark).await {
            Ok(held) => held,
            // Without the privilege to create users, MySQL's list of them
            // is often unreadable too: the note says what is missing
            // either way, and nothing is planned on the user.
            Err(_) if cannot_create_user.is_some() => Held::Absent,
            Err(e) => return Err(e),
        };
        Ok(ObservedDatabase {
            table,
            foreign_table,
            app_user,
            cannot_create_user,
        })
    }

    async fn create_user(&self, user: &str) -> Result<Applied> {
        let path = credentials_file::path(&self.out, &self.want.env);
        if path.exists() {
            return Err(Error::usage_with_hint(
                format!(
                    "{} exists: the app's user {user} is missing, and that file is never overwritten",
                    path.display()
                ),
                "move the old file away (it holds a password for a user that no longer exists), then apply again",
            ));
        }
        let password = crate::secret::Secret::new(credentials_file::random_hex(16)?);
        credentials_file::write_once(
            &self.out,
            &self.want.env,
            &[("DB_USERNAME", user), ("DB_PASSWORD", password.expose())],
        )?;
        if let Err(e) = self
            .db
            .create_user(user, &password, &self.want.mark())
            .await
        {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        Ok(Applied::Noted(format!(
            "its password is in {} (mode 0600)",
            path.display()
        )))
    }

    async fn execute_one(&self, change: &Change, empty: bool) -> Result<Applied> {
        let mark = self.want.mark();
        match (change.resource, change.action) {
            (Resource::SqlTable, Action::Create) => self
                .db
                .create_table(&mark, &self.want.months)
                .await
                .map(|()| Applied::Done),
            (Resource::SqlPartitions, Action::Create) => {
                // Only the months missing now (read again: the plan's
                // list may be older than this apply).
                let (table, _) = self.db.observe_table(&mark).await?;
                let Held::Ours(table) = table else {
                    return Ok(Applied::Noted("no longer the tool's: left alone".into()));
                };
                let missing: Vec<_> = self
                    .want
                    .months
                    .iter()
                    .filter(|m| !table.partitions.contains(&partition_name(&self.want, m)))
                    .cloned()
                    .collect();
                if missing.is_empty() {
                    return Ok(Applied::Done);
                }
                self.db
                    .create_partitions(&mark, &missing)
                    .await
                    .map(|()| Applied::Done)
            }
            (Resource::SqlCreatedAtIndex, Action::Create) => self
                .db
                .create_created_at_index()
                .await
                .map(|()| Applied::Done),
            (Resource::SqlAppUser, Action::Create) => match &self.want.app_user {
                Some(user) => self.create_user(user).await,
                None => Ok(Applied::Unsupported("SQLite has no users".into())),
            },
            (Resource::SqlAppUser, Action::Delete) => match &self.want.app_user {
                Some(user) => self.db.drop_user(user).await.map(|()| Applied::Done),
                None => Ok(Applied::Unsupported("SQLite has no users".into())),
            },
            (Resource::SqlTable, Action::Delete) => {
                let (table, _) = self.db.observe_table(&mark).await?;
                match table {
                    Held::Ours(t) if t.rows > 0 && !empty => Err(Error::usage_with_hint(
                        format!("table {} holds {} traces", self.db.sql.name, t.rows),
                        "destroy --empty drops it with its traces",
                    )),
                    Held::Ours(_) => self.db.drop_table().await.map(|()| Applied::Done),
                    _ => Ok(Applied::Noted("no longer the tool's: left alone".into())),
                }
            }
            _ => Ok(Applied::Unsupported(format!(
                "{} on a database",
                change.resource.id()
            ))),
        }
    }
}

impl Provision for SqlProvisioner {
    fn execute<'a>(
        &'a self,
        change: &'a Change,
        empty: bool,
    ) -> LocalBoxFuture<'a, Result<Applied>> {
        self.execute_one(change, empty).boxed_local()
    }
}
