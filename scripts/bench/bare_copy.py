"""The floor for `migrate` (issue 25): a bare copy script that moves what a
user's shell loop would, with nothing a careful tool adds — it reads each
trace (a file, or a Redis GET), PUTs it to the bucket under the package's
layout, WORKERS at once, and confirms nothing, removes nothing, retries
nothing. What it reaches is what the two stores can do; `migrate` (which
also checks the destination first, confirms each copy and removes each
source copy) is measured against it.

    python bare_copy.py local ROOT ENDPOINT BUCKET PREFIX WORKERS
    python bare_copy.py redis URL PASSWORD KEY_PREFIX INDEX ENDPOINT BUCKET PREFIX WORKERS

ROOT holds `traces/{day}/{id}.zip`; a Redis trace is the key KEY_PREFIX+id
of each INDEX member, its day the member's score. Credentials and region
come from the environment. Prints one line of JSON: traces copied, errors,
seconds (the listing of what to copy is done before the clock starts, as a
shell loop would have it ready).
"""

import datetime
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def s3_client(endpoint: str, workers: int):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        config=Config(
            max_pool_connections=workers,
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 1},
        ),
    )


def run(items, read, endpoint, bucket, prefix, workers):
    client = s3_client(endpoint, workers)

    def copy(item):
        key, source = item
        try:
            client.put_object(Bucket=bucket, Key=f"{prefix}/traces/{key}", Body=read(source))
            return 1, 0
        except Exception:  # noqa: BLE001 - a failed copy is counted, not fatal
            return 0, 1

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(copy, items))
    seconds = time.perf_counter() - start
    print(json.dumps({
        "copied": sum(r[0] for r in results),
        "errors": sum(r[1] for r in results),
        "seconds": round(seconds, 3),
    }))


def main() -> None:
    kind = sys.argv[1]
    if kind == "local":
        root, endpoint, bucket, prefix, workers = sys.argv[2:7]
        items = []
        traces = os.path.join(root, "traces")
        for day in sorted(os.listdir(traces)):
            for name in os.listdir(os.path.join(traces, day)):
                items.append((f"{day}/{name}", os.path.join(traces, day, name)))

        def read(path):
            with open(path, "rb") as f:
                return f.read()

        run(items, read, endpoint, bucket, prefix, int(workers))
    elif kind == "redis":
        import redis  # the peers' virtualenv has it

        url, password, key_prefix, index, endpoint, bucket, prefix, workers = sys.argv[2:10]
        r = redis.Redis.from_url(url, password=password, socket_timeout=30)
        items = []
        for member, score in r.zscan_iter(index, count=1000):
            trace = member.decode()
            day = datetime.datetime.fromtimestamp(score, datetime.timezone.utc).date()
            items.append((f"{day}/{trace}.zip", key_prefix + trace))
        pool = redis.ConnectionPool.from_url(url, password=password, max_connections=int(workers), socket_timeout=30)
        shared = redis.Redis(connection_pool=pool)
        run(items, shared.get, endpoint, bucket, prefix, int(workers))
    else:
        sys.exit(f"unknown source {kind}: local or redis")


if __name__ == "__main__":
    main()
