# shellcheck shell=bash disable=SC2154 # sourced by start.sh: dir, launch, wait_until...
# Redis (Debian's redis-server 7.0): one server on a free loopback port, no
# persistence (the tests create what they need), `dir` the bench folder
# itself (redis-server changes into it, and stop.sh knows its processes by
# that folder), and `requirepass` with a random password, so the tests prove
# the tool authenticates and never prints it. The URL the tests read carries
# no password: it comes from CT_TEST_REDIS_PASSWORD, as the app's does from
# REDIS_PASSWORD. The same server also listens with TLS on a second port
# (`rediss://`), its certificate signed by a throwaway CA of the bench's
# (CT_TEST_REDIS_TLS_CA): the tests prove the tool trusts it only when told.
command -v redis-server >/dev/null || die "redis-server is not installed: run scripts/bench/install.sh"

read -r redis_port redis_tls_port < <(free_ports 2)
say "redis: starting on 127.0.0.1:$redis_port (TLS on $redis_tls_port)"

redis_password="$(hex_secret | cut -c1-32)"
mkdir -p "$dir/redis"
# A CA and a server certificate for 127.0.0.1 (rustls wants the address in
# the subjectAltName and refuses a CA certificate as the server's own).
(
	cd "$dir/redis"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ct-bench-redis-ca \
		-keyout ca.key -out ca.pem
	openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr
	printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' >server.ext
	openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile server.ext -out server.pem
	chmod 600 ca.key server.key
) >"$dir/redis-tls.log" 2>&1 || fail_with_log redis "$dir/redis-tls.log" "openssl failed"
cat >"$dir/redis/redis.conf" <<CONF
bind 127.0.0.1
port $redis_port
protected-mode yes
dir $dir
daemonize no
save ""
appendonly no
requirepass $redis_password
tls-port $redis_tls_port
tls-cert-file $dir/redis/server.pem
tls-key-file $dir/redis/server.key
tls-ca-cert-file $dir/redis/ca.pem
tls-auth-clients no
CONF
chmod 600 "$dir/redis/redis.conf" # it holds the password

launch redis redis-server "$dir/redis/redis.conf"
redis_ping() { REDISCLI_AUTH="$redis_password" redis-cli -h 127.0.0.1 -p "$redis_port" ping | grep -q PONG; }
wait_until redis "PONG" redis_ping

bench_env \
	CT_TEST_REDIS_URL "redis://127.0.0.1:$redis_port" \
	CT_TEST_REDIS_PASSWORD "$redis_password" \
	CT_TEST_REDIS_TLS_URL "rediss://127.0.0.1:$redis_tls_port" \
	CT_TEST_REDIS_TLS_CA "$dir/redis/ca.pem"
