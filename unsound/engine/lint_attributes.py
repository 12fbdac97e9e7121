"""Reading `allow`/`expect` attributes: does an attribute, or a module's inner attributes, turn a
lint off. Used by `lint_levels` (the question at a node) and by the crate index (which files of
the crate turn it off for their module)."""

from __future__ import annotations

import posixpath
import re

from tree_sitter import Node

from unsound.engine.syntax import node_text, preceding_attributes

_ATTRIBUTE = re.compile(r"^#!?\[\s*(?:allow|expect)\s*\((?P<lints>.*)\)\s*\]$", re.DOTALL)
# Comments between the lints (wgpu-hal explains each one it allows).
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)


def allows_at_top(body: Node, lint: str) -> bool:
    """Whether a module body's own inner attributes (a file's, or an inline `mod`'s `#![allow(…)]`
    before its items) allow `lint`."""
    return any(
        child.type == "inner_attribute_item" and names_lint(node_text(child), lint)
        for child in body.named_children
    )


def modules_allowing(rel_path: str, root: Node, lint: str) -> list[str]:
    """The modules this file declares out of line (`mod name;`) where `lint` is allowed: by the
    declaration's own attributes (arrow-ipc's `#[allow(clippy::all)] pub mod Schema;`), an
    enclosing inline module's, or the inner ones of the file or of an enclosing inline module.
    Each is given as the path its files start with by the default layout: `src/gen/schema`
    for `mod schema;` in `src/gen/mod.rs` or `src/gen.rs` (its files are `src/gen/schema.rs`
    and everything under `src/gen/schema/`)."""
    name = posixpath.basename(rel_path)
    base = posixpath.dirname(rel_path) if name in _DIRECTORY_OWNERS else rel_path[: -len(".rs")]
    found: list[str] = []
    _collect_allowing(root, base, allows_at_top(root, lint), lint, found)
    return found


# Files whose out-of-line modules live beside them, not in a folder named after them.
_DIRECTORY_OWNERS = frozenset({"mod.rs", "lib.rs", "main.rs"})


def _collect_allowing(body: Node, base: str, allowed: bool, lint: str, found: list[str]) -> None:
    for child in body.named_children:
        if child.type != "mod_item":
            continue
        name = child.child_by_field_name("name")
        if name is None:
            continue
        path = f"{base}/{node_text(name).removeprefix('r#')}"
        here = allowed or any(names_lint(node_text(a), lint) for a in preceding_attributes(child))
        inline = child.child_by_field_name("body")
        if inline is None:
            if here:
                found.append(path)
        else:
            _collect_allowing(inline, path, here or allows_at_top(inline, lint), lint, found)


def names_lint(attribute: str, lint: str) -> bool:
    """Whether an attribute's text is `allow`/`expect` of `lint` (spaces around `::` ignored)."""
    found = _ATTRIBUTE.match(_COMMENT.sub("", attribute).strip())
    if found is None:
        return False
    wanted = _normal(lint)
    return any(_normal(part) == wanted for part in found.group("lints").split(","))


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", text)
