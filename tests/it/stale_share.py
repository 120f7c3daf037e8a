"""A FUSE share that answers ESTALE, as an NFS share does once its server
restarted and forgot the client's file handles: the root and its entries
are listed, every open or create fails with "Stale file handle".

Run by the local mount tests (tests/it/local_mount.rs) in a private mount
namespace: python stale_share.py MOUNTPOINT (foreground, until unmounted
or killed). Needs mfusepy and libfuse 3 (scripts/bench/install.sh)."""

import errno
import stat
import sys
import time

import mfusepy as fuse

MARKER = "/.chronotrace-ops-mount"


class StaleShare(fuse.Operations):
    use_ns = True

    def __init__(self):
        now = time.time_ns()
        self.directory = dict(st_mode=stat.S_IFDIR | 0o750, st_nlink=2, st_uid=0, st_gid=0,
                              st_atime=now, st_mtime=now, st_ctime=now)
        self.marker = dict(self.directory, st_mode=stat.S_IFREG | 0o640, st_nlink=1, st_size=64)

    def getattr(self, path, fh=None):
        if path in ("/", "/traces"):
            return self.directory
        if path == MARKER:
            return self.marker
        raise fuse.FuseOSError(errno.ENOENT)

    def readdir(self, path, fh):
        if path == "/":
            return [".", "..", "traces", MARKER.lstrip("/")]
        return [".", ".."]

    def open(self, path, flags):
        raise fuse.FuseOSError(errno.ESTALE)

    def create(self, path, mode, fi=None):
        raise fuse.FuseOSError(errno.ESTALE)


if __name__ == "__main__":
    fuse.FUSE(StaleShare(), sys.argv[1], foreground=True, nothreads=True,
              fsname="stale-share", subtype="stale")
