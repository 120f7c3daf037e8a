//! The integration tests: one binary, one module per feature.
//!
//! Tests run the real `chronotrace-ops` binary (see `support`) and, where they
//! need a server, talk to the moto and Garage instances that `scripts/test.sh`
//! starts on loopback and announces through `CT_TEST_*` environment variables.

mod servers;
