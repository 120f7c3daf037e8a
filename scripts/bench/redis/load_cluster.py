"""Splits load.py's traces over the masters of a Redis Cluster: reads the
masters' slot ranges (`CLUSTER NODES` lines of the masters) on stdin,
writes one file of Redis protocol per master (OUTDIR/PORT.resp), each
command in the file of the master of its key's slot (CRC16/XMODEM of the
key, as Redis computes it), for `redis-cli -p PORT --pipe`.

Usage: redis-cli cluster nodes | grep master | python3 load_cluster.py N NOW OUTDIR
"""

import os
import subprocess
import sys

SLOTS = 16384


def crc16(data):
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def slot(key):
    return crc16(key) % SLOTS  # the bench's keys have no hash tag


def parse_command(data, at):
    """One RESP array from data[at:]: (args, next offset)."""
    end = data.index(b"\r\n", at)
    count = int(data[at + 1 : end])
    at, args = end + 2, []
    for _ in range(count):
        end = data.index(b"\r\n", at)
        length = int(data[at + 1 : end])
        args.append(data[end + 2 : end + 2 + length])
        at = end + 2 + length + 2
    return args, at


def main():
    n, now, outdir = sys.argv[1], sys.argv[2], sys.argv[3]
    owner = [None] * SLOTS
    ports = []
    for line in sys.stdin:
        fields = line.split()
        port = fields[1].split("@")[0].rsplit(":", 1)[1]
        ports.append(port)
        for r in fields[8:]:
            first, _, last = r.partition("-")
            for s in range(int(first), int(last or first) + 1):
                owner[s] = port
    files = {p: open(os.path.join(outdir, p + ".resp"), "wb") for p in ports}
    here = os.path.dirname(os.path.abspath(__file__))
    data = subprocess.run(
        [sys.executable, os.path.join(here, "load.py"), n, now],
        check=True,
        stdout=subprocess.PIPE,
    ).stdout
    at = 0
    while at < len(data):
        start = at
        args, at = parse_command(data, at)
        files[owner[slot(args[1])]].write(data[start:at])
    for f in files.values():
        f.close()


main()
