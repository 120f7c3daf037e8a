"""The traces of the `migrate` benchmark (scripts/bench/migrate.sh): N
traces of SIZE bytes over the last DAYS days, written twice — as the
package's files under WORK/seed/traces/{day}/{id}.zip, and as the Redis
protocol (WORK/redis.resp) that `redis-cli --pipe` loads the way the seed's
store writes them (SET with a TTL, ZADD to the index scored by the time
stored).

    python migrate_seed.py WORK N DAYS SIZE
"""

import datetime
import os
import sys
import time


def main() -> None:
    work = sys.argv[1]
    n, days, size = (int(a) for a in sys.argv[2:5])
    now = int(time.time())
    with open(os.path.join(work, "redis.resp"), "wb") as resp:

        def cmd(*args) -> None:
            out = [b"*%d\r\n" % len(args)]
            for a in args:
                a = a if isinstance(a, bytes) else str(a).encode()
                out.append(b"$%d\r\n%s\r\n" % (len(a), a))
            resp.write(b"".join(out))

        for i in range(n):
            stored = now - (i % days) * 86400 - 60
            day = datetime.datetime.fromtimestamp(stored, datetime.timezone.utc).date()
            trace = f"ct_{i:016d}_{stored}"
            head = f'{{"trace_id":"{trace}","response":{{"status":200}},"pad":"'.encode()
            body = head + b"p" * max(size - len(head) - 2, 0) + b'"}'
            folder = os.path.join(work, "seed", "traces", str(day))
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, trace + ".zip"), "wb") as f:
                f.write(body)
            cmd("SET", "bench:traces:" + trace, body, "EX", 60 * 86400)
            cmd("ZADD", "bench:index", stored, trace)


if __name__ == "__main__":
    main()
