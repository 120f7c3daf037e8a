#!/usr/bin/env bash
# Benchmark of the SQL store (issue 13): 1,000,000 traces over 30 days in
# PostgreSQL, then, in the same run, our `cleanup verify`, `cleanup purge
# --yes` and `report` beside the seed's own purge (one `DELETE ... WHERE
# created_at < ?`, run by psql on an identical copy of the table). Prints
# time and peak memory of each, the ratios, and the longest lock each purge
# holds (ours: its longest batch transaction; the seed's: its whole DELETE).
#   scripts/bench/sql.sh                        # 1,000,000 rows
#   CT_SQL_N=100000 scripts/bench/sql.sh        # a smaller run
#   CT_SQL_BIN=target/release/chronotrace-ops   # another build (default: debug)
#   CT_BENCH_DIR=DIR                            # a running bench to use
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=scripts/bench/common.sh
. "$here/common.sh"

N="${CT_SQL_N:-1000000}"
SIZE="${CT_SQL_SIZE:-200}" # bytes of `data` per trace
BIN="${CT_SQL_BIN:-$root/target/debug/chronotrace-ops}"
[[ -x "$BIN" ]] || (cd "$root" && cargo build --quiet)

# A bench of our own unless one is given; stopped however this ends.
if [[ -z "${CT_BENCH_DIR:-}" || ! -f "${CT_BENCH_DIR:-}/env" ]]; then
	CT_BENCH_DIR="$(mktemp -d "${TMPDIR:-/tmp}/ct-bench.XXXXXX")"
	export CT_BENCH_DIR
	trap '"$here/stop.sh" "$CT_BENCH_DIR"' EXIT
	"$here/start.sh" >/dev/null
fi
# shellcheck source=/dev/null
. "$CT_BENCH_DIR/env"
export PGPASSWORD="$CT_TEST_POSTGRES_PASSWORD" DB_PASSWORD="$CT_TEST_POSTGRES_PASSWORD"
psql_() { psql -X -q -v ON_ERROR_STOP=1 "$CT_TEST_POSTGRES_URL" "$@"; }

work="$(mktemp -d)"
cat >"$work/chronotrace-ops.yaml" <<YAML
project: bench
environments:
  bench:
    storage: database
    url: $CT_TEST_POSTGRES_URL
    table: bench_traces
    retention_days: 15
YAML
ct() { (cd "$work" && "$BIN" -e bench "$@"); }

say "creating the seed's table (apply) and $N rows over 30 days ($SIZE bytes each)"
psql_ -c "DROP TABLE IF EXISTS bench_traces, bench_seed" -c "DROP ROLE IF EXISTS bench_traces_bench_app" 2>/dev/null || true
ct apply --yes --out "$work" >/dev/null 2>&1
psql_ <<SQL
INSERT INTO bench_traces (trace_id, data, created_at, updated_at)
SELECT md5(g::text), repeat('x', $SIZE), t, t
FROM (SELECT g, date_trunc('day', LOCALTIMESTAMP) - interval '29 days'
             + (g * (30 * 86400.0 / $N)) * interval '1 second' AS t
      FROM generate_series(1, $N) g) rows
ORDER BY t; -- as an app writes them: in time order
CREATE TABLE bench_seed (LIKE bench_traces INCLUDING ALL);
INSERT INTO bench_seed SELECT * FROM bench_traces;
VACUUM ANALYZE bench_traces;
VACUUM ANALYZE bench_seed;
SQL

# Wall seconds and peak RSS (KiB) of one command: "secs kib".
measure() { # name command...
	local name="$1"
	shift
	(cd "$work" && /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err") || true
	tail -n 1 "$work/$name.time"
}

read -r verify_s verify_kb < <(measure verify "$BIN" -e bench cleanup verify)
read -r report_s report_kb < <(measure report "$BIN" -e bench report --format json)
read -r purge_s purge_kb < <(measure purge "$BIN" -e bench -v cleanup purge --yes)
deleted="$(grep -o '"deleted_objects": *[0-9]*' "$work/purge.out" | grep -o '[0-9]*$' || true)"
[[ -n "$deleted" ]] || deleted="$(grep -o 'deleted [0-9,]* objects' "$work/purge.out" | tr -dc 0-9)"
batches="$(grep -c 'purge batch committed' "$work/purge.err" || true)"
longest_ms="$(grep -o 'ms=[0-9]*' "$work/purge.err" | cut -d= -f2 | sort -n | tail -1)"

# The seed's purge: one statement, every expired row locked until it ends.
cutoff="$(date -u -d '15 days ago' +%F) 00:00:00"
read -r seed_s seed_kb < <(measure seed psql -X -v ON_ERROR_STOP=1 "$CT_TEST_POSTGRES_URL" \
	-c "DELETE FROM bench_seed WHERE created_at < CAST('$cutoff' AS timestamp)")
seed_deleted="$(grep -o 'DELETE [0-9]*' "$work/seed.out" | cut -d' ' -f2)"

ratio() { echo "scale=2; $1 / $2" | bc; }
cat <<REPORT

SQL store benchmark: $N traces over 30 days in PostgreSQL 15 ($SIZE-byte data), retention 15 days
| job | ours (s) | ours peak RSS | seed (s) | ratio ours/seed |
|---|---|---|---|---|
| cleanup verify (count past cutoff) | $verify_s | $((verify_kb / 1024)) MiB | - | - |
| report (per day, sizes) | $report_s | $((report_kb / 1024)) MiB | - | - |
| purge: $deleted rows (seed: $seed_deleted) | $purge_s | $((purge_kb / 1024)) MiB | $seed_s | $(ratio "$purge_s" "$seed_s") |
| longest lock held by the purge | ${longest_ms} ms ($batches batches of <= 5000 rows) | | $seed_s s (one statement) | $(ratio "${longest_ms:-0}" "$(echo "$seed_s * 1000" | bc)") |
(psql's peak RSS for the seed's DELETE: $((seed_kb / 1024)) MiB; binary: $BIN)
REPORT
psql_ -c "DROP TABLE IF EXISTS bench_seed" >/dev/null
ct destroy --yes --empty >/dev/null 2>&1 || true
rm -rf "$work"
