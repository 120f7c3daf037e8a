//! The invariants the fuzz targets check (issue 7, item 4), one function
//! per target taking the fuzzer's raw bytes. The targets in `fuzz/` call
//! these, and `tests/it/fuzz_corpus.rs` replays every kept corpus file
//! through them on the stable toolchain, so the checks live in one place.
//!
//! Each function panics (that is how a fuzzer notices) when an invariant
//! breaks; on every other input it returns quietly. Not part of the tool's
//! interface.

mod merges;
mod spec;
mod xml;

pub use merges::{lifecycle_merge, policy_merge};
pub use spec::spec;
pub use xml::xml_answers;

/// A fuzz target's check.
pub type Check = fn(&[u8]);

/// Every target by name (the name of its `fuzz/fuzz_targets/*.rs` file and
/// of its `fuzz/corpus/` directory).
pub const TARGETS: [(&str, Check); 4] = [
    ("spec", spec),
    ("lifecycle_merge", lifecycle_merge),
    ("policy_merge", policy_merge),
    ("xml_answers", xml_answers),
];
