"""Every question workspace loading asks the file system, answered here and, inside a
`recording()` block, written down with its answer.

Loading wasmtime's workspace asks about 1,000 of them (is this a file, what is in that folder,
what does that manifest hold) and then spends about 40 ms of Python on what they say: a
rescan's critical path. With every answer written down, a later run can ask the same questions
again (a few milliseconds) and, if every answer is the same, reuse the workspace that followed
from them (`workspace_memo`). That is exact only if no question escapes
the record, so the modules that load a workspace ask the file system through this module alone
(a test reads their source for any other way in).

The answers are the least that the loaders look at: a path's file type (following symlinks, or
not), a folder's entries with whether each is a folder, a path's real path, and a file's bytes
by their digest (never a stat: a file rewritten within its mtime's granularity would keep it).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

# What the loaders asked, in order, each with its answer (marshal-ready: str, int, bool, bytes,
# tuples, None).
Answers = list[tuple[str, str, object]]

_recording: Answers | None = None


@contextmanager
def recording() -> Iterator[Answers]:
    """Write down every question asked (and its answer) until the block ends."""
    global _recording
    outer, _recording = _recording, []
    try:
        yield _recording
    finally:
        _recording = outer


def file_type(path: Path | str) -> int | None:
    """The `S_IFMT` bits of what `path` leads to (symlinks followed), None if nothing."""
    answer = _mode_type(os.stat, os.fspath(path))
    _note("type", os.fspath(path), answer)
    return answer


def is_file(path: Path | str) -> bool:
    return file_type(path) == stat.S_IFREG


def is_dir(path: Path | str) -> bool:
    return file_type(path) == stat.S_IFDIR


def exists(path: Path | str) -> bool:
    return file_type(path) is not None


def lexists(path: Path | str) -> bool:
    """Whether there is anything at `path`, a dangling symlink included."""
    answer = _mode_type(os.lstat, os.fspath(path))
    _note("ltype", os.fspath(path), answer)
    return answer is not None


def entries(folder: Path | str) -> Sequence[tuple[str, bool]]:
    """The folder's entries by name, each with whether it is a folder (a symlink to one is
    not); () when it cannot be listed."""
    found = _entries(os.fspath(folder))
    _note("entries", os.fspath(folder), found)
    return found or ()


def realpath(path: Path | str) -> str:
    answer = os.path.realpath(path)
    _note("realpath", os.fspath(path), answer)
    return answer


def read_bytes(path: Path) -> bytes:
    """The file's bytes (OSError as `Path.read_bytes` raises it); recorded by their digest."""
    try:
        data = path.read_bytes()
    except OSError:
        _note("digest", os.fspath(path), None)
        raise
    _note("digest", os.fspath(path), _digest(data))
    return data


def all_still_hold(answers: Answers) -> bool:
    """Whether every question, asked again now, gets the answer that was written down."""
    return all(_answer(kind, path) == answer for kind, path, answer in answers)


def _note(kind: str, path: str, answer: object) -> None:
    if _recording is not None:
        _recording.append((kind, path, answer))


def _answer(kind: str, path: str) -> object:
    if kind == "type":
        return _mode_type(os.stat, path)
    if kind == "ltype":
        return _mode_type(os.lstat, path)
    if kind == "entries":
        return _entries(path)
    if kind == "realpath":
        return os.path.realpath(path)
    if kind == "digest":
        try:
            return _digest(Path(path).read_bytes())
        except OSError:
            return None
    raise ValueError(f"unknown question `{kind}`")


def _mode_type(stat_of: Callable[[str], os.stat_result], path: str) -> int | None:
    try:
        return stat.S_IFMT(stat_of(path).st_mode)
    except (OSError, ValueError):  # ValueError: a NUL in the path, as `Path.is_file` allows
        return None


def _entries(folder: str) -> tuple[tuple[str, bool], ...] | None:
    try:
        with os.scandir(folder) as listing:
            return tuple(sorted((entry.name, _is_folder(entry)) for entry in listing))
    except (OSError, ValueError):
        return None


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()
