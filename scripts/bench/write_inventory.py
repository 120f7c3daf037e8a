#!/usr/bin/env python3
"""Writes an S3 Inventory of a bucket the way AWS lays it out, for tests.

An independent writer for the inventory tests: it lists the source bucket
itself (MinIO's Python SDK), writes the data files with pyarrow (Parquet,
Snappy, small row groups so a reader must go group by group) or Python's
csv and gzip modules (every field quoted, keys URL-encoded), and puts them
with manifest.json and manifest.checksum (the MD5 of manifest.json) at

  {dest-prefix}/{bucket}/{config-id}/{YYYY-MM-DDTHH-MMZ}/manifest.json
  {dest-prefix}/{bucket}/{config-id}/{YYYY-MM-DDTHH-MMZ}/manifest.checksum
  {dest-prefix}/{bucket}/{config-id}/data/{uuid}.parquet | .csv.gz

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Loopback
only: the endpoint must be http://127.0.0.1:PORT or http://localhost:PORT.
Faults for the tests: --corrupt-checksum, --source-name (a manifest naming
another bucket), --no-checksum (an inventory still being written).
"""

import argparse
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import sys
import urllib.parse
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
from minio import Minio

CSV_FIELDS = ["Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker",
              "Size", "LastModifiedDate", "StorageClass"]
PARQUET_SCHEMA = pa.schema([
    ("bucket", pa.string()), ("key", pa.string()), ("version_id", pa.string()),
    ("is_latest", pa.bool_()), ("is_delete_marker", pa.bool_()),
    ("size", pa.int64()), ("last_modified_date", pa.timestamp("ms", tz="UTC")),
    ("storage_class", pa.string()),
])
# The message type AWS writes in a Parquet manifest's fileSchema.
PARQUET_FILE_SCHEMA = (
    "message s3.inventory { required binary bucket (STRING); required binary key (STRING); "
    "optional binary version_id (STRING); optional boolean is_latest; "
    "optional boolean is_delete_marker; optional int64 size; "
    "optional int64 last_modified_date (TIMESTAMP(MILLIS,true)); "
    "optional binary storage_class (STRING);}"
)


def flag(value):
    """minio-py gives version flags as booleans or as 'true'/'false'."""
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def rows(client, bucket, versions):
    """Every object (and, with versions, every version) of the bucket."""
    for obj in client.list_objects(bucket, recursive=True, include_version=versions):
        marker = flag(getattr(obj, "is_delete_marker", False))
        latest = flag(obj.is_latest) if versions else True
        yield {
            "bucket": bucket,
            "key": obj.object_name,
            "version_id": obj.version_id if versions else None,
            "is_latest": latest,
            "is_delete_marker": marker,
            "size": None if marker else obj.size,
            "last_modified_date": obj.last_modified,
            "storage_class": None if marker else (obj.storage_class or "STANDARD"),
        }


def parquet_bytes(part):
    table = pa.Table.from_pylist(part, schema=PARQUET_SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy", row_group_size=3)
    return sink.getvalue()


def csv_gz_bytes(part):
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for r in part:
        modified = r["last_modified_date"]
        writer.writerow([
            r["bucket"], urllib.parse.quote_plus(r["key"], safe=""), r["version_id"] or "",
            "true" if r["is_latest"] else "false",
            "true" if r["is_delete_marker"] else "false",
            "" if r["size"] is None else str(r["size"]),
            modified.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            r["storage_class"] or "",
        ])
    return gzip.compress(text.getvalue().encode())


def put(client, bucket, key, body):
    client.put_object(bucket, key, io.BytesIO(body), len(body))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--endpoint", required=True)
    p.add_argument("--region", required=True)
    p.add_argument("--bucket", required=True, help="the source bucket")
    p.add_argument("--dest-bucket", required=True)
    p.add_argument("--dest-prefix", default="")
    p.add_argument("--config-id", required=True)
    p.add_argument("--format", choices=["parquet", "csv"], required=True)
    p.add_argument("--created", help="RFC 3339 start of the inventory (default: now)")
    p.add_argument("--versions", action="store_true", help="IncludedObjectVersions All")
    p.add_argument("--files", type=int, default=2, help="data files to split the rows into")
    p.add_argument("--corrupt-checksum", action="store_true")
    p.add_argument("--no-checksum", action="store_true")
    p.add_argument("--source-name", help="the manifest's sourceBucket (default: --bucket)")
    a = p.parse_args()

    url = urllib.parse.urlparse(a.endpoint)
    if url.scheme != "http" or url.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"{a.endpoint}: only a loopback http endpoint")
    client = Minio(url.netloc, access_key=os.environ["AWS_ACCESS_KEY_ID"],
                   secret_key=os.environ["AWS_SECRET_ACCESS_KEY"], secure=False,
                   region=a.region)
    created = (dt.datetime.fromisoformat(a.created.replace("Z", "+00:00"))
               if a.created else dt.datetime.now(dt.timezone.utc))
    base = "/".join(s for s in [a.dest_prefix.strip("/"), a.bucket, a.config_id] if s)
    listed = list(rows(client, a.bucket, a.versions))
    parts = [listed[i::a.files] for i in range(a.files)]
    files = []
    for part in parts:
        if a.format == "parquet":
            body, ext = parquet_bytes(part), "parquet"
        else:
            body, ext = csv_gz_bytes(part), "csv.gz"
        key = f"{base}/data/{uuid.uuid4()}.{ext}"
        put(client, a.dest_bucket, key, body)
        files.append({"key": key, "size": len(body),
                      "MD5checksum": hashlib.md5(body).hexdigest()})
    manifest = {
        "sourceBucket": a.source_name or a.bucket,
        "destinationBucket": f"arn:aws:s3:::{a.dest_bucket}",
        "version": "2016-11-30",
        "creationTimestamp": str(int(created.timestamp() * 1000)),
        "fileFormat": "Parquet" if a.format == "parquet" else "CSV",
        "fileSchema": PARQUET_FILE_SCHEMA if a.format == "parquet" else ", ".join(CSV_FIELDS),
        "files": files,
    }
    body = json.dumps(manifest, indent=2).encode()
    folder = f"{base}/{created.astimezone(dt.timezone.utc).strftime('%Y-%m-%dT%H-%MZ')}"
    put(client, a.dest_bucket, f"{folder}/manifest.json", body)
    checksum = hashlib.md5(body).hexdigest()
    if a.corrupt_checksum:
        checksum = hashlib.md5(body + b" ").hexdigest()
    if not a.no_checksum:
        put(client, a.dest_bucket, f"{folder}/manifest.checksum", f"{checksum}\n".encode())
    print(json.dumps({"folder": folder, "rows": len(listed)}))


if __name__ == "__main__":
    main()
