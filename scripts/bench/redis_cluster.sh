#!/usr/bin/env bash
# Redis Cluster benchmark (issue 26): N traces (1,000,000 by default) in the
# seed's layout on a three-master Redis Cluster of our own and on one
# redis-server, same run, same data (scripts/bench/redis/load.py, split over
# the masters by slot with load_cluster.py): times and peak memory of our
# `cleanup verify`, `report` and `cleanup purge --yes` on each. Every
# server on a free loopback port, a random requirepass, a throwaway folder,
# stopped however the run ends.
#   scripts/bench/redis_cluster.sh
#   CT_PERF_REDIS_N=200000 scripts/bench/redis_cluster.sh   # a smaller run
#   CT_PERF_BIN=target/debug/chronotrace-ops                # skip the release build
#   CT_PERF_OUT=FILE                                        # also write the table to FILE
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

dir="$(mktemp -d "${TMPDIR:-/tmp}/ct-redis-cluster-perf.XXXXXX")"
read -r -a ports < <(python3 -c 'import socket
s = [socket.socket() for _ in range(7)]
[x.bind(("127.0.0.1", 0)) for x in s]
print(*(x.getsockname()[1] for x in s))')
password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
export REDISCLI_AUTH="$password" REDIS_PASSWORD="$password"
servers=()
trap 'kill "${servers[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
serve() { # name port [extra config...]
	local name="$1" port="$2"
	shift 2
	mkdir -p "$dir/$name"
	(cd "$dir/$name" && exec redis-server --port "$port" --bind 127.0.0.1 --save '' \
		--appendonly no --requirepass "$password" --dir "$dir/$name" "$@" \
		>"$dir/$name.log" 2>&1) &
	servers+=("$!")
	until redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; do sleep 0.1; done
}
single="${ports[0]}"
masters=("${ports[@]:1:3}")
serve single "$single"
for i in 0 1 2; do
	serve "node$i" "${masters[$i]}" --cluster-enabled yes --cluster-port "${ports[$((i + 4))]}" \
		--cluster-config-file "$dir/node$i/nodes.conf"
done
redis-cli --cluster create "${masters[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$dir/create.log"
until redis-cli -p "${masters[0]}" cluster info | grep -q '^cluster_state:ok'; do sleep 0.1; done

spec() { # port [cluster]
	cat <<-YAML
		project: perf
		environments:
		  perf:
		    storage: redis
		    url: redis://127.0.0.1:$1
		    retention_days: $RETENTION
	YAML
	[[ -z "${2:-}" ]] || echo "    cluster: true"
}
spec "$single" >"$dir/single.yaml"
spec "${masters[0]}" cluster >"$dir/cluster.yaml"

load() { # both: the same traces on the single server and over the masters
	local now
	now="$(date +%s)"
	redis-cli -p "$single" flushall >/dev/null
	python3 "$here/redis/load.py" "$N" "$now" | redis-cli -p "$single" --pipe >/dev/null
	for p in "${masters[@]}"; do redis-cli -p "$p" flushall >/dev/null; done
	redis-cli -p "${masters[0]}" cluster nodes | grep master |
		python3 "$here/redis/load_cluster.py" "$N" "$now" "$dir"
	local pipes=()
	for p in "${masters[@]}"; do
		redis-cli -p "$p" --pipe <"$dir/$p.resp" >/dev/null &
		pipes+=("$!")
	done
	wait "${pipes[@]}" # only these: the servers are children too
	say "loaded $(redis-cli -p "$single" zcard chronotrace:index) traces on the single server," \
		"$(redis-cli -c -p "${masters[0]}" zcard chronotrace:index) on the cluster"
}

# Runs a command under /usr/bin/time; prints "seconds peak_kib".
measure() {
	(/usr/bin/time -f '%e %M' "$@" 2>&1 >"$dir/last.out" || true) | tail -1
}
ours() { measure "$BIN" --config "$dir/$1.yaml" -e perf --output json "${@:2}"; }

rows=()
row() { rows+=("| $1 | $2 | $3 s | $(($4 / 1024)) MiB | $5 |"); }
deleted() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["deleted_objects"], "deleted")' "$dir/last.out"; }

load
for where in single cluster; do
	read -r t m < <(ours "$where" cleanup verify)
	row "$N" "$where: cleanup verify" "$t" "$m" "exit code 1 (past-retention keys found)"
	read -r t m < <(ours "$where" report --format json --no-checks)
	row "$N" "$where: report (json)" "$t" "$m" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["objects"], "objects")' "$dir/last.out")"
	read -r t m < <(ours "$where" cleanup purge --yes)
	row "$N" "$where: cleanup purge --yes" "$t" "$m" "$(deleted)"
done
{
	echo "Redis $(redis-server --version | cut -d' ' -f3): one server against a three-master cluster, binary $(basename "$(dirname "$BIN")"), $(nproc) cores"
	echo
	echo "| traces | run | time | peak RSS | result |"
	echo "|---:|---|---:|---:|---|"
	printf '%s\n' "${rows[@]}"
} | tee "${CT_PERF_OUT:-/dev/null}"
