"""The server's own delete rate (issue 14, item 6): a bare client that
deletes keys it already knows, so it lists nothing, parses nothing it does
not need and only sends DeleteObjects of 1,000 keys, WORKERS at once. What it
reaches is what the server can do; a tool deleting the same objects cannot
go faster than this by more than noise.

    python bare_delete.py ENDPOINT BUCKET WORKERS KEYFILE...

Each KEYFILE holds one key per line. Credentials and region come from the
environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION). Prints
one line of JSON: objects deleted, errors, seconds spent deleting (the key
files are read and the client built before the clock starts).
"""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

BATCH = 1000  # the most one DeleteObjects takes


def main() -> None:
    endpoint, bucket, workers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    keys = []
    for path in sys.argv[4:]:
        with open(path, encoding="utf-8") as f:
            keys.extend(line.rstrip("\n") for line in f if line.strip())
    batches = [keys[i : i + BATCH] for i in range(0, len(keys), BATCH)]
    # One connection per worker, a time limit on every call, no retries: a
    # refused batch is an error to count, not something to hide.
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        config=Config(
            max_pool_connections=workers,
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 1},
        ),
    )

    def delete(batch: list[str]) -> tuple[int, int]:
        answer = client.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
        )
        errors = len(answer.get("Errors", []))
        return len(batch) - errors, errors

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(delete, batches))
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "deleted_objects": sum(r[0] for r in results),
                "errors": sum(r[1] for r in results),
                "seconds": round(seconds, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
