#!/usr/bin/env bash
# Redis benchmark (issue 13): N traces (1,000,000 by default) over 30 days
# in the seed's layout, loaded with `redis-cli --pipe` into a redis-server
# of our own (free loopback port, random requirepass, throwaway folder,
# stopped however the run ends). Times and peak memory of our
# `cleanup verify`, `report` and `cleanup purge --yes`, and of the seed's
# own purge (ZRANGEBYSCORE + a DEL and a ZREM per trace, one round trip
# each: scripts/bench/redis/seed_purge.py) on the same data, reloaded;
# then both purges again on N/10 traces, to show whose memory grows with N.
#   scripts/bench/redis.sh
#   CT_PERF_REDIS_N=200000 scripts/bench/redis.sh   # a smaller run
#   CT_PERF_BIN=target/debug/chronotrace-ops        # skip the release build
#   CT_PERF_OUT=FILE                                # also write the table to FILE
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=scripts/bench/common.sh
. "$here/common.sh"

N="${CT_PERF_REDIS_N:-1000000}"
RETENTION=15
BIN="${CT_PERF_BIN:-$root/target/release/chronotrace-ops}"
if [[ ! -x "$BIN" ]]; then
	say "building the release binary"
	(cd "$root" && cargo build --release --quiet)
fi
command -v redis-server >/dev/null || die "redis-server is needed: run scripts/bench/install.sh"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is needed for peak memory"

dir="$(mktemp -d "${TMPDIR:-/tmp}/ct-redis-perf.XXXXXX")"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
export REDISCLI_AUTH="$password" REDIS_PASSWORD="$password"
(cd "$dir" && exec redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
	--requirepass "$password" --dir "$dir" >"$dir/redis.log" 2>&1) &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$dir"' EXIT
cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }
until cli ping 2>/dev/null | grep -q PONG; do
	kill -0 "$server" 2>/dev/null || die "redis-server exited (see $dir/redis.log)"
	sleep 0.1
done

cat >"$dir/chronotrace-ops.yaml" <<YAML
project: perf
environments:
  perf:
    storage: redis
    url: redis://127.0.0.1:$port
    retention_days: $RETENTION
YAML

load() { # n
	cli flushall >/dev/null
	python3 "$here/redis/load.py" "$1" "$(date +%s)" | cli --pipe >/dev/null
	say "loaded $(cli zcard chronotrace:index) traces ($(cli dbsize) keys)"
}

# Runs a command under /usr/bin/time; prints "seconds peak_kib".
measure() {
	local out
	out="$( (/usr/bin/time -f '%e %M' "$@" 2>&1 >"$dir/last.out" || true) | tail -1)"
	echo "$out"
}
ours() { measure "$BIN" --config "$dir/chronotrace-ops.yaml" -e perf --output json "$@"; }
seed() { measure python3 "$here/redis/seed_purge.py" "$port" "$RETENTION"; }

rows=()
row() { rows+=("| $1 | $2 | $3 s | $(($4 / 1024)) MiB | $5 |"); }

load "$N"
read -r t m < <(ours cleanup verify); row "$N" "chronotrace-ops cleanup verify" "$t" "$m" "exit code 1 (past-retention keys found)"
read -r t m < <(ours report --format json); row "$N" "chronotrace-ops report (json)" "$t" "$m" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["objects"], "objects")' "$dir/last.out")"
read -r t m < <(ours cleanup purge --yes)
ours_deleted="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["deleted_objects"])' "$dir/last.out")"
row "$N" "chronotrace-ops cleanup purge --yes" "$t" "$m" "$ours_deleted deleted"
ours_purge="$t"
load "$N"
read -r t m < <(seed); row "$N" "seed purgeOldTraces (ZRANGEBYSCORE + DEL/ZREM loop)" "$t" "$m" "$(cat "$dir/last.out") deleted"
seed_purge="$t"

# The same purge in a database shared with other keys (Laravel's cache, say):
# DBSIZE no longer proves that every key is indexed, so the keys pass runs.
load "$N"
cli set laravel:cache:shared 1 >/dev/null
read -r t m < <(ours cleanup purge --yes)
row "$N" "chronotrace-ops cleanup purge --yes, database shared (keys pass runs)" "$t" "$m" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["deleted_objects"])' "$dir/last.out") deleted"
shared_purge="$t"

small=$((N / 10))
load "$small"
read -r t m < <(ours cleanup purge --yes); row "$small" "chronotrace-ops cleanup purge --yes" "$t" "$m" "memory vs N"
load "$small"
read -r t m < <(seed); row "$small" "seed purgeOldTraces" "$t" "$m" "memory vs N"

ratio_of() { python3 -c "import sys; print(f'{float(sys.argv[1]) / max(float(sys.argv[2]), 0.01):.1f}')" "$1" "$2"; }
ratio="$(ratio_of "$seed_purge" "$ours_purge")"
shared_ratio="$(ratio_of "$seed_purge" "$shared_purge")"
{
	echo "Redis store, $(redis-server --version | cut -d' ' -f3), binary $(basename "$(dirname "$BIN")"), $(nproc) cores"
	echo
	echo "| traces | run | time | peak RSS | result |"
	echo "|---:|---|---:|---:|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "purge: chronotrace-ops ${ratio}x faster than the seed's loop (${shared_ratio}x in a shared database)"
} | tee "${CT_PERF_OUT:-/dev/null}"
