//! Which source a read-only scan (`report`, `cleanup verify`) reads: the
//! bucket's listing (the default), or its S3 Inventory (`--source
//! inventory`, or `auto`: the inventory when its newest complete manifest
//! is fresher than 48 hours, else the listing). `cleanup purge` always
//! lists: an inventory lags by up to a day.

use super::{Session, open_store};
use crate::error::{Error, Result};
use crate::spec::{Environment, Storage};
use crate::stores::TraceStore;
use crate::stores::s3::inventory::store::{InventoryStore, Want};

/// `--source`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ScanSource {
    #[default]
    Listing,
    Inventory,
    Auto,
}

/// Opens `env`'s store for a read-only scan from `source`.
pub(crate) async fn open_for_reading(
    session: &Session,
    env: &Environment,
    concurrency: usize,
    source: ScanSource,
) -> Result<Box<dyn TraceStore>> {
    let want = match source {
        ScanSource::Listing => return open_store(session, &env.storage, concurrency).await,
        ScanSource::Inventory => Want::Inventory,
        ScanSource::Auto => Want::Auto,
    };
    match &env.storage {
        Storage::S3(s3) => match &s3.inventory {
            Some(inventory) => {
                let clients = session.clients(s3).await?;
                let store = InventoryStore::open(clients, s3, inventory, concurrency, want).await?;
                Ok(Box::new(store))
            }
            None if want == Want::Auto => open_store(session, &env.storage, concurrency).await,
            None => Err(Error::usage_with_hint(
                format!(
                    "--source inventory: environment '{}' has no inventory",
                    env.name
                ),
                "add `inventory: { destination: s3://bucket/prefix }` to it in the spec and run `apply`",
            )),
        },
        _ if want == Want::Auto => open_store(session, &env.storage, concurrency).await,
        _ => Err(Error::usage(format!(
            "--source inventory: environment '{}' is not an S3 bucket (S3 Inventory is a bucket's)",
            env.name
        ))),
    }
}
