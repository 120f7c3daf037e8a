# shellcheck shell=bash disable=SC2154 # sourced by start.sh: dir, launch, wait_until...
# PostgreSQL 15 (Debian's, $PG_BIN off PATH) for the SQL store: a throwaway
# cluster in the bench folder, run as the `postgres` user (it refuses root),
# on a free loopback port only, TLS on (a self-signed certificate, so a URL
# with sslmode=require is tested), the `postgres` superuser with a random
# password (SCRAM). fsync off: the data is thrown away with the bench.
[[ -x "$PG_BIN/postgres" ]] || die "postgresql-15 is not installed: run scripts/bench/install.sh"

read -r pg_port < <(free_ports 1)
say "postgres: starting on 127.0.0.1:$pg_port"

# The bench folder is 0700 root: the server's user must traverse it.
chmod 0711 "$dir"
pg_dir="$dir/postgres"
mkdir -p "$pg_dir"
pg_password="$(hex_secret | cut -c1-32)"
printf '%s\n' "$pg_password" >"$pg_dir/pwfile"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-keyout "$pg_dir/server.key" -out "$pg_dir/server.crt" 2>/dev/null
chmod 600 "$pg_dir/pwfile" "$pg_dir/server.key"
chown -R postgres:postgres "$pg_dir"
chmod 0700 "$pg_dir"

setpriv --reuid=postgres --regid=postgres --init-groups -- \
	"$PG_BIN/initdb" -D "$pg_dir/data" -U postgres --pwfile="$pg_dir/pwfile" \
	-A scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/postgres-initdb.log" 2>&1 ||
	fail_with_log postgres "$dir/postgres-initdb.log" "initdb failed"
rm -f "$pg_dir/pwfile"

launch postgres "$here/run-as.sh" postgres INT "$PG_BIN/postgres" -D "$pg_dir/data" \
	-c listen_addresses=127.0.0.1 -p "$pg_port" -c unix_socket_directories="$pg_dir" \
	-c ssl=on -c ssl_cert_file="$pg_dir/server.crt" -c ssl_key_file="$pg_dir/server.key" \
	-c fsync=off -c synchronous_commit=off -c full_page_writes=off
wait_until postgres "connections" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$pg_port"

bench_env \
	CT_TEST_POSTGRES_URL "postgres://postgres@127.0.0.1:$pg_port/postgres" \
	CT_TEST_POSTGRES_PASSWORD "$pg_password"
