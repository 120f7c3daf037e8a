#!/usr/bin/env bash
# The fuzz smoke (issue 7, item 4): installs cargo-fuzz into the project's
# cache when missing, then runs every target in fuzz/ for N seconds
# (default 20) over the kept corpus, and fails on any crash or broken
# invariant (the failing input is left under fuzz/artifacts/<target>/).
#   scripts/fuzz.sh            # every target, 20 s each
#   scripts/fuzz.sh 600        # a longer campaign
#   scripts/fuzz.sh 600 spec   # one target
# New inputs go to a scratch directory, never into the committed corpus;
# to keep them, see "Fuzzing" in CONTRIBUTING.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"

seconds="${1:-20}"
only="${2:-}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: scripts/fuzz.sh [seconds-per-target] [target]" >&2; exit 2 ;;
esac

# cargo-fuzz, pinned, built once into the cache and reused, like the
# fuzz build itself (the AWS SDK takes minutes to build instrumented).
cargo_fuzz_version=0.13.2
cache="${CT_CACHE_DIR:-$HOME/.cache/chronotrace-ops}/cargo-fuzz"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
if ! "$cache/bin/cargo-fuzz" --version 2>/dev/null | grep -qx "cargo-fuzz $cargo_fuzz_version"; then
  echo "fuzz: installing cargo-fuzz $cargo_fuzz_version into $cache" >&2
  cargo install cargo-fuzz --version "=$cargo_fuzz_version" --locked --root "$cache" --force
fi
export PATH="$cache/bin:$PATH"

# cargo-fuzz needs -Z flags: a nightly toolchain when one works here, else
# the stable one with RUSTC_BOOTSTRAP=1 (which unlocks them).
scratch="$(mktemp -d "${TMPDIR:-/tmp}/ct-fuzz.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
echo 'fn main() {}' >"$scratch/probe.rs"
# CT_FUZZ_TOOLCHAIN=stable forces the fallback (to check it where nightly exists).
if [ "${CT_FUZZ_TOOLCHAIN:-}" != stable ] &&
  rustup run nightly rustc -Zunpretty=normal "$scratch/probe.rs" >/dev/null 2>&1 &&
  rustup run nightly rustc "$scratch/probe.rs" -o "$scratch/probe" >/dev/null 2>&1; then
  toolchain=(+nightly)
else
  toolchain=()
  export RUSTC_BOOTSTRAP=1
fi
echo "fuzz: cargo ${toolchain[*]:-(stable, RUSTC_BOOTSTRAP=1)} $(cargo "${toolchain[@]}" --version)" >&2

if [ -n "$only" ]; then
  targets=("$only")
else
  mapfile -t targets < <(cargo "${toolchain[@]}" fuzz list)
fi

# The tool's code forbids `unsafe`, so the sanitizer would mostly slow the
# build and the runs down; a panic or a broken invariant aborts either way.
# Several codegen units: cargo-fuzz's default of one makes the SDK's build
# several times longer.
flags=(--release --sanitizer none --codegen-units 16)
cargo "${toolchain[@]}" metadata --locked --format-version 1 >/dev/null
cargo "${toolchain[@]}" fuzz build "${flags[@]}"

failed=()
for target in "${targets[@]}"; do
  echo "fuzz: $target for ${seconds}s" >&2
  mkdir -p "$scratch/$target" "regressions/$target"
  # The scratch directory comes first: libFuzzer writes new inputs there.
  if ! cargo "${toolchain[@]}" fuzz run "${flags[@]}" "$target" "$scratch/$target" "corpus/$target" "regressions/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1; then
    failed+=("$target")
  fi
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} target(s), ${seconds}s each, no crash" >&2
