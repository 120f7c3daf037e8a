# shellcheck shell=bash disable=SC2154 # sourced by start.sh: dir, launch, wait_until...
# Redis (Debian's redis-server 7.0): one server on a free loopback port, no
# persistence (the tests create what they need), `dir` the bench folder
# itself (redis-server changes into it, and stop.sh knows its processes by
# that folder), and `requirepass` with a random password, so the tests prove
# the tool authenticates and never prints it. The URL the tests read carries
# no password: it comes from CT_TEST_REDIS_PASSWORD, as the app's does from
# REDIS_PASSWORD.
command -v redis-server >/dev/null || die "redis-server is not installed: run scripts/bench/install.sh"

read -r redis_port < <(free_ports 1)
say "redis: starting on 127.0.0.1:$redis_port"

redis_password="$(hex_secret | cut -c1-32)"
mkdir -p "$dir/redis"
cat >"$dir/redis/redis.conf" <<CONF
bind 127.0.0.1
port $redis_port
protected-mode yes
dir $dir
daemonize no
save ""
appendonly no
requirepass $redis_password
CONF
chmod 600 "$dir/redis/redis.conf" # it holds the password

launch redis redis-server "$dir/redis/redis.conf"
redis_ping() { REDISCLI_AUTH="$redis_password" redis-cli -h 127.0.0.1 -p "$redis_port" ping | grep -q PONG; }
wait_until redis "PONG" redis_ping

bench_env \
	CT_TEST_REDIS_URL "redis://127.0.0.1:$redis_port" \
	CT_TEST_REDIS_PASSWORD "$redis_password"
