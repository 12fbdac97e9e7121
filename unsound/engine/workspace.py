"""The Cargo workspace to scan: which manifest, which packages, which of them the user selected.

The rules are Cargo's own (root discovery in `workspace_root`, membership in `workspace_members`,
targets in `targets`), because a scanner that disagreed with Cargo about what is in the workspace
would silently skip code that `cargo build` compiles. Nothing here runs cargo: the tree being
scanned is untrusted, so the manifests are only read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from unsound.engine import fs_probe
from unsound.engine.cargo_lints import NO_LINT_LEVELS, LintLevels, package_lint_levels
from unsound.engine.manifest import Manifest, ParseMemo
from unsound.engine.member_globs import is_glob
from unsound.engine.targets import Target
from unsound.engine.targets import package_targets as _package_targets
from unsound.engine.workspace_members import default_member_paths, find_members
from unsound.engine.workspace_root import MANIFEST, ManifestCache, find_root, normalize
from unsound.errors import UsageError, WorkspaceError

__all__ = [
    "Package",
    "Target",
    "Workspace",
    "find_manifest",
    "load_workspace",
    "select_packages",
]


@dataclass(frozen=True)
class Package:
    """One workspace member with its crate roots."""

    name: str
    manifest_path: Path  # absolute
    root: Path  # the package folder, absolute
    targets: tuple[Target, ...]
    lints: LintLevels = NO_LINT_LEVELS  # the manifest's `[lints]` (or the workspace's)


@dataclass(frozen=True)
class Workspace:
    """A resolved workspace: its root, its members, and where the user started from."""

    root: Path  # folder of the workspace root manifest (absolute, resolved)
    manifest_path: Path
    members: tuple[Package, ...]  # every member, sorted by name
    default_members: tuple[str, ...]  # what Cargo selects at the root with no flags
    current: str | None  # the package the user started from (None for a virtual root)


def find_manifest(*, manifest_path: Path | None, path: Path | None, cwd: Path) -> Path:
    """The manifest to start from: `--manifest-path`, else PATH, else the nearest above `cwd`.

    A PATH folder is treated as if the tool were run there (walk up to the nearest Cargo.toml).
    """
    if manifest_path is not None:
        full = normalize(cwd / manifest_path)
        if full.name != MANIFEST:
            raise UsageError(
                f"`--manifest-path` must name a Cargo.toml file, not `{manifest_path}`",
                hint="pass the path of a Cargo.toml, or pass its folder as PATH",
            )
        if not fs_probe.is_file(full):
            raise UsageError(
                f"manifest path `{manifest_path}` does not exist",
                hint="check the path given to `--manifest-path`",
            )
        return full
    if path is None:
        return _nearest_manifest(normalize(cwd))
    full = normalize(cwd / path)
    if fs_probe.is_dir(full):
        return _nearest_manifest(full)
    if full.name == MANIFEST and fs_probe.is_file(full):
        return full
    if not fs_probe.exists(full):
        raise UsageError(
            f"`{path}` does not exist", hint="pass the folder of a Cargo project, or its Cargo.toml"
        )
    raise UsageError(
        f"`{path}` is neither a folder nor a Cargo.toml",
        hint="pass the folder of a Cargo project, or its Cargo.toml",
    )


def _nearest_manifest(start: Path) -> Path:
    for folder in (start, *start.parents):
        candidate = folder / MANIFEST
        if fs_probe.is_file(candidate):
            return candidate
    raise UsageError(
        f"could not find `Cargo.toml` in `{start}` or any parent directory",
        hint="run inside a Cargo project, or pass its folder as PATH",
    )


def load_workspace(manifest: Path, memo: ParseMemo | None = None) -> Workspace:
    """The workspace `manifest` belongs to (or the lone package, when it belongs to none);
    `memo` keeps parsed manifests across runs (`ManifestMemo`)."""
    start = Path(fs_probe.realpath(manifest.absolute().parent)) / manifest.name
    cache = ManifestCache(memo=memo)
    current = cache.load(start)
    if current.package is None and current.workspace is None:
        raise current.error(
            "manifest is missing either a `[package]` or a `[workspace]`",
            ("package",),
            "add a `[package]` table with a `name`, or a `[workspace]` table",
        )
    root_path = find_root(current, cache)
    if root_path is None:
        package = _package(current, None)
        return Workspace(current.folder, current.path, (package,), (package.name,), package.name)
    root = _load_root(cache, root_path, current)
    member_paths = find_members(root, cache)
    _check_roots(root, member_paths, cache)
    if current.package is not None and current.path not in member_paths:
        raise _not_a_member(current, root)
    manifests = [cache.load(path) for path in sorted(member_paths)]
    packages = [_package(member, root) for member in manifests if member.package is not None]
    if not packages:
        raise _no_packages(root)
    _check_unique_names(root, packages)
    packages.sort(key=lambda package: package.name)
    defaults = _default_names(root, member_paths, packages, strict=current.path == root.path)
    by_path = {package.manifest_path: package.name for package in packages}
    return Workspace(
        root=root.folder,
        manifest_path=root.path,
        members=tuple(packages),
        default_members=defaults,
        current=by_path.get(current.path),
    )


def _load_root(cache: ManifestCache, root_path: Path, current: Manifest) -> Manifest:
    """The root manifest; a located error on `current` when what it points at is no root."""
    shown = os.path.relpath(root_path, current.folder).replace(os.sep, "/")

    def error(message: str) -> WorkspaceError:
        # Where `package.workspace` is written, if it is: found only when there is an error, as
        # locating keys scans the whole manifest (bevy's root manifest: 3,000 lines).
        written = current.has_key(("package", "workspace"))
        key = ("package", "workspace") if written else ("package",)
        hint = "point `package.workspace` at the folder of the workspace's root Cargo.toml"
        return current.error(message, key, hint)

    if not fs_probe.is_file(root_path):
        raise error(f"the workspace root `{shown}` does not exist")
    root = cache.load(root_path)
    if root.workspace is None:
        raise error(f"the workspace root `{shown}` has no `[workspace]` table")
    return root


def _check_roots(root: Manifest, member_paths: list[Path], cache: ManifestCache) -> None:
    """Cargo's `validate_members`: every member must find this same root."""
    for path in member_paths:
        member = cache.load(path)
        found = find_root(member, cache)
        if found == root.path:
            continue
        if found is None:
            raise member.error(
                f"this package is a member of the workspace at `{root.path}` "
                "but is not inside its folder",
                ("package",),
                "move it below the workspace root, or set `package.workspace` to the root folder",
            )
        key = ("workspace",) if member.workspace is not None else ("package", "workspace")
        raise member.error(
            f"this package is a member of the workspace at `{root.path}` "
            f"but belongs to the workspace at `{found}`",
            key,
            "remove it from one of the two workspaces",
        )


def _no_packages(root: Manifest) -> WorkspaceError:
    """A virtual workspace without members: Cargo refuses it, and a scan of it would report a
    clean result for nothing scanned, which reads like a clean bill of health."""
    key = ("workspace", "members") if root.has_key(("workspace", "members")) else ("workspace",)
    return root.error(
        "the workspace has no packages: it is virtual and `workspace.members` names none",
        key,
        "list the package folders in `workspace.members`, or add a `[package]` table",
    )


def _not_a_member(current: Manifest, root: Manifest) -> WorkspaceError:
    relative = os.path.relpath(current.folder, root.folder).replace(os.sep, "/")
    return current.error(
        f"current package believes it's in a workspace when it's not: `{root.path}` "
        "does not list it",
        ("package",),
        f"add `{relative}` to `workspace.members` there, or to `workspace.exclude` to keep it "
        "out, or add an empty `[workspace]` table to this manifest",
    )


def _package(manifest: Manifest, root: Manifest | None) -> Package:
    """A member's name and targets, read from its `[package]`."""
    name = _package_name(manifest)
    targets = _package_targets(manifest, name, _edition(manifest, root))
    lints = package_lint_levels(manifest, root)
    return Package(name, manifest.path, manifest.folder, targets, lints)


def _package_name(manifest: Manifest) -> str:
    key = ("package", "name")
    value = manifest.get(key)
    if isinstance(value, Mapping):
        raise manifest.error(
            "`package.name` cannot be inherited from the workspace",
            key,
            'write the name as a string, e.g. `name = "my-crate"`',
        )
    if value is None:
        raise manifest.error(
            "`package.name` is missing", ("package",), 'add `name = "…"` to `[package]`'
        )
    name = manifest.string(key, hint='write the name as a string, e.g. `name = "my-crate"`')
    if not name:
        raise manifest.error("`package.name` is empty", key, "give the package a name")
    return name


def _edition(manifest: Manifest, root: Manifest | None) -> str:
    """The package's edition (inherited with `edition.workspace = true`), 2015 when unset."""
    value = manifest.get(("package", "edition"))
    if isinstance(value, Mapping) and value.get("workspace") is True and root is not None:
        value = root.get(("workspace", "package", "edition"))
    return value if isinstance(value, str) else "2015"


def _check_unique_names(root: Manifest, packages: list[Package]) -> None:
    seen: dict[str, Package] = {}
    for package in packages:
        first = seen.setdefault(package.name, package)
        if first is package:
            continue
        shown = [
            os.path.relpath(p.manifest_path, root.folder).replace(os.sep, "/")
            for p in (first, package)
        ]
        raise WorkspaceError(
            f"two packages named `{package.name}` in this workspace: `{shown[0]}` and `{shown[1]}`",
            path=root.path,
            hint="rename one of them, or list one in `workspace.exclude`",
        )


def _default_names(
    root: Manifest, member_paths: list[Path], packages: list[Package], *, strict: bool
) -> tuple[str, ...]:
    """What Cargo builds at the root with no flags: default-members, else all or the root."""
    by_path = {package.manifest_path: package.name for package in packages}
    chosen = default_member_paths(root, member_paths, strict=strict)
    if chosen is None:
        chosen = [root.path] if root.package is not None else list(by_path)
    return tuple(sorted({by_path[path] for path in chosen if path in by_path}))


def select_packages(
    ws: Workspace,
    *,
    packages: Sequence[str] = (),
    workspace: bool = False,
    exclude: Sequence[str] = (),
) -> tuple[Package, ...]:
    """Cargo's package selection for `-p`, `--workspace` and `--exclude` (globs allowed)."""
    names = [package.name for package in ws.members]
    if exclude and not workspace:
        raise UsageError(
            "`--exclude` can only be used together with `--workspace`",
            hint="add `--workspace`, or name the packages to scan with `-p`",
        )
    if workspace:
        dropped = {name for spec in exclude for name in _matching(spec, names)}
        return tuple(package for package in ws.members if package.name not in dropped)
    if packages:
        wanted: set[str] = set()
        for spec in packages:
            found = _matching(spec, names)
            if not found:
                raise UsageError(
                    f"package `{spec}` is not a member of this workspace",
                    hint=f"workspace members: {', '.join(names)}",
                )
            wanted.update(found)
        return tuple(package for package in ws.members if package.name in wanted)
    current = next((package for package in ws.members if package.name == ws.current), None)
    if current is not None and current.manifest_path != ws.manifest_path:
        return (current,)
    return tuple(package for package in ws.members if package.name in ws.default_members)


def _matching(spec: str, names: list[str]) -> list[str]:
    """Names a `-p`/`--exclude` spec selects: a glob, or a name with an optional `@version`."""
    if is_glob(spec):
        return [name for name in names if fnmatchcase(name, spec)]
    name = spec.split("@", 1)[0]
    return [name] if name in names else []
