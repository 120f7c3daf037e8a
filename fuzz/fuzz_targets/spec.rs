//! Fuzz target `spec`: the check is `chronotrace_ops::fuzzing::spec`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| chronotrace_ops::fuzzing::spec(data));
