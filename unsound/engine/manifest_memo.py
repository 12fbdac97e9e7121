"""Parsed manifests by content: a rescan reads its `Cargo.toml` files but parses none of them;
and whole workspaces by what loading them asked the file system (`engine.workspace_memo`).

tomllib is pure Python: wasmtime's 103 manifests take about 22 ms to parse, two fifths of loading
the workspace, in every run. A parsed document is kept under the hash of the file's bytes (the
same bytes parse the same: no stat, no racy window) in `$XDG_CACHE_HOME/cargo-unsound/
manifests.bin`, beside the compiled rules, authenticated with the same HMAC key as both caches
and written as `marshal` data of plain dicts and lists. A document that marshal cannot hold (a
TOML date-time) is not kept; a file that fails its HMAC or does not load is ignored and
rewritten. `--no-cache` does not use it.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from unsound.engine.cache_files import read_regular_file, signed, verified, write_whole
from unsound.engine.cache_identity import hmac_key, key_file

_FORMAT = b"manifests 2"  # 2: workspaces beside the documents
_MARSHAL_VERSION = 4
# Documents kept across runs (and workspaces): the newest this many, by last use.
_KEEP = 4096
# Workspaces kept (`workspace_memo`), the newest this many by last change.
_KEEP_WORKSPACES = 32


@dataclass
class ManifestMemo:
    """The memo file's documents (each as its own marshal bytes: every `get` gives a fresh
    copy, so no two manifests share a dict), and what this run adds or uses."""

    path: Path
    secret: bytes
    known: dict[str, bytes] = field(default_factory=dict)
    # `workspace_memo`'s entries, by its key: marshal bytes it alone reads.
    workspaces: dict[str, bytes] = field(default_factory=dict)
    dirty: bool = False

    @classmethod
    def open(cls) -> ManifestMemo | None:
        """The memo, read if it is authentic; None when there is no key (no writable cache
        folder)."""
        secret = hmac_key()
        if secret is None:
            return None
        memo = cls(key_file().parent / "manifests.bin", secret)
        memo.known, memo.workspaces = memo._read()
        return memo

    def parse(self, raw: bytes, parse: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The document of a manifest whose bytes are `raw`: remembered, else `parse()`d (its
        errors propagate, and nothing is remembered)."""
        digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
        stored = self.known.pop(digest, None)
        if stored is not None:
            try:
                document = marshal.loads(stored)
            except (ValueError, EOFError, TypeError):
                document = None
            if isinstance(document, dict):
                self.known[digest] = stored  # now the most recently used
                return document
        document = parse()
        try:
            self.known[digest] = marshal.dumps(document, _MARSHAL_VERSION)
        except ValueError:  # a date-time: parsed every time
            return document
        self.dirty = True
        return document

    def workspace(self, key: str) -> bytes | None:
        return self.workspaces.get(key)

    def remember_workspace(self, key: str, value: bytes) -> None:
        self.workspaces.pop(key, None)
        self.workspaces[key] = value  # now the newest
        self.dirty = True

    def save(self) -> None:
        """Write the memo whole if this run added to it; skipped when it cannot be written."""
        if not self.dirty:
            return
        kept = dict(list(self.known.items())[-_KEEP:])
        workspaces = dict(list(self.workspaces.items())[-_KEEP_WORKSPACES:])
        body = marshal.dumps((kept, workspaces), _MARSHAL_VERSION)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_whole(self.path, signed(self.secret, _FORMAT, body))
        except OSError:
            return
        self.dirty = False

    def _read(self) -> tuple[dict[str, bytes], dict[str, bytes]]:
        body = verified(read_regular_file(self.path), self.secret, _FORMAT)
        if body is None:
            return {}, {}
        try:
            parts = marshal.loads(body)
        except (ValueError, EOFError, TypeError):
            return {}, {}
        if not isinstance(parts, tuple) or len(parts) != 2 or not all(map(_of_bytes, parts)):
            return {}, {}
        return parts[0], parts[1]


def _of_bytes(value: object) -> bool:
    """Whether `value` is a dict of str to bytes."""
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, bytes) for k, v in value.items()
    )
