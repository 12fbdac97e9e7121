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
from unsound.engine.syntax import node_text, type_base_name
from unsound.engine.units import ParsedFile

_DEFINITIONS = """
(struct_item name: (type_identifier) @name) @item
(enum_item name: (type_identifier) @name) @item
(union_item name: (type_identifier) @name) @item
"""


_IMPLS = """
(impl_item trait: (_) @trait type: (_) @type) @item
(trait_item name: (type_identifier) @name bounds: (trait_bounds) @bounds) @item
(static_item (mutable_specifier) name: (identifier) @static_mut) @item
"""


@cache
def _definitions_query() -> Query:
    return Query(rust_language(), _DEFINITIONS)


@cache
def _impls_query() -> Query:
    return Query(rust_language(), _IMPLS)


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

    _traits_of: dict[str, set[str]] | None = field(default=None, repr=False)
    _supertraits: dict[str, list[str]] | None = field(default=None, repr=False)
    _static_muts: set[str] | None = field(default=None, repr=False)

    def definitions(self, name: str) -> list[TypeDefinition]:
        if self._by_name is None:
            self._by_name = self._build()
        return self._by_name.get(name, [])

    def implements(self, type_name: str, trait: str) -> bool:
        """Whether the crate has `impl … trait for type_name` (by last path segment)."""
        if self._traits_of is None:
            self._build_impls()
        assert self._traits_of is not None
        return trait.rsplit("::", 1)[-1] in self._traits_of.get(type_name, set())

    def supertraits(self, trait: str) -> list[str]:
        """Bounds declared on a trait of this crate (`trait A: Send + Sync`)."""
        if self._supertraits is None:
            self._build_impls()
        assert self._supertraits is not None
        return self._supertraits.get(trait, [])

    def is_static_mut(self, name: str) -> bool:
        """Whether the crate declares `static mut NAME` (by the path's last segment)."""
        if self._static_muts is None:
            self._build_impls()
        assert self._static_muts is not None
        return name.rsplit("::", 1)[-1].strip() in self._static_muts

    def _build_impls(self) -> None:
        traits_of: dict[str, set[str]] = defaultdict(set)
        supertraits: dict[str, list[str]] = defaultdict(list)
        static_muts: set[str] = set()
        for unit in self.load():
            cursor = QueryCursor(_impls_query())
            for _, captures in cursor.matches(unit.tree.root_node):
                if "type" in captures:
                    self_name = type_base_name(captures["type"][0])
                    trait_name = type_base_name(captures["trait"][0])
                    if self_name and trait_name:
                        traits_of[self_name].add(trait_name)
                elif "static_mut" in captures:
                    static_muts.add(node_text(captures["static_mut"][0]))
                elif "bounds" in captures:
                    name = node_text(captures["name"][0])
                    for bound in captures["bounds"][0].named_children:
                        supertraits[name].append(node_text(bound))
        self._traits_of = dict(traits_of)
        self._supertraits = dict(supertraits)
        self._static_muts = static_muts

    def _build(self) -> dict[str, list[TypeDefinition]]:
        by_name: dict[str, list[TypeDefinition]] = defaultdict(list)
        for unit in self.load():
            cursor = QueryCursor(_definitions_query())
            for _, captures in cursor.matches(unit.tree.root_node):
                item = captures["item"][0]
                name = node_text(captures["name"][0])
                by_name[name].append(TypeDefinition(name, item, unit))
        return dict(by_name)
