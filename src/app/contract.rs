//! What the app's side expects of a store, as the store states it
//! (`stores::Store::app_contract`): the `CHRONOTRACE_STORAGE` value that
//! selects it, what expires its traces when the package's own purge does
//! not, and the store's own `app.*` checks. `app` reads the app's tree and
//! runs them; it never tells the kinds of store apart, so a new store
//! states its contract and this module needs no change.

use super::tree::Tree;
use crate::check::CheckResult;

/// One store's expectations of the app, for `check --app`.
pub(crate) struct Contract<'a> {
    /// `app.storage_driver`.
    pub(crate) driver: Driver,
    /// What `app.package` says when the package's purge deletes nothing.
    pub(crate) expiry: Expiry,
    /// The store's own app checks, run after `app.storage_driver` and
    /// before `app.queue`.
    pub(crate) checks: Option<Box<dyn StoreChecks + 'a>>,
}

/// How the app selects the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Driver {
    /// `CHRONOTRACE_STORAGE` must be `value`; `fix` is the hint when it is not.
    Setting {
        value: &'static str,
        fix: &'static str,
    },
    /// No setting selects the store (a class the app binds itself): why
    /// `app.storage_driver` is skipped.
    Skipped(&'static str),
}

/// What expires the traces while the package's `chronotrace:purge`
/// deletes nothing (v0.0.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// The store does, as `app.package` names it ("the bucket's lifecycle
    /// rule expires traces"): the defect is noted, not a warning.
    Store(&'static str),
    /// Only a scheduled `cleanup purge`: `app.package` warns and says how
    /// to schedule it.
    Purge,
}

/// A store's own checks of the app's settings (`app.*` lines).
pub(crate) trait StoreChecks {
    /// Their ids in report order: skipped by these when the app cannot be read.
    fn ids(&self) -> Vec<&'static str>;

    /// Runs them against the app's tree, one result for each id.
    fn run(&self, tree: &Tree) -> Vec<CheckResult>;
}
