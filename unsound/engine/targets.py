"""A package's targets (crate roots), inferred from its manifest and folders exactly as Cargo does.

This mirrors cargo's `util/toml/targets.rs`: `src/lib.rs` or `[lib] path`; `src/main.rs`,
`src/bin/*.rs`, `src/bin/*/main.rs`; the same pattern under `examples/`, `tests/`, `benches/`;
`build.rs` or `package.build`; explicit `[[bin]]`-style tables (with or without `path`); the
`autolib`/`autobins`/… switches; and the 2015-edition rule that an explicit `[[bin]]` turns off
inference of the others. Getting this right decides which files are scanned at all, so the rules
are Cargo's own rather than an approximation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unsound.engine import fs_probe
from unsound.engine.manifest import Manifest

LIB = "lib"
BIN = "bin"
EXAMPLE = "example"
TEST = "test"
BENCH = "bench"
BUILD_SCRIPT = "build-script"


@dataclass(frozen=True)
class Target:
    """One crate root of a package."""

    kind: str  # "lib" | "bin" | "example" | "test" | "bench" | "build-script"
    name: str
    root: Path  # absolute path of the crate root file


@dataclass(frozen=True)
class _Kind:
    """How Cargo names, finds and switches off one kind of target."""

    kind: str
    section: str  # the manifest's `[[bin]]` etc.
    human: str  # in messages, as Cargo words it
    auto_key: str  # `package.autobins` etc.
    folder: str  # where files are inferred from, relative to the package


_KINDS = (
    _Kind(BIN, "bin", "binary", "autobins", "src/bin"),
    _Kind(EXAMPLE, "example", "example", "autoexamples", "examples"),
    _Kind(TEST, "test", "test", "autotests", "tests"),
    _Kind(BENCH, "bench", "benchmark", "autobenches", "benches"),
)

Inferred = list[tuple[str, str]]  # (target name, path relative to the package)


def package_targets(manifest: Manifest, package_name: str, edition: str) -> tuple[Target, ...]:
    """Every target of the package, in Cargo's order: lib, bins, examples, tests, benches, build."""
    root = manifest.folder
    targets: list[Target] = []
    lib = _lib_target(manifest, package_name, edition)
    if lib is not None:
        targets.append(lib)
    for kind in _KINDS:
        targets.extend(_kind_targets(manifest, kind, package_name, edition, lib is not None))
    if not targets:
        raise manifest.error(
            "no targets specified in the manifest",
            ("package",),
            "add src/lib.rs, src/main.rs, a `[lib]` section, or a `[[bin]]` section",
        )
    targets.extend(_build_targets(manifest, root))
    return tuple(targets)


def _lib_target(manifest: Manifest, package_name: str, edition: str) -> Target | None:
    """`[lib]` with its path, else `src/lib.rs` unless `autolib = false`."""
    root = manifest.folder
    table = manifest.table(("lib",), hint='write it as `[lib]` with `path = "src/lib.rs"`')
    inferred = "src/lib.rs" if fs_probe.exists(root / "src/lib.rs") else None
    if table is None:
        if inferred is None or _auto(manifest, "autolib") is False:
            return None
        table = {}
    name = manifest.string(("lib", "name"), hint="write the library's name as a string")
    name = name or package_name.replace("-", "_")
    path = manifest.string(("lib", "path"), hint='write the path as a string, e.g. "src/lib.rs"')
    if path is None:
        path = inferred
    if path is None and edition == "2015" and fs_probe.exists(root / f"src/{name}.rs"):
        path = f"src/{name}.rs"
    if path is None:
        raise manifest.error(
            f"can't find library `{name}`",
            ("lib",),
            "rename the file to `src/lib.rs`, or set `path` in `[lib]`",
        )
    return Target(LIB, name, _join(root, path))


def _kind_targets(
    manifest: Manifest, kind: _Kind, package_name: str, edition: str, has_lib: bool
) -> list[Target]:
    """Explicit targets of one kind plus the inferred ones Cargo keeps beside them."""
    root = manifest.folder
    inferred = _inferred(root, kind, package_name)
    explicit = _explicit_tables(manifest, kind)
    auto = _auto(manifest, kind.auto_key)
    if not explicit:
        chosen = [] if auto is False else inferred
        return [Target(kind.kind, name, _join(root, path)) for name, path in chosen]
    targets: list[Target] = []
    names: set[str] = set()
    paths: set[Path] = set()
    for index, table in enumerate(explicit):
        target = _explicit_target(manifest, kind, index, table, inferred, edition, has_lib)
        targets.append(target)
        names.add(target.name)
        if "path" in table:
            paths.add(target.root)
    # Edition 2015 with explicit targets and no `autobins` key: Cargo keeps only the explicit ones.
    if auto is None:
        auto = edition != "2015"
    if auto:
        for name, path in inferred:
            if name not in names and _join(root, path) not in paths:
                targets.append(Target(kind.kind, name, _join(root, path)))
    return targets


def _explicit_target(
    manifest: Manifest,
    kind: _Kind,
    index: int,
    table: Mapping[str, Any],
    inferred: Inferred,
    edition: str,
    has_lib: bool,
) -> Target:
    """One `[[bin]]`-style table: its name (required) and its path (given or inferred by name)."""
    key = (kind.section, index)
    name = manifest.string((*key, "name"), hint="write the target's name as a string")
    if not name:
        raise manifest.error(
            f"{kind.human} target `{kind.section}.name` is required",
            key,
            f'add `name = "…"` to this `[[{kind.section}]]` entry',
        )
    path = manifest.string((*key, "path"), hint="write the path as a string")
    if path is not None:
        return Target(kind.kind, name, _join(manifest.folder, path))
    matches = [candidate for found, candidate in inferred if found == name]
    if len(matches) == 1:
        return Target(kind.kind, name, _join(manifest.folder, matches[0]))
    if len(matches) > 1:
        raise manifest.error(
            f"cannot infer path for `{name}` {kind.kind}: both `{matches[0]}` and `{matches[1]}`"
            " exist",
            key,
            f"set `path` in this `[[{kind.section}]]` entry",
        )
    legacy = _legacy_path(manifest.folder, kind, name, has_lib) if edition == "2015" else None
    if legacy is None:
        raise manifest.error(
            f"can't find `{name}` {kind.kind}",
            key,
            f"set `path` in this `[[{kind.section}]]` entry",
        )
    return Target(kind.kind, name, _join(manifest.folder, legacy))


def _explicit_tables(manifest: Manifest, kind: _Kind) -> list[Mapping[str, Any]]:
    value = manifest.get((kind.section,))
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise manifest.error(
            f"`{kind.section}` must be an array of tables",
            (kind.section,),
            f"write each entry as `[[{kind.section}]]`",
        )
    return list(value)


def _inferred(root: Path, kind: _Kind, package_name: str) -> Inferred:
    """What Cargo would infer for this kind from the folders alone."""
    found: Inferred = []
    if kind.kind == BIN and fs_probe.exists(root / "src/main.rs"):
        found.append((package_name, "src/main.rs"))
    found.extend(_infer_from_directory(root, kind.folder))
    return found


def _infer_from_directory(root: Path, folder: str) -> Inferred:
    """`folder/*.rs` (named by stem) and `folder/*/main.rs` (named by folder), no dotfiles.

    As in Cargo, a symlink to a folder is not a folder here (its type is not followed).
    """
    found: Inferred = []
    for name, is_folder in fs_probe.entries(root / folder):  # sorted by name
        if name.startswith("."):
            continue
        if is_folder:
            if fs_probe.exists(root / folder / name / "main.rs"):
                found.append((name, f"{folder}/{name}/main.rs"))
        elif name.endswith(".rs"):
            found.append((name[: -len(".rs")], f"{folder}/{name}"))
    return found


def _legacy_path(root: Path, kind: _Kind, name: str, has_lib: bool) -> str | None:
    """Edition 2015's fallbacks for an explicit target without `path` that nothing else names."""
    candidates: list[str] = []
    if kind.kind == BIN:
        candidates = ([] if has_lib else [f"src/{name}.rs"]) + ["src/main.rs", "src/bin/main.rs"]
    elif kind.kind == BENCH and name == "bench":
        candidates = ["src/bench.rs"]
    return next((path for path in candidates if fs_probe.exists(root / path)), None)


def _build_targets(manifest: Manifest, root: Path) -> list[Target]:
    """`package.build`: a path, `true` (build.rs), `false` (none), absent (build.rs if a file)."""
    value = manifest.get(("package", "build"))
    paths: list[str]
    if value is None:
        paths = ["build.rs"] if fs_probe.is_file(root / "build.rs") else []
    elif value is True:
        paths = ["build.rs"]
    elif value is False:
        paths = []
    elif isinstance(value, str):
        paths = [value]
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        paths = list(value)  # several build scripts (an unstable Cargo feature)
    else:
        raise manifest.error(
            "`package.build` must be a path or a boolean",
            ("package", "build"),
            'write `build = "build.rs"`, or `build = false` for none',
        )
    return [Target(BUILD_SCRIPT, "build-script-build", _join(root, path)) for path in paths]


def _auto(manifest: Manifest, key: str) -> bool | None:
    value = manifest.get(("package", key))
    return value if isinstance(value, bool) else None


def _join(root: Path, path: str) -> Path:
    """`root/path` with `.` and `..` folded, as Cargo normalises target paths (no symlink use)."""
    return Path(os.path.normpath(root / path))
