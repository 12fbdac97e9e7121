"""Finding the workspace root manifest that governs a package, as Cargo's `find_root` does.

A manifest with `[workspace]` is its own root; `package.workspace = "…"` points at the root;
otherwise Cargo walks up the ancestors looking for a `[workspace]` that does not exclude the
package (or a package that points at a root). The walk stops inside `target/package` (packaged
copies) and does not cross `CARGO_HOME`, so a vendored copy is never claimed by an outer workspace.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from unsound.engine import fs_probe
from unsound.engine.manifest import Manifest, ParseMemo, read_manifest

MANIFEST = "Cargo.toml"


def normalize(path: Path) -> Path:
    """Fold `.` and `..` without touching the file system, as Cargo's `normalize_path` does."""
    return Path(os.path.normpath(path))


@dataclass
class ManifestCache:
    """Reads each manifest once; every stage of workspace loading shares it. `memo`: documents
    parsed in earlier runs, by content."""

    loaded: dict[Path, Manifest] = field(default_factory=dict)
    memo: ParseMemo | None = None

    def load(self, path: Path) -> Manifest:
        path = normalize(path)
        manifest = self.loaded.get(path)
        if manifest is None:
            manifest = read_manifest(path, self.memo)
            self.loaded[path] = manifest
        return manifest


def pointer(manifest: Manifest) -> Path | None:
    """Where `package.workspace` says the root manifest is, if it says so."""
    package = manifest.package
    if package is None:
        return None
    value = manifest.string(
        ("package", "workspace"), hint='write the root folder as a string, e.g. "../.."'
    )
    if value is None:
        return None
    return normalize(manifest.folder / value / MANIFEST)


def is_excluded(root: Manifest, manifest_path: Path) -> bool:
    """Cargo's `is_excluded`: under a `workspace.exclude` entry and under no literal member entry.

    Both lists are compared as path prefixes, component by component, without glob expansion.
    """
    folder = root.folder
    if not any(_starts_with(manifest_path, folder / entry) for entry in _strings(root, "exclude")):
        return False  # most packages: the member list (often long) need not be read
    return not any(
        _starts_with(manifest_path, folder / entry) for entry in _strings(root, "members")
    )


def _strings(root: Manifest, key: str) -> list[str]:
    """`workspace.<key>` as a list of strings; a located error when it is anything else."""
    return root.string_list(("workspace", key), hint=f'write it as `{key} = ["crates/old"]`') or []


def _starts_with(path: Path, prefix: Path) -> bool:
    return path == prefix or prefix in path.parents


def find_root(manifest: Manifest, cache: ManifestCache) -> Path | None:
    """The root manifest's path for `manifest`, or None when it belongs to no workspace."""
    if manifest.workspace is not None:
        return manifest.path
    pointed = pointer(manifest)
    if pointed is not None:
        return pointed
    for candidate in _ancestor_manifests(manifest.path):
        ancestor = cache.load(candidate)
        if ancestor.workspace is not None:
            if not is_excluded(ancestor, manifest.path):
                return ancestor.path
            continue
        pointed = pointer(ancestor)
        if pointed is not None:
            return pointed
    return None


def _ancestor_manifests(manifest_path: Path) -> Iterator[Path]:
    """Cargo.toml files in the folders above the package's own folder, nearest first."""
    home = cargo_home()
    previous: Path | None = None
    for folder in manifest_path.parent.parents:
        if previous is not None and previous == home:
            return
        if folder.parts[-2:] == ("target", "package"):
            return
        previous = folder
        candidate = folder / MANIFEST
        if fs_probe.is_file(candidate):
            yield candidate


def cargo_home() -> Path:
    """Where Cargo keeps its registry: the walk up to a workspace root stops there."""
    configured = os.environ.get("CARGO_HOME")
    home = Path(configured) if configured else Path(os.path.expanduser("~")) / ".cargo"
    return normalize(home.absolute())
