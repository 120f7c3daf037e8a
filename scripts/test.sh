#!/usr/bin/env bash
# The project's test command: installs what the tests need (when missing),
# starts the bench (moto, Garage, SeaweedFS and the servers in
# scripts/bench/servers/) on loopback for the server tests, runs
# `cargo test --all-targets` with any extra arguments, and stops the servers
# however the run ends.
#   scripts/test.sh                     # everything
#   scripts/test.sh --test it servers   # one test binary, filtered
#   scripts/test.sh --test it servers -- --nocapture   # test-harness options too
#
# A test that needs the bench (a server, or nginx, chromium...) is
# `#[ignore = "needs the bench: ..."]`: `cargo test` alone reports it
# ignored, never passed. This script runs the ignored tests too
# (`--include-ignored`), so every test runs here, and a test whose server or
# tool is missing fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

# The AWS SDKs must never look for EC2 instance metadata (a non-loopback
# address); every request in the tests goes to the loopback servers.
export AWS_EC2_METADATA_DISABLED=true

scripts/bench/install.sh

# A folder of our own for the servers' state and logs, removed on exit.
CT_BENCH_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ct-bench.XXXXXX")"
export CT_BENCH_DIR
trap '"$root/scripts/bench/stop.sh" "$CT_BENCH_DIR"' EXIT
scripts/bench/start.sh >/dev/null

# The CT_TEST_* variables: where the servers are.
# shellcheck source=/dev/null
. "$CT_BENCH_DIR/env"

# --include-ignored goes to the test harness: after the caller's `--`, or
# after one of its own.
args=("$@")
case " $* " in
*" -- "*) args+=(--include-ignored) ;;
*) args+=(-- --include-ignored) ;;
esac
cargo test --all-targets "${args[@]}"
