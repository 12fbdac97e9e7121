"""Whether a lint is allowed at a node, as rustc and Clippy read `allow` and `expect`.

A rule that mirrors a Clippy lint (`missing-safety-doc` is Clippy's `missing_safety_doc`) should
stay silent where the project has turned that lint off: `#[allow(clippy::…)]` or `#[expect(…)]`
on the item or an enclosing item (an `impl`, a trait, an inline `mod`), `#![allow(…)]` at the
top of an inline module or of the file, `#![allow(…)]` in the file of an enclosing module —
the crate root above all (wgpu-hal turns the lint off crate-wide in `lib.rs`) — or an
attribute on the declaration of an enclosing out-of-line module (arrow-ipc's generated code:
`#[allow(clippy::all)] pub mod Schema;`, `CrateIndex.modules_allowing`).

The enclosing modules' files are found by Rust's default layout (`a/b.rs` and `a/b/mod.rs` hold
module `b` of the files under `a/b/`; `lib.rs` and `main.rs` are crate roots), from the crate
index's files that spell such an inner attribute (`CrateIndex.files_allowing`, whose reads the
cache records). A `#[path]` attribute that moves a module is not followed, and a `main.rs` beside
a `lib.rs` counts as enclosing the library's modules too. `cfg_attr(…, allow(…))` is not read:
an allow that holds only under some configuration does not silence the rule.

The crate's manifest counts first: `[lints.clippy] missing_safety_doc = "allow"`, or
`clippy::all` allowed there (wasmtime's `[workspace.lints.clippy]`), turns the lint off for the
whole crate (`cargo_lints`). An attribute naming one of the lint's groups counts as naming the
lint (`lint_groups`). Only turning a lint off is read: a `#[warn(…)]` that turns it back on
inside an allowing module or crate is not.
"""

from __future__ import annotations

import posixpath
from functools import cache

from tree_sitter import Node

from unsound.engine import node_memo
from unsound.engine.crate_index import CrateIndex
from unsound.engine.lint_attributes import allows_at_top, names_lint
from unsound.engine.lint_groups import groups_of
from unsound.engine.syntax import ITEM_KINDS, is_module_body, node_text, preceding_attributes
from unsound.engine.units import ParsedFile


def lint_allowed(node: Node, unit: ParsedFile, lint: str, crate: CrateIndex) -> bool:
    """Whether `lint` (`clippy::missing_safety_doc`) is allowed or expected at `node`: by the
    crate's manifest (`[lints]`), or by an attribute naming it or one of its groups
    (`clippy::style`, `clippy::all`)."""
    if crate.lint_levels.allows(lint):
        return True
    enclosing = _enclosing_module_files(unit.rel_path)
    return any(
        _allowed_in_file(node, name)
        or any(p in enclosing for p in crate.files_allowing(name))
        or _in_any(unit.rel_path, crate.modules_allowing(name))
        for name in (lint, *groups_of(lint))
    )


def _in_any(rel_path: str, modules: list[str]) -> bool:
    """Whether the file belongs to one of these modules (by the paths their files start with)."""
    return any(rel_path == f"{m}.rs" or rel_path.startswith(f"{m}/") for m in modules)


def _allowed_in_file(node: Node, lint: str) -> bool:
    current: Node | None = node
    while current is not None:
        if current.type in ITEM_KINDS and _outer_attributes_allow(current, lint):
            return True
        if is_module_body(current) and _module_allows(current, lint):
            return True
        current = current.parent
    return False


def _module_allows(body: Node, lint: str) -> bool:
    """`allows_at_top`, remembered per module body for the file's matching: every candidate of
    a file asks its file's top (wasmtime: 2,557 questions, each reading about 100 items)."""
    return node_memo.remember(f"allows {lint}", body, lambda: allows_at_top(body, lint))


def _outer_attributes_allow(item: Node, lint: str) -> bool:
    return any(names_lint(node_text(a), lint) for a in preceding_attributes(item))


@cache
def _enclosing_module_files(rel_path: str) -> frozenset[str]:
    """The files that, by the default layout, hold a module enclosing this file's."""
    found: set[str] = set()
    folder = posixpath.dirname(rel_path)
    while folder:
        found |= {f"{folder}/mod.rs", f"{folder}/lib.rs", f"{folder}/main.rs", f"{folder}.rs"}
        folder = posixpath.dirname(folder)
    found.discard(rel_path)
    return frozenset(found)
