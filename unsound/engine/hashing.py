"""The content hash every cache keys on: one definition, so discovery and the scan agree."""

from __future__ import annotations

import hashlib


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
