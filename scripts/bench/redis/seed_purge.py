"""The seed's RedisTraceStorage::purgeOldTraces, faithfully: one
ZRANGEBYSCORE of the whole expired range into memory, then for each id a
DEL and, when it deleted something, a ZREM: one blocking round trip per
command, as phpredis does. A minimal RESP2 client on the standard library
(no package to install); the password comes from REDISCLI_AUTH.

Usage: REDISCLI_AUTH=... python3 seed_purge.py PORT DAYS
"""

import os
import socket
import sys
import time


class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.file = self.sock.makefile("rb")

    def call(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(parts))
        return self.read()

    def read(self):
        line = self.file.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)
            return data[:-2]
        if kind == b"*":
            return [self.read() for _ in range(int(rest))]
        raise RuntimeError("bad reply %r" % line)


def main():
    port, days = int(sys.argv[1]), int(sys.argv[2])
    r = Redis(port)
    r.call("AUTH", os.environ["REDISCLI_AUTH"])
    prefix, index = b"chronotrace:traces:", b"chronotrace:index"
    cutoff = int(time.time()) - days * 86400
    old = r.call("ZRANGEBYSCORE", index, 0, cutoff)
    deleted = 0
    for trace_id in old:
        if r.call("DEL", prefix + trace_id):
            r.call("ZREM", index, trace_id)
            deleted += 1
    print(deleted)


main()
