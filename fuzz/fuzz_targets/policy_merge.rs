//! Fuzz target `policy_merge`: the check is `chronotrace_ops::fuzzing::policy_merge`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| chronotrace_ops::fuzzing::policy_merge(data));
