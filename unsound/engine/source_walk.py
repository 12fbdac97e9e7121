"""`--all-files`: every `.rs` file in a package's folder, whether or not a `mod` reaches it.

Files no target reaches are still worth a look (dead code gets revived, `include!` pulls files in),
but the walk must not wander into what is not the package's source: build output (`target/`),
hidden folders (`.git`, `.cargo`), other packages nested inside (a folder with its own
Cargo.toml), or, through a symlink, places outside the workspace. Symlink loops end because each
real folder is visited once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from unsound.engine.source_guard import SourceGuard

MANIFEST = "Cargo.toml"


@dataclass
class WalkResult:
    """Files found (lexical paths, sorted) and folders refused, with the reason."""

    files: list[Path] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)


def rust_files(package_root: Path, guard: SourceGuard) -> WalkResult:
    """Every `.rs` file that belongs to the package folder, by the rules above."""
    result = WalkResult()
    seen: set[str] = set()
    stack = [package_root]
    while stack:
        folder = stack.pop()
        real = os.path.realpath(folder)
        if real in seen:
            continue
        seen.add(real)
        subfolders = _visit(folder, package_root, guard, result)
        stack.extend(reversed(subfolders))
    result.files.sort()
    return result


def _visit(folder: Path, package_root: Path, guard: SourceGuard, result: WalkResult) -> list[Path]:
    """Record the folder's `.rs` files; return the subfolders to walk next."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as error:
        result.refused.append((folder, f"could not be listed: {error.strerror or error}"))
        return []
    subfolders: list[Path] = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = folder / entry.name
        if _is_dir(entry):
            if _walks_into(path, folder == package_root, guard, result):
                subfolders.append(path)
        elif entry.name.endswith(".rs"):
            result.files.append(path)
    return subfolders


def _walks_into(path: Path, at_top: bool, guard: SourceGuard, result: WalkResult) -> bool:
    if at_top and path.name == "target":
        return False  # a package's own build output, from a build run inside it
    if (path / MANIFEST).is_file():
        return False  # another package: scanned as itself, if selected
    if guard.is_build_output(path):
        return False
    reason = guard.refusal(path)
    if reason is not None:
        result.refused.append((path, reason))
    return reason is None


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False
