"""A bare client of a GCS JSON-API emulator (issue 24's benchmark): what
the server itself can do, to hold the tool's figures against.

    python bare_gcs.py files  DATA_DIR BUCKET COUNT DAYS NAMES_OUT
    python bare_gcs.py fsroot ROOT_DIR BUCKET COUNT DAYS NAMES_OUT
    python bare_gcs.py seed   ENDPOINT BUCKET COUNT DAYS WORKERS NAMES_OUT
    python bare_gcs.py list   ENDPOINT BUCKET PREFIX
    python bare_gcs.py delete ENDPOINT BUCKET WORKERS NAMES_IN [MIN_AGE]

- seed: makes BUCKET if needed and uploads COUNT traces
  `traces/{uuidv7}.json` spread evenly over DAYS days (ages 0 to DAYS-1:
  each id carries a time that many days ago), WORKERS at once; writes
  "AGE NAME" lines to NAMES_OUT.
- files: the same traces as files under DATA_DIR/BUCKET/, for
  fake-gcs-server's `-data` (loaded at start: its memory backend scans the
  bucket on every insert, so uploading 100,000 one by one takes hours).
- fsroot: the same traces written straight into the on-disk format of
  fake-gcs-server's filesystem backend (`-backend filesystem
  -filesystem-root ROOT_DIR`; v1.54.0, internal/backend/fs.go): a bucket
  is the folder ROOT_DIR/BUCKET (beside it BUCKET.bucketMetadata, its
  attributes as JSON), an object is the file ROOT_DIR/BUCKET/NAME (the
  name's slashes are folders), and its attributes are the JSON of the
  backend's ObjectAttrs in the file's extended attribute `user.metadata`
  (or in the side file NAME.metadata where the root's filesystem has no
  user xattrs: the server checks the root the same way). Each object's
  timeCreated is its trace's time. The server reads them as they are at
  start, so 100,000 traces are there at once, where uploading them, or
  `-data` into the memory backend, scans the bucket for every object.
- list: pages `objects.list` under PREFIX (1,000 a page, the same `fields=`
  the tool asks for) and counts: no parsing beyond the page's JSON, no
  judging, no report.
- delete: deletes the names in NAMES_IN (those of age MIN_AGE or more,
  every one without it) through the batch endpoint, 100
  deletes a batch, WORKERS batches at once, as the tool does; counts each
  part's status and the slowest batch.

Plain HTTP on loopback only; the emulators check no token. Prints one line
of JSON. Every request has a time limit (TIMEOUT seconds).
"""

import base64
import errno
import hashlib
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

TIMEOUT = 120
# The tool's own `fields=` (stores/gcs/client.rs); fake-gcs-server ignores
# it and answers every field, to both alike.
FIELDS = "items(name,size,timeCreated,storageClass,generation,metadata),prefixes,nextPageToken"
BATCH = 100
BODY = b'{"trace":"bench"}'


def connection(endpoint):
    url = urllib.parse.urlsplit(endpoint)
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"{endpoint}: loopback only")
    return http.client.HTTPConnection(url.hostname, url.port, timeout=TIMEOUT)


_local = threading.local()


def request(endpoint, method, path, body=b"", content_type="application/json"):
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = connection(endpoint)
    headers = {"Content-Type": content_type, "Authorization": "Bearer bench"}
    try:
        conn.request(method, path, body=body, headers=headers)
        answer = conn.getresponse()
        return answer.status, answer.getheader("Content-Type") or "", answer.read()
    except (http.client.HTTPException, OSError):
        _local.conn = None
        raise


def q(text):
    return urllib.parse.quote(text, safe="")


def uuid_v7(millis, n):
    t = f"{millis:012x}"
    return f"{t[:8]}-{t[8:12]}-7{n & 0xfff:03x}-8{(n >> 12) & 0xfff:03x}-{n:012x}"


def aged_names(count, days):
    now = int(time.time() * 1000)
    return [(n % days, f"traces/{uuid_v7(now - (n % days) * 86_400_000, n)}.json") for n in range(1, count + 1)]


def files(data_dir, bucket, count, days, names_out):
    start = time.monotonic()
    aged = aged_names(count, days)
    os.makedirs(os.path.join(data_dir, bucket, "traces"), exist_ok=True)
    for _, name in aged:
        with open(os.path.join(data_dir, bucket, name), "wb") as f:
            f.write(BODY)
    with open(names_out, "w", encoding="utf-8") as f:
        f.write("".join(f"{age} {name}\n" for age, name in aged))
    print(json.dumps({"written": count, "seconds": round(time.monotonic() - start, 2)}))


def crc32c(data):
    """CRC-32C (Castagnoli), as GCS reports it: reflected, 0x82F63B78."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def go_timestamp(millis):
    """A time as the backend stores it (Go's "2006-01-02T15:04:05.999999Z07:00"
    in UTC: microseconds, trailing zeros dropped)."""
    text = datetime.fromtimestamp(millis / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text.rstrip("0").rstrip(".") + "Z"


# What the server stores with an uploaded object (its default ACL).
UPLOAD_ACL = [
    {"Entity": "projectOwner-test-project", "EntityID": "", "Role": "OWNER", "Domain": "", "Email": "", "ProjectTeam": None}
]


def fsroot(root, bucket, count, days, names_out):
    if not all(c.isalnum() or c in "-_." for c in bucket):
        sys.exit(f"{bucket}: a plain bucket name (no escaping)")
    start = time.monotonic()
    os.makedirs(root, exist_ok=True)
    # The server keeps metadata in xattrs when reading one from the root
    # works or answers "no such attribute"; in side files otherwise.
    try:
        os.getxattr(root, "user.metadata")
        in_xattr = True
    except OSError as err:
        in_xattr = err.errno == errno.ENODATA
    folder = os.path.join(root, bucket)
    os.makedirs(os.path.join(folder, "traces"), exist_ok=True)
    with open(folder + ".bucketMetadata", "w", encoding="utf-8") as f:
        f.write('{"DefaultEventBasedHold":false,"VersioningEnabled":false}')
    md5 = base64.b64encode(hashlib.md5(BODY).digest()).decode()
    crc = base64.b64encode(crc32c(BODY).to_bytes(4, "big")).decode()
    now = int(time.time() * 1000)
    aged = aged_names(count, days)
    for n, (age, name) in enumerate(aged, 1):
        created_ms = now - age * 86_400_000
        created = go_timestamp(created_ms)
        attrs = {
            "StorageClass": "STANDARD",
            "ContentType": "application/json",
            "ContentEncoding": "",
            "ContentDisposition": "",
            "ContentLanguage": "",
            "CacheControl": "",
            "Crc32c": crc,
            "Md5Hash": md5,
            "Etag": md5,
            "ACL": UPLOAD_ACL,
            "Metadata": {},
            "Created": created,
            "Deleted": "0001-01-01T00:00:00Z",
            "Updated": created,
            "CustomTime": "0001-01-01T00:00:00Z",
            "Generation": created_ms * 1000 + n % 1000,
            "RetentionMode": "",
            "RetentionRetainUntil": "",
        }
        encoded = json.dumps(attrs, separators=(",", ":")).encode()
        path = os.path.join(folder, name)
        with open(path, "wb") as f:
            f.write(BODY)
        if in_xattr:
            os.setxattr(path, "user.metadata", encoded)
        else:
            with open(path + ".metadata", "wb") as f:
                f.write(encoded)
    with open(names_out, "w", encoding="utf-8") as f:
        f.write("".join(f"{age} {name}\n" for age, name in aged))
    where = "xattr" if in_xattr else "side files"
    print(json.dumps({"written": count, "metadata": where, "seconds": round(time.monotonic() - start, 2)}))


def seed(endpoint, bucket, count, days, workers, names_out):
    status, _, body = request(
        endpoint, "POST", "/storage/v1/b?project=ct-test", json.dumps({"name": bucket}).encode()
    )
    if status not in (200, 409):
        sys.exit(f"bucket: {status} {body[:200]!r}")
    aged = aged_names(count, days)
    names = [name for _, name in aged]

    def put(name):
        path = f"/upload/storage/v1/b/{q(bucket)}/o?uploadType=media&name={q(name)}"
        status, _, body = request(endpoint, "POST", path, BODY, "application/octet-stream")
        if status != 200:
            raise RuntimeError(f"{name}: {status} {body[:200]!r}")

    start = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(put, names))
    with open(names_out, "w", encoding="utf-8") as f:
        f.write("".join(f"{age} {name}\n" for age, name in aged))
    print(json.dumps({"seeded": count, "seconds": round(time.monotonic() - start, 2)}))


def listing(endpoint, bucket, prefix):
    start = time.monotonic()
    objects = pages = 0
    token = None
    while True:
        path = f"/storage/v1/b/{q(bucket)}/o?prefix={q(prefix)}&fields={q(FIELDS)}&maxResults=1000"
        if token:
            path += f"&pageToken={q(token)}"
        status, _, body = request(endpoint, "GET", path)
        if status != 200:
            sys.exit(f"list: {status} {body[:200]!r}")
        page = json.loads(body)
        objects += len(page.get("items", []))
        pages += 1
        token = page.get("nextPageToken")
        if not token:
            break
    print(json.dumps({"objects": objects, "pages": pages, "seconds": round(time.monotonic() - start, 3)}))


def delete(endpoint, bucket, workers, names_in, min_age):
    names = []
    with open(names_in, encoding="utf-8") as f:
        for line in f:
            age, _, name = line.strip().partition(" ")
            if name and int(age) >= min_age:
                names.append(name)
    batches = [names[i : i + BATCH] for i in range(0, len(names), BATCH)]
    boundary = "bare-batch"
    counts = {}
    slowest = 0.0
    lock = threading.Lock()

    def send(batch):
        nonlocal slowest
        parts = []
        for i, name in enumerate(batch, 1):
            parts.append(
                f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <{i}>\r\n\r\n"
                f"DELETE /storage/v1/b/{q(bucket)}/o/{q(name)} HTTP/1.1\r\n\r\n\r\n"
            )
        body = ("".join(parts) + f"--{boundary}--\r\n").encode()
        began = time.monotonic()
        status, content_type, answer = request(
            endpoint, "POST", "/batch/storage/v1", body, f"multipart/mixed; boundary={boundary}"
        )
        took = time.monotonic() - began
        if status != 200:
            raise RuntimeError(f"batch: {status} {answer[:200]!r}")
        text = answer.decode("utf-8", "replace")
        with lock:
            slowest = max(slowest, took)
            for line in text.split("\r\n"):
                if line.startswith("HTTP/1.1 "):
                    code = line.split()[1]
                    counts[code] = counts.get(code, 0) + 1

    start = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(send, batches))
    seconds = time.monotonic() - start
    print(
        json.dumps(
            {
                "sent": len(names),
                "statuses": counts,
                "seconds": round(seconds, 3),
                "per_second": round(len(names) / seconds, 1),
                "slowest_batch_seconds": round(slowest, 3),
            }
        )
    )


def main():
    mode, endpoint, bucket = sys.argv[1], sys.argv[2], sys.argv[3]
    if mode == "files":
        files(endpoint, bucket, int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif mode == "fsroot":
        fsroot(endpoint, bucket, int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    elif mode == "seed":
        seed(endpoint, bucket, int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7])
    elif mode == "list":
        listing(endpoint, bucket, sys.argv[4])
    elif mode == "delete":
        delete(endpoint, bucket, int(sys.argv[4]), sys.argv[5], int(sys.argv[6]) if len(sys.argv) > 6 else 0)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    os.environ.pop("http_proxy", None)
    main()
