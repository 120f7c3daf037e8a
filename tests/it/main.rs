//! The integration tests: one binary, one module per feature.
//!
//! Tests run the real `chronotrace-ops` binary (see `support`) and, where they
//! need a server or a tool, use the moto and Garage instances and the nginx
//! and docker-compose binaries that `scripts/test.sh` installs and starts,
//! announced through `CT_TEST_*` environment variables.

mod app;
mod app_check;
mod app_schedule;
mod bootstrap;
mod check;
mod cleanup;
mod cli;
mod fault_proxy;
mod fuzz_corpus;
mod hardening;
mod hardening_faults;
mod hardening_races;
mod hardening_secrets;
mod init;
mod onboarding;
mod provision;
mod render;
mod report;
mod servers;
mod spec_errors;
mod support;
