"""Which manifests are members of a workspace, by Cargo's `find_members` and `find_path_deps`.

Members are the `workspace.members` entries (globs expanded by `member_globs`), the root package,
and, transitively, every path dependency that lives under the workspace root, minus what
`workspace.exclude` removes. Cargo treats path dependencies as members, so a scanner that skipped
them would miss code `cargo build` compiles as part of the workspace.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from unsound.engine import fs_probe
from unsound.engine.manifest import Manifest
from unsound.engine.member_globs import GlobError, expand, is_glob
from unsound.engine.toml_positions import KeyPath
from unsound.engine.workspace_root import (
    MANIFEST,
    ManifestCache,
    find_root,
    is_excluded,
    normalize,
)
from unsound.errors import WorkspaceError

_DEPENDENCY_TABLES = (
    "dependencies",
    "dev-dependencies",
    "dev_dependencies",
    "build-dependencies",
    "build_dependencies",
)


@dataclass(frozen=True)
class MemberEntry:
    """One folder named by a `workspace.members` (or `default-members`) entry."""

    folder: Path
    entry: str  # as written in the manifest
    index: int  # position in the array, to locate errors
    via_glob: bool  # the folder came from expanding a wildcard


@dataclass(frozen=True)
class _Origin:
    """Where a candidate member was named: the error to raise if it has no manifest."""

    manifest: Manifest
    key: KeyPath
    message: str
    hint: str

    def error(self) -> WorkspaceError:
        return self.manifest.error(self.message, self.key, self.hint)


def member_entries(root: Manifest, key: str) -> list[MemberEntry]:
    """Cargo's `members_paths`: expand each entry; an entry matching nothing stays as written."""
    entries = root.string_list(("workspace", key), hint=f'write it as `{key} = ["crates/*"]`')
    out: list[MemberEntry] = []
    for index, entry in enumerate(entries or ()):
        written = root.folder / entry
        try:
            matched = expand(root.folder, entry)
        except GlobError as error:
            raise root.error(
                f"`{entry}` is not a valid glob: {error}",
                ("workspace", key, index),
                "use `*`, `?`, `[…]`, and `**` only as a whole path component",
            ) from error
        if not matched or not is_glob(entry):
            # A literal entry stays as written even when it is no folder (a file, a symlink
            # loop): its missing Cargo.toml is then reported instead of silently dropped.
            out.append(MemberEntry(normalize(written), entry, index, via_glob=False))
            continue
        via_glob = len(matched) > 1 or matched[0] != written
        # Globs can match stray files (`.DS_Store`); Cargo keeps folders only.
        out.extend(
            MemberEntry(normalize(path), entry, index, via_glob)
            for path in matched
            if fs_probe.is_dir(path)
        )
    return out


def find_members(root: Manifest, cache: ManifestCache) -> list[Path]:
    """Every member's manifest path (normalised), the root package included when there is one."""
    members: list[Path] = []
    seen: set[Path] = set()
    work: list[tuple[Path, _Origin | None, bool]] = [(root.path, None, False)]
    work.extend(
        (entry.folder / MANIFEST, _member_origin(root, entry), False)
        for entry in reversed(member_entries(root, "members"))
    )
    while work:
        path, origin, is_path_dep = work.pop()
        path = normalize(path)
        if path in seen or not _belongs(root, cache, path, origin, is_path_dep):
            continue
        seen.add(path)
        members.append(path)
        manifest = cache.load(path)
        if manifest.package is not None:
            work.extend(
                (folder / MANIFEST, dep_origin, True)
                for folder, dep_origin in reversed(path_dependencies(manifest, root))
            )
    return members


def _belongs(
    root: Manifest, cache: ManifestCache, path: Path, origin: _Origin | None, is_path_dep: bool
) -> bool:
    """Whether a candidate joins the members; a located error when its manifest is missing."""
    inside = path.parent == root.folder or root.folder in path.parent.parents
    # A path dependency outside the root is a member only if it points back at this root;
    # a missing one is for the build to report, not a membership question.
    if (
        is_path_dep
        and not inside
        and (not fs_probe.is_file(path) or find_root(cache.load(path), cache) != root.path)
    ):
        return False
    if is_excluded(root, path):
        return False
    if not fs_probe.is_file(path):
        if origin is None:  # pragma: no cover - the root manifest was read already
            return False
        raise origin.error()
    return True


def _member_origin(root: Manifest, entry: MemberEntry) -> _Origin:
    key: KeyPath = ("workspace", "members", entry.index)
    shown = _shown(root.folder, entry.folder)
    if entry.via_glob:
        return _Origin(
            root,
            key,
            f"folder `{shown}`, matched by workspace member glob `{entry.entry}`, "
            "has no Cargo.toml",
            "add a Cargo.toml to it, or list it in `workspace.exclude`",
        )
    if is_glob(entry.entry):
        return _Origin(
            root,
            key,
            f"workspace member glob `{entry.entry}` matches nothing",
            "create a package it matches, or remove the entry from `workspace.members`",
        )
    if fs_probe.is_dir(entry.folder):
        return _Origin(
            root,
            key,
            f"workspace member `{entry.entry}` has no Cargo.toml",
            "add a Cargo.toml to it, or remove the entry from `workspace.members`",
        )
    return _Origin(
        root,
        key,
        f"workspace member `{entry.entry}` does not exist",
        "create the package, or remove the entry from `workspace.members`",
    )


def path_dependencies(manifest: Manifest, root: Manifest) -> list[tuple[Path, _Origin]]:
    """Folders of the package's path dependencies (normal, dev, build; any target platform).

    A `workspace = true` dependency takes its `path` from the root's `[workspace.dependencies]`,
    relative to the root, as Cargo's inheritance does.
    """
    prefixes: list[KeyPath] = [()]
    platforms = manifest.get(("target",))
    if isinstance(platforms, Mapping):
        prefixes.extend(("target", platform) for platform in platforms)
    out: list[tuple[Path, _Origin]] = []
    for prefix in prefixes:
        for section in _DEPENDENCY_TABLES:
            table = manifest.get((*prefix, section))
            if not isinstance(table, Mapping):
                continue
            for name, spec in table.items():
                found = _dependency_path(manifest, root, (*prefix, section, name), spec)
                if found is not None:
                    out.append(found)
    return out


def _dependency_path(
    manifest: Manifest, root: Manifest, key: KeyPath, spec: object
) -> tuple[Path, _Origin] | None:
    if not isinstance(spec, Mapping):
        return None
    declaring, path_key = manifest, (*key, "path")
    if spec.get("workspace") is True:
        declaring, path_key = root, ("workspace", "dependencies", key[-1], "path")
    value = declaring.get(path_key)
    if not isinstance(value, str):
        return None
    folder = normalize(declaring.folder / value)
    origin = _Origin(
        declaring,
        path_key,
        f"dependency `{key[-1]}` points at `{value}`, which has no Cargo.toml",
        "fix the dependency's `path`",
    )
    return folder, origin


def default_member_paths(root: Manifest, members: list[Path], *, strict: bool) -> list[Path] | None:
    """`workspace.default-members` as manifest paths, None when the key is absent.

    Cargo checks the list only when run at the root (`strict`); from a member's folder it is
    ignored, so an invalid entry is dropped rather than reported.
    """
    if root.get(("workspace", "default-members")) is None:
        return None
    listed = {entry.folder for entry in member_entries(root, "members")}
    chosen: list[Path] = []
    for entry in member_entries(root, "default-members"):
        manifest_path = entry.folder / MANIFEST
        if manifest_path in members:
            chosen.append(manifest_path)
        elif entry.folder in listed and is_excluded(root, entry.folder):
            continue
        elif strict:
            raise root.error(
                f"`{_shown(root.folder, entry.folder)}` is listed in "
                "`workspace.default-members` but is not a workspace member",
                ("workspace", "default-members", entry.index),
                "add it to `workspace.members`, or remove it from `workspace.default-members`",
            )
    return chosen


def _shown(root: Path, folder: Path) -> str:
    """A folder as a user would name it in the root manifest: relative, '/'-separated."""
    return os.path.relpath(folder, root).replace(os.sep, "/")
