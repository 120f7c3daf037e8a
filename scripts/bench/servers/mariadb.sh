# shellcheck shell=bash disable=SC2154 # sourced by start.sh: dir, launch, wait_until...
# MariaDB 10.11 (Debian's) for the SQL store: a throwaway data directory in
# the bench folder, run as the `mysql` user, TCP on a free loopback port
# only (--bind-address, --skip-name-resolve), its socket in the bench
# folder, an `admin` account (all privileges, grant option) with a random
# password, and an empty `chronotrace` database for the tests' tables.
command -v mariadbd >/dev/null || die "mariadb-server is not installed: run scripts/bench/install.sh"

read -r my_port < <(free_ports 1)
say "mariadb: starting on 127.0.0.1:$my_port"

chmod 0711 "$dir" # the server's user must traverse the bench folder
my_dir="$dir/mariadb"
mkdir -p "$my_dir"
chown mysql:mysql "$my_dir"
chmod 0700 "$my_dir"
my_password="$(hex_secret | cut -c1-32)"

mariadb-install-db --no-defaults --user=mysql --datadir="$my_dir/data" \
	--auth-root-authentication-method=socket --skip-test-db \
	>"$dir/mariadb-install.log" 2>&1 ||
	fail_with_log mariadb "$dir/mariadb-install.log" "mariadb-install-db failed"

launch mariadb "$here/run-as.sh" mysql TERM mariadbd --no-defaults \
	--datadir="$my_dir/data" --socket="$my_dir/mysqld.sock" --pid-file="$my_dir/mysqld.pid" \
	--port="$my_port" --bind-address=127.0.0.1 --skip-name-resolve \
	--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --log-error="$dir/mariadb.err"
my_sql() { timeout 30 mariadb --no-defaults --socket="$my_dir/mysqld.sock" -uroot "$@"; }
wait_until mariadb "connections" my_sql -e "SELECT 1"

my_sql <<SQL
CREATE DATABASE chronotrace;
CREATE USER 'admin'@'127.0.0.1' IDENTIFIED BY '$my_password';
GRANT ALL PRIVILEGES ON *.* TO 'admin'@'127.0.0.1' WITH GRANT OPTION;
SQL

bench_env \
	CT_TEST_MARIADB_URL "mysql://admin@127.0.0.1:$my_port/chronotrace" \
	CT_TEST_MARIADB_PASSWORD "$my_password"
