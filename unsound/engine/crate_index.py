"""An index of one crate's type definitions, for rules that relate an `impl` to its type.

Built lazily, once per crate and scan, from every file of the crate (a struct and the impls for
it usually live in different files), using one tree-sitter query per file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from tree_sitter import Node, Query, QueryCursor

from unsound.dsl.rust_parser import rust_language
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


_TYPE_DECLARATION = re.compile(rb"\b(?:struct|enum|union)\s+([A-Za-z_][A-Za-z0-9_]*)")
_TRAIT_DECLARATION = re.compile(rb"\btrait\s+([A-Za-z_][A-Za-z0-9_]*)")
_STATIC_MUT_DECLARATION = re.compile(rb"\bstatic\s+mut\s+([A-Za-z_][A-Za-z0-9_]*)")
_IMPL_FOR = re.compile(
    rb"\bimpl\b[^{;]*?\bfor\s+(?:[A-Za-z_][A-Za-z0-9_]*::)*([A-Za-z_][A-Za-z0-9_]*)"
)
_TYPE_ALIAS_DECLARATION = re.compile(rb"\btype\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:<[^;=]*>)?\s*=")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_KINDS = frozenset({"identifier", "field_identifier", "type_identifier"})


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
    """Type definitions, impls, supertraits and `static mut`s of one crate, by name.

    `load` supplies the crate's parsed files. With `sources` (each file's text and a thunk that
    parses it) only files whose text can hold the answer are parsed: looking up `struct Foo`
    parses the files that say `struct Foo`, not the whole crate.
    """

    load: Callable[[], Iterable[ParsedFile]]
    sources: Sequence[tuple[bytes, Callable[[], ParsedFile]]] | None = None
    _answers: dict[tuple[str, str], object] = field(default_factory=dict, repr=False)
    _tables: dict[bytes, dict[str, list[int]]] = field(default_factory=dict, repr=False)

    def definitions(self, name: str) -> list[TypeDefinition]:
        found = self._answers.get(("definitions", name))
        if found is None:
            found = [
                definition
                for unit in self._files_declaring(_TYPE_DECLARATION, name)
                for definition in _definitions_in(unit)
                if definition.name == name
            ]
            self._answers[("definitions", name)] = found
        return found  # type: ignore[return-value]

    def implements(self, type_name: str, trait: str) -> bool:
        """Whether the crate has `impl … trait for type_name` (by last path segment)."""
        traits = self._answers.get(("impls", type_name))
        if traits is None:
            traits = {
                trait_name
                for unit in self._files_declaring(_IMPL_FOR, type_name)
                for self_name, trait_name in _impls_in(unit)
                if self_name == type_name
            }
            self._answers[("impls", type_name)] = traits
        return trait.rsplit("::", 1)[-1] in traits  # type: ignore[operator]

    def supertraits(self, trait: str) -> list[str]:
        """Bounds declared on a trait of this crate (`trait A: Send + Sync`)."""
        bounds = self._answers.get(("supertraits", trait))
        if bounds is None:
            bounds = [
                bound
                for unit in self._files_declaring(_TRAIT_DECLARATION, trait)
                for name, bound in _supertraits_in(unit)
                if name == trait
            ]
            self._answers[("supertraits", trait)] = bounds
        return bounds  # type: ignore[return-value]

    def is_static_mut(self, name: str) -> bool:
        """Whether the crate declares `static mut NAME` (by the path's last segment)."""
        last = name.rsplit("::", 1)[-1].strip()
        if not _IDENTIFIER.fullmatch(last):
            return False  # `self.x`, `a[i]`: an expression is never a static's name
        found = self._answers.get(("static-mut", last))
        if found is None:
            found = any(
                last in _static_muts_in(unit)
                for unit in self._files_declaring(_STATIC_MUT_DECLARATION, last)
            )
            self._answers[("static-mut", last)] = found
        return bool(found)

    def type_alias(self, name: str) -> Node | None:
        """The aliased type of the crate's `type NAME = …;` when exactly one such alias exists
        (a name aliased differently under several `cfg`s is left unresolved)."""
        found = self._answers.get(("type-alias", name))
        if found is None:
            found = [
                value
                for unit in self._files_declaring(_TYPE_ALIAS_DECLARATION, name)
                for alias, value in _aliases_in(unit)
                if alias == name
            ]
            self._answers[("type-alias", name)] = found
        aliases: list[Node] = found  # type: ignore[assignment]
        texts = {node_text(a) for a in aliases}
        return aliases[0] if len(texts) == 1 else None

    def mentions(self, name: str) -> list[tuple[ParsedFile, Node]]:
        """Every identifier node spelled `name` in the crate's files (calls, fields, types),
        found from the text first so that only files that say the word are parsed."""
        found = self._answers.get(("mentions", name))
        if found is None:
            word = re.compile(rb"\b" + re.escape(name.encode("utf-8")) + rb"\b")
            units = (
                list(self.load())
                if self.sources is None
                else [parse() for data, parse in self.sources if word.search(data)]
            )
            nodes: list[tuple[ParsedFile, Node]] = []
            for unit in units:
                root = unit.tree.root_node
                for match in word.finditer(unit.data):
                    node = root.descendant_for_byte_range(match.start(), match.end())
                    if node is not None and node.type in _NAME_KINDS:
                        nodes.append((unit, node))
            self._answers[("mentions", name)] = found = nodes
        return found  # type: ignore[return-value]

    def _files_declaring(self, declaration: re.Pattern[bytes], name: str) -> list[ParsedFile]:
        """Parsed files whose text declares `name` with this kind of declaration.

        One regex pass over the crate's text per kind builds a name → files table, so each
        lookup touches only the files that can hold the answer.
        """
        if self.sources is None:
            return list(self.load())
        table = self._tables.get(declaration.pattern)
        if table is None:
            table = {}
            for index, (data, _) in enumerate(self.sources):
                for match in declaration.finditer(data):
                    table.setdefault(match.group(1).decode("utf-8", "replace"), []).append(index)
            self._tables[declaration.pattern] = table
        return [self.sources[i][1]() for i in dict.fromkeys(table.get(name, []))]


def _definitions_in(unit: ParsedFile) -> list[TypeDefinition]:
    out = []
    for _, captures in QueryCursor(_definitions_query()).matches(unit.tree.root_node):
        name = node_text(captures["name"][0])
        out.append(TypeDefinition(name, captures["item"][0], unit))
    return out


def _impl_captures(unit: ParsedFile) -> list[dict[str, list[Node]]]:
    return [captures for _, captures in QueryCursor(_impls_query()).matches(unit.tree.root_node)]


def _impls_in(unit: ParsedFile) -> list[tuple[str, str]]:
    out = []
    for captures in _impl_captures(unit):
        if "type" in captures:
            self_name = type_base_name(captures["type"][0])
            trait_name = type_base_name(captures["trait"][0])
            if self_name and trait_name:
                out.append((self_name, trait_name))
    return out


def _supertraits_in(unit: ParsedFile) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for captures in _impl_captures(unit):
        if "bounds" in captures:
            name = node_text(captures["name"][0])
            out.extend((name, node_text(b)) for b in captures["bounds"][0].named_children)
    return out


def _static_muts_in(unit: ParsedFile) -> set[str]:
    return {
        node_text(captures["static_mut"][0])
        for captures in _impl_captures(unit)
        if "static_mut" in captures
    }


def _aliases_in(unit: ParsedFile) -> list[tuple[str, Node]]:
    out = []
    for node in unit.tree.root_node.named_children:
        stack = [node]
        while stack:
            current = stack.pop()
            if current.type == "type_item":
                name = current.child_by_field_name("name")
                value = current.child_by_field_name("type")
                if name is not None and value is not None:
                    out.append((node_text(name), value))
            elif current.type in ("mod_item", "declaration_list"):
                stack.extend(current.named_children)
    return out
