"""A rescan's workspace, reused when everything its loading asked the file system still gets
the same answer.

Loading wasmtime's workspace (98 packages) is about 40 ms of Python in every run, most of it
on what about 1,000 questions to the file system answered: which folders hold a `Cargo.toml`,
what the member globs match, which target files exist, what each manifest says. A rescan's
worker waits for it. The first load records every question with its answer (`fs_probe`); the
workspace and those answers are kept in the manifest memo (`ManifestMemo.workspaces`, the same
authenticated file). A later run asks them all again (a few milliseconds: a type per path, a
listing per folder, each manifest's bytes by their digest) and, if not one answer differs,
takes the workspace as it was; otherwise it loads and records it anew. A load that fails is
never kept, so its error is reported on every run.

The key is the start manifest and Cargo's home folder (where the walk up to a root stops), the
only other inputs of `load_workspace`, and the tool's own code (`cache_identity.code_hash`,
which the compiled-rules cache has worked out already): another version may load workspaces
otherwise.
"""

from __future__ import annotations

import marshal
from pathlib import Path
from typing import Any

from unsound.engine import fs_probe
from unsound.engine.cache_identity import code_hash
from unsound.engine.cargo_lints import LintLevels
from unsound.engine.manifest_memo import ManifestMemo
from unsound.engine.targets import Target
from unsound.engine.workspace import Package, Workspace, load_workspace
from unsound.engine.workspace_root import cargo_home

_MARSHAL_VERSION = 4


def load_workspace_remembered(manifest: Path, memo: ManifestMemo) -> Workspace:
    """`load_workspace(manifest, memo)`, from the memo when nothing it asked has changed."""
    key = f"{manifest.absolute()}\n{cargo_home()}\n{code_hash()}"
    kept = memo.workspace(key)
    if kept is not None:
        remembered = _decoded(kept)
        if remembered is not None and fs_probe.all_still_hold(remembered[0]):
            return remembered[1]
    with fs_probe.recording() as answers:
        workspace = load_workspace(manifest, memo)
    distinct = _distinct(answers)
    if distinct is not None:
        kept_now: Any = (distinct, _encoded(workspace))  # of str, int, bool, bytes, tuples
        memo.remember_workspace(key, marshal.dumps(kept_now, _MARSHAL_VERSION))
    return workspace


def _distinct(answers: fs_probe.Answers) -> fs_probe.Answers | None:
    """Each question once; None when one was answered two ways (the tree changed while it was
    read: that load is not worth keeping)."""
    seen: dict[tuple[str, str], object] = {}
    for kind, path, answer in answers:
        before = seen.setdefault((kind, path), answer)
        if before != answer:
            return None
    return [(kind, path, answer) for (kind, path), answer in seen.items()]


Encoded = tuple[str, str, tuple[tuple[object, ...], ...], tuple[str, ...], str | None]


def _encoded(workspace: Workspace) -> Encoded:
    members = tuple(
        (
            package.name,
            str(package.manifest_path),
            str(package.root),
            tuple((t.kind, t.name, str(t.root)) for t in package.targets),
            package.lints.entries,
        )
        for package in workspace.members
    )
    return (
        str(workspace.root),
        str(workspace.manifest_path),
        members,
        workspace.default_members,
        workspace.current,
    )


def _decoded(kept: bytes) -> tuple[fs_probe.Answers, Workspace] | None:
    """The answers and the workspace; None for anything another version of the tool wrote."""
    try:
        answers, (root, manifest_path, members, defaults, current) = marshal.loads(kept)
        packages = tuple(
            Package(
                name,
                Path(package_manifest),
                Path(package_root),
                tuple(Target(kind, target, Path(path)) for kind, target, path in targets),
                LintLevels(tuple((lint, level) for lint, level in lints)),
            )
            for name, package_manifest, package_root, targets, lints in members
        )
        workspace = Workspace(Path(root), Path(manifest_path), packages, tuple(defaults), current)
    except (ValueError, EOFError, TypeError):
        return None
    if not isinstance(answers, list) or not all(
        isinstance(item, tuple) and len(item) == 3 for item in answers
    ):
        return None
    return answers, workspace
