"""The scan cache: per-file outcomes keyed by content, so a rescan only matches what changed.

Where: `<target dir>/cargo-unsound/scan-<key>.bin`, the target dir being `CARGO_TARGET_DIR` or the
workspace's `target/`. `<key>` hashes the tool version, the engine's own code, the tree-sitter
versions and the rule set, so any of those changing starts a fresh cache. Inside, one entry per
(crate, file) holds the file's content hash and its outcome.

An outcome that consulted the rest of its crate (`crate_dependent`) also holds `base`, the hash of
the whole crate (its files and their contents) it is known to hold for, and the record of what it
read (`crate_reads`). The cache keeps each crate's files as of the last scan; when the crate has
changed since, such an outcome is reused only if it was valid for that last state and none of
the files changed since was read by it or would be picked by its selectors now
(`CrateReads.still_valid`). Touching one file thus redoes the outcomes that looked at that file,
not every crate-level join of the crate.

The scanned tree is hostile (DESIGN, Decisions): a pull request can commit a planted cache file
that says "no findings". The file is authenticated with an HMAC whose key lives outside the tree,
in the user's cache folder (`$XDG_CACHE_HOME/cargo-unsound/key`); a file that fails, or that does
not parse, is ignored and rewritten. The body is `marshal` data of plain dicts, lists, strings
and numbers (JSON's shapes, which marshal reads and writes faster and smaller), decoded only once
the HMAC holds, and never pickle: nothing read back is ever executed, and every shape is checked
before use. A `target` that is a symlink is not followed (it could point anywhere), and the file
is written whole (temporary file, then `os.replace`) and never over anything but a regular file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import marshal
import os
import re
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from unsound import __version__
from unsound.dsl.compiled import CompiledRule
from unsound.engine.cache_codec import decode, encode
from unsound.engine.cache_files import prune_oldest, write_whole
from unsound.engine.cache_identity import code_hash, hmac_key
from unsound.engine.cargo_lints import LintLevels
from unsound.engine.crate_reads import CrateReads, Question, Selector
from unsound.engine.crate_task import FileOutcome
from unsound.engine.discovery_record import DiscoveryRecord
from unsound.engine.hashing import FileStamp, file_stamp
from unsound.engine.mod_decls import FileDecls
from unsound.versions import installed_version

if TYPE_CHECKING:
    from unsound.engine.units import ParsedFile

_FORMAT = 9
_HASH = re.compile(r"[0-9a-f]{32}")
_Contents = tuple[
    dict[str, dict[str, object]],
    dict[str, object],
    dict[str, object],
    list[list[str]],
    dict[str, object],
    dict[str, object],
]
_KEEP_FILES = 8  # cache files (rule sets × tool versions) kept per target dir
# `.json`: the files of format 6 and before, pruned like the others.
_CACHE_NAME = re.compile(r"scan-[0-9a-f]{32}\.(?:bin|json)")
_MARSHAL_VERSION = 4
# At most this many changed files of a crate are parsed here to tell whether an outcome that
# read them still holds (`CrateView.contributes`).
_CUTOFF_FILES = 8
# A file's text, or a function that reads it (a file discovery did not need to read).
FileText = bytes | Callable[[], bytes]


def crate_hash(files: Sequence[tuple[str, str]]) -> str:
    """A crate's identity for crate-level facts: its (path, content hash) pairs, in order."""
    digest = hashlib.blake2b(digest_size=16)
    for rel_path, file_hash in files:
        digest.update(f"{rel_path}\0{file_hash}\n".encode())
    return digest.hexdigest()


def rules_key(
    rules: Sequence[CompiledRule],
    workspace_crates: Iterable[str] = (),
    crate_lints: Mapping[str, LintLevels] | None = None,
) -> str:
    """Everything besides a file that decides its outcome: tool, engine code, parser, rules,
    the names of the workspace's crates (a trait imported from a sibling crate counts as the
    workspace's own: `crate-bounded`) and the lint levels their manifests set (`allows lint`)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"format {_FORMAT}\ntool {__version__}\n".encode())
    digest.update(f"crates {' '.join(sorted(workspace_crates))}\n".encode())
    for crate, levels in sorted((crate_lints or {}).items()):
        if levels.entries:
            digest.update(f"lints {crate} {levels.entries!r}\n".encode())
    for package in ("tree-sitter", "tree-sitter-rust"):
        digest.update(f"{package} {installed_version(package)}\n".encode())
    digest.update(code_hash().encode())
    for rule in rules:
        digest.update(f"{rule.fingerprint}\n".encode())
    return digest.hexdigest()


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
    # Each crate's (path → content hash) as of the scan that last wrote its outcomes.
    crates: dict[str, object] = field(default_factory=dict)
    # A file's content hash by its stat (real path → [size, mtime_ns, ctime_ns, inode, hash]),
    # so that a rescan hashes only the files whose stat changed (`trusted_hash`). Only the
    # files met in this run are written back.
    stats: dict[str, object] = field(default_factory=dict)
    stats_used: dict[str, object] = field(default_factory=dict)
    # Each package's last discovery (`DiscoveryRecord`, encoded), by package name: a rescan
    # replays an unchanged package's instead of following its modules. Only the packages
    # discovered in this run are written back.
    discovery: dict[str, object] = field(default_factory=dict)
    discovery_used: dict[str, object] = field(default_factory=dict)
    # The selectors of every entry's `reads`, stored once: entries name them by index (the same
    # regex recurs in most entries of a crate and made up half of the file).
    selectors: list[Selector] = field(default_factory=list)
    _selector_ids: dict[Selector, int] = field(default_factory=dict)
    dirty: bool = False

    @classmethod
    def open(
        cls,
        workspace_root: Path,
        rules: Sequence[CompiledRule],
        workspace_crates: Iterable[str] = (),
        crate_lints: Mapping[str, LintLevels] | None = None,
    ) -> ScanCache | None:
        """The cache for this workspace, its crates' names and lint levels and the rule set;
        None when there is nowhere safe to keep it."""
        target = target_dir(workspace_root)
        key = hmac_key()
        if target is None or key is None:
            return None
        folder = target / "cargo-unsound"
        if folder.is_symlink():
            return None
        name = f"scan-{rules_key(rules, workspace_crates, crate_lints)}.bin"
        return cls.load(folder / name, key)

    @classmethod
    def load(cls, path: Path, key: bytes) -> ScanCache:
        """The cache file at `path`, read if it is authentic and well formed (else empty)."""
        cache = cls(path, key)
        contents = cache._read()
        cache.entries, cache.modules, cache.crates, selectors, cache.stats = contents[:5]
        cache.discovery = contents[5]
        cache.selectors = [Selector(*fields) for fields in selectors]
        cache._selector_ids = {selector: i for i, selector in enumerate(cache.selectors)}
        return cache

    def declarations(self, file_hash: str) -> FileDecls | None:
        """What a file with this content declares, if an earlier run or this one parsed it."""
        value = self.modules_used.get(file_hash)
        if value is None:
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

    def trusted_hash(self, real_path: str, stamp: FileStamp) -> str | None:
        """The content hash recorded for this file when its stat was `stamp`, if it still is."""
        value = self.stats.get(real_path)
        if (
            isinstance(value, list)
            and len(value) == len(stamp) + 1
            and value[:-1] == list(stamp)
            and isinstance(value[-1], str)
            and _HASH.fullmatch(value[-1])
        ):
            self.stats_used[real_path] = value
            return value[-1]
        return None

    def remember_hash(self, real_path: str, stamp: FileStamp, file_hash: str) -> None:
        """Record a file's content hash under its stat. The caller records only a file whose
        change time is older than the read by more than timestamps' granularity: a later
        change to it then gives another change time (git's index calls the others "racily
        clean")."""
        self.stats_used[real_path] = [*stamp, file_hash]

    def discovery_record(self, package: str) -> DiscoveryRecord | None:
        """The package's discovery as the last run made it, if the entry decodes."""
        return DiscoveryRecord.decode(self.discovery.get(package))

    def remember_discovery(self, package: str, record: DiscoveryRecord) -> None:
        self.discovery_used[package] = record.encode()

    def keep_file(self, real_path: str, file_hash: str) -> None:
        """Keep a replayed file's stat record and declarations, as reading it would have. A file
        discovery read again this run (a changed file its package's record was rechecked with)
        keeps what that read recorded, not the stale entry."""
        recorded = self.stats.get(real_path)
        if recorded is not None:
            self.stats_used.setdefault(real_path, recorded)
        declarations = self.modules.get(file_hash)
        if declarations is not None:
            self.modules_used.setdefault(file_hash, declarations)

    def crates_touched(
        self, workspace_root: Path, changed: list[str] | None = None
    ) -> dict[str, int]:
        """Crates with a file whose stat is not the one recorded with its hash (changed,
        removed, or never recorded), with the bytes of those files now; the paths of those
        that exist are added to `changed`. Only a plan for the scan (which crates first, how
        many workers, which queries a worker builds first): the files themselves are still
        hashed and their outcomes checked as always."""
        root = os.path.realpath(workspace_root)
        touched: dict[str, int] = {}
        for crate, state in self.crates.items():
            files = state.get("files") if isinstance(state, dict) else None
            if not isinstance(files, dict):
                touched[crate] = 0
                continue
            touched_here, changed_size = False, 0
            for rel_path in files:
                real = os.path.join(root, rel_path)
                try:
                    status = os.stat(real)
                except OSError:
                    touched_here = True
                    continue
                recorded = self.stats.get(real)
                stamp = list(file_stamp(status))
                if not isinstance(recorded, list) or recorded[:-1] != stamp:
                    touched_here = True
                    changed_size += status.st_size
                    if changed is not None:
                        changed.append(real)
            if touched_here:
                touched[crate] = changed_size
        return touched

    def crate_view(self, crate: str, files: Sequence[tuple[str, str, FileText]]) -> CrateView:
        """This run's state of a crate ((path, content hash, text) of each file, in order) next
        to the state its cached outcomes were written for; it becomes the stored state. A text
        may be given as a function that reads it: it is called only for a changed file."""
        hashes = {rel_path: file_hash for rel_path, file_hash, _ in files}
        view = CrateView(crate, crate_hash([(path, h) for path, h, _ in files]), hashes)
        stored = self.crates.get(crate)
        if isinstance(stored, dict) and isinstance(stored.get("files"), dict):
            before: dict[str, object] = stored["files"]
            view.stored_fp = stored.get("fp") if isinstance(stored.get("fp"), str) else None
            view.changed = {
                path: text if isinstance(text, bytes) else text()
                for path, file_hash, text in files
                if before.get(path) != file_hash
            }
            view.changed.update({path: None for path in before if path not in hashes})
        if stored != {"fp": view.fp, "files": hashes}:
            self.crates[crate] = {"fp": view.fp, "files": hashes}
            self.dirty = True
        return view

    def get(self, view: CrateView, rel_path: str) -> FileOutcome | None:
        """The cached outcome of this file's contents, if it still holds for its crate."""
        entry = self.entries.get(_entry_key(view.crate, rel_path))
        if entry is None or entry.get("hash") != view.hashes.get(rel_path):
            return None
        base = entry.get("base")
        if base is not None and base != view.fp and base != view.stored_fp:
            return None
        stored = entry.get("outcome", False)
        if stored is None:  # nothing found: written as null (two thirds of the entries)
            outcome = FileOutcome(rel_path, crate_dependent=base is not None)
        else:
            try:
                outcome = decode(FileOutcome, stored)
            except (ValueError, TypeError):
                self.dirty = True
                return None
        if outcome.rel_path != rel_path or (base is None) == outcome.crate_dependent:
            return None
        if base is not None and base != view.fp:
            reads = self._decode_reads(entry.get("reads"))
            if reads is None or not reads.still_valid(view.changed, view.contributes):
                return None
            entry["base"] = view.fp  # it holds for this state too, which is now the stored one
            self.dirty = True
        return outcome

    def put(self, view: CrateView, outcome: FileOutcome) -> None:
        key = _entry_key(view.crate, outcome.rel_path)
        if not outcome.cacheable:
            if self.entries.pop(key, None) is not None:
                self.dirty = True
            return
        reads = outcome.crate_reads
        outcome = dataclasses.replace(outcome, crate_reads=None)  # stored beside, compactly
        self.entries[key] = {
            "reads": self._encode_reads(reads) if reads is not None else None,
            "hash": view.hashes[outcome.rel_path],
            "base": view.fp if outcome.crate_dependent else None,
            "outcome": None if outcome == _nothing_found(outcome) else encode(outcome),
        }
        self.dirty = True

    def save(self) -> None:
        """Write the file whole, if anything changed; a cache that cannot be written is skipped."""
        if (
            set(self.modules_used) != set(self.modules)
            or self.stats_used != self.stats
            or self.discovery_used != self.discovery
        ):
            self.dirty = True
        if not self.dirty:
            return
        document = {
            "format": _FORMAT,
            "entries": self.entries,
            "modules": self.modules_used,
            "crates": self.crates,
            "selectors": self._used_selectors(),
            "stats": self.stats_used,
            "discovery": self.discovery_used,
        }
        body = marshal.dumps(document, _MARSHAL_VERSION)
        payload = self._mac(body).encode() + b"\n" + body
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not write_whole(self.path, payload):
                return
            prune_oldest(self.path.parent, _CACHE_NAME, _KEEP_FILES)
        except OSError:
            return
        self.dirty = False
        self.stats = dict(self.stats_used)
        self.discovery = dict(self.discovery_used)

    def _encode_reads(self, reads: CrateReads) -> dict[str, object]:
        ids = []
        for selector in reads.selectors:
            index = self._selector_ids.get(selector)
            if index is None:
                index = self._selector_ids[selector] = len(self.selectors)
                self.selectors.append(selector)
            ids.append(index)
        # A gate selector is named by its position in the entry's own list (no renumbering).
        position = {selector: i for i, selector in enumerate(reads.selectors)}
        gate = [
            [position[selector], [[path, list(names)] for path, names in captured]]
            for selector, captured in reads.gate
        ]
        # The files that gave something, by their position in `files`.
        loud = [i for i, path in enumerate(reads.files) if path in set(reads.loud)]
        return {
            "selectors": ids,
            "files": list(reads.files),
            "whole_crate": reads.whole_crate,
            "gate": gate,
            "questions": [list(question) for question in reads.questions],
            "loud": loud,
        }

    def _decode_reads(self, value: object) -> CrateReads | None:
        """The reads an entry recorded; None (the entry is not reused) if they do not decode."""
        try:
            stored = _stored_reads(value)
            selectors = tuple(self.selectors[i] for i in stored.selectors if i >= 0)
        except (ValueError, TypeError, IndexError, KeyError):
            return None
        if len(selectors) != len(stored.selectors):
            return None
        if not all(0 <= i < len(selectors) for i, _ in stored.gate):
            return None
        gate = tuple((selectors[i], captured) for i, captured in stored.gate)
        if not all(0 <= i < len(stored.files) for i in stored.loud):
            return None
        loud = tuple(stored.files[i] for i in stored.loud)
        return CrateReads(selectors, stored.files, stored.whole_crate, gate, stored.questions, loud)

    def _used_selectors(self) -> list[list[str]]:
        """The selector table to write: only those some entry names, renumbered in the entries."""
        renumbered: dict[int, int] = {}
        table: list[list[str]] = []
        for entry in self.entries.values():
            reads = entry.get("reads")
            if not isinstance(reads, dict) or not isinstance(reads.get("selectors"), list):
                continue
            ids = []
            for old in reads["selectors"]:
                if not isinstance(old, int) or not 0 <= old < len(self.selectors):
                    ids.append(-1)  # never decodes: the entry is not reused
                    continue
                if old not in renumbered:
                    renumbered[old] = len(table)
                    selector = self.selectors[old]
                    table.append([selector.kind, selector.pattern, selector.name])
                ids.append(renumbered[old])
            reads["selectors"] = ids
        self.selectors = [Selector(*fields) for fields in table]
        self._selector_ids = {selector: i for i, selector in enumerate(self.selectors)}
        return table

    def _read(self) -> _Contents:
        """Entries, declarations, crate states, selectors and file stats of an authentic,
        well-formed file; empty (and a rewrite) for anything else."""
        nothing: _Contents = ({}, {}, {}, [], {}, {})
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
            document = marshal.loads(body)
        except (ValueError, EOFError, TypeError):
            return nothing
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            return nothing
        entries = document.get("entries")
        modules = document.get("modules")
        crates = document.get("crates")
        selectors = document.get("selectors")
        if not (
            isinstance(entries, dict) and isinstance(modules, dict) and isinstance(crates, dict)
        ):
            return nothing
        if not isinstance(selectors, list) or not all(
            isinstance(s, list) and len(s) == 3 and all(isinstance(f, str) for f in s)
            for s in selectors
        ):
            return nothing
        stats = document.get("stats")
        discovery = document.get("discovery")
        if not isinstance(stats, dict) or not isinstance(discovery, dict):
            return nothing
        good = {k: v for k, v in entries.items() if isinstance(v, dict)}
        self.dirty = len(good) != len(entries)
        return good, modules, crates, selectors, stats, discovery

    def _mac(self, body: bytes) -> str:
        return hmac.new(self.key, body, hashlib.sha256).hexdigest()


def _nothing_found(outcome: FileOutcome) -> FileOutcome:
    """The outcome of a file where nothing was found (what a null entry stands for)."""
    return FileOutcome(outcome.rel_path, crate_dependent=outcome.crate_dependent)


def _stored_reads(value: object) -> _StoredReads:
    """`decode(_StoredReads, value)`, written out: every entry a rescan checks is decoded, and
    an entry's reads hold the crate gate's names per file (on tokio, 327 entries of a 557-file
    crate took 0.13 s through the generic decoder). The same shapes are checked; a wrong one
    raises `ValueError`."""
    if not isinstance(value, dict):
        raise ValueError("reads: not a mapping")
    selectors, files, whole_crate = value["selectors"], value["files"], value["whole_crate"]
    gate, questions, loud = value["gate"], value["questions"], value["loud"]
    if not (_ints(selectors) and _strs(files) and isinstance(whole_crate, bool)):
        raise ValueError("reads: bad selectors, files or whole_crate")
    if not (_ints(loud) and isinstance(questions, list) and isinstance(gate, list)):
        raise ValueError("reads: bad loud, questions or gate")
    if not all(isinstance(q, list) and len(q) == 2 and _strs(q) for q in questions):
        raise ValueError("reads: bad question")
    decoded_gate = []
    for item in gate:
        if not (isinstance(item, list) and len(item) == 2 and type(item[0]) is int):
            raise ValueError("reads: bad gate selector")
        captured = item[1]
        if not isinstance(captured, list):
            raise ValueError("reads: bad gate names")
        names = []
        # The names themselves are only compared with the names captured now: one that is not
        # a string can only differ, which redoes the outcome. Not checked one by one.
        for pair in captured:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], list)):
                raise ValueError("reads: bad gate file")
            names.append((pair[0], tuple(pair[1])))
        decoded_gate.append((item[0], tuple(names)))
    return _StoredReads(
        tuple(selectors),
        tuple(files),
        whole_crate,
        tuple(decoded_gate),
        tuple((q[0], q[1]) for q in questions),
        tuple(loud),
    )


def _ints(value: object) -> bool:
    return isinstance(value, list) and all(type(item) is int for item in value)


def _strs(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


@dataclass(frozen=True)
class _StoredReads:
    """`CrateReads` as an entry stores it: selectors by their index in the file's table."""

    selectors: tuple[int, ...]
    files: tuple[str, ...]
    whole_crate: bool
    # Per gate selector (its position in `selectors`): the names it captured per picked file.
    gate: tuple[tuple[int, tuple[tuple[str, tuple[str, ...]], ...]], ...]
    questions: tuple[tuple[str, str], ...]
    loud: tuple[int, ...]  # positions in `files`


@dataclass
class CrateView:
    """One crate in this run: its hash, its files' hashes, and what changed since the state its
    cached outcomes were written for (path → new text; None: removed)."""

    crate: str
    fp: str
    hashes: dict[str, str]
    stored_fp: str | None = None
    changed: dict[str, bytes | None] = field(default_factory=dict)
    # Per changed file, its new text parsed, and per question whether it gives something.
    _parsed: dict[str, ParsedFile] = field(default_factory=dict)
    _gives: dict[tuple[str, Question], bool] = field(default_factory=dict)

    def contributes(self, path: str, data: bytes, questions: tuple[Question, ...]) -> bool:
        """Whether the changed file's new text gives something to one of the crate index's
        questions (parsed once, and each question asked of it once, per run). When many of
        the crate's files changed (a branch switch), every one counts as giving something:
        parsing them here, one after the other, would cost more than redoing the outcomes on
        the workers."""
        if len(self.changed) > _CUTOFF_FILES:
            return True
        # Imported here: the parent of a scan needs the crate index only for this (12 ms of
        # its start otherwise; the workers import it with the matcher).
        from unsound.engine.crate_index import gives_something, parsed

        for question in questions:
            known = self._gives.get((path, question))
            if known is None:
                unit = self._parsed.get(path)
                if unit is None:
                    unit = self._parsed[path] = parsed(path, data)
                known = self._gives[(path, question)] = gives_something(unit, question)
            if known:
                return True
        return False


def _entry_key(crate: str, rel_path: str) -> str:
    return f"{crate}\n{rel_path}"
