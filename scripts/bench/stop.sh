#!/usr/bin/env bash
# Stop a bench started by scripts/bench/start.sh and delete its folder.
# Usage: scripts/bench/stop.sh [DIR]   (DIR defaults to $CT_BENCH_DIR)
# Safe to run twice, or on a half-started bench. CT_BENCH_KEEP=1 keeps the
# folder (and so the server logs).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/bench/common.sh
. "$here/common.sh"

dir="${1:-${CT_BENCH_DIR:-}}"
[[ -n "$dir" ]] || die "usage: stop.sh DIR (or set CT_BENCH_DIR)"
[[ -d "$dir" ]] || exit 0 # already stopped and cleaned up
dir="$(cd "$dir" && pwd -P)"
# Never delete, or kill anything for, a folder start.sh did not make.
[[ -f "$dir/.ct-bench" ]] || die "$dir is not a bench folder (no .ct-bench marker)"

# A recorded pid is ours only while its process still runs in the bench
# folder: after a crash the number may belong to someone else by now.
ours() { [[ "$(readlink "/proc/$1/cwd" 2>/dev/null)" == "$dir" ]]; }

pids=()
for pidfile in "$dir"/*.pid; do
	[[ -e "$pidfile" ]] || continue
	pid="$(cat "$pidfile")"
	if ours "$pid"; then
		say "stopping $(basename "$pidfile" .pid) (pid $pid)"
		kill -TERM "$pid" 2>/dev/null || true
		pids+=("$pid")
	fi
	rm -f "$pidfile"
done

# Give them a few seconds to shut down cleanly, then force it.
deadline=$((SECONDS + 10))
for pid in "${pids[@]}"; do
	while ours "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
	if ours "$pid"; then
		say "pid $pid ignored SIGTERM; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
done

if [[ "${CT_BENCH_KEEP:-}" == 1 ]]; then
	say "kept $dir"
else
	rm -rf "$dir"
fi
