#!/usr/bin/env bash
# Benchmark of the SQL store (issues 13 and 26): 1,000,000 traces over 30
# days, in PostgreSQL 15 and then in MariaDB 10.11 in the same run: on each,
# our `cleanup verify`, `cleanup purge --yes` and `report` beside the seed's
# own purge (one `DELETE ... WHERE created_at < ?`, run by the server's
# client on an identical copy of the table). Prints time and peak memory of
# each, the ratios, and the longest lock each purge holds (ours: its
# longest batch transaction; the seed's: its whole DELETE).
#   scripts/bench/sql.sh                        # 1,000,000 rows, both servers
#   CT_SQL_N=100000 scripts/bench/sql.sh        # a smaller run
#   CT_SQL_SERVERS=postgres scripts/bench/sql.sh  # one server (postgres, mariadb)
#   CT_SQL_SERVERS=postgres-partitioned ...     # PostgreSQL, 3 range partitions of 10 days
#   CT_SQL_SERVERS=mariadb-partitioned ...      # MariaDB, the same by UNIX_TIMESTAMP(created_at)
#   CT_SQL_BIN=target/release/chronotrace-ops   # another build (default: debug)
#   CT_SQL_LOG=DIR                              # keep each purge's batch log there
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
SERVERS="${CT_SQL_SERVERS:-postgres mariadb}"
cutoff="$(date -u -d '15 days ago' +%F) 00:00:00"
work="$(mktemp -d)"

# Per server: a client that runs SQL from stdin or -c/-e, the spec's URL,
# the rows generator and the copy of the table for the seed's DELETE.
use_server() { # postgres | mariadb
	server="$1"
	case "$server" in
	postgres | postgres-partitioned)
		export PGPASSWORD="$CT_TEST_POSTGRES_PASSWORD" DB_PASSWORD="$CT_TEST_POSTGRES_PASSWORD"
		url="$CT_TEST_POSTGRES_URL"
		label="PostgreSQL 15"
		[[ "$server" == postgres ]] || label="PostgreSQL 15, 3 partitions of 10 days"
		sql_() { psql -X -q -v ON_ERROR_STOP=1 "$CT_TEST_POSTGRES_URL" "$@"; }
		seed_purge=(psql -X -v ON_ERROR_STOP=1 "$CT_TEST_POSTGRES_URL" -c)
		;;
	mariadb | mariadb-partitioned)
		export MYSQL_PWD="$CT_TEST_MARIADB_PASSWORD" DB_PASSWORD="$CT_TEST_MARIADB_PASSWORD"
		url="$CT_TEST_MARIADB_URL"
		label="MariaDB 10.11"
		[[ "$server" == mariadb ]] || label="MariaDB 10.11, 3 partitions of 10 days"
		local rest="${CT_TEST_MARIADB_URL#*@}"
		my_host="${rest%%:*}"
		rest="${rest#*:}"
		my_port="${rest%%/*}"
		my_db="${rest#*/}"
		sql_() { mariadb --no-defaults -h "$my_host" -P "$my_port" -uadmin "$my_db" "$@"; }
		seed_purge=(mariadb --no-defaults -h "$my_host" -P "$my_port" -uadmin "$my_db" -e)
		;;
	*) die "CT_SQL_SERVERS: unknown server $server (postgres, postgres-partitioned, mariadb, mariadb-partitioned)" ;;
	esac
	# apply writes the app's credentials once: each server its own folder.
	rm -f "$work"/app-credentials.*.env
	cat >"$work/chronotrace-ops.yaml" <<-YAML
		project: bench
		environments:
		  bench:
		    storage: database
		    url: $url
		    table: bench_traces
		    retention_days: 15
	YAML
}
ct() { (cd "$work" && "$BIN" -e bench "$@"); }

# The table as apply creates it, N rows written in time order as an app
# writes them, and its copy for the seed's DELETE.
fill() {
	case "$server" in
	postgres)
		echo "DROP TABLE IF EXISTS bench_traces, bench_seed; DROP ROLE IF EXISTS bench_traces_bench_app;" | sql_ 2>/dev/null || true
		ct apply --yes --out "$work" >/dev/null
		sql_ <<-SQL
			INSERT INTO bench_traces (trace_id, data, created_at, updated_at)
			SELECT md5(g::text), repeat('x', $SIZE), t, t
			FROM (SELECT g, date_trunc('day', LOCALTIMESTAMP) - interval '29 days'
			             + (g * (30 * 86400.0 / $N)) * interval '1 second' AS t
			      FROM generate_series(1, $N) g) rows
			ORDER BY t;
			CREATE TABLE bench_seed (LIKE bench_traces INCLUDING ALL);
			INSERT INTO bench_seed SELECT * FROM bench_traces;
			VACUUM ANALYZE bench_traces;
			VACUUM ANALYZE bench_seed;
			CHECKPOINT;
		SQL
		;;
	postgres-partitioned)
		# The seed's columns, range partitions of 10 days on created_at
		# (the first wholly past the cutoff, the second across it), as
		# a team makes them; the seed's copy partitioned the same way.
		echo "DROP TABLE IF EXISTS bench_traces, bench_seed; DROP ROLE IF EXISTS bench_traces_bench_app;" | sql_ 2>/dev/null || true
		local table
		for table in bench_traces bench_seed; do
			sql_ <<-SQL
				CREATE TABLE $table (id bigserial, trace_id varchar(255) NOT NULL, data text NOT NULL,
				  created_at timestamp(0) without time zone NOT NULL, updated_at timestamp(0) without time zone NULL,
				  PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);
				CREATE INDEX ON $table (created_at);
				CREATE UNIQUE INDEX ON $table (trace_id, created_at);
				DO \$\$ DECLARE start timestamp := date_trunc('day', LOCALTIMESTAMP) - interval '29 days'; BEGIN
				  FOR k IN 0..2 LOOP
				    EXECUTE format('CREATE TABLE %I PARTITION OF $table FOR VALUES FROM (%L) TO (%L)',
				      '${table}_' || k, start + k * interval '10 days', start + (k + 1) * interval '10 days');
				  END LOOP;
				END \$\$;
				INSERT INTO $table (trace_id, data, created_at, updated_at)
				SELECT md5(g::text), repeat('x', $SIZE), t, t
				FROM (SELECT g, date_trunc('day', LOCALTIMESTAMP) - interval '29 days'
				             + ((g - 1) * (30 * 86400.0 / $N)) * interval '1 second' AS t
				      FROM generate_series(1, $N) g) rows
				ORDER BY t;
				VACUUM ANALYZE $table;
			SQL
		done
		echo "CHECKPOINT" | sql_
		;;
	mariadb)
		echo "DROP TABLE IF EXISTS bench_traces, bench_seed; DROP USER IF EXISTS 'bench_traces_bench_app'@'%';" | sql_ 2>/dev/null || true
		ct apply --yes --out "$work" >/dev/null
		sql_ <<-SQL
			INSERT INTO bench_traces (trace_id, data, created_at, updated_at)
			SELECT md5(seq), repeat('x', $SIZE), t, t
			FROM (SELECT seq, CURRENT_DATE - INTERVAL 29 DAY
			             + INTERVAL (seq * 30 * 86400 DIV $N) SECOND AS t
			      FROM seq_1_to_$N) r
			ORDER BY t;
			CREATE TABLE bench_seed LIKE bench_traces;
			INSERT INTO bench_seed SELECT * FROM bench_traces;
			ANALYZE TABLE bench_traces, bench_seed;
		SQL
		;;
	mariadb-partitioned)
		# As postgres-partitioned: 3 partitions of 10 days, keyed
		# RANGE (UNIX_TIMESTAMP(created_at)) as MariaDB needs for a
		# timestamp, bounds in the server's time zone as the rows are.
		echo "DROP TABLE IF EXISTS bench_traces, bench_seed; DROP USER IF EXISTS 'bench_traces_bench_app'@'%';" | sql_ 2>/dev/null || true
		local start table
		start="$(echo "SELECT CURRENT_DATE - INTERVAL 29 DAY" | sql_ -N)"
		bound() { date -u -d "$start + $1 days" +'%F 00:00:00'; }
		for table in bench_traces bench_seed; do
			sql_ <<-SQL
				CREATE TABLE $table (id bigint unsigned NOT NULL AUTO_INCREMENT, trace_id varchar(255) NOT NULL,
				  data longtext NOT NULL, created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_at timestamp NULL,
				  PRIMARY KEY (id, created_at), UNIQUE KEY ${table}_trace_id (trace_id, created_at), KEY ${table}_created_at (created_at))
				  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci
				  PARTITION BY RANGE (UNIX_TIMESTAMP(created_at)) (
				    PARTITION ${table}_0 VALUES LESS THAN (UNIX_TIMESTAMP('$(bound 10)')),
				    PARTITION ${table}_1 VALUES LESS THAN (UNIX_TIMESTAMP('$(bound 20)')),
				    PARTITION ${table}_2 VALUES LESS THAN (UNIX_TIMESTAMP('$(bound 30)')));
				INSERT INTO $table (trace_id, data, created_at, updated_at)
				SELECT md5(seq), repeat('x', $SIZE), t, t
				FROM (SELECT seq, CURRENT_DATE - INTERVAL 29 DAY
				             + INTERVAL ((seq - 1) * 30 * 86400 DIV $N) SECOND AS t
				      FROM seq_1_to_$N) r
				ORDER BY t;
				ANALYZE TABLE $table;
			SQL
		done >/dev/null
		;;
	esac
	settle
}

# Waits for the server's background work on the last writes (MariaDB's
# undo purge) so that neither purge pays for the other's.
settle() {
	[[ "$server" == mariadb* ]] || return 0
	local i
	for ((i = 0; i < 120; i++)); do
		local history
		history="$(echo "SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'" | sql_ -N 2>/dev/null || echo 0)"
		history="${history//[^0-9]/}"
		((${history:-0} < 1000)) && return 0
		sleep 1
	done
}

# Wall seconds and peak RSS (KiB) of one command: "secs kib".
measure() { # name command...
	local name="$1"
	shift
	(cd "$work" && /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err") || true
	tail -n 1 "$work/$name.time"
}

ratio() { echo "scale=2; $1 / $2" | bc; }
rows=()
for server in $SERVERS; do
	use_server "$server"
	say "$label: creating the seed's table (apply) and $N rows over 30 days ($SIZE bytes each)"
	fill
	read -r verify_s verify_kb < <(measure verify "$BIN" -e bench cleanup verify)
	read -r report_s report_kb < <(measure report "$BIN" -e bench report --format json)
	read -r purge_s purge_kb < <(measure purge "$BIN" -e bench -v cleanup purge --yes)
	deleted="$(grep -o '"deleted_objects": *[0-9]*' "$work/purge.out" | grep -o '[0-9]*$' || true)"
	[[ -n "$deleted" ]] || deleted="$(grep -o 'deleted [0-9,]* objects' "$work/purge.out" | tr -dc 0-9)"
	batches="$(grep -c 'purge batch committed' "$work/purge.err" || true)"
	longest_ms="$(grep 'purge batch committed' "$work/purge.err" | grep -o 'ms=[0-9]*' | cut -d= -f2 | sort -n | tail -1)"
	if [[ -n "${CT_SQL_LOG:-}" ]]; then
		mkdir -p "$CT_SQL_LOG"
		cp "$work/purge.err" "$CT_SQL_LOG/purge-$server.log"
	fi
	settle
	# The seed's purge: one statement, every expired row locked until it ends.
	read -r seed_s _ < <(measure seed "${seed_purge[@]}" "DELETE FROM bench_seed WHERE created_at < '$cutoff'")
	if [[ "$server" == postgres* ]]; then
		seed_deleted="$(echo "SELECT $N - COUNT(*) FROM bench_seed" | sql_ -t -A)"
	else
		seed_deleted="$(echo "SELECT $N - COUNT(*) FROM bench_seed" | sql_ -N)"
	fi
	rows+=("| $label | cleanup verify (count past cutoff) | $verify_s | $((verify_kb / 1024)) MiB | - | - |"
		"| $label | report (per day, sizes) | $report_s | $((report_kb / 1024)) MiB | - | - |"
		"| $label | purge: $deleted rows (seed: $seed_deleted) | $purge_s | $((purge_kb / 1024)) MiB | $seed_s | $(ratio "$purge_s" "$seed_s") |"
		"| $label | longest lock held by the purge | ${longest_ms} ms ($batches batches, sized by time) | | $seed_s s (one statement) | $(ratio "${longest_ms:-0}" "$(echo "$seed_s * 1000" | bc)") |")
	echo "DROP TABLE IF EXISTS bench_seed" | sql_ >/dev/null
	ct destroy --yes --empty >/dev/null 2>&1 || true
	# A partitioned table is the script's, not apply's: destroy leaves it.
	[[ "$server" != *-partitioned ]] || echo "DROP TABLE IF EXISTS bench_traces" | sql_ >/dev/null
done

cat <<REPORT

SQL store benchmark: $N traces over 30 days ($SIZE-byte data), retention 15 days
| server | job | ours (s) | ours peak RSS | seed (s) | ratio ours/seed |
|---|---|---|---|---|---|
REPORT
printf '%s\n' "${rows[@]}"
echo "(binary: $BIN)"
rm -rf "$work"
