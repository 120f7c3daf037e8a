#!/usr/bin/env bash
# Benchmarks of `migrate` (issue 25): N traces moved local → Garage and
# Redis → Garage by chronotrace-ops (`migrate --move --yes`: each copy
# confirmed, each source copy removed if unchanged), beside, in the same
# run and at the same concurrency, the bare copy script
# (scripts/bench/bare_copy.py: read, PUT, nothing confirmed or removed) and
# `rclone move` (local → Garage, the peer a user reaches for). Wall time,
# ratios and peak memory; each run into a fresh bucket.
#   scripts/bench/migrate.sh                      # 100,000 traces
#   CT_MIGRATE_N=20000 scripts/bench/migrate.sh   # a smaller run
#   CT_PERF_BIN=target/release/chronotrace-ops    # skip the release build
#   CT_MIGRATE_OUT=FILE                           # also write the table to FILE
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=scripts/bench/common.sh
. "$here/common.sh"

N="${CT_MIGRATE_N:-100000}" # traces of each source
DAYS=30                     # spread over the last 30 days
SIZE=2048                   # bytes a trace (the manifest of a small request)
WORKERS=16                  # migrate's default --concurrency
PEERS_HOME="$CT_CACHE/perf-peers"

mkdir -p "$CT_CACHE" "$CT_LOGS"
"$here/install.sh"
if [[ ! -x "$PEERS_HOME/bin/python" ]] || ! "$PEERS_HOME/bin/python" -c 'import boto3, redis' 2>/dev/null; then
	say "peers: installing boto3 and redis from PyPI into $PEERS_HOME"
	python3 -m venv "$PEERS_HOME"
	"$PEERS_HOME/bin/pip" install -q boto3 redis >"$CT_LOGS/migrate-peers.log" 2>&1 ||
		die "pip install failed (log: $CT_LOGS/migrate-peers.log)"
fi
if ! command -v rclone >/dev/null; then
	say "peers: installing rclone from Debian"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rclone \
		>"$CT_LOGS/migrate-rclone.log" 2>&1 || say "peers: rclone install failed: left out"
fi
[[ -x /usr/bin/time ]] || DEBIAN_FRONTEND=noninteractive apt-get install -y time >/dev/null 2>&1 ||
	die "/usr/bin/time is needed for peak memory"
PY="$PEERS_HOME/bin/python"

CT_BENCH_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ct-migrate.XXXXXX")"
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
export REDIS_PASSWORD="$CT_TEST_REDIS_PASSWORD"
unset AWS_CA_BUNDLE
export RCLONE_CONFIG_G_TYPE=s3 RCLONE_CONFIG_G_PROVIDER=Other RCLONE_CONFIG_G_REGION=garage
export RCLONE_CONFIG_G_ENDPOINT="$CT_TEST_GARAGE_ENDPOINT"
export RCLONE_CONFIG_G_ACCESS_KEY_ID="$AWS_ACCESS_KEY_ID" RCLONE_CONFIG_G_SECRET_ACCESS_KEY="$AWS_SECRET_ACCESS_KEY"
endpoint="$CT_TEST_GARAGE_ENDPOINT"

ours="${CT_PERF_BIN:-}"
if [[ -z "$ours" ]]; then
	say "building chronotrace-ops (release)"
	(cd "$root" && cargo build --release -q)
	ours="$root/target/release/chronotrace-ops"
fi

# --- the traces ----------------------------------------------------------------
# The same N traces twice: as the package's files under $work/seed/traces/
# ({day}/{id}.zip, copied afresh before each run that moves them), and in
# Redis as the seed's store writes them (SET with a TTL, ZADD), loaded with
# redis-cli --pipe.
say "writing $N traces ($SIZE bytes each) over $DAYS days"
"$PY" "$here/migrate_seed.py" "$work" "$N" "$DAYS" "$SIZE"
load_redis() {
	redis-cli -u "$CT_TEST_REDIS_URL" -a "$CT_TEST_REDIS_PASSWORD" --no-auth-warning --pipe \
		<"$work/redis.resp" >/dev/null
}
fresh_disk() { rm -rf "${work:?}/disk" && cp -a "$work/seed" "$work/disk"; }
make_bucket() {
	"$PY" -c "import boto3,sys; boto3.client('s3', endpoint_url=sys.argv[1]).create_bucket(Bucket=sys.argv[2])" \
		"$endpoint" "$1"
}

spec="$work/chronotrace-ops.yaml"
write_spec() { # bucket
	{
		echo "project: bench"
		echo "environments:"
		echo "  disk: {storage: local, path: $work/disk, retention_days: 90}"
		echo "  cache: {storage: redis, url: '$CT_TEST_REDIS_URL', key_prefix: 'bench:traces:', index_key: 'bench:index', retention_days: 90}"
		echo "  bucket: {storage: s3, provider: s3-compatible, endpoint: '$endpoint', region: garage, bucket: $1, prefix: bench, retention_days: 90}"
	} >"$spec"
}

results="$work/results.tsv" # name, seconds, peak KiB, exit
: >"$results"
measure() { # NAME COMMAND...
	local name="$1" rc=0 secs kib
	shift
	/usr/bin/time -f '%e %M' -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
	read -r secs kib < <(tail -n 1 "$work/$name.time")
	printf '%s\t%s\t%s\t%s\n' "$name" "$secs" "$kib" "$rc" >>"$results"
	say "$name: ${secs}s, peak $((kib / 1024)) MiB, exit $rc"
	if ((rc != 0)); then tail -n 2 "$work/$name.err" >&2; fi
}

# --- local → Garage ----------------------------------------------------------------
make_bucket mig-bare-local
measure bare_local "$PY" "$here/bare_copy.py" local "$work/seed" "$endpoint" mig-bare-local bench "$WORKERS"
fresh_disk
make_bucket mig-ours-local
write_spec mig-ours-local
measure ours_local "$ours" --config "$spec" --output json migrate --from disk --to bucket --move --yes --concurrency "$WORKERS"
if command -v rclone >/dev/null; then
	fresh_disk
	make_bucket mig-rclone-local
	measure rclone_local rclone move "$work/disk/traces" "g:mig-rclone-local/bench/traces" \
		--transfers "$WORKERS" --checkers "$WORKERS"
fi

# --- Redis → Garage ----------------------------------------------------------------
load_redis
make_bucket mig-bare-redis
measure bare_redis "$PY" "$here/bare_copy.py" redis "$CT_TEST_REDIS_URL" "$CT_TEST_REDIS_PASSWORD" \
	'bench:traces:' bench:index "$endpoint" mig-bare-redis bench "$WORKERS"
make_bucket mig-ours-redis
write_spec mig-ours-redis
measure ours_redis "$ours" --config "$spec" --output json migrate --from cache --to bucket --move --yes --concurrency "$WORKERS"

# --- the table -----------------------------------------------------------------------
table="$work/table.md"
"$PY" "$here/migrate_table.py" "$results" "$work" "$N" >"$table"
cat "$table"
if [[ -n "${CT_MIGRATE_OUT:-}" ]]; then cp "$table" "$CT_MIGRATE_OUT"; fi
