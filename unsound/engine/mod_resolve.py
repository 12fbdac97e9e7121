"""Where rustc looks for the file of a `mod name;` declaration (rustc_expand's `module.rs`).

Each file being read carries rustc's module state: the folder its child modules live in, and for
a non-`mod.rs` file `foo.rs` the pending `foo` component (so `mod bar;` in `src/foo.rs` is
`src/foo/bar.rs`). Inline modules push their name (or their `#[path]`) onto the folder; a
`#[path]` on an out-of-line module is relative to the current folder and makes the file behave
like a `mod.rs`. Paths stay lexical, as rustc's do; symlink safety is the reader's job. They are
strings (`os.path`), not `Path`s: discovery resolves every declaration of the workspace on every
run, and building `Path` objects was most of the cost.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from unsound.engine.mod_decls import ModDecl


@dataclass(frozen=True)
class ModuleContext:
    """rustc's (dir_path, relative) for one module file."""

    folder: str
    relative: str | None = None  # the pending `foo` of a non-mod.rs file `foo.rs`

    @classmethod
    def crate_root(cls, root_file: str) -> ModuleContext:
        """A crate root behaves like a `mod.rs`: its children sit beside it."""
        return cls(os.path.dirname(root_file))


@dataclass(frozen=True)
class ModuleFile:
    """A candidate file for a declaration, with the context its own `mod`s resolve in."""

    path: str
    context: ModuleContext


@dataclass(frozen=True)
class Resolution:
    """The files a declaration may load, and what to say when none exists."""

    candidates: tuple[ModuleFile, ...]  # every file rustc might load, in rustc's order
    looked_for: tuple[str, ...]  # the unconditional candidates, for the "has no file" message
    required: bool  # rustc fails when none of `looked_for` exists


def resolve(decl: ModDecl, context: ModuleContext) -> Resolution:
    """Candidate files for `decl` declared in a file whose module state is `context`."""
    primary: list[ModuleFile] = []
    alternatives: list[ModuleFile] = []
    for folder, relative, default in _enclosing_folders(decl, context):
        files: list[ModuleFile] = []
        if decl.path is not None:
            files = [_path_attribute_file(folder, decl.path)]
        elif not decl.in_block:  # rustc rejects `mod x;` in a block unless it has `#[path]`
            base = _join(folder, relative) if relative else folder
            inner = _join(base, decl.name)
            files = [
                ModuleFile(_lexical(inner + ".rs"), ModuleContext(base, decl.name)),
                ModuleFile(_lexical(_join(inner, "mod.rs")), ModuleContext(inner)),
            ]
        alternatives.extend(_path_attribute_file(folder, path) for path in decl.cfg_paths)
        (primary if default else alternatives).extend(files)
    return Resolution(
        candidates=tuple(dict.fromkeys(alternatives + primary)),
        looked_for=tuple(file.path for file in primary),
        required=bool(primary) and not decl.conditional and not alternatives,
    )


# The folders followed at most for one declaration: each `cfg_attr(…, path)` on an enclosing
# inline module doubles them.
_MAX_FOLDERS = 16


def _enclosing_folders(decl: ModDecl, context: ModuleContext) -> list[tuple[str, str | None, bool]]:
    """The inline modules around the declaration applied to the file's module state: (folder,
    pending component, whether no `cfg_attr` folder was taken) for each way rustc may see them
    (`#[cfg_attr(unix, path = "sys_unix")] mod sys { mod imp; }` also loads `sys_unix/imp.rs`)."""
    states = [(context.folder, context.relative, True)]
    for inline in decl.enclosing:
        following: list[tuple[str, str | None, bool]] = []
        for folder, relative, default in states:
            if inline.path is not None:
                # For inline modules rustc treats `#[path]` as the folder itself, relative to
                # the file's folder (without the pending component).
                following.append((_join(folder, inline.path), None, default))
                continue
            following.extend((_join(folder, path), None, False) for path in inline.cfg_paths)
            # Inside a block rustc no longer owns the folder: the pending `foo` of a `foo.rs`
            # is dropped, not pushed (`fn f() { mod inl { #[path = "x.rs"] mod m; } }` in
            # `a.rs` loads `inl/x.rs` beside `a.rs`).
            owner = _join(folder, relative) if relative and not inline.in_block else folder
            following.append((_join(owner, inline.name), None, default))
        states = following[:_MAX_FOLDERS]
    return states


def _path_attribute_file(folder: str, path: str) -> ModuleFile:
    """`#[path]` files act as `mod.rs`: their own `mod`s are siblings of them."""
    file = _lexical(_join(folder, path))
    return ModuleFile(file, ModuleContext(os.path.dirname(file)))


def _join(folder: str, name: str) -> str:
    """`Path(folder) / name`: an absolute `name` replaces the folder, as `os.path.join` does."""
    return os.path.join(folder, name)


def _lexical(path: str) -> str:
    return os.path.normpath(path)
