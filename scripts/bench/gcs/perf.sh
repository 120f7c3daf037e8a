#!/usr/bin/env bash
# The GCS benchmark (issue 24): N traces in the seed's flat layout
# (`traces/{uuidv7}.json`, spread over 30 days) on a fake-gcs-server of our
# own (memory backend, a fresh process: nothing else in it), loaded from
# files at its start (`-data`: uploading them one by one is quadratic in
# its memory backend, hours for 100,000), then, in the same run:
#   - `report` beside bare_gcs.py's lister, which pages the same listing
#     (same fields, 1,000 a page) and only counts: two rounds, alternating;
#   - `report` on a bucket of SMALL traces: the tool's peak memory beside
#     the big one's (flat: the scan keeps tallies, not objects);
#   - `cleanup purge --yes` (its listing and its batch deletes of the
#     traces past the 15 days, ages 16 and more) beside bare_gcs.py listing
#     a twin bucket and deleting the same traces there through the batch
#     endpoint (100 a batch, 16 batches at once, as the tool).
# Needs a bench's env for the key file and token stub (source it first):
#   export CT_BENCH_DIR=$(mktemp -d); scripts/bench/start.sh; . "$CT_BENCH_DIR/env"
#   scripts/bench/gcs/perf.sh                         # 100,000 traces
#   CT_PERF_N=20000 scripts/bench/gcs/perf.sh         # a smaller run
#   CT_PERF_BIN=target/release/chronotrace-ops        # the binary (default: debug)
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
[[ -x "$BIN" ]] || die "$BIN: build it first (cargo build, or --release with CT_PERF_BIN)"
[[ -n "${CT_TEST_GCS_KEY_FILE:-}" ]] || die "source a bench's env first (scripts/bench/start.sh)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is needed for peak memory"
fake="$(fake_gcs_server)"
[[ -x "$fake" ]] || die "fake-gcs-server is not installed: run scripts/bench/install.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/ct-gcs-perf.XXXXXX")"
port="$("$GCS_PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
endpoint="http://127.0.0.1:$port"
bare() { timeout 3600 "$GCS_PYTHON" "$here/bare_gcs.py" "$@"; }
say "gcs perf: writing $N + $N + $SMALL traces as files for fake-gcs-server's -data"
bare files "$work/data" perf-big "$N" "$DAYS" "$work/big.names" >&2
bare files "$work/data" perf-twin "$N" "$DAYS" "$work/twin.names" >&2
bare files "$work/data" perf-small "$SMALL" "$DAYS" "$work/small.names" >&2
loading="$(date +%s)"
"$fake" -scheme http -host 127.0.0.1 -port "$port" -backend memory -data "$work/data" \
	-external-url "$endpoint" -public-host "127.0.0.1:$port" -log-level warn >"$work/fake.log" 2>&1 &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
until curl -fsS --max-time 2 -o /dev/null "$endpoint/storage/v1/b?project=ct-test" 2>/dev/null; do
	kill -0 "$fake_pid" 2>/dev/null || die "fake-gcs-server exited: $(tail -n 3 "$work/fake.log")"
	(($(date +%s) - loading < 7200)) || die "fake-gcs-server did not load its data within 2 hours"
	sleep 2
done
say "gcs perf: fake-gcs-server loaded the traces in $(($(date +%s) - loading)) s"

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
	for round in 1 2; do
		measure "bare-list-$round" "$GCS_PYTHON" "$here/bare_gcs.py" list "$endpoint" perf-big traces/
		measure "report-$round" "$BIN" --output json -e big report --no-checks
	done
	measure report-small "$BIN" --output json -e small report --no-checks
	measure bare-list-twin "$GCS_PYTHON" "$here/bare_gcs.py" list "$endpoint" perf-twin traces/
	measure bare-delete "$GCS_PYTHON" "$here/bare_gcs.py" delete "$endpoint" perf-twin "$WORKERS" "$work/twin.names" 16
	# A serialised emulator answers 16 concurrent batches slowly: both
	# clients get 120 s a call (the bare one's HTTP timeout).
	measure purge "$BIN" --output json --timeout 120 -e big cleanup purge --yes
} | tee "$work/results"

echo "report objects: $(grep -o '"objects": [0-9]*' "$work/report-1.out" | head -1); bare lister: $(cat "$work/bare-list-1.out")"
echo "purge: $(grep -o '"deleted_objects": [0-9]*' "$work/purge.out"); bare deleter: $(cat "$work/bare-delete.out")"
echo "fake-gcs-server peak: $(ps -o rss= -p "$fake_pid") KiB resident at the end"
