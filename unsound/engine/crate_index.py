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

from unsound.dsl.rust_parser import parse_rust, rust_language
from unsound.dsl.word_regex import after_word, whole_word, word_inside
from unsound.engine import crate_reads
from unsound.engine.cargo_lints import NO_LINT_LEVELS, LintLevels
from unsound.engine.crate_reads import Question, ReadsRecorder, Selector
from unsound.engine.lint_attributes import allows_at_top, modules_allowing
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


def _after_keyword(keyword: str, rest: bytes, not_after: str = "") -> re.Pattern[bytes]:
    """`keyword` as a whole word, then `rest`, written to start with the literal keyword."""
    return re.compile(after_word(keyword.encode(), rest, not_after.encode()))


_NAME_GROUP = rb"\s+([A-Za-z_][A-Za-z0-9_]*)"
_TYPE_DECLARATIONS = tuple(_after_keyword(k, _NAME_GROUP) for k in ("struct", "enum", "union"))
# A declaration whose name is followed by `<` (its generics) or by `/` (a comment, which may hide
# them): every definition with a lifetime parameter is one, and most types have no generics.
_GENERIC_TYPE_DECLARATIONS = tuple(
    _after_keyword(k, _NAME_GROUP + rb"\s*[</]") for k in ("struct", "enum", "union")
)
_TRAIT_DECLARATIONS = (_after_keyword("trait", _NAME_GROUP),)
# Not preceded by `'`: `&'static mut T` is a reference type, not a `static mut T`.
STATIC_MUT_DECLARATION = _after_keyword("static", rb"\s+mut" + _NAME_GROUP, not_after="'")
IMPL_FOR = _after_keyword(
    "impl", rb"\b[^{;]*?\bfor\s+(?:[A-Za-z_][A-Za-z0-9_]*::)*([A-Za-z_][A-Za-z0-9_]*)"
)
_TYPE_ALIAS_DECLARATIONS = (
    _after_keyword("type", rb"\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:<[^;=]*>)?\s*="),
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME_KINDS = frozenset({"identifier", "field_identifier", "type_identifier"})


_IDENTIFIER_BYTES = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")
_IMPL_HEADER = _after_keyword("impl", rb"\b([^{;]*)\{")
_METHODS = """
(impl_item type: (_) @type body: (declaration_list (function_item) @function))
"""
_UNSAFE_BLOCKS = "(unsafe_block) @block"


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
def _methods_query() -> Query:
    return Query(rust_language(), _METHODS)


@cache
def _unsafe_blocks_query() -> Query:
    return Query(rust_language(), _UNSAFE_BLOCKS)


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
    # Where the files each answer depends on are noted (`crate_reads`): the scan swaps in one
    # recorder per matched file, so every answer is noted again when a later file asks for it.
    recorder: ReadsRecorder = field(default_factory=ReadsRecorder, repr=False)
    # The library crate names of every member of the workspace (`pd_client` for package
    # `pd-client`): a trait imported from one of them is the workspace's own. Not a read of the
    # crate's files; the scan cache's key holds it.
    workspace_crates: frozenset[str] = frozenset()
    # The lint levels the crate's manifest sets (`[lints]`); the scan cache's key holds them.
    lint_levels: LintLevels = NO_LINT_LEVELS
    # A file (by its index in `sources`) with at least the top-level items that spell a word
    # parsed, for the questions whose answers those items alone give (the names of a trait's
    # bounds, the holders and mentions of a name): the whole file needs no parse for them.
    # None: `sources`' whole parses.
    items_spelling: Callable[[int, str], ParsedFile] | None = field(default=None, repr=False)
    _answers: dict[tuple[str, str], object] = field(default_factory=dict, repr=False)
    _tables: dict[bytes, dict[str, list[int]]] = field(default_factory=dict, repr=False)
    _picked: dict[Selector, list[int]] = field(default_factory=dict, repr=False)
    _selections: dict[Question, _Selection] = field(default_factory=dict, repr=False)
    # Per question answered file by file, the files that gave something (`_answer`).
    _loud: dict[Question, frozenset[str]] = field(default_factory=dict, repr=False)
    # `spells_any`: per question, its selector and whether a file of the crate holds the word.
    _spelled: dict[Question, tuple[Selector, bool]] = field(default_factory=dict, repr=False)

    def definitions(self, name: str) -> list[TypeDefinition]:
        question = ("definitions", name)
        units = self._files_declaring(question, _TYPE_DECLARATIONS)
        return self._answer(question, units)  # type: ignore[return-value]

    def may_have_generics(self, name: str) -> bool:
        """False when no definition of `name` in the crate has generics (a lifetime parameter
        among them): no file writes `struct name<` (or a comment after the name), so none
        need be parsed to know. True: some file may; `definitions` tells."""
        question = ("generic-definitions", name)
        units = self._files_declaring(question, _GENERIC_TYPE_DECLARATIONS)
        return bool(self._answer(question, units))

    def impls_of(self, type_name: str) -> list[Node]:
        """Every `impl` block of the crate whose self type is `type_name` (inherent and trait
        impls, by the last path segment)."""
        question = ("impls-of", type_name)
        units = self._files(
            question,
            lambda: (
                crate_reads.search(
                    _after_keyword("impl", rb"\b[^{;]*" + word_inside(type_name.encode()))
                ),
            ),
        )
        return self._answer(question, units)  # type: ignore[return-value]

    def definitions_mentioning(self, name: str) -> list[TypeDefinition]:
        """Every struct, enum and union of the crate in a top-level item whose text names
        `name` (the candidates for a type that holds a `name` in a field), read from those items
        alone (`items_spelling`): tokio's parses for it 0.70 -> 0.24 MB."""
        question = ("mentioning", name)
        units = self._files(question, lambda: (_word_selector(name),), spelling=name)
        return self._answer(question, units)  # type: ignore[return-value]

    def module_is_public(self, module: str) -> bool:
        """Whether some `mod module` declaration of the crate is `pub` (or none is found: a
        `#[path]` module, read as public); `false` when every one is private or `pub(crate)`."""
        name = re.escape(module.encode())
        declaration = re.compile(
            rb"(?m)^[ \t]*(pub\s*(?:\([^)]*\))?\s*)?mod\s+(?:r#)?" + name + rb"\s*[;{]"
        )
        # The files are picked by the declaration without what comes before `mod` (a superset
        # that starts with a literal, so `re` scans for it instead of trying every line).
        texts = self._texts(
            ("pub-mod", module),
            lambda: (
                crate_reads.search(_after_keyword("mod", rb"\s+(?:r#)?" + name + rb"\s*[;{]")),
            ),
        )
        found = self._answers.get(("pub-mod", module))
        if found is None:
            visibilities = [
                (match.group(1) or b"").strip()
                for data in texts()
                for match in declaration.finditer(data)
            ]
            found = not visibilities or any(v == b"pub" for v in visibilities)
            self._answers[("pub-mod", module)] = found
        return bool(found)

    def reexports(self, name: str, module: str) -> list[str]:
        """Files (relative paths) with a `pub use` naming `name`, or a glob `pub use` of
        `module`."""
        pattern = _after_keyword(
            "pub",
            rb"\s+use\s[^;]*("
            + word_inside(name.encode())
            + rb"|\b"
            + re.escape(module.encode())
            + rb"::\*)",
        )
        question = ("pub-use", f"{module}::{name}")
        units = self._files(question, lambda: (crate_reads.search(pattern),))
        return self._answer(question, units)  # type: ignore[return-value]

    def implements(self, type_name: str, trait: str) -> bool:
        """Whether the crate has `impl … trait for type_name` (by last path segment).

        A crate none of whose files spells the trait's name has no such impl: that is asked
        first, from the text alone. Looking up a type's impls parses the files that hold
        them; on wasmtime, which has no `FromNapiValue`, `napi-external-by-value` did so for
        each of 336 type aliases."""
        last = trait.rsplit("::", 1)[-1]
        if not self.spells(last):
            return False
        question = ("impls", type_name)
        units = self._files_declaring(question, (IMPL_FOR,))
        return last in self._answer(question, units)

    def spells(self, word: str) -> bool:
        """Whether a file of the crate holds `word` anywhere in its text (a "no" is noted as a
        read of every file, `spells_any`)."""
        return self.spells_any(("spells", word), (word,))

    def spells_any(self, question: Question, words: tuple[str, ...]) -> bool:
        """Whether a file of the crate holds one of `words` anywhere in its text. Only a no is
        noted as a read (of the files that spell one: none), so that a file that comes to spell
        one redoes the outcome; a yes decides nothing itself (the question asked next does),
        and noting it would make a change to any file that says `Drop` redo every outcome that
        asked about `Drop`."""
        found = self._spelled.get(question)
        if found is None:
            spelled_words = [word.encode("utf-8") for word in words]
            pattern = b"|".join(map(re.escape, spelled_words))
            selector = crate_reads.search(re.compile(pattern))
            texts = (data for data, _ in self.sources) if self.sources is not None else None
            if texts is None:
                texts = (unit.data for unit in self.load())
            # What the selector's regex (literal words) finds, found by substring searches:
            # `re` tries an alternation at every byte, `in` scans with memchr (0.08 s of a
            # cold scan of wasmtime, mostly spent on crates that spell none of the words).
            found = self._spelled[question] = (
                selector,
                any(word in data for data in texts for word in spelled_words),
            )
        selector, spelled = found
        if not spelled:
            self.recorder.note(selector, ())
            self.recorder.note_question(question, (selector,))
        return spelled

    def supertraits(self, trait: str) -> list[str]:
        """Bounds declared on a trait of this crate (`trait A: Send + Sync`), read from the
        items of its declaring files that spell `trait` (every trait is in one): embassy's
        HAL crates parsed whole 121 files, 0.14 s, for them."""
        question = ("supertraits", trait)
        units = self._files_declaring(question, _TRAIT_DECLARATIONS, spelling="trait")
        return self._answer(question, units)  # type: ignore[return-value]

    def files_allowing(self, lint: str) -> list[str]:
        """The files whose own inner attributes allow or expect `lint` (`#![allow(clippy::…)]`
        before their items), found from the text first, then read from the parse of the items
        that spell the lint's name (`items_spelling`): an inner attribute stands before the
        file's first item, in the piece that spells it. wgpu parsed 125 files whole for
        `clippy::style` and `clippy::all` (0.81 MB)."""
        question = ("allowing", lint)
        units = self._files(
            question,
            lambda: (crate_reads.search(_allow_spelled(lint, b"!")),),
            spelling=lint.rsplit("::", 1)[-1].strip(),
        )
        return self._answer(question, units)  # type: ignore[return-value]

    def modules_allowing(self, lint: str) -> list[str]:
        """The out-of-line modules the crate's files declare where `lint` is allowed, by the
        path their files start with (`lint_attributes.modules_allowing`); found from the text
        first (an `allow` or `expect` of the lint anywhere, in a file that says `mod`: one that
        declares no module gives none), then read from the parse."""
        question = ("allowing-mods", lint)
        units = self._files(
            question,
            lambda: (crate_reads.search_spelling(_allow_spelled(lint, b"!?"), "mod"),),
        )
        return self._answer(question, units)  # type: ignore[return-value]

    def declares_trait(self, trait: str) -> bool:
        """Whether the crate declares `trait NAME` (by the path's last segment)."""
        question = ("trait", trait)
        units = self._files_declaring(question, _TRAIT_DECLARATIONS, spelling="trait")
        return bool(self._answer(question, units))

    def is_static_mut(self, name: str) -> bool:
        """Whether the crate declares `static mut NAME` (by the path's last segment)."""
        last = name.rsplit("::", 1)[-1].strip()
        if not _IDENTIFIER.fullmatch(last):
            return False  # `self.x`, `a[i]`: an expression is never a static's name
        question = ("static-mut", last)
        units = self._files_declaring(question, (STATIC_MUT_DECLARATION,))
        return bool(self._answer(question, units))

    def type_alias(self, name: str) -> Node | None:
        """The aliased type of the crate's `type NAME = …;` when exactly one such alias exists
        (a name aliased differently under several `cfg`s is left unresolved)."""
        question = ("type-alias", name)
        units = self._files_declaring(question, _TYPE_ALIAS_DECLARATIONS)
        aliases: list[Node] = self._answer(question, units)  # type: ignore[assignment]
        texts = {node_text(a) for a in aliases}
        return aliases[0] if len(texts) == 1 else None

    def mentions(self, name: str) -> list[tuple[ParsedFile, Node]]:
        """Every identifier node spelled `name` in the crate's files (calls, fields, types),
        found from the text first so that only the items that say the word are parsed
        (`items_spelling`; deno's parses for it 1.65 -> 1.25 MB).

        Nothing for a tuple field's index (`self.0`), which no identifier spells: asked of `0`,
        every file holding the number was parsed for nothing (rust-openssl: 0.08 s)."""
        if name[:1].isdigit():
            return []
        question = ("mentions", name)
        units = self._files(question, lambda: (_word_selector(name),), spelling=name)
        return self._answer(question, units)  # type: ignore[return-value]

    def safe_method_uses_unsafe(self, type_name: str) -> bool:
        """Whether a method of `type_name` (in an inherent or trait impl anywhere in the crate)
        that is not an `unsafe fn` holds an `unsafe` block: the type's safe API relies on what
        its fields point to."""
        question = ("safe-unsafe", type_name)
        units = self._files(
            question,
            lambda: (crate_reads.impl_header_names(_IMPL_HEADER, type_name),),
        )
        methods: list[Node] = self._answer(question, units)  # type: ignore[assignment]
        return any(_safe_method_uses_unsafe(function) for function in methods)

    def _answer(self, question: Question, units: Callable[[], list[ParsedFile]]) -> list[object]:
        """The question's answer, made file by file: what each file picked for it gives
        (`_GIVES`), in crate order. The files that gave something are noted: a change to
        another file it read cannot alter the answer if that file gives nothing still
        (`crate_reads`)."""
        found = self._answers.get(question)
        if found is None:
            gives = _GIVES[question[0]]
            per_file = [(unit.rel_path, gives(unit, question[1])) for unit in units()]
            found = [item for _, items in per_file for item in items]
            self._answers[question] = found
            self._loud[question] = frozenset(path for path, items in per_file if items)
        self.recorder.note_loud(question, self._loud[question])
        return found  # type: ignore[return-value]

    def _files_declaring(
        self,
        question: Question,
        declarations: tuple[re.Pattern[bytes], ...],
        spelling: str | None = None,
    ) -> Callable[[], list[ParsedFile]]:
        """Files whose text declares the question's name with this kind of declaration (with
        `spelling`, only their items that spell the word need be parsed)."""
        name = question[1]
        return self._files(
            question,
            lambda: tuple(crate_reads.declares(d, name) for d in declarations),
            spelling,
        )

    def _files(
        self,
        key: Question,
        selectors: Callable[[], tuple[Selector, ...]],
        spelling: str | None = None,
    ) -> Callable[[], list[ParsedFile]]:
        """The files the selectors pick, parsed when the thunk is called (an answer already
        known needs no parse, but its reads are noted all the same). `key`, the question,
        names the selection, so asking again costs a lookup, not new selectors. `spelling`:
        the answer is read from the items that spell that word (`items_spelling`)."""
        chosen, picks = self._selection(key, selectors)
        if picks is None:
            return lambda: [u for u in self.load() if any(s.matches(u.data) for s in chosen)]
        sources = self.sources
        assert sources is not None
        items_spelling = self.items_spelling
        if spelling is not None and items_spelling is not None:
            return lambda: [items_spelling(i, spelling) for i in picks]
        return lambda: [sources[i][1]() for i in picks]

    def _texts(
        self, key: Question, selectors: Callable[[], tuple[Selector, ...]]
    ) -> Callable[[], list[bytes]]:
        if self.sources is None:
            units = self._files(key, selectors)
            return lambda: [unit.data for unit in units()]
        _, picks = self._selection(key, selectors)
        sources = self.sources
        assert picks is not None
        return lambda: [sources[i][0] for i in picks]

    def _selection(
        self, key: Question, selectors: Callable[[], tuple[Selector, ...]]
    ) -> tuple[tuple[Selector, ...], list[int] | None]:
        """The selectors of `key` and the files they pick, in crate order (None: no texts, so
        the whole crate), noted in the current recorder."""
        found = self._selections.get(key)
        if found is None:
            made = selectors()
            picked = tuple((s, self._pick(s)) for s in made) if self.sources is not None else ()
            union = sorted({i for _, p in picked for i in p}) if self.sources is not None else None
            found = self._selections[key] = _Selection(made, picked, union)
        if found.picks is None:
            self.recorder.whole_crate = True
        for selector, picked_by_one in found.picked:
            self.recorder.note(selector, picked_by_one)
        self.recorder.note_question(key, found.selectors)
        return found.selectors, found.picks

    def _pick(self, selector: Selector) -> list[int]:
        """The indices of the files a selector picks. `declares` and `impl-header-names` are
        answered from a name → files table built by one pass of their regex over the crate,
        which picks exactly what `Selector.matches` would (`tests/engine/test_crate_reads.py`)."""
        assert self.sources is not None
        picked = self._picked.get(selector)
        if picked is not None:
            return picked
        if selector.kind in (crate_reads.DECLARES, crate_reads.IMPL_HEADER_NAMES):
            table = self._table(selector)
            picked = list(dict.fromkeys(table.get(selector.name, [])))
        else:
            picked = [i for i, (data, _) in enumerate(self.sources) if selector.matches(data)]
        self._picked[selector] = picked
        return picked

    def _table(self, selector: Selector) -> dict[str, list[int]]:
        assert self.sources is not None
        key = selector.kind.encode() + b"\0" + selector.pattern.encode("latin-1")
        table = self._tables.get(key)
        if table is None:
            table = {}
            regex = re.compile(selector.pattern.encode("latin-1"))
            headers = selector.kind == crate_reads.IMPL_HEADER_NAMES
            for index, (data, _) in enumerate(self.sources):
                for match in regex.finditer(data):
                    words = (
                        _IDENTIFIER_BYTES.findall(match.group(1)) if headers else [match.group(1)]
                    )
                    for word in words:
                        table.setdefault(word.decode("utf-8", "replace"), []).append(index)
            self._tables[key] = table
        return table


@dataclass(frozen=True)
class _Selection:
    selectors: tuple[Selector, ...]
    picked: tuple[tuple[Selector, list[int]], ...]  # what each selector picks
    picks: list[int] | None  # their union, in crate order; None: the whole crate


def _word_selector(name: str) -> Selector:
    return crate_reads.search(re.compile(whole_word(name.encode("utf-8"))))


def _definitions_in(unit: ParsedFile) -> list[TypeDefinition]:
    memo = unit.index_memo.get("definitions")
    if memo is not None:
        return memo  # type: ignore[return-value]
    out = []
    for _, captures in QueryCursor(_definitions_query()).matches(unit.tree.root_node):
        name = node_text(captures["name"][0])
        out.append(TypeDefinition(name, captures["item"][0], unit))
    unit.index_memo["definitions"] = out
    return out


def _methods_in(unit: ParsedFile, type_name: str) -> list[Node]:
    """`fn` items of every impl (inherent or trait) whose self type is `type_name`."""
    out = []
    for _, captures in QueryCursor(_methods_query()).matches(unit.tree.root_node):
        if type_base_name(captures["type"][0]) == type_name:
            out.extend(captures["function"])
    return out


def _safe_method_uses_unsafe(function: Node) -> bool:
    modifiers = next((c for c in function.children if c.type == "function_modifiers"), None)
    if modifiers is not None and any(c.type == "unsafe" for c in modifiers.children):
        return False
    body = function.child_by_field_name("body")
    if body is None:
        return False
    return bool(QueryCursor(_unsafe_blocks_query()).captures(body))


def _impl_captures(unit: ParsedFile) -> list[dict[str, list[Node]]]:
    memo = unit.index_memo.get("impls")
    if memo is None:
        root = unit.tree.root_node
        memo = unit.index_memo["impls"] = [c for _, c in QueryCursor(_impls_query()).matches(root)]
    return memo  # type: ignore[return-value]


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


# --- What one file gives to each question's answer ------------------------------------------
#
# An answer is the concatenation, in crate order, of what each file its selectors picked gives
# (`CrateIndex._answer`). The same functions tell a rescan whether a changed file gives
# anything now (`file_contributes`): one that gave nothing and gives nothing cannot have
# changed an answer.


def _mentions_in(unit: ParsedFile, name: str) -> list[tuple[ParsedFile, Node]]:
    word = re.compile(whole_word(name.encode("utf-8")))
    root = unit.tree.root_node
    nodes = []
    for match in word.finditer(unit.data):
        node = root.descendant_for_byte_range(match.start(), match.end())
        if node is not None and node.type in _NAME_KINDS:
            nodes.append((unit, node))
    return nodes


def _impl_blocks_of(unit: ParsedFile, type_name: str) -> list[Node]:
    return [
        captures["item"][0]
        for _, captures in QueryCursor(_impl_blocks_query()).matches(unit.tree.root_node)
        if type_base_name(captures["type"][0]) == type_name
    ]


def _traits_named(unit: ParsedFile, trait: str) -> list[Node]:
    return [
        captures["name"][0]
        for _, captures in QueryCursor(_traits_query()).matches(unit.tree.root_node)
        if node_text(captures["name"][0]) == trait
    ]


def _grouped(
    unit: ParsedFile, key: str, pairs: Callable[[ParsedFile], Iterable[tuple[str, object]]]
) -> dict[str, list[object]]:
    """`pairs(unit)` grouped by name, in their order, made once per file: a file with
    thousands of impls (ash's Vulkan bindings) was read again for each type asked about."""
    grouped = unit.index_memo.get(key)
    if grouped is None:
        made: dict[str, list[object]] = {}
        for name, value in pairs(unit):
            made.setdefault(name, []).append(value)
        unit.index_memo[key] = grouped = made
    return grouped  # type: ignore[return-value]


def _named(
    key: str, pairs: Callable[[ParsedFile], Iterable[tuple[str, object]]]
) -> Callable[[ParsedFile, str], Sequence[object]]:
    """What a file gives to a question about one name: its pairs with that name."""
    return lambda unit, name: _grouped(unit, key, pairs).get(name, [])


def _allow_spelled(lint: str, bang: bytes) -> re.Pattern[bytes]:
    """What a file's text must hold to `allow` or `expect` `lint`: an attribute `#` + `bang`
    (`!` inner only, `!?` inner or outer) whose list spells it (spaces around `::` allowed)."""
    spelled = re.escape(lint).replace("::", r"\s*::\s*").encode()
    return re.compile(rb"#" + bang + rb"\[\s*(?:allow|expect)\s*\([^\]]*" + spelled)


_Gives = Callable[[ParsedFile, str], Sequence[object]]
_DEFINITIONS_BY_NAME = _named(
    "definitions by name", lambda u: ((d.name, d) for d in _definitions_in(u))
)
_GIVES: dict[str, _Gives] = {
    "definitions": _DEFINITIONS_BY_NAME,
    # In a file that writes the name with generics: its definitions of the name, all of them
    # (a superset of those with generics, as the question's selector is of their files).
    "generic-definitions": _DEFINITIONS_BY_NAME,
    "impls-of": _impl_blocks_of,
    "mentioning": lambda unit, _name: _definitions_in(unit),
    "pub-use": lambda unit, _name: [unit.rel_path],
    "impls": _named("traits by self type", _impls_in),
    "supertraits": _named("supertraits by trait", _supertraits_in),
    "allowing": lambda unit, lint: (
        [unit.rel_path] if allows_at_top(unit.tree.root_node, lint) else []
    ),
    "allowing-mods": lambda unit, lint: modules_allowing(unit.rel_path, unit.tree.root_node, lint),
    "trait": _traits_named,
    "static-mut": _named("static muts", lambda u: ((n, n) for n in sorted(_static_muts_in(u)))),
    "type-alias": _named("aliases by name", _aliases_in),
    "mentions": _mentions_in,
    "safe-unsafe": _methods_in,
    # `spells` (for `implements`, `holds "Name"`), noted only when no file of the crate spelled
    # the word: a file that spells it now changes the answer, and no other does.
    "spells": lambda unit, word: [word] if word.encode("utf-8") in unit.data else [],
}


def parsed(rel_path: str, data: bytes) -> ParsedFile:
    """A file's text parsed, to ask it questions (`gives_something`)."""
    return ParsedFile(rel_path, "", data, parse_rust(data))


def gives_something(unit: ParsedFile, question: Question) -> bool:
    """Whether the file gives something to the question's answer (a question not answered
    file by file, `pub-mod`, counts as given)."""
    kind, argument = question
    gives = _GIVES.get(kind)
    return gives is None or bool(gives(unit, argument))


# --- Name resolution for a type named without its path (`-> Arc<Inner>`) ---------------------
#
# `definitions(name)` finds every type of that name in the crate. A crate often has several
# (tokio has about fifteen `Inner`s); the one a file means is the one in its own module, or the
# one its `use` declarations import. `visible_definitions` narrows to those, and callers treat
# what stays ambiguous as unknown.

_PATH_PREFIXES = frozenset({"crate", "self", "super"})


def module_chain(node: Node) -> tuple[str, ...]:
    """Names of the inline `mod name { … }` blocks around a node, outermost first."""
    names: list[str] = []
    current = node.parent
    while current is not None:
        if current.type == "mod_item":
            name = current.child_by_field_name("name")
            if name is not None:
                names.append(node_text(name))
        current = current.parent
    return tuple(reversed(names))


def file_module_path(rel_path: str) -> tuple[str, ...]:
    """The module path a file's position suggests: `tokio/src/sync/rwlock.rs` → sync, rwlock
    (`mod.rs`, `lib.rs` and `main.rs` name their folder's module; a file outside `src/` is read
    as a crate root)."""
    parts = rel_path.replace("\\", "/").split("/")
    if "src" not in parts:
        return ()  # a target root outside `src/` (tests/, benches/, build.rs, a snippet)
    parts = parts[len(parts) - parts[::-1].index("src") :]
    if not parts:
        return ()
    last = parts[-1].removesuffix(".rs")
    parts = parts[:-1] if last in ("mod", "lib", "main") else [*parts[:-1], last]
    return tuple(parts)


def _flatten_use(node: Node, prefix: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """(full path, name it is visible as) for each item a use tree imports; globs are left out."""
    kind = node.type
    if kind in ("identifier", "type_identifier", "crate", "self", "super"):
        segment = node_text(node)
        if kind == "self" and prefix:  # `use a::b::{self}` imports `b`
            return [(prefix, prefix[-1])]
        return [((*prefix, segment), segment)]
    if kind == "scoped_identifier":
        path = tuple(s for s in node_text(node).replace(" ", "").split("::") if s)
        return [((*prefix, *path), path[-1])] if path else []
    if kind == "use_as_clause":
        inner = node.child_by_field_name("path")
        alias = node.child_by_field_name("alias")
        if inner is None or alias is None:
            return []
        return [(path, node_text(alias)) for path, _ in _flatten_use(inner, prefix)]
    if kind == "scoped_use_list":
        path_node = node.child_by_field_name("path")
        path = (
            tuple(s for s in node_text(path_node).replace(" ", "").split("::") if s)
            if path_node is not None
            else ()
        )
        listed = node.child_by_field_name("list")
        return _flatten_use(listed, (*prefix, *path)) if listed is not None else []
    if kind == "use_list":
        out: list[tuple[tuple[str, ...], str]] = []
        for child in node.named_children:
            out.extend(_flatten_use(child, prefix))
        return out
    return []  # `use a::*`: a glob says nothing about one name


def imported_paths(unit: ParsedFile, node: Node, name: str) -> list[tuple[str, ...]]:
    """Paths of the `use` declarations of the module `node` is in (the innermost inline `mod`,
    else the file's top level: a module does not see its parent's imports) that make `name`
    visible."""
    scope: Node = unit.tree.root_node
    current = node.parent
    while current is not None:
        body = current.child_by_field_name("body") if current.type == "mod_item" else None
        if body is not None:
            scope = body
            break
        current = current.parent
    out: list[tuple[str, ...]] = []
    for child in unit.top_level(scope):
        if child.type != "use_declaration":
            continue
        argument = child.child_by_field_name("argument")
        if argument is None:
            continue
        out.extend(path for path, local in _flatten_use(argument, ()) if local == name)
    return out


def _module_of(definition: TypeDefinition) -> tuple[str, ...]:
    return file_module_path(definition.unit.rel_path) + module_chain(definition.item)


def _imports_definition(
    path: tuple[str, ...], here: tuple[str, ...], there: tuple[str, ...]
) -> bool:
    """Whether `use PATH` written in module `here` names a type defined in module `there`."""
    segments = list(path[:-1])
    if segments and segments[0] == "crate":
        return tuple(segments[1:]) == there
    base = list(here)
    relative = False
    while segments and segments[0] in ("self", "super"):
        relative = True
        if segments.pop(0) == "super" and base:
            base.pop()
    if relative:
        return tuple(base + segments) == there
    # `use inner::Type` (2018 paths: a child module or an extern crate): a suffix match.
    return not segments or there[-len(segments) :] == tuple(segments)


def resolve_visible(
    found: list[TypeDefinition], unit: ParsedFile, node: Node
) -> list[TypeDefinition]:
    """The definitions among `found` (all of one name) that the code at `node` can mean.

    One candidate: it. Otherwise the one in the same module (same file, same inline `mod`s), else
    those a `use` in scope imports; if neither narrows it, every candidate (still ambiguous).
    """
    if len(found) <= 1:
        return found
    scope = module_chain(node)
    same = [d for d in found if d.unit.rel_path == unit.rel_path and module_chain(d.item) == scope]
    if same:
        return same
    name = found[0].name
    here = file_module_path(unit.rel_path) + scope
    imported = [
        d
        for path in imported_paths(unit, node, name)
        for d in found
        if _imports_definition(path, here, _module_of(d))
    ]
    unique = list({id(d.item): d for d in imported}.values())
    return unique or found
