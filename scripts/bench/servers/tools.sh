# shellcheck shell=bash disable=SC2154 # sourced by start.sh: bench_env, die...
# Not a server: the bench's own binaries that some tests start themselves
# on ports of their choosing (the rendered garage.toml and SeaweedFS command
# line boot them; MinIO's Python SDK decrypts the admin-API bodies in the
# MinIO responder; mfusepy runs the FUSE share of the mount tests; the Prometheus client's parsers and xmlschema with
# Jenkins' JUnit schema validate the outputs), announced like the servers.
[[ -x "$GARAGE" ]] || die "garage is not installed: run scripts/bench/install.sh"
[[ -x "$WEED" ]] || die "seaweedfs is not installed: run scripts/bench/install.sh"
[[ -x "$PYTOOLS_PYTHON" && -s "$JUNIT_XSD" ]] || die "the Python tools are not installed: run scripts/bench/install.sh"
[[ -x "$FUSE_PYTHON" ]] || die "mfusepy is not installed: run scripts/bench/install.sh"

bench_env \
	CT_TEST_GARAGE_BIN "$GARAGE" \
	CT_TEST_WEED_BIN "$WEED" \
	CT_TEST_PYTOOLS_PYTHON "$PYTOOLS_PYTHON" \
	CT_TEST_FUSE_PYTHON "$FUSE_PYTHON" \
	CT_TEST_JUNIT_XSD "$JUNIT_XSD"
