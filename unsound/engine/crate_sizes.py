"""How big each package's crates are, guessed before discovery reads a file: the order in which
a cold scan discovers and hands out the crates.

Crates go to the workers as discovery reads them (`scan.scan_crates`), in the packages' order.
Sorted by name, a big crate could come last and keep one worker busy alone at the end: on
wasmtime the `wasmtime` crate (4.5 MB, a third of the scan's CPU) was the 53rd of 98, and sent
whole it ran 0.56 s while the other worker finished the 45 crates after it 70 ms earlier. So
every crate of 2 MB or more was cut into one slice per worker, and each slice's worker built the
crate's queries, relations and regexes again (the three slices cost wasmtime 0.07 s of CPU).
Biggest first, a crate can go whole as long as it is small beside the scan (the classic longest
task first rule): its worker is done with it while the other works through the rest.

The guess is the bytes of the `.rs` files under the folders of the package's crate roots
(`src/`, `tests/`, `benches/`, `examples/`, or the package's folder for a `lib.rs` beside its
manifest), another package's folder left out, a build script counted alone: one `scandir` walk.
It only orders work and cuts it; no result depends on it. Symbolic links are not followed, nor
hidden folders, `target` and `node_modules`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from unsound.engine.source_guard import inside
from unsound.engine.workspace import Package

_SKIPPED = frozenset({"target", "node_modules"})


def estimated_sizes(packages: Sequence[Package]) -> dict[str, int]:
    """Per package name, the bytes of `.rs` files its crates most likely hold."""
    roots = {os.fspath(package.root) for package in packages}
    sizes = {}
    for package in packages:
        folders, single_files = _crate_folders(package)
        size = sum(_file_size(path) for path in single_files)
        size += sum(_rust_bytes(folder, roots - {os.fspath(package.root)}) for folder in folders)
        sizes[package.name] = size
    return sizes


def discovery_order(packages: Sequence[Package], sizes: dict[str, int]) -> list[Package]:
    """The packages, biggest first (ties in their given order)."""
    return sorted(packages, key=lambda package: -sizes.get(package.name, 0))


def _crate_folders(package: Package) -> tuple[list[str], list[str]]:
    """The folders to walk (none inside another) and the files counted alone: a build script,
    which often sits at the top of a workspace whose other folders it never reads."""
    folders: set[str] = set()
    single_files: list[str] = []
    for target in package.targets:
        path = os.fspath(target.root)
        if target.kind == "build-script":
            single_files.append(path)
        else:
            folders.add(os.path.dirname(path))
    kept: list[str] = []
    for folder in sorted(folders):
        if not inside(folder, kept):
            kept.append(folder)
    return kept, single_files


def _rust_bytes(folder: str, other_packages: set[str]) -> int:
    """The bytes of the `.rs` files in `folder` and below, not in another package's folder."""
    total = 0
    pending = [folder]
    while pending:
        try:
            entries = os.scandir(pending.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        skip = entry.name.startswith(".") or entry.name in _SKIPPED
                        if not skip and entry.path not in other_packages:
                            pending.append(entry.path)
                    elif entry.name.endswith(".rs") and entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
    return total


def _file_size(path: str) -> int:
    try:
        return os.stat(path, follow_symlinks=False).st_size
    except OSError:
        return 0
