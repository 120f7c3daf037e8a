//! Fuzz target `xml_answers`: the check is `chronotrace_ops::fuzzing::xml_answers`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| chronotrace_ops::fuzzing::xml_answers(data));
