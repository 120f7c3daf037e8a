#!/usr/bin/env bash
# The project's test command: installs what the tests need (when missing),
# starts a moto server and a Garage on loopback for the server tests, runs
# `cargo test --all-targets` with any extra arguments, and stops the servers
# however the run ends.
#   scripts/test.sh                     # everything
#   scripts/test.sh --test it servers   # one test binary, filtered
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

# The CT_TEST_* variables: where the servers are, and CT_TEST_REQUIRE_SERVERS=1
# so a server test fails rather than skips if one is missing.
# shellcheck source=/dev/null
. "$CT_BENCH_DIR/env"

cargo test --all-targets "$@"
