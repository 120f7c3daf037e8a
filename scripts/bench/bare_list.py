"""The server's own listing rate (issue 14, item 1): a bare client that
lists the folders it is given, WORKERS at once, one ListObjectsV2 chain per
folder, and parses nothing but what it needs to go on (the continuation
token) and the number of keys. What it reaches is the server's page rate on
this machine; a tool that lists the same folders as fast, parsing every key,
is held back by the server, not by itself.

    python bare_list.py ENDPOINT BUCKET WORKERS FOLDER...

Each FOLDER is a key prefix (e.g. `bench/traces/traces/2026-11-01/`).
Credentials and region come from the environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION). Requests are signed by botocore's SigV4
and sent over one keep-alive connection per worker (urllib3), with a time
limit on every call. Prints one line of JSON: keys and pages listed, seconds
spent listing (the client is set up before the clock starts).
"""

import json
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlencode
from xml.sax.saxutils import unescape

import urllib3
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

KEY = b"<Key>"
TOKEN = re.compile(rb"<NextContinuationToken>([^<]*)</NextContinuationToken>")
TRUNCATED = b"<IsTruncated>true</IsTruncated>"


def main() -> None:
    endpoint, bucket, workers = sys.argv[1].rstrip("/"), sys.argv[2], int(sys.argv[3])
    folders = sys.argv[4:]
    credentials = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    signer = S3SigV4Auth(credentials, "s3", os.environ.get("AWS_REGION", "us-east-1"))
    pool = urllib3.PoolManager(
        maxsize=workers,
        timeout=urllib3.Timeout(connect=5, read=60),
        retries=False,
    )

    def page(folder: str, token: str | None) -> bytes:
        query = {"list-type": "2", "prefix": folder}
        if token is not None:
            query["continuation-token"] = token
        url = f"{endpoint}/{bucket}?{urlencode(sorted(query.items()), quote_via=quote, safe='')}"
        request = AWSRequest(method="GET", url=url)
        signer.add_auth(request)
        answer = pool.request("GET", url, headers=dict(request.headers.items()))
        if answer.status != 200:
            raise SystemExit(f"ListObjectsV2 {folder}: HTTP {answer.status}: {answer.data[:200]!r}")
        return answer.data

    def walk(folder: str) -> tuple[int, int]:
        keys = pages = 0
        token = None
        while True:
            body = page(folder, token)
            keys += body.count(KEY)
            pages += 1
            if TRUNCATED not in body:
                return keys, pages
            found = TOKEN.search(body)
            if found is None:
                raise SystemExit(f"ListObjectsV2 {folder}: a truncated page without a token")
            token = unescape(found.group(1).decode())

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as threads:
        results = list(threads.map(walk, folders))
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "keys": sum(r[0] for r in results),
                "pages": sum(r[1] for r in results),
                "seconds": round(seconds, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
