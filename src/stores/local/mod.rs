//! The local-disk store (the Laravel local disk or an NFS mount): the scan
//! of `{path}/traces/` (`scan`) and the checks of the directory (`check`).
//! No network.

pub mod check;
pub(crate) mod plugin;
pub mod scan;
pub(crate) mod store;
pub(crate) mod stray;
