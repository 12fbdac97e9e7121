"""Reading `allow`/`expect` attributes: does an attribute, or a module's inner attributes, turn a
lint off. Used by `lint_levels` (the question at a node) and by the crate index (which files of
the crate turn it off for their module)."""

from __future__ import annotations

import re

from tree_sitter import Node

from unsound.engine.syntax import node_text

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


def names_lint(attribute: str, lint: str) -> bool:
    """Whether an attribute's text is `allow`/`expect` of `lint` (spaces around `::` ignored)."""
    found = _ATTRIBUTE.match(_COMMENT.sub("", attribute).strip())
    if found is None:
        return False
    wanted = _normal(lint)
    return any(_normal(part) == wanted for part in found.group("lints").split(","))


def _normal(text: str) -> str:
    return re.sub(r"\s+", "", text)
