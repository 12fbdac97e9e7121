"""Documentation and comments around a node: `# Safety` doc sections, `// SAFETY:` comments."""

from __future__ import annotations

import re

from tree_sitter import Node

from unsound.engine.syntax import ITEM_KINDS, enclosing_statement, node_text
from unsound.engine.units import ParsedFile

_SAFETY = re.compile(r"\bSAFETY\s*:", re.IGNORECASE)


def doc_text(node: Node) -> str:
    """The doc comments (`///`, `/** */`, `#[doc = "…"]`) of the item at or around `node`."""
    item = _item(node)
    if item is None:
        return ""
    parts: list[str] = []
    sibling = item.prev_sibling
    while sibling is not None and sibling.type in (
        "line_comment",
        "block_comment",
        "attribute_item",
    ):
        text = node_text(sibling)
        if (
            sibling.type == "line_comment"
            and text.startswith("///")
            and not text.startswith("////")
        ):
            parts.append(text[3:])
        elif sibling.type == "block_comment" and text.startswith("/**"):
            parts.append(text[3:-2])
        elif sibling.type == "attribute_item":
            match = re.match(r'#\[\s*doc\s*=\s*"((?:[^"\\]|\\.)*)"\s*\]', text)
            if match:
                parts.append(match.group(1).replace("\\n", "\n"))
        sibling = sibling.prev_sibling
    return "\n".join(reversed(parts))


def has_doc_section(node: Node, section: str) -> bool:
    """A markdown heading of any level named `section` (`# Safety`) in the item's docs."""
    heading = re.compile(rf"^\s*#+\s*{re.escape(section.strip())}\s*$", re.IGNORECASE | re.M)
    return bool(heading.search(doc_text(node)))


def has_safety_comment(node: Node, unit: ParsedFile) -> bool:
    """A `// SAFETY:` comment on the node's line before it, or in the comment lines right above
    the node or above the statement or item that holds it (attributes may sit in between)."""
    data = unit.data
    line_start = data.rfind(b"\n", 0, node.start_byte) + 1
    line_end = data.find(b"\n", node.start_byte)
    line_end = len(data) if line_end == -1 else line_end
    if _SAFETY.search(data[line_start:line_end].decode("utf-8", "replace")):
        return True  # before the node on its line, or trailing on the line where it starts
    if _comment_lines_above(unit, node.start_byte):
        return True
    holder = enclosing_statement(node)
    return holder is not None and _comment_lines_above(unit, holder.start_byte)


def _comment_lines_above(unit: ParsedFile, byte: int) -> bool:
    data = unit.data
    end = data.rfind(b"\n", 0, byte)
    while end > 0:
        start = data.rfind(b"\n", 0, end) + 1
        line = data[start:end].decode("utf-8", "replace").strip()
        if line.startswith(("//", "/*", "*")):
            if _SAFETY.search(line):
                return True
        elif (not line.startswith("#[") and line) or not line:
            return False
        end = start - 1
    return False


def _item(node: Node) -> Node | None:
    current: Node | None = node
    while current is not None:
        if current.type in ITEM_KINDS:
            return current
        current = current.parent
    return None
