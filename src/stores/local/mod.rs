//! The local-disk store (the Laravel local disk or an NFS mount): the scan
//! of `{path}/traces/` (`scan`), the checks of the directory (`check`), the
//! path the Laravel app decides when the spec leaves it open (`root`) and
//! what the store renders and expects of the app (`plugin`); a share
//! mounted at the path (`mount`, `mountinfo`, `modes`). No network.

pub mod check;
pub(crate) mod items;
pub(crate) mod modes;
pub(crate) mod mount;
pub(crate) mod mount_files;
pub(crate) mod mountinfo;
pub(crate) mod plugin;
pub(crate) mod root;
pub mod scan;
pub(crate) mod store;
pub(crate) mod stray;
