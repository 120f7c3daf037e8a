//! The hybrid store (the seed's `HybridTraceStorage`): recent traces in a
//! hot tier (the seed's Redis), archived after `hot_days` to a cold tier
//! (the seed's S3), each tier another environment of the spec opened
//! through `stores::open`. `plugin` is the pair as a `Store` (the checks
//! of the pair itself in `checks`), `store` its traces: the archive
//! (`stores::transfer`, hot → cold, moved only once the cold tier confirmed
//! each copy) then the cold tier's purge, and the pair's own findings
//! (`findings`: archive lag, traces at risk, critical traces only in the
//! hot tier, ids twice in the cold tier).

pub(crate) mod checks;
pub(crate) mod findings;
pub(crate) mod plugin;
pub(crate) mod store;
