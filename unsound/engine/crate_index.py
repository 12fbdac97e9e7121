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
def _impl_blocks_query() -> Query:
    return Query(rust_language(), "(impl_item type: (_) @type) @item")


@cache
def _traits_query() -> Query:
    return Query(rust_language(), "(trait_item name: (type_identifier) @name)")


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
        return field_types_of(self.item)


def field_types_of(item: Node) -> list[tuple[Node, Node]]:
    """(field declaration, its type) for every field of a struct, enum or union item."""
    out = []
    stack = [item]
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

    def impls_of(self, type_name: str) -> list[Node]:
        """Every `impl` block of the crate whose self type is `type_name` (inherent and trait
        impls, by the last path segment)."""
        found = self._answers.get(("impls-of", type_name))
        if found is None:
            header = re.compile(rb"\bimpl\b[^{;]*\b" + re.escape(type_name.encode()) + rb"\b")
            if self.sources is None:
                units = list(self.load())
            else:
                units = [parse() for data, parse in self.sources if header.search(data)]
            found = [
                captures["item"][0]
                for unit in units
                for _, captures in QueryCursor(_impl_blocks_query()).matches(unit.tree.root_node)
                if type_base_name(captures["type"][0]) == type_name
            ]
            self._answers[("impls-of", type_name)] = found
        return found  # type: ignore[return-value]

    def definitions_mentioning(self, name: str) -> list[TypeDefinition]:
        """Every struct, enum and union of the crate in a file whose text names `name` (the
        candidates for a type that holds a `name` in a field)."""
        found = self._answers.get(("mentioning", name))
        if found is None:
            word = re.compile(rb"\b" + re.escape(name.encode()) + rb"\b")
            if self.sources is None:
                units = list(self.load())
            else:
                units = [parse() for data, parse in self.sources if word.search(data)]
            found = [definition for unit in units for definition in _definitions_in(unit)]
            self._answers[("mentioning", name)] = found
        return found  # type: ignore[return-value]

    def module_is_public(self, module: str) -> bool:
        """Whether some `mod module` declaration of the crate is `pub` (or none is found: a
        `#[path]` module, read as public); `false` when every one is private or `pub(crate)`."""
        found = self._answers.get(("pub-mod", module))
        if found is None:
            declaration = re.compile(
                rb"(?m)^[ \t]*(pub\s*(?:\([^)]*\))?\s*)?mod\s+(?:r#)?"
                + re.escape(module.encode())
                + rb"\s*[;{]"
            )
            visibilities = [
                (match.group(1) or b"").strip()
                for data in self._texts()
                for match in declaration.finditer(data)
            ]
            found = not visibilities or any(v == b"pub" for v in visibilities)
            self._answers[("pub-mod", module)] = found
        return bool(found)

    def reexports(self, name: str, module: str) -> list[str]:
        """Files (relative paths) with a `pub use` naming `name`, or a glob `pub use` of
        `module`."""
        found = self._answers.get(("pub-use", f"{module}::{name}"))
        if found is None:
            pattern = re.compile(
                rb"\bpub\s+use\s[^;]*(\b"
                + re.escape(name.encode())
                + rb"\b|\b"
                + re.escape(module.encode())
                + rb"::\*)"
            )
            found = [unit.rel_path for unit in self._units_matching(pattern)]
            self._answers[("pub-use", f"{module}::{name}")] = found
        return found  # type: ignore[return-value]

    def _units_matching(self, pattern: re.Pattern[bytes]) -> list[ParsedFile]:
        if self.sources is None:
            return [unit for unit in self.load() if pattern.search(unit.data)]
        return [parse() for data, parse in self.sources if pattern.search(data)]

    def _texts(self) -> list[bytes]:
        if self.sources is None:
            return [unit.data for unit in self.load()]
        return [data for data, _ in self.sources]

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

    def declares_trait(self, trait: str) -> bool:
        """Whether the crate declares `trait NAME` (by the path's last segment)."""
        found = self._answers.get(("trait", trait))
        if found is None:
            found = any(
                node_text(captures["name"][0]) == trait
                for unit in self._files_declaring(_TRAIT_DECLARATION, trait)
                for _, captures in QueryCursor(_traits_query()).matches(unit.tree.root_node)
            )
            self._answers[("trait", trait)] = found
        return bool(found)

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
