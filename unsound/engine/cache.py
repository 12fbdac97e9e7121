"""The scan cache: per-file outcomes keyed by content, so a rescan only matches what changed.

Where: `<target dir>/cargo-unsound/scan-<key>.json`, the target dir being `CARGO_TARGET_DIR` or the
workspace's `target/`. `<key>` hashes the tool version, the engine's own code, the tree-sitter
versions and the rule set, so any of those changing starts a fresh cache. Inside, one entry per
(crate, file) holds the file's content hash and its outcome. An outcome that consulted the crate
index (`crate_dependent`) also holds a hash of the whole crate (its files and their contents) and
is used only while that is unchanged: crate-level joins are redone whenever the crate changes.

The scanned tree is hostile (DESIGN, Decisions): a pull request can commit a planted cache file
that says "no findings". The file is authenticated with an HMAC whose key lives outside the tree,
in the user's cache folder (`$XDG_CACHE_HOME/cargo-unsound/key`); a file that fails, or that does
not parse, is ignored and rewritten. Entries are JSON, never pickle: nothing read back is ever
executed. A `target` that is a symlink is not followed (it could point anywhere), and the file is
written whole (temporary file, then `os.replace`) and never over anything but a regular file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from unsound import __version__
from unsound.dsl.compiler import CompiledRule
from unsound.engine.cache_codec import decode, encode
from unsound.engine.crate_scan import FileOutcome
from unsound.engine.mod_decls import FileDecls

_FORMAT = 2
_KEY_BYTES = 32
_KEEP_FILES = 8  # cache files (rule sets × tool versions) kept per target dir
_CACHE_NAME = re.compile(r"scan-[0-9a-f]{32}\.json")


def crate_hash(files: Sequence[tuple[str, str]]) -> str:
    """A crate's identity for crate-level facts: its (path, content hash) pairs, in order."""
    digest = hashlib.blake2b(digest_size=16)
    for rel_path, file_hash in files:
        digest.update(f"{rel_path}\0{file_hash}\n".encode())
    return digest.hexdigest()


def rules_key(rules: Sequence[CompiledRule]) -> str:
    """Everything besides a file that decides its outcome: tool, engine code, parser, rules."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"format {_FORMAT}\ntool {__version__}\n".encode())
    for package in ("tree-sitter", "tree-sitter-rust"):
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "?"
        digest.update(f"{package} {version}\n".encode())
    digest.update(_code_hash().encode())
    for rule in rules:
        digest.update(f"{rule.info!r}\n{rule.ast!r}\n".encode())
    return digest.hexdigest()


def _code_hash() -> str:
    """The tool's own source: an edit to the engine invalidates the cache even without a release."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted([*package.rglob("*.py"), *package.rglob("*.lark")]):
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


def target_dir(workspace_root: Path) -> Path | None:
    """Cargo's target dir for the workspace; None when it is a symlink inside the tree."""
    configured = os.environ.get("CARGO_TARGET_DIR")
    if configured:
        return Path(configured).absolute()
    target = workspace_root.absolute() / "target"
    return None if target.is_symlink() else target


@dataclass
class ScanCache:
    """The entries of one cache file, as read (if authentic) and as they will be written."""

    path: Path
    key: bytes
    entries: dict[str, dict[str, object]] = field(default_factory=dict)
    # What each file declares (`mod x;`, `include!`), by content hash: discovery of a rescan
    # parses only new contents. Only the hashes met in this run are written back.
    modules: dict[str, object] = field(default_factory=dict)
    modules_used: dict[str, object] = field(default_factory=dict)
    dirty: bool = False

    @classmethod
    def open(cls, workspace_root: Path, rules: Sequence[CompiledRule]) -> ScanCache | None:
        """The cache for this workspace and rule set; None when there is nowhere safe to keep it."""
        target = target_dir(workspace_root)
        key = hmac_key()
        if target is None or key is None:
            return None
        folder = target / "cargo-unsound"
        if folder.is_symlink():
            return None
        cache = cls(folder / f"scan-{rules_key(rules)}.json", key)
        cache.entries, cache.modules = cache._read()
        return cache

    def declarations(self, file_hash: str) -> FileDecls | None:
        """What a file with this content declares, if an earlier run parsed it."""
        value = self.modules.get(file_hash)
        if value is None:
            return None
        try:
            decls = decode(FileDecls, value)
        except (ValueError, TypeError):
            self.dirty = True
            return None
        self.modules_used[file_hash] = value
        return decls

    def remember_declarations(self, file_hash: str, decls: FileDecls) -> None:
        self.modules_used[file_hash] = encode(decls)
        self.dirty = True

    def get(self, crate: str, rel_path: str, file_hash: str, crate_fp: str) -> FileOutcome | None:
        """The cached outcome for these contents (and this crate, if the outcome depends on it)."""
        entry = self.entries.get(_entry_key(crate, rel_path))
        if entry is None or entry.get("hash") != file_hash:
            return None
        if entry.get("crate") not in (None, crate_fp):
            return None
        try:
            outcome = decode(FileOutcome, entry.get("outcome"))
        except (ValueError, TypeError):
            self.dirty = True
            return None
        return outcome if outcome.rel_path == rel_path else None

    def put(
        self, crate: str, rel_path: str, file_hash: str, crate_fp: str, outcome: FileOutcome
    ) -> None:
        self.entries[_entry_key(crate, rel_path)] = {
            "hash": file_hash,
            "crate": crate_fp if outcome.crate_dependent else None,
            "outcome": encode(outcome),
        }
        self.dirty = True

    def save(self) -> None:
        """Write the file whole, if anything changed; a cache that cannot be written is skipped."""
        if set(self.modules_used) != set(self.modules):
            self.dirty = True
        if not self.dirty:
            return
        document = {"format": _FORMAT, "entries": self.entries, "modules": self.modules_used}
        body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
        payload = self._mac(body).encode() + b"\n" + body
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if os.path.lexists(self.path) and not stat.S_ISREG(os.lstat(self.path).st_mode):
                return
            descriptor, temporary = tempfile.mkstemp(prefix=".scan-", dir=self.path.parent)
            try:
                with os.fdopen(descriptor, "wb") as out:
                    out.write(payload)
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
            self._prune()
        except OSError:
            return
        self.dirty = False

    def _prune(self) -> None:
        """Remove the oldest cache files beyond a few: each engine or rule edit starts a new one."""
        folder = self.path.parent
        files = [
            (entry.stat(follow_symlinks=False).st_mtime, entry.name)
            for entry in os.scandir(folder)
            if _CACHE_NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)
        ]
        for _, name in sorted(files, reverse=True)[_KEEP_FILES:]:
            os.unlink(folder / name)

    def _read(self) -> tuple[dict[str, dict[str, object]], dict[str, object]]:
        """Entries and declarations of an authentic, well-formed file; empty (and a rewrite) for
        anything else."""
        nothing: tuple[dict[str, dict[str, object]], dict[str, object]] = ({}, {})
        try:
            if not stat.S_ISREG(os.lstat(self.path).st_mode):
                return nothing
            raw = self.path.read_bytes()
        except OSError:
            return nothing
        self.dirty = True  # unless it proves good below
        mac, _, body = raw.partition(b"\n")
        if not hmac.compare_digest(mac, self._mac(body).encode()):
            return nothing
        try:
            document = json.loads(body)
        except ValueError:
            return nothing
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            return nothing
        entries = document.get("entries")
        modules = document.get("modules")
        if not isinstance(entries, dict) or not isinstance(modules, dict):
            return nothing
        good = {k: v for k, v in entries.items() if isinstance(v, dict)}
        self.dirty = len(good) != len(entries)
        return good, modules

    def _mac(self, body: bytes) -> str:
        return hmac.new(self.key, body, hashlib.sha256).hexdigest()


def _entry_key(crate: str, rel_path: str) -> str:
    return f"{crate}\n{rel_path}"
