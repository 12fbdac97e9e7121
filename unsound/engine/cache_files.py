"""Reading, writing and pruning the caches' files: whole or not at all, never through a link.

Both caches (the scan cache under the workspace's target dir, the compiled rules beside the
user's HMAC key) keep one file per key and write it the same way: a temporary file in the same
folder, then `os.replace`, which replaces the name (a symlink planted at that name is replaced,
not written through), and never over anything but a regular file.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import stat
import tempfile
from pathlib import Path


def write_whole(path: Path, payload: bytes) -> bool:
    """Write `payload` to `path` atomically; False (nothing written) when `path` exists and is
    not a regular file. OSError propagates: callers skip a cache they cannot write."""
    if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
        return False
    descriptor, temporary = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(payload)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
    return True


def prune_oldest(folder: Path, names: re.Pattern[str], keep: int) -> None:
    """Remove all but the `keep` newest regular files of `folder` whose names match `names`:
    each rule or tool edit starts a new file."""
    files = [
        (entry.stat(follow_symlinks=False).st_mtime_ns, entry.name)
        for entry in os.scandir(folder)
        if names.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)
    ]
    for _, name in sorted(files, reverse=True)[keep:]:
        os.unlink(folder / name)


def read_regular_file(path: Path) -> bytes | None:
    """The file's bytes if it is a regular file; a symlink is not followed (`lstat` first for a
    system without `O_NOFOLLOW`)."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as file:
        try:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                return None
            return file.read()
        except OSError:
            return None


def signed(secret: bytes, context: bytes, body: bytes) -> bytes:
    """A file's payload: the HMAC-SHA256 (hex) of `context` and `body`, a newline, the body.
    The context (a cache's key or format) makes a file valid for one use invalid for another."""
    return _mac(secret, context, body) + b"\n" + body


def verified(raw: bytes | None, secret: bytes, context: bytes) -> bytes | None:
    """The body of a `signed` payload whose HMAC holds; None for anything else."""
    if raw is None:
        return None
    mac, _, body = raw.partition(b"\n")
    return body if hmac.compare_digest(mac, _mac(secret, context, body)) else None


def _mac(secret: bytes, context: bytes, body: bytes) -> bytes:
    return hmac.new(secret, context + b"\n" + body, hashlib.sha256).hexdigest().encode()
