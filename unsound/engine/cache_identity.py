"""What every cache of the tool is keyed and signed with: the tool's own code (`code_hash`) and
the user's secret key (`hmac_key`, kept in `key_file`).

Apart from `engine.cache` (the scan cache, which imports most of the engine's data types):
the compiled-rules cache and the manifest memo need these and nothing of the scan cache, and
a rescan loads its rules before anything else. Measured: the early worker is forked about
20 ms sooner, but a rescan of wasmtime takes as long (0.39 s, 15 alternating runs each): the
worker then imports those modules itself.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from pathlib import Path

_KEY_BYTES = 32


@functools.cache
def code_hash() -> str:
    """The tool's own source: an edit to the engine invalidates the cache even without a release.

    Hashing every file (about 100, under 2 MB) costs about 3 ms, once per process: cheap enough to
    do for real rather than trust sizes and mtimes, which a checkout can leave unchanged.
    """
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.blake2b(digest_size=16)
    code = [*package.rglob("*.py"), *package.rglob("*.lark"), *package.rglob("clippy_lints.txt")]
    for path in sorted(code):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def key_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cargo-unsound" / "key"


def hmac_key(path: Path | None = None) -> bytes | None:
    """The user's secret key, created on first use (mode 0600); None if it cannot be had."""
    path = path or key_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_bytes()
            return key if len(key) >= _KEY_BYTES else None
        with os.fdopen(descriptor, "wb") as out:
            key = secrets.token_bytes(_KEY_BYTES)
            out.write(key)
        return key
    except OSError:
        return None
