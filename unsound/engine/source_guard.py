"""Which paths the scanner may read: inside the workspace, never build output.

The scanned tree is hostile: a `#[path]` attribute or a symlink can point anywhere, and `target/`
holds generated code that is not the project's source. Every file is checked here before it is
opened, on its real path (symlinks resolved), so a link cannot smuggle a read outside the root.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


def target_dirs(workspace_root: Path, environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Real paths of Cargo's build output folders: `<root>/target` and `CARGO_TARGET_DIR`."""
    env = os.environ if environ is None else environ
    found = [workspace_root / "target"]
    configured = env.get("CARGO_TARGET_DIR")
    if configured:
        found.append(Path(configured).absolute())
    return tuple(os.path.realpath(path) for path in found)


def inside(path: str, folders: Iterable[str]) -> bool:
    """Whether `path` is one of `folders` or below one (whole components, no prefix tricks)."""
    return any(
        path == folder or path.startswith(folder.rstrip(os.sep) + os.sep) for folder in folders
    )


@dataclass(frozen=True)
class SourceGuard:
    """The allowed area (real paths) and the build output folders (real paths) of one scan."""

    allowed: tuple[str, ...]
    build_output: tuple[str, ...]
    # Real paths of folders met so far: a file's real path is its folder's plus its name unless
    # the file itself is a link, so thousands of files in a few folders cost one lstat each.
    _folders: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    # And of the paths asked about: discovery asks for each file twice (may it be read; which
    # file is it), an lstat each time.
    _paths: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def for_workspace(cls, workspace_root: Path, extra_roots: Iterable[Path] = ()) -> SourceGuard:
        """The workspace root, plus package folders outside it (members that point back at it)."""
        roots = [workspace_root, *extra_roots]
        return cls(
            allowed=tuple(os.path.realpath(root) for root in roots),
            build_output=target_dirs(workspace_root),
        )

    def real_path(self, path: Path | str) -> str:
        """`os.path.realpath(path)`, with the folders' real paths remembered."""
        text = os.fspath(path)
        known = self._paths.get(text)
        if known is not None:
            return known
        folder, name = os.path.split(text)
        if not folder or name in ("", ".", "..") or os.path.islink(text):
            real = os.path.realpath(text)
        else:
            real_folder = self._folders.get(folder)
            if real_folder is None:
                real_folder = self._folders[folder] = os.path.realpath(folder)
            real = os.path.join(real_folder, name)
        self._paths[text] = real
        return real

    def is_build_output(self, path: Path) -> bool:
        return inside(self.real_path(path), self.build_output)

    def refusal(self, path: Path | str) -> str | None:
        """Why `path` must not be read, or None when it may be."""
        real = self.real_path(path)
        if inside(real, self.build_output):
            return "is build output (in Cargo's target folder), which is never scanned"
        if not inside(real, self.allowed):
            return "is outside the workspace (after following symlinks)"
        return None
