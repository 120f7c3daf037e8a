#!/usr/bin/env bash
# Start the bench: a moto server and a single-node Garage, on free loopback
# ports, and the servers of servers/ (SeaweedFS, Redis, PostgreSQL, MariaDB,
# the GCS emulators), with all their state in one fresh folder ($CT_BENCH_DIR, or a new
# temporary one). Writes "$CT_BENCH_DIR/env" (export lines for the
# CT_TEST_* variables the tests read) and prints the folder on stdout.
# Stop with: scripts/bench/stop.sh "$CT_BENCH_DIR"
#
# Needs scripts/bench/install.sh to have run. Several benches can run at
# once: each picks its own ports and folder.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/bench/common.sh
. "$here/common.sh"

# How long each server may take to come up (a cold CI machine is slow).
timeout="${CT_BENCH_TIMEOUT:-60}"

[[ -x "$MOTO_SERVER" ]] || die "moto is not installed: run scripts/bench/install.sh"
[[ -x "$GARAGE" ]] || die "garage is not installed: run scripts/bench/install.sh"

dir="${CT_BENCH_DIR:-}"
if [[ -z "$dir" ]]; then
	dir="$(mktemp -d "${TMPDIR:-/tmp}/ct-bench.XXXXXX")"
else
	mkdir -p "$dir"
fi
# Absolute and without symlinks: stop.sh recognises our servers by their
# working directory being exactly this folder.
dir="$(cd "$dir" && pwd -P)"
if compgen -G "$dir/*.pid" >/dev/null; then
	die "$dir already has a bench running: stop it with scripts/bench/stop.sh $dir"
fi
# The marker lets stop.sh delete this folder, and only folders like it.
touch "$dir/.ct-bench"

# If anything below fails, stop what was started but keep the logs.
trap 'rc=$?; if ((rc != 0)); then say "start failed; logs kept in $dir"; CT_BENCH_KEEP=1 "$here/stop.sh" "$dir"; fi' EXIT

# Print the end of a server's log and fail.
fail_with_log() { # name log message
	say "$1 log ($2), last lines:"
	tail -n 40 "$2" >&2 || true
	die "$3"
}

# Ask the kernel for free ports: bind port 0 for each (all sockets open at
# once, so they differ), print the numbers, release them for the servers.
# shellcheck disable=SC2034 # read assigns them
read -r moto_port garage_s3_port garage_rpc_port garage_admin_port < <(
	"$MOTO_PYTHON" - <<-'EOF'
		import socket
		socks = [socket.socket() for _ in range(4)]
		for s in socks:
		    s.bind(("127.0.0.1", 0))
		print(*(s.getsockname()[1] for s in socks))
	EOF
)

# Free loopback ports for one more server: prints N numbers (all bound at
# once, so they differ). Usage: read -r a b < <(free_ports 2)
free_ports() {
	"$MOTO_PYTHON" - "$1" <<-'EOF'
		import socket, sys
		socks = [socket.socket() for _ in range(int(sys.argv[1]))]
		for s in socks:
		    s.bind(("127.0.0.1", 0))
		print(*(s.getsockname()[1] for s in socks))
	EOF
}

# The CT_TEST_* variables the servers in servers/ add to the env file.
# Usage: bench_env NAME VALUE...
extra_env=()
bench_env() {
	while (($# >= 2)); do
		extra_env+=("$1" "$2")
		shift 2
	done
}

# Start a server in the bench folder (its working directory marks it as
# ours), with its output in a log file. Usage: launch NAME COMMAND...
launch() {
	local name="$1"
	shift
	(cd "$dir" && NO_COLOR=1 exec "$@" </dev/null >"$dir/$name.log" 2>&1) &
	echo "$!" >"$dir/$name.pid"
}

alive() { kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

# Poll until COMMAND succeeds, failing early if the server died.
# Usage: wait_until NAME WHAT COMMAND...
wait_until() {
	local name="$1" what="$2"
	shift 2
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		alive "$name" || fail_with_log "$name" "$dir/$name.log" "$name exited while waiting for $what"
		((SECONDS < deadline)) || fail_with_log "$name" "$dir/$name.log" "$name: no $what after ${timeout}s"
		sleep 0.2
	done
}

# Succeeds when URL answers HTTP at all (any status), or with STATUS if given.
http_answers() { # url [status]
	"$MOTO_PYTHON" - "$@" <<-'EOF'
		import sys, urllib.request, urllib.error
		url, want = sys.argv[1], (int(sys.argv[2]) if len(sys.argv) > 2 else None)
		try:
		    status = urllib.request.urlopen(url, timeout=2).status
		except urllib.error.HTTPError as e:
		    status = e.code
		sys.exit(0 if want is None or status == want else 1)
	EOF
}

hex_secret() { "$MOTO_PYTHON" -c 'import secrets; print(secrets.token_hex(32))'; }

# --- moto ------------------------------------------------------------------
say "moto: starting on 127.0.0.1:$moto_port"
launch moto "$MOTO_SERVER" -H 127.0.0.1 -p "$moto_port"
wait_until moto "HTTP answer" http_answers "http://127.0.0.1:$moto_port/moto-api/" 200

# --- Garage ----------------------------------------------------------------
say "garage: starting (S3 127.0.0.1:$garage_s3_port, admin 127.0.0.1:$garage_admin_port)"
conf="$dir/garage.toml"
admin_token="$(hex_secret)"
# lmdb: Garage's default and recommended metadata engine (compiled in by the
# default features, as is sqlite).
cat >"$conf" <<EOF
metadata_dir = "$dir/garage/meta"
data_dir = "$dir/garage/data"
db_engine = "lmdb"
replication_factor = 1

rpc_bind_addr = "127.0.0.1:$garage_rpc_port"
rpc_public_addr = "127.0.0.1:$garage_rpc_port"
rpc_secret = "$(hex_secret)"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$garage_s3_port"

[admin]
api_bind_addr = "127.0.0.1:$garage_admin_port"
admin_token = "$admin_token"
EOF
chmod 600 "$conf" # it holds secrets

# Every CLI call is bounded, so a wedged node cannot hang the script.
garage() { timeout 30 "$GARAGE" -c "$conf" "$@"; }

launch garage "$GARAGE" -c "$conf" server
# `status` answers once the node's RPC is up (no layout is needed for it).
wait_until garage "RPC answer" garage status

# A one-node layout: the node holds every partition.
node_id="$(garage node id -q)"
node_id="${node_id%%@*}"
garage layout assign -z dc1 -c 1G "$node_id" >/dev/null
garage layout apply --version 1 >/dev/null
wait_until garage "healthy cluster" garage health -q
wait_until garage "admin API" http_answers "http://127.0.0.1:$garage_admin_port/health" 200
wait_until garage "S3 API" http_answers "http://127.0.0.1:$garage_s3_port/"

# An access key allowed to create buckets, as the tests create their own.
garage key create ct-test >/dev/null
garage key allow --create-bucket ct-test >/dev/null
key_id="$(garage key info --key-id ct-test)"
secret="$(garage key info --secret-key ct-test)"
[[ "$key_id" =~ ^GK[0-9a-f]{24}$ ]] || die "garage: unexpected key id '$key_id'"
[[ "$secret" =~ ^[0-9a-f]{64}$ ]] || die "garage: unexpected secret key format"

# --- the other servers: one file each in servers/ ---------------------------
# Each file starts its server with `launch`, waits with `wait_until`, and
# records what the tests need with `bench_env` (in name order).
for server in "$here"/servers/*.sh; do
	[[ -e "$server" ]] || continue
	# shellcheck source=/dev/null
	. "$server"
done

# --- the env file the tests (and scripts/test.sh) read ----------------------
{
	echo "# Written by scripts/bench/start.sh; source it to reach this bench."
	printf 'export %s=%q\n' \
		CT_BENCH_DIR "$dir" \
		AWS_EC2_METADATA_DISABLED true \
		CT_TEST_MOTO_ENDPOINT "http://127.0.0.1:$moto_port" \
		CT_TEST_MOTO_REGION us-east-1 \
		CT_TEST_GARAGE_ENDPOINT "http://127.0.0.1:$garage_s3_port" \
		CT_TEST_GARAGE_REGION garage \
		CT_TEST_GARAGE_ACCESS_KEY_ID "$key_id" \
		CT_TEST_GARAGE_SECRET_ACCESS_KEY "$secret" \
		CT_TEST_GARAGE_ADMIN_ENDPOINT "http://127.0.0.1:$garage_admin_port" \
		CT_TEST_GARAGE_ADMIN_TOKEN "$admin_token"
	if ((${#extra_env[@]} > 0)); then
		printf 'export %s=%q\n' "${extra_env[@]}"
	fi
} >"$dir/env.tmp"
chmod 600 "$dir/env.tmp"
mv "$dir/env.tmp" "$dir/env"

say "ready: source $dir/env (stop: scripts/bench/stop.sh $dir)"
echo "$dir"
