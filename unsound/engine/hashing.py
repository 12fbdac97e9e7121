"""The content hash every cache keys on: one definition, so discovery and the scan agree."""

from __future__ import annotations

import hashlib
import os


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


# A file's stat as a content-hash record keys it: size, mtime and ctime (ns), inode.
FileStamp = tuple[int, int, int, int]


def file_stamp(status: os.stat_result) -> FileStamp:
    return (status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino)
