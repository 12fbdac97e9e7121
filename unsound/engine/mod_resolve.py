"""Where rustc looks for the file of a `mod name;` declaration (rustc_expand's `module.rs`).

Each file being read carries rustc's module state: the folder its child modules live in, and for
a non-`mod.rs` file `foo.rs` the pending `foo` component (so `mod bar;` in `src/foo.rs` is
`src/foo/bar.rs`). Inline modules push their name (or their `#[path]`) onto the folder; a
`#[path]` on an out-of-line module is relative to the current folder and makes the file behave
like a `mod.rs`. Paths stay lexical, as rustc's do; symlink safety is the reader's job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from unsound.engine.mod_decls import ModDecl


@dataclass(frozen=True)
class ModuleContext:
    """rustc's (dir_path, relative) for one module file."""

    folder: Path
    relative: str | None = None  # the pending `foo` of a non-mod.rs file `foo.rs`

    @classmethod
    def crate_root(cls, root_file: Path) -> ModuleContext:
        """A crate root behaves like a `mod.rs`: its children sit beside it."""
        return cls(root_file.parent)


@dataclass(frozen=True)
class ModuleFile:
    """A candidate file for a declaration, with the context its own `mod`s resolve in."""

    path: Path
    context: ModuleContext


@dataclass(frozen=True)
class Resolution:
    """The files a declaration may load, and what to say when none exists."""

    candidates: tuple[ModuleFile, ...]  # every file rustc might load, in rustc's order
    looked_for: tuple[Path, ...]  # the unconditional candidates, for the "has no file" message
    required: bool  # rustc fails when none of `looked_for` exists


def resolve(decl: ModDecl, context: ModuleContext) -> Resolution:
    """Candidate files for `decl` declared in a file whose module state is `context`."""
    folder, relative = _enclosing_folder(decl, context)
    primary: list[ModuleFile] = []
    if decl.path is not None:
        primary = [_path_attribute_file(folder, decl.path)]
    elif not decl.in_block:  # rustc rejects `mod x;` in a block unless it has `#[path]`
        base = folder / relative if relative else folder
        primary = [
            ModuleFile(_lexical(base / f"{decl.name}.rs"), ModuleContext(base, decl.name)),
            ModuleFile(_lexical(base / decl.name / "mod.rs"), ModuleContext(base / decl.name)),
        ]
    alternatives = [_path_attribute_file(folder, path) for path in decl.cfg_paths]
    return Resolution(
        candidates=tuple(alternatives + primary),
        looked_for=tuple(file.path for file in primary),
        required=bool(primary) and not decl.conditional and not alternatives,
    )


def _enclosing_folder(decl: ModDecl, context: ModuleContext) -> tuple[Path, str | None]:
    """Apply the inline modules around the declaration to the file's module state."""
    folder, relative = context.folder, context.relative
    for inline in decl.enclosing:
        if inline.path is not None:
            # For inline modules rustc treats `#[path]` as the folder itself, relative to the
            # file's folder (without the pending component).
            folder, relative = folder / inline.path, None
            continue
        if relative:
            folder, relative = folder / relative, None
        folder = folder / inline.name
    return folder, relative


def _path_attribute_file(folder: Path, path: str) -> ModuleFile:
    """`#[path]` files act as `mod.rs`: their own `mod`s are siblings of them."""
    file = _lexical(folder / path)
    return ModuleFile(file, ModuleContext(file.parent))


def _lexical(path: Path) -> Path:
    return Path(os.path.normpath(path))
