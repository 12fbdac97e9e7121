"""The Rust files of the selected packages: what rustc would read, found without running it.

From each target's crate root, `mod` declarations are followed by rustc's rules (`mod_decls`,
`mod_resolve`), so the files scanned are the files compiled, not whatever `.rs` happens to lie
around; `--all-files` adds the rest of each package's folder (`source_walk`). Every file is read
once (by real path) and checked first (`source_guard`). Anything that stops a file from being
read becomes a `ScanProblem`, never an exception: one bad file must not hide the others.

A file is parsed here only when its text may pull in other files (`mod x;`, or an item-position
`include!("x.rs")`, which rustc reads as part of the module); a file with only inline modules
(`mod tests { … }`) is not. The tree is kept on the `SourceFile` so an in-process scan never parses
a file twice; files without one are left for the scan's literal prefilter to decide on. What a file
declares is remembered by content hash in the scan cache, so a rescan parses only changed files.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Protocol

from tree_sitter import Tree

from unsound.dsl.rust_parser import parse_rust
from unsound.engine.discovery_record import (
    UNTRUSTED,
    DiscoveryRecord,
    DiscoveryRecorder,
    RecordedFile,
)
from unsound.engine.hashing import FileStamp, content_hash, file_stamp
from unsound.engine.macro_mods import call_declarations, may_call
from unsound.engine.mod_decls import (
    DeclaringMacro,
    FileDecls,
    Include,
    ModDecl,
    declarations_of,
    file_declarations,
    may_load_files,
)
from unsound.engine.mod_resolve import ModuleContext, ModuleFile, resolve
from unsound.engine.source_guard import SourceGuard
from unsound.engine.source_walk import rust_files
from unsound.engine.workspace import Package, Target
from unsound.model import ProblemKind, ScanProblem


@dataclass(frozen=True)
class UnreadFile:
    """A file discovery knows unchanged from the scan cache (`discovery_record`): read only if
    the scan needs its text (a rescan of its crate), never when its outcomes are cached."""

    real_path: str

    def read(self) -> bytes:
        return _read_with_stat(self.real_path)[0]


@dataclass(frozen=True)
class SourceFile:
    """One Rust file to scan, read once."""

    path: Path  # absolute
    rel_path: str  # relative to the workspace root, '/'-separated (as cargo prints)
    crate: str  # package name
    content: bytes | UnreadFile  # the text, or where to read it when first asked (`data`)
    tree: Tree | None  # the parse made while following `mod` declarations, if one was needed
    # `content_hash(data)` when discovery already computed it (with a cache), else "".
    digest: str = ""

    @property
    def data(self) -> bytes:
        content = self.content
        if isinstance(content, bytes):
            return content
        data = content.read()
        object.__setattr__(self, "content", data)
        return data

    def read_now(self) -> str | None:
        """Read the text now if discovery did not; why it cannot be read (a file removed since
        its stat was checked), the text being then empty, or None."""
        try:
            self.data  # noqa: B018 - read on access
        except OSError as error:
            object.__setattr__(self, "content", b"")
            return f"`{self.rel_path}` could not be read: {error.strerror or error}"
        return None

    def content_hash(self) -> str:
        return self.digest or content_hash(self.data)


class DeclarationStore(Protocol):
    """Declarations found in earlier runs, by file content hash (the scan cache keeps them), so a
    rescan parses only the files that changed."""

    def declarations(self, file_hash: str) -> FileDecls | None: ...

    def remember_declarations(self, file_hash: str, decls: FileDecls) -> None: ...

    def trusted_hash(self, real_path: str, stamp: FileStamp) -> str | None: ...

    def remember_hash(self, real_path: str, stamp: FileStamp, file_hash: str) -> None: ...

    def discovery_record(self, package: str) -> DiscoveryRecord | None: ...

    def remember_discovery(self, package: str, record: DiscoveryRecord) -> None: ...

    def keep_file(self, real_path: str, file_hash: str) -> None:
        """Keep what the store knows of a file whose discovery was replayed (its stat, its
        declarations), as if it had been read."""


def collect_sources(
    packages: Sequence[Package],
    workspace_root: Path,
    *,
    all_files: bool = False,
    store: DeclarationStore | None = None,
    keep_trees: bool = True,
) -> tuple[tuple[SourceFile, ...], tuple[ScanProblem, ...]]:
    """The files of `packages` (sorted by rel_path) and the problems met finding them; with
    `keep_trees`, the parses made on the way are kept on the files (for an in-process scan)."""
    root = workspace_root.absolute()
    outside = [package.root for package in packages if not _below(package.root, root)]
    guard = SourceGuard.for_workspace(root, outside)
    collector = _Collector(root, guard, store, keep_trees=keep_trees)
    for package in packages:
        collector.follow_package(package)
    if all_files:
        for package in packages:
            collector.add_loose_files(package)
    files = sorted(collector.files, key=lambda source: source.rel_path)
    problems = sorted(collector.problems, key=_problem_order)
    return tuple(files), tuple(problems)


class CrateSources:
    """The same files as `collect_sources` (without `--all-files`), one crate at a time: each
    package's files, sorted by rel_path, as soon as its targets are followed, so its scan can
    start while the next package is read. `problems` is complete once iterated to the end."""

    def __init__(
        self,
        packages: Sequence[Package],
        workspace_root: Path,
        *,
        store: DeclarationStore | None = None,
    ) -> None:
        root = workspace_root.absolute()
        outside = [package.root for package in packages if not _below(package.root, root)]
        self._packages = packages
        guard = SourceGuard.for_workspace(root, outside)
        self._collector = _Collector(root, guard, store, keep_trees=False)

    def __iter__(self) -> Iterator[list[SourceFile]]:
        collector = self._collector
        for package in self._packages:
            before = len(collector.files)
            collector.follow_package(package)
            found = sorted(collector.files[before:], key=lambda source: source.rel_path)
            # Handed over: the collector must not keep them (nor discovery's trees) alive.
            del collector.files[before:]
            if found:
                yield found

    @property
    def problems(self) -> tuple[ScanProblem, ...]:
        return tuple(sorted(self._collector.problems, key=_problem_order))


@dataclass
class _Collector:
    """The state of one collection: files read, real paths seen, problems met."""

    root: Path
    guard: SourceGuard
    store: DeclarationStore | None = None
    # Whether the parses made here are kept for an in-process scan (else only the part of a
    # file its declarations need is parsed, and no tree is kept).
    keep_trees: bool = True
    files: list[SourceFile] = field(default_factory=list)
    problems: set[ScanProblem] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    # Each file read (by real path), and the (real path, module context) pairs whose
    # declarations were followed: a file reached again in another context is followed again.
    known: dict[str, tuple[SourceFile, FileDecls]] = field(default_factory=dict)
    followed: set[tuple[str, ModuleContext]] = field(default_factory=set)
    # The files a package's record replayed (by real path): not read, their declarations known
    # to the store.
    replayed: dict[str, SourceFile] = field(default_factory=dict)
    # When this discovery began (wall clock, ns): the reference of the "racily clean" rule.
    started_ns: int = field(default_factory=time.time_ns)
    # What the package being followed reads and probes, for its `DiscoveryRecord`.
    recorder: DiscoveryRecorder | None = None

    def rel(self, path: Path | str) -> str:
        text = os.fspath(path)
        # Most paths are plain children of the root: slicing is 20x cheaper than `relpath`.
        if text.startswith(self._root_prefix) and os.path.normpath(text) == text:
            return text[len(self._root_prefix) :].replace(os.sep, "/")
        return os.path.relpath(path, self.root).replace(os.sep, "/")

    @cached_property
    def _root_prefix(self) -> str:
        root = os.path.normpath(os.fspath(self.root))
        return root if root.endswith(os.sep) else root + os.sep

    def follow_package(self, package: Package) -> None:
        """Find the package's files: from the store's record of its last discovery when that
        still holds, else by following each target (and recorded for the next run)."""
        store = self.store
        if store is None or not _CTIME_IS_CHANGE_TIME:
            for target in package.targets:
                self.follow(package, target)
            return
        setting = (
            os.fspath(package.root),
            os.fspath(self.root),
            *(os.fspath(target.root) for target in package.targets),
            *self.guard.allowed,
            "",
            *self.guard.build_output,
        )
        record = store.discovery_record(package.name)
        if record is not None:
            changed = record.changed_files(setting, self.seen)
            if changed:
                record = self._recheck(record, changed, store)
            if changed is not None and record is not None:
                self._replay(package, record, store)
                return
        self.recorder = DiscoveryRecorder(setting)
        try:
            for target in package.targets:
                self.follow(package, target)
            made = self.recorder.record()
        finally:
            self.recorder = None
        if made is not None:
            store.remember_discovery(package.name, made)

    def _recheck(
        self, record: DiscoveryRecord, changed: list[int], store: DeclarationStore
    ) -> DiscoveryRecord | None:
        """The record with its changed files' new stamps and hashes, when each still declares
        what it declared (discovery would find the same files); None when one does not, cannot
        be read, or the package has a module-declaring macro."""
        if record.macros:
            return None
        updated = {}
        for index in changed:
            file = record.files[index]
            if self.guard.real_path(file.path) != file.real_path:
                return None  # the path names another file now (a link retargeted)
            try:
                data, status = _read_with_stat(file.real_path)
            except OSError:
                return None
            if status.st_dev != file.device:
                return None
            _, decls, digest = self._declarations(data, file.real_path, status)
            if digest != file.digest and decls != store.declarations(file.digest):
                return None
            updated[index] = replace(file, stamp=self._stamp(status), digest=digest)
        return record.with_files(updated)

    def _stamp(self, status: os.stat_result) -> FileStamp:
        """The file's stamp for its package's record: `UNTRUSTED` when it changed too recently
        for its stat to tell a later change (racily clean), so the next run reads it."""
        if max(status.st_mtime_ns, status.st_ctime_ns) >= self.started_ns - RACY_NS:
            return UNTRUSTED
        return file_stamp(status)

    def _replay(self, package: Package, record: DiscoveryRecord, store: DeclarationStore) -> None:
        for file in record.files:
            self.seen.add(file.real_path)
            store.keep_file(file.real_path, file.digest)
            source = SourceFile(
                Path(file.path),
                file.rel_path,
                package.name,
                UnreadFile(file.real_path),
                None,
                file.digest,
            )
            self.files.append(source)
            self.replayed[file.real_path] = source
        store.remember_discovery(package.name, record)

    def problem(self, path: str, message: str, at: ModDecl | Include | None = None) -> None:
        """Record a file that could not be scanned; `at` is the declaration that named it."""
        if self.recorder is not None:
            self.recorder.clean = False
        line, column = (at.line, at.column) if at is not None else (None, None)
        self.problems.add(ScanProblem(path, ProblemKind.NOT_SCANNED, message, line, column))

    def follow(self, package: Package, target: Target) -> None:
        """Read the crate root, then every module file it reaches, breadth first."""
        what = f"crate root of {target.kind} `{target.name}`"
        if not os.path.exists(target.root):
            self.problem(self.rel(target.root), f"{what} does not exist")
            return
        refusal = self.guard.refusal(target.root)
        if refusal is not None:
            self.problem(self.rel(target.root), f"{what} {refusal}; it was not read")
            return
        # rustc follows `#[path]` anywhere; we follow it anywhere inside the workspace (another
        # package's build helpers, as rust-openssl's systest does) and never outside its root.
        area = (package.root, target.root.parent, Path(self.root))
        root_file = os.fspath(target.root)
        queue = deque([ModuleFile(root_file, ModuleContext.crate_root(root_file))])
        crate_files = _CrateFiles()
        while queue:
            while queue:
                module = queue.popleft()
                key = (self.guard.real_path(module.path), module.context)
                read = self.read(package, module.path)  # notes a file read before, for the record
                if read is None:
                    read = None if key in self.followed else self._read_elsewhere(package, key[0])
                    if read is None:
                        continue
                self.followed.add(key)
                source, decls = read
                crate_files.add(source, module.context, decls)
                if decls.macros and self.recorder is not None:
                    self.recorder.macros = True  # a call anywhere may load files: no recheck
                for decl in decls.mods:
                    queue.extend(self.module_files(source, module.context, decl, area))
                for include in decls.includes:
                    queue.extend(self.included_file(source, module.context, include, area))
            # Then what the crate's macros declare where they are called (`macro_mods`), which
            # may reach files that define or call more of them.
            for source, context, decl in crate_files.macro_declarations():
                queue.extend(self.module_files(source, context, decl, area))

    def _read_elsewhere(self, package: Package, real: str) -> tuple[SourceFile, FileDecls] | None:
        """A file read before, reached again in another module context: rustc compiles it
        there too, so its declarations are followed from there (a build script's `#[path =
        "../zzz/src/config.rs"]` and package `zzz`'s own `mod config;` each load the modules
        their folder gives). The file itself stays with the package that read it first; a
        package that follows another package's file is not replayed from its record (that
        file's declarations are not in the record)."""
        known = self.known.get(real)
        if known is None:
            source = self.replayed.get(real)
            if source is None:
                return None
            decls = self.store.declarations(source.digest) if self.store is not None else None
            known = self.known[real] = (source, decls or declarations_of(source.data))
        if self.recorder is not None and known[0].crate != package.name:
            self.recorder.clean = False
        return known

    def module_files(
        self, source: SourceFile, context: ModuleContext, decl: ModDecl, area: tuple[Path, ...]
    ) -> list[ModuleFile]:
        """The files a declaration loads that may be read; problems for the rest."""
        resolution = resolve(decl, context)
        where = f"module `{decl.name}` declared at {source.rel_path}:{decl.line}:{decl.column}"
        existing = [file for file in resolution.candidates if os.path.exists(file.path)]
        if self.recorder is not None and len(existing) < len(resolution.candidates):
            self.recorder.absent.extend(
                file.path for file in resolution.candidates if file not in existing
            )
        if not existing and resolution.required:
            looked = ", ".join(self.rel(path) for path in resolution.looked_for)
            self.problem(source.rel_path, f"{where} has no file (looked for {looked})", decl)
        allowed: list[ModuleFile] = []
        for file in existing:
            shown = self.rel(file.path)
            if not any(_below(file.path, folder) for folder in area):
                message = f"{where} points outside its package, to `{shown}`; it was not read"
                self.problem(source.rel_path, message, decl)
                continue
            refusal = self.guard.refusal(file.path)
            if refusal is not None:
                message = f"{where} loads `{shown}`, which {refusal}; it was not read"
                self.problem(source.rel_path, message, decl)
                continue
            allowed.append(file)
        return allowed

    def included_file(
        self, source: SourceFile, context: ModuleContext, include: Include, area: tuple[Path, ...]
    ) -> list[ModuleFile]:
        """The file an `include!` reads (relative to the including file), in the same module.

        Its own `mod` declarations resolve from its folder, as in a `mod.rs`, whatever module
        includes it (rustc's `expand_include` since rust-lang/rust#69838): crosvm's
        `include!("bindings/include_modules.rs")` declares modules under `bindings/`.
        A missing one is not reported: unlike `mod`, the call may sit in an item rustc cfg's out.
        """
        path = os.path.normpath(os.path.join(os.path.dirname(source.path), include.path))
        if not os.path.exists(path):
            if self.recorder is not None:
                self.recorder.absent.append(path)
            return []
        where = f"`include!` at {source.rel_path}:{include.line}:{include.column}"
        shown = self.rel(path)
        refusal = None if any(_below(path, folder) for folder in area) else "is outside its package"
        refusal = refusal or self.guard.refusal(path)
        if refusal is not None:
            message = f"{where} reads `{shown}`, which {refusal}; it was not read"
            self.problem(source.rel_path, message, include)
            return []
        return [ModuleFile(path, ModuleContext(os.path.dirname(path)))]

    def read(self, package: Package, path: Path | str) -> tuple[SourceFile, FileDecls] | None:
        """Read a file not read before, with what it declares; a problem when it cannot be
        read."""
        real = self.guard.real_path(path)
        if real in self.seen:
            if self.recorder is not None:
                self.recorder.read_before.append(real)
            return None
        self.seen.add(real)
        rel_path = self.rel(path)
        file = Path(path)
        try:
            data, status = _read_with_stat(real)
        except OSError as error:
            self.problem(rel_path, f"`{rel_path}` could not be read: {error.strerror or error}")
            return None
        tree, decls, digest = self._declarations(data, real, status)
        source = SourceFile(file, rel_path, package.name, data, tree, digest)
        self.files.append(source)
        self.known[real] = (source, decls)
        if self.recorder is not None:
            self._note_read(self.recorder, source, real, status)
        return source, decls

    def _note_read(
        self, recorder: DiscoveryRecorder, source: SourceFile, real: str, status: os.stat_result
    ) -> None:
        """Add a file read to the package's record (with a stamp that makes the next run check
        its content, if its stat cannot be trusted yet)."""
        if not source.digest:
            recorder.clean = False
            return
        recorder.files.append(
            RecordedFile(
                os.fspath(source.path),
                source.rel_path,
                real,
                self._stamp(status),
                status.st_dev,
                source.digest,
            )
        )

    def _declarations(
        self, data: bytes, real: str, status: os.stat_result
    ) -> tuple[Tree | None, FileDecls, str]:
        """The file's declarations: none without the words for them, else from the store, else
        from a parse (returned too, so an in-process scan need not parse the file again)."""
        file_hash = ""
        if self.store is not None:
            file_hash = self._content_hash(data, real, status, self.store)
            known = self.store.declarations(file_hash)
            if known is not None:
                return None, known, file_hash
        if not may_load_files(data):
            if self.store is not None:
                self.store.remember_declarations(file_hash, _NO_DECLS)
            return None, _NO_DECLS, file_hash
        tree: Tree | None = None
        if self.keep_trees:
            tree = parse_rust(data)
            # A tree without an error gives what `declarations_of` gives; a broken file is read
            # as `declarations_of` reads it, so in-process and worker scans find the same files.
            error_free = not tree.root_node.has_error
            decls = file_declarations(tree, data) if error_free else declarations_of(data, tree)
        else:  # nobody will use the tree: parse only what the declarations need
            decls = declarations_of(data)
        if self.store is not None:
            self.store.remember_declarations(file_hash, decls)
        return tree, decls, file_hash

    def _content_hash(
        self, data: bytes, real: str, status: os.stat_result, store: DeclarationStore
    ) -> str:
        """The file's content hash: the store's record when the file's stat is what it was then
        (a rescan of wasmtime skips hashing 28 MB, 30 ms), else computed, and recorded if the
        file's last change is older than this discovery by more than `RACY_NS`. The stat is
        taken after the read (on the open file): a change during the read makes the change
        time newer than that, and the size or times unlike the recorded ones."""
        if not _CTIME_IS_CHANGE_TIME:
            return content_hash(data)
        stamp = file_stamp(status)
        known = store.trusted_hash(real, stamp)
        if known is not None:
            return known
        file_hash = content_hash(data)  # hashing is far cheaper than the regex after it
        if max(status.st_mtime_ns, status.st_ctime_ns) < self.started_ns - RACY_NS:
            store.remember_hash(real, stamp, file_hash)
        return file_hash

    def add_loose_files(self, package: Package) -> None:
        """`--all-files`: the package folder's `.rs` files that no `mod` reached."""
        walk = rust_files(package.root, self.guard)
        for folder, reason in walk.refused:
            self.problem(self.rel(folder), f"`{self.rel(folder)}` {reason}; it was not scanned")
        for path in walk.files:
            if self.guard.real_path(path) in self.seen:
                continue
            refusal = self.guard.refusal(path)
            if refusal is not None:
                self.problem(self.rel(path), f"`{self.rel(path)}` {refusal}; it was not read")
                continue
            self.read(package, path)


_NO_DECLS = FileDecls((), ())


def _read_with_stat(path: str) -> tuple[bytes, os.stat_result]:
    """The file's bytes, and its stat taken on the open file once they are read (one path
    lookup for both: a rescan of wasmtime stats 1,843 files it has just read).

    Opened without blocking and read only if it is a regular file: a named pipe where a module
    file should be would otherwise wait for a writer forever."""
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
    descriptor = os.open(path, flags)
    try:
        status = os.fstat(descriptor)
        if stat.S_ISDIR(status.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory")
        if not stat.S_ISREG(status.st_mode):
            raise OSError(errno.EINVAL, "not a regular file (a pipe, socket or device)")
        # One read of the size the file has, then reads until the end (it may have grown).
        chunks = [os.read(descriptor, status.st_size + 1)]
        while chunks[-1]:
            chunks.append(os.read(descriptor, 1 << 16))
        return b"".join(chunks), os.fstat(descriptor)
    finally:
        os.close(descriptor)


# A file changed less than this before discovery began may change again within the same
# timestamp (coarse kernel clocks, 2 s on FAT): its hash is not recorded under its stat.
RACY_NS = 2_000_000_000
# Windows' `st_ctime` is the creation time, which a write leaves alone: no stat is trusted there.
_CTIME_IS_CHANGE_TIME = os.name != "nt"


def _below(path: Path | str, folder: Path | str) -> bool:
    """Whether `path` is `folder` or inside it, lexically (as `folder in path.parents`, without
    building every parent)."""
    inner, outer = os.path.normpath(path), os.path.normpath(folder)
    return inner == outer or inner.startswith(outer if outer.endswith(os.sep) else outer + os.sep)


def _problem_order(problem: ScanProblem) -> tuple[str, int, int, str]:
    return (problem.path, problem.line or 0, problem.column or 0, problem.message)


class _CrateFiles:
    """The files followed for one crate, for the modules its macros declare (`macro_mods`):
    calls are looked for again only in files not looked at yet, or in all of them when more
    declaring macros turned up."""

    def __init__(self) -> None:
        self.files: list[tuple[SourceFile, ModuleContext]] = []
        self.macros: dict[str, DeclaringMacro] = {}
        self._called = 0  # files searched for calls of every macro known then
        self._known = 0  # macros known then

    def add(self, source: SourceFile, context: ModuleContext, decls: FileDecls) -> None:
        self.files.append((source, context))
        for macro in decls.macros:
            self.macros.setdefault(macro.name, macro)

    def macro_declarations(self) -> list[tuple[SourceFile, ModuleContext, ModDecl]]:
        if not self.macros:
            return []
        if len(self.macros) > self._known:
            self._known, self._called = len(self.macros), 0
        start, self._called = self._called, len(self.files)
        found = []
        for source, context in self.files[start:]:
            if may_call(source.data, self.macros):
                tree = source.tree if source.tree is not None else parse_rust(source.data)
                for decl in call_declarations(self.macros, source.data, tree):
                    found.append((source, context, decl))
        return found
