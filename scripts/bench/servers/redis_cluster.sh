# shellcheck shell=bash disable=SC2154 # sourced by start.sh after redis.sh: dir, launch, redis_password...
# Redis Cluster (issue 26): six redis-servers in cluster mode on free
# loopback ports, made into one cluster of three masters with a replica
# each by `redis-cli --cluster create --cluster-replicas 1`. One cluster
# serves both needs of the tests: three masters (the slots split three
# ways, as ElastiCache's or a self-managed cluster's), and a replica per
# master, whose copies of every key the tool must not walk a second time.
# A second cluster would double the start-up for nothing the first lacks.
#
# Same password as the single server (`requirepass`, and `masterauth` for
# the replicas), persistence off, each node's `nodes-PORT.conf` in
# redis-cluster/ while its working directory stays the bench folder
# (stop.sh knows our processes by it). The bus ports are free ports too
# (`cluster-port`), not port+10000, which another bench may hold.
# `cluster-replica-no-failover yes`: the masters stay the masters (a busy
# machine that delays a heartbeat past the node timeout never has a
# replica promoted mid-test). The tests that stop a node start a cluster
# of their own (tests/it/redis_cluster.rs): this one is shared.

: "${redis_password:?servers/redis.sh runs first (its password serves the cluster too)}"
read -r -a cluster_ports < <(free_ports 12)
mkdir -p "$dir/redis-cluster"
cluster_addresses=()
for n in 1 2 3 4 5 6; do
	port="${cluster_ports[$((n - 1))]}"
	bus="${cluster_ports[$((n + 5))]}"
	cat >"$dir/redis-cluster/node-$n.conf" <<CONF
bind 127.0.0.1
port $port
cluster-enabled yes
cluster-port $bus
cluster-config-file $dir/redis-cluster/nodes-$port.conf
cluster-node-timeout 5000
cluster-replica-no-failover yes
protected-mode yes
dir $dir
daemonize no
save ""
appendonly no
requirepass $redis_password
masterauth $redis_password
CONF
	chmod 600 "$dir/redis-cluster/node-$n.conf" # it holds the password
	launch "redis-cluster-$n" redis-server "$dir/redis-cluster/node-$n.conf"
	cluster_addresses+=("127.0.0.1:$port")
done
say "redis cluster: nodes on ${cluster_addresses[*]}"
cluster_cli() { REDISCLI_AUTH="$redis_password" timeout 30 redis-cli "$@"; }
for n in 1 2 3 4 5 6; do
	port="${cluster_ports[$((n - 1))]}"
	node_ping() { cluster_cli -h 127.0.0.1 -p "$1" ping | grep -q PONG; }
	wait_until "redis-cluster-$n" "PONG" node_ping "$port"
done
cluster_cli --cluster create "${cluster_addresses[@]}" --cluster-replicas 1 --cluster-yes \
	>"$dir/redis-cluster-create.log" 2>&1 ||
	fail_with_log redis-cluster-1 "$dir/redis-cluster-create.log" "redis-cli --cluster create failed"
# Ready when every node sees all slots served and its replicas attached.
cluster_ready() {
	local p
	for p in "${cluster_ports[@]:0:6}"; do
		cluster_cli -h 127.0.0.1 -p "$p" cluster info | grep -q '^cluster_state:ok' || return 1
	done
	for p in "${cluster_ports[@]:0:3}"; do
		cluster_cli -h 127.0.0.1 -p "$p" info replication | grep -q '^connected_slaves:1' || return 1
	done
}
wait_until redis-cluster-1 "cluster_state:ok on every node" cluster_ready

bench_env \
	CT_TEST_REDIS_CLUSTER_URL "redis://${cluster_addresses[0]}" \
	CT_TEST_REDIS_CLUSTER_NODES "${cluster_addresses[*]}"
