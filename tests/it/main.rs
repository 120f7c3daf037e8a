//! The integration tests: one binary, one module per feature.
//!
//! Tests run the real `chronotrace-ops` binary (see `support`) and, where they
//! need a server or a tool, use the moto and Garage instances and the nginx
//! and docker-compose binaries that `scripts/test.sh` installs and starts,
//! announced through `CT_TEST_*` environment variables. Such a test is
//! `#[ignore = "needs the bench: run scripts/test.sh"]`: `cargo test` alone
//! reports it ignored, and `scripts/test.sh` runs it (`--include-ignored`),
//! failing it if its server or tool is missing (see `missing_server`).

mod app;
mod app_check;
mod app_schedule;
mod aws_variables;
mod bootstrap;
mod check;
mod cleanup;
mod cli;
mod concurrent_purge;
mod conformance;
mod connect_proxy;
mod docs;
mod fault_proxy;
mod fuzz_corpus;
mod gcs;
mod gcs_iam;
mod hardening;
mod hardening_faults;
mod hardening_races;
mod hardening_secrets;
mod hardening_stalls;
mod hardening_storm;
mod hybrid;
mod init;
mod interrupts;
mod inventory;
mod inventory_provision;
mod listing_parse;
mod local_mount;
mod migrate;
mod minio_admin;
mod missing_server;
mod onboarding;
mod output_snapshots;
mod outputs;
mod paging;
mod provision;
mod proxies;
mod redis;
mod redis_cluster;
mod redis_dedicated;
mod redis_provision;
mod redis_tls;
mod render;
mod render_selfhosted;
mod report;
mod report_html;
mod resp_proxy;
mod safe_defaults;
mod safe_privileges;
mod scale;
mod seaweedfs;
mod selfhosted_identity;
mod selfhosted_privilege;
mod servers;
mod spec_errors;
mod spec_reference;
mod sql;
mod sql_partitions;
mod sql_support;
mod stopped_runs;
mod support;
