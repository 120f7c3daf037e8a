"""Writes, as Redis protocol for `redis-cli --pipe`, N traces in the seed's
layout (RedisTraceStorage::store): SET chronotrace:traces:{id}, then ZADD
chronotrace:index {time} {id}, spread over 30 days (ages 0-14 and 16-30,
at noon: both purges then agree on what is past 15 days whatever the hour).
Traces within retention carry the seed's TTL (retention minus their age);
the older ones were written without EXPIRE (the seed's defect), so they are
still there for the purges to delete.

Usage: python3 load.py N NOW > traces.resp
"""

import sys

DAY = 86400
RETENTION = 15
AGES = [a for a in range(31) if a != RETENTION]
VALUE = b'{"trace":"' + b"x" * 88 + b'"}'  # 100 bytes of JSON


def command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def main():
    n, now = int(sys.argv[1]), int(sys.argv[2])
    noon = now - now % DAY + DAY // 2
    out = sys.stdout.buffer
    for i in range(n):
        age = AGES[i % len(AGES)]
        stored = noon - age * DAY
        key = b"chronotrace:traces:t%d" % i
        if age < RETENTION:
            ttl = RETENTION * DAY - (now - stored)
            out.write(command(b"SET", key, VALUE, b"EX", max(ttl, 60)))
        else:
            out.write(command(b"SET", key, VALUE))
        out.write(command(b"ZADD", b"chronotrace:index", stored, b"t%d" % i))


main()
