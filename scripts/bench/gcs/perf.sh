#!/usr/bin/env bash
# The GCS benchmark (issue 24): N traces in the seed's flat layout
# (`traces/{uuidv7}.json`, spread over 30 days) on a fake-gcs-server of our
# own (a fresh process: nothing else in it), then, in the same run:
#   - `report` beside bare_gcs.py's lister, which pages the same listing
#     (same fields, 1,000 a page) and only counts: two rounds, the second
#     in the other order;
#   - `report` on a bucket of SMALL traces: the tool's peak memory beside
#     the big one's (flat: the scan keeps tallies, not objects);
#   - `cleanup purge --yes` (its listing and its batch deletes of the
#     traces past the 15 days, ages 16 and more) beside bare_gcs.py listing
#     a twin bucket and deleting the same traces there through the batch
#     endpoint (100 a batch, 16 batches at once, as the tool).
# The emulator's backend (CT_PERF_BACKEND):
#   - filesystem (the default): the buckets are written straight into the
#     backend's on-disk format (bare_gcs.py fsroot: a file per object, its
#     attributes in an xattr) before the server starts, so 100,000 traces
#     take seconds; the server finds an object by its path.
#   - memory: loaded from files at start (`-data`); its memory backend
#     scans the bucket on every insert, read and delete, so loading is
#     quadratic (20,000 took minutes, 100,000 did not finish in 11).
# Needs a bench's env for the key file and token stub (source it first):
#   export CT_BENCH_DIR=$(mktemp -d); scripts/bench/start.sh; . "$CT_BENCH_DIR/env"
#   scripts/bench/gcs/perf.sh                         # 100,000 traces
#   CT_PERF_N=20000 scripts/bench/gcs/perf.sh         # a smaller run
#   CT_PERF_BIN=target/release/chronotrace-ops        # the binary (default: debug)
#   CT_PERF_BACKEND=memory                            # the memory backend
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
# shellcheck source=scripts/bench/common.sh
. "$here/../common.sh"

N="${CT_PERF_N:-100000}"
SMALL="${CT_PERF_SMALL:-10000}"
DAYS=30
WORKERS=16
BIN="${CT_PERF_BIN:-$root/target/debug/chronotrace-ops}"
BACKEND="${CT_PERF_BACKEND:-filesystem}"
[[ "$BACKEND" == filesystem || "$BACKEND" == memory ]] || die "CT_PERF_BACKEND: filesystem or memory, not '$BACKEND'"
[[ -x "$BIN" ]] || die "$BIN: build it first (cargo build, or --release with CT_PERF_BIN)"
BIN="$(realpath "$BIN")" # the commands run in the work folder
[[ -n "${CT_TEST_GCS_KEY_FILE:-}" ]] || die "source a bench's env first (scripts/bench/start.sh)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is needed for peak memory"
fake="$(fake_gcs_server)"
[[ -x "$fake" ]] || die "fake-gcs-server is not installed: run scripts/bench/install.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/ct-gcs-perf.XXXXXX")"
port="$("$GCS_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
endpoint="http://127.0.0.1:$port"
bare() { timeout 3600 "$GCS_PYTHON" "$here/bare_gcs.py" "$@"; }
if [[ "$BACKEND" == filesystem ]]; then
	say "gcs perf: writing $N + $N + $SMALL traces in the filesystem backend's format"
	for bucket in big:"$N" twin:"$N" small:"$SMALL"; do
		bare fsroot "$work/root" "perf-${bucket%%:*}" "${bucket#*:}" "$DAYS" "$work/${bucket%%:*}.names" >&2
	done
	backend=(-backend filesystem -filesystem-root "$work/root")
else
	say "gcs perf: writing $N + $N + $SMALL traces as files for fake-gcs-server's -data"
	for bucket in big:"$N" twin:"$N" small:"$SMALL"; do
		bare files "$work/data" "perf-${bucket%%:*}" "${bucket#*:}" "$DAYS" "$work/${bucket%%:*}.names" >&2
	done
	backend=(-backend memory -data "$work/data")
fi
loading="$(date +%s)"
"$fake" -scheme http -host 127.0.0.1 -port "$port" "${backend[@]}" \
	-external-url "$endpoint" -public-host "127.0.0.1:$port" -log-level warn >"$work/fake.log" 2>&1 &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -fsS --max-time 2 -o /dev/null "$endpoint/storage/v1/b?project=ct-test" 2>/dev/null; do
	kill -0 "$fake_pid" 2>/dev/null || die "fake-gcs-server exited: $(tail -n 3 "$work/fake.log")"
	(($(date +%s) - loading < 7200)) || die "fake-gcs-server did not load its data within 2 hours"
	sleep 2
done
say "gcs perf: fake-gcs-server ($BACKEND backend) answered with the traces after $(($(date +%s) - loading)) s"

cat >"$work/chronotrace-ops.yaml" <<EOF
project: perf
environments:
  big: {storage: gcs, endpoint: "$endpoint", bucket: perf-big, retention_days: 15}
  small: {storage: gcs, endpoint: "$endpoint", bucket: perf-small, retention_days: 15}
EOF

# measure NAME COMMAND...: "NAME seconds peak_KiB" on stdout; the
# command's own output in $work/NAME.out.
measure() {
	local name="$1"
	shift
	local start end
	start="$(date +%s.%N)"
	(cd "$work" && GOOGLE_APPLICATION_CREDENTIALS="$CT_TEST_GCS_KEY_FILE" \
		/usr/bin/time -f '%M' -o "$work/$name.rss" timeout 3600 "$@" >"$work/$name.out" 2>"$work/$name.err") ||
		say "$name failed: $(tail -n 3 "$work/$name.err")"
	end="$(date +%s.%N)"
	printf '%s %.2f %s\n' "$name" "$(echo "$end - $start" | bc)" "$(tail -n 1 "$work/$name.rss")"
}

{
	# Round 2 in the other order: neither goes first both times.
	measure bare-list-1 "$GCS_PYTHON" "$here/bare_gcs.py" list "$endpoint" perf-big traces/
	measure report-1 "$BIN" --output json -e big report --no-checks
	measure report-2 "$BIN" --output json -e big report --no-checks
	measure bare-list-2 "$GCS_PYTHON" "$here/bare_gcs.py" list "$endpoint" perf-big traces/
	measure report-small "$BIN" --output json -e small report --no-checks
	measure bare-list-twin "$GCS_PYTHON" "$here/bare_gcs.py" list "$endpoint" perf-twin traces/
	measure bare-delete "$GCS_PYTHON" "$here/bare_gcs.py" delete "$endpoint" perf-twin "$WORKERS" "$work/twin.names" 16
	# A serialised emulator answers 16 concurrent batches slowly: both
	# clients get 120 s a call (the bare one's HTTP timeout).
	measure purge "$BIN" --output json --timeout 120 -e big cleanup purge --yes
} | tee "$work/results"

echo "report objects: $(grep -o '"objects": [0-9]*' "$work/report-1.out" | head -1); bare lister: $(cat "$work/bare-list-1.out")"
echo "purge: $(grep -o '"deleted_objects": [0-9]*' "$work/purge.out"); bare deleter: $(cat "$work/bare-delete.out")"
# The tool read what was written: every trace, each on its day (the
# names file has each trace's age in days), and purged those of 16 days
# and more.
"$GCS_PYTHON" - "$work/report-1.out" "$work/big.names" "$work/purge.out" <<'PY'
import collections, datetime, json, sys
report, names, purge = sys.argv[1:4]
today = datetime.datetime.now(datetime.timezone.utc).date()
want = collections.Counter()
for line in open(names, encoding="utf-8"):
    want[str(today - datetime.timedelta(days=int(line.split()[0])))] += 1
got = {d["date"]: d["objects"] for d in json.load(open(report, encoding="utf-8"))["by_day"]}
expired = sum(n for day, n in want.items() if day < str(today - datetime.timedelta(days=15)))
deleted = json.load(open(purge, encoding="utf-8")).get("deleted_objects")
print(f"report by day matches the traces written: {got == dict(want)} ({sum(got.values())} over {len(got)} days); "
      f"purge deleted the {expired} of 16 days and more: {deleted == expired}")
PY
echo "fake-gcs-server peak: $(ps -o rss= -p "$fake_pid") KiB resident at the end"
