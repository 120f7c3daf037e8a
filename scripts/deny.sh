#!/usr/bin/env bash
# cargo-deny over the dependency tree (deny.toml): licenses, bans (one
# version of each crate, no wildcard requirements) and sources (crates.io
# only). Installs cargo-deny, pinned, into the project's cache when missing
# (a cold machine builds it once: 3.8 min of CPU, 21 min of wall time on a
# shared 2-core machine under load 10), then reuses it.
#   scripts/deny.sh                 # licenses, bans, sources (what .ci/run runs)
#   scripts/deny.sh advisories      # the RustSec check, where its database can
#                                   # be fetched from GitHub (not on these machines)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

cargo_deny_version=0.20.2
cache="${CHRONOTRACE_OPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chronotrace-ops}/cargo-deny-$cargo_deny_version"
mkdir -p "$cache"
# Two runs at once must not build into the same folder.
exec 9>"$cache/.install.lock"
flock 9
if ! "$cache/bin/cargo-deny" --version 2>/dev/null | grep -qx "cargo-deny $cargo_deny_version"; then
  echo "deny: installing cargo-deny $cargo_deny_version into $cache" >&2
  cargo install cargo-deny --version "=$cargo_deny_version" --locked --root "$cache" --force
fi
flock -u 9

# The default checks read only Cargo.lock and the downloaded crates:
# --offline keeps cargo-deny from fetching anything. The advisories check
# needs its database, so it runs online.
if [ "$#" -eq 0 ]; then
  exec "$cache/bin/cargo-deny" --locked --offline check licenses bans sources
fi
exec "$cache/bin/cargo-deny" --locked check "$@"
