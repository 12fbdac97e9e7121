"""An index of one crate's type definitions, for rules that relate an `impl` to its type.

Built lazily, once per crate and scan, from every file of the crate (a struct and the impls for
it usually live in different files), using one tree-sitter query per file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache

from tree_sitter import Node, Query, QueryCursor

from unsound.engine.parsing import rust_language
from unsound.engine.syntax import node_text
from unsound.engine.units import ParsedFile

_DEFINITIONS = """
(struct_item name: (type_identifier) @name) @item
(enum_item name: (type_identifier) @name) @item
(union_item name: (type_identifier) @name) @item
"""


@cache
def _definitions_query() -> Query:
    return Query(rust_language(), _DEFINITIONS)


@dataclass(frozen=True)
class TypeDefinition:
    name: str
    item: Node
    unit: ParsedFile

    def field_types(self) -> list[tuple[Node, Node]]:
        """(field declaration, its type) for every field, including enum variants' fields."""
        out = []
        stack = [self.item]
        while stack:
            node = stack.pop()
            if node.type == "field_declaration":
                declared = node.child_by_field_name("type")
                if declared is not None:
                    out.append((node, declared))
                continue
            if node.type == "ordered_field_declaration_list":
                for child in node.named_children:
                    if child.type not in ("attribute_item", "visibility_modifier"):
                        out.append((child, child))
                continue
            stack.extend(reversed(node.named_children))
        return out


@dataclass
class CrateIndex:
    """Type definitions by name; `load` supplies the crate's parsed files on first use."""

    load: Callable[[], Iterable[ParsedFile]]
    _by_name: dict[str, list[TypeDefinition]] | None = field(default=None, repr=False)

    def definitions(self, name: str) -> list[TypeDefinition]:
        if self._by_name is None:
            self._by_name = self._build()
        return self._by_name.get(name, [])

    def _build(self) -> dict[str, list[TypeDefinition]]:
        by_name: dict[str, list[TypeDefinition]] = defaultdict(list)
        for unit in self.load():
            cursor = QueryCursor(_definitions_query())
            for _, captures in cursor.matches(unit.tree.root_node):
                item = captures["item"][0]
                name = node_text(captures["name"][0])
                by_name[name].append(TypeDefinition(name, item, unit))
        return dict(by_name)
