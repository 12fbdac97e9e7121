"""How discovery found one package's files, kept in the scan cache so that a rescan takes an
unchanged package's files from it instead of following its `mod` declarations again.

What discovery finds for a package depends on: its crate roots and the areas it may read
(the guard's, the package's folder), the contents of the files it reads (their `mod` and
`include!` declarations), which candidate paths exist, and which files an earlier package of the
same run already read (a file is read once per run). A record keeps each of these, and a replay
holds only while every one is as recorded:

- the setting (crate roots, package folder, workspace root, the guard's areas) is the same;
- every file read still has the stat it had (size, modification and change times, inode,
  device): it is the same file, unchanged, so its declarations and its content hash are the
  recorded ones;
- every candidate path that did not exist still does not;
- the files it found already read by an earlier package are again, and none of its own is.

A package whose discovery met a problem is not recorded: it is followed every run. A file
changed too recently for its stat to be trusted ("racily clean", as git's index says) is
recorded with a stamp no stat has (`UNTRUSTED`), so the next run checks its content.

A file whose stat changed (the file a rescan is about, usually) does not end the replay by
itself: `sources` reads it, and when its content is the recorded one, or declares exactly what
the recorded content declared, discovery would find the same files, and the record holds with
that file's new stamp and hash. Not so in a package with a macro that declares modules where it
is called (`macros`): there a call in any file's text loads files, so any change means a full
follow. On wasmtime a rescan's discovery of the 98 packages it did not touch cost about 90 ms
of parsing declarations, resolving paths and reading 1,800 files; their replay costs one stat
per file, and the edited package's about 40 ms more before changed files could be rechecked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace

from unsound.engine.hashing import FileStamp, file_stamp

# The stamp of a file read while racily clean: no stat gives it, so the next run checks the
# file's content (`DiscoveryRecord.changed_files`).
UNTRUSTED: FileStamp = (-1, -1, -1, -1)


@dataclass(frozen=True)
class RecordedFile:
    """One file a package's discovery read."""

    path: str  # as discovery named it (absolute)
    rel_path: str
    real_path: str
    stamp: FileStamp
    device: int
    digest: str  # content hash

    def unchanged(self) -> bool:
        """Whether the path still names this file, with the stat it had when it was read."""
        try:
            status = os.stat(self.path)
        except OSError:
            return False
        return file_stamp(status) == self.stamp and status.st_dev == self.device


@dataclass(frozen=True)
class DiscoveryRecord:
    """A package's discovery: its setting, the files read (in order), the paths found missing,
    and the real paths it skipped because an earlier package had read them."""

    setting: tuple[str, ...]
    files: tuple[RecordedFile, ...]
    absent: tuple[str, ...]
    read_before: tuple[str, ...]
    # Whether a file of the package defines a macro that declares modules where it is called.
    macros: bool = False

    def holds(self, setting: tuple[str, ...], seen: set[str]) -> bool:
        """Whether discovering the package now would find the same files (`seen`: real paths
        read so far in this run)."""
        return self.changed_files(setting, seen) == []

    def changed_files(self, setting: tuple[str, ...], seen: set[str]) -> list[int] | None:
        """Indices of the recorded files whose stat is not the recorded one, when all else
        holds (the setting, the files read before, the absent paths); None when it does not."""
        if setting != self.setting:
            return None
        if any(real not in seen for real in self.read_before):
            return None
        if any(file.real_path in seen for file in self.files):
            return None
        if any(os.path.exists(path) for path in self.absent):
            return None
        return [index for index, file in enumerate(self.files) if not file.unchanged()]

    def with_files(self, files: dict[int, RecordedFile]) -> DiscoveryRecord:
        """The record with these files (by index) in place of the recorded ones."""
        return replace(self, files=tuple(files.get(i, f) for i, f in enumerate(self.files)))

    def encode(self) -> list[object]:
        """Plain data for the cache (lists of strings, integers and None). A file's path is
        usually the workspace root (`setting[1]`) joined with its relative path, and its real
        path the path itself: those are written as None (a third of the cache file, else)."""
        root = self.setting[1] if len(self.setting) > 1 else ""
        files = []
        for f in self.files:
            path = None if f.path == os.path.join(root, f.rel_path) else f.path
            real = None if f.real_path == f.path else f.real_path
            files.append([path, f.rel_path, real, *f.stamp, f.device, f.digest])
        return [
            list(self.setting),
            files,
            list(self.absent),
            list(self.read_before),
            self.macros,
        ]

    @classmethod
    def decode(cls, value: object) -> DiscoveryRecord | None:
        """The record `encode` wrote, or None for anything else."""
        if not isinstance(value, list) or len(value) != 5:
            return None
        setting, files, absent, read_before, macros = value
        if not isinstance(macros, bool):
            return None
        if not (_strings(setting) and _strings(absent) and _strings(read_before)):
            return None
        if not isinstance(files, list):
            return None
        root = setting[1] if len(setting) > 1 else ""
        decoded = []
        for entry in files:
            if not isinstance(entry, list) or len(entry) != 9:
                return None
            path, rel_path, real_path, size, mtime, ctime, inode, device, digest = entry
            if not _strings([rel_path, digest]):
                return None
            path = os.path.join(root, rel_path) if path is None else path
            real_path = path if real_path is None else real_path
            if not _strings([path, real_path]):
                return None
            numbers = (size, mtime, ctime, inode, device)
            if not all(type(n) is int for n in numbers):
                return None
            stamp = (size, mtime, ctime, inode)
            decoded.append(RecordedFile(path, rel_path, real_path, stamp, device, digest))
        return cls(tuple(setting), tuple(decoded), tuple(absent), tuple(read_before), macros)


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


@dataclass
class DiscoveryRecorder:
    """Collects one package's discovery while it happens; `clean` turns False at anything that
    makes the package unfit to replay (a problem, a racily clean file)."""

    setting: tuple[str, ...]
    files: list[RecordedFile] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    read_before: list[str] = field(default_factory=list)
    clean: bool = True
    macros: bool = False

    def record(self) -> DiscoveryRecord | None:
        if not self.clean:
            return None
        # A file named twice in the package (two `#[path]`s to it) was read by the package
        # itself: not one an earlier package must have read.
        own = {file.real_path for file in self.files}
        return DiscoveryRecord(
            self.setting,
            tuple(self.files),
            tuple(dict.fromkeys(self.absent)),
            tuple(real for real in dict.fromkeys(self.read_before) if real not in own),
            self.macros,
        )
