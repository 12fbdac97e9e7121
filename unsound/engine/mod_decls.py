"""Out-of-line `mod name;` declarations in one parsed file, with what decides where their file is.

rustc finds a module's file from the declaration's name, its `#[path]` attribute, and the inline
modules (`mod a { … }`) around it; this module collects exactly those facts with one tree-sitter
query (in C) and a short walk up each hit's ancestors. Declarations inside macro invocations
(`cfg_if! { if #[cfg(unix)] { mod unix; } }`, very common) are token trees to tree-sitter; they are
found by a token scan and marked conditional, since which branch rustc takes depends on cfg.
Item-position `include!("file.rs")` calls are collected too: rustc reads those files as part of
the module, so their code is compiled code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from tree_sitter import Node, Query, QueryCursor, Tree

from unsound.dsl.rust_parser import parse_rust, rust_language
from unsound.dsl.word_regex import after_word
from unsound.engine.item_ranges import items_holding, parse_items

_DECLARATIONS = "(mod_item name: (identifier) @name !body) @decl"
_MACROS = "(macro_invocation (token_tree) @tokens)"
_INCLUDES = """
((macro_invocation macro: (identifier) @name (token_tree) @args) @call
 (#eq? @name "include"))
((macro_invocation macro: (scoped_identifier name: (identifier) @name) (token_tree) @args) @call
 (#eq? @name "include"))
"""
_MODULE_LEVEL = frozenset({"source_file", "declaration_list"})
# `mod name ;` with any whitespace or comments between the tokens: a file without one declares no
# out-of-line module, so it need not be parsed here (inline `mod tests { … }` does not match).
# A line comment must run to the end of its line: without that anchor `(//[^\n]*)*` can split
# `/// // …` in exponentially many ways and the search never ends when no `!`/`;` follows (a doc
# comment line that says "include" hung the scan of wasmtime).
_GAP = rb"(?:\s|//[^\n]*(?=\n|\Z)|/\*.*?\*/)*"
# Each regex starts with its literal word, which `re` scans for (`word_regex`).
# An identifier: ASCII, or any bytes of UTF-8 past ASCII (`mod café;` with a `#[path]`).
_NAME = rb"(?:r#)?(?:[A-Za-z_]|[\x80-\xff])(?:[A-Za-z0-9_]|[\x80-\xff])*"
_OUT_OF_LINE_MOD = re.compile(after_word(b"mod", rb"\b" + _GAP + _NAME + _GAP + b";"), re.S)
_INCLUDE_CALL = re.compile(after_word(b"include", _GAP + b"!"))
# `mod $name;` in a `macro_rules!` transcriber: the macro's calls declare modules.
_MACRO_MOD = re.compile(after_word(b"mod", rb"\b" + _GAP + rb"\$" + _NAME + _GAP + b";"), re.S)
# Either of the two: one scan of a file's `mod`s answers whether it may declare a module.
_ANY_MOD = re.compile(after_word(b"mod", rb"\b" + _GAP + rb"\$?" + _NAME + _GAP + b";"), re.S)
_MACRO_DEFINITIONS = "(macro_definition name: (identifier) @name) @definition"
# One query, its patterns in this order (`_FileNodes.of` reads them by index).
_FILE_QUERY = "\n".join((_DECLARATIONS, _MACROS, _INCLUDES, _MACRO_DEFINITIONS))
_DEFINITION_INDEX = 4  # after `mod name;`, macro token trees and the two `include!` shapes
_BLOCK_KINDS = frozenset({"block", "function_item", "closure_expression", "const_block"})
_COMMENTS = frozenset({"line_comment", "block_comment"})
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "0": "\0", "'": "'", '"': '"'}


@dataclass(frozen=True)
class InlineModule:
    """An enclosing `mod name { … }`; a `#[path]` on it replaces its folder."""

    name: str
    path: str | None
    in_block: bool = False  # inside a function body or other block of the file
    cfg_paths: tuple[str, ...] = ()  # `#[cfg_attr(…, path = "…")]` alternatives to its folder
    cfg: bool = False  # under `#[cfg]`: rustc may never look inside it


@dataclass(frozen=True)
class ModDecl:
    """One `mod name;` whose body lives in another file."""

    name: str  # raw identifiers unwrapped: `r#type` → `type`
    line: int  # 1-based, of the declaration (after its attributes)
    column: int  # 1-based, in code points
    enclosing: tuple[InlineModule, ...]  # outermost first
    path: str | None  # the first plain `#[path = "…"]`
    cfg_paths: tuple[str, ...]  # `#[cfg_attr(…, path = "…")]` alternatives
    in_block: bool  # declared inside a function body or other block
    conditional: bool  # under `#[cfg]` or inside a macro: rustc may never load it


@dataclass(frozen=True)
class Include:
    """An item-position `include!("file.rs")`: rustc reads that file as part of this module."""

    path: str  # relative to the folder of the file holding the invocation
    line: int
    column: int


@dataclass(frozen=True)
class DeclaringMacro:
    """A `macro_rules!` whose expansion declares out-of-line modules where it is called
    (`macro_mods`)."""

    name: str
    # `mod name;` written in its transcribers, with the inline modules around them there.
    literal: tuple[ModDecl, ...]
    # `mod $name;` in a transcriber: each identifier of a call's input may name a module.
    from_input: bool
    # `#[path = $p] mod $name;`: each string literal of a call's input may be a module's path.
    paths_from_input: bool = False


@dataclass(frozen=True)
class FileDecls:
    """What a file declares that loads other files: its `mod name;` and its `include!`s, and
    the macros it defines that declare modules wherever the crate calls them."""

    mods: tuple[ModDecl, ...]
    includes: tuple[Include, ...]
    macros: tuple[DeclaringMacro, ...] = ()


def file_declarations(tree: Tree, data: bytes) -> FileDecls:
    wants_mods = _found_at_word(data, b"mod", _ANY_MOD)
    wants_includes = _INCLUDE_CALL.search(data) is not None
    if not (wants_mods or wants_includes):
        return FileDecls((), ())
    found = _FileNodes.of(tree)
    return FileDecls(
        tuple(mod_declarations(found, data)) if wants_mods else (),
        tuple(include_declarations(found, data)) if wants_includes else (),
        tuple(declaring_macros(found, data)) if wants_mods else (),
    )


def declaring_macros(found: _FileNodes, data: bytes) -> Iterator[DeclaringMacro]:
    """The macros the file defines that declare modules: a `mod name;` written in one of
    their transcribers (libc's `prelude!`), or `mod $name;`."""
    for definition, name_node in found.definitions:
        start, end = definition.start_byte, definition.end_byte
        literal: list[ModDecl] = []
        if _OUT_OF_LINE_MOD.search(data, start, end):
            for rule in definition.children:
                transcriber = (
                    rule.child_by_field_name("right") if rule.type == "macro_rule" else None
                )
                if transcriber is not None:
                    literal.extend(_token_tree_declarations(transcriber, data, (), False))
        from_input = _MACRO_MOD.search(data, start, end) is not None
        if literal or from_input:
            name = source_text(name_node, data)
            paths = from_input and _paths_from_input(definition, data)
            yield DeclaringMacro(name, tuple(literal), from_input, paths)


def declarations_of(data: bytes, whole: Tree | None = None) -> FileDecls:
    """`file_declarations` without a tree to keep: only the top-level items that hold a match
    of the text regexes are parsed, or else the text up to the line of the last match, when
    that parses without an error (`whole`: the whole file's tree, when one was made already,
    for the other case).

    Every declaration (`mod name;` as an item or in a macro's tokens, `include!`, `mod $name;`
    in a macro's transcriber) is a match of the text regexes, so it lies in an item that holds
    one, with all that decides its file: its attributes, the inline modules and blocks around
    it. A parse of those items (`item_ranges.parse_items`) proves its cuts; rust-analyzer ends
    most files with `mod tests;`, so a prefix there was nearly the whole file (its discovery's
    CPU: 0.61 s with prefixes, 0.44 s with items). A prefix without an ERROR or MISSING node
    closes every brace it opens and ends between top-level items: its items are the full
    file's, with the same ancestors. Where neither parse proves itself (a match in a comment or
    a string that ends inside an item) the whole file is parsed.
    """
    # `mod $name;` too: its macro declares modules wherever it is called (`macro_mods`).
    regexes = (_OUT_OF_LINE_MOD, _INCLUDE_CALL, _MACRO_MOD)
    spans = [m.span() for regex in regexes for m in regex.finditer(data)]
    if not spans:
        return FileDecls((), ())
    items = items_holding(data, [position for span in spans for position in (span[0], span[1] - 1)])
    if items is not None:
        tree = parse_items(data, items)
        if tree is not None:
            return file_declarations(tree, data)
    line_end = data.find(b"\n", max(end for _, end in spans))
    cut = len(data) if line_end == -1 else line_end + 1
    if cut < len(data):
        prefix = data[:cut]
        tree = parse_rust(prefix)
        if not tree.root_node.has_error:
            return file_declarations(tree, prefix)
    return file_declarations(whole if whole is not None else parse_rust(data), data)


@cache
def file_query(source: str) -> Query:
    return Query(rust_language(), source)


@dataclass
class _FileNodes:
    """The nodes of one file the declarations are read from, found in one pass of one query
    (each pass walks the whole tree, which costs more than what its patterns add)."""

    declarations: list[Node]  # `mod name;` items
    macro_tokens: list[Node]  # the token tree of each macro invocation
    includes: list[tuple[Node, Node]]  # `include!` calls and their token trees
    definitions: list[tuple[Node, Node]]  # `macro_rules!` definitions and their names
    root: Node | None = None

    @classmethod
    def of(cls, tree: Tree) -> _FileNodes:
        found = cls([], [], [], [], tree.root_node)
        for index, captures in QueryCursor(file_query(_FILE_QUERY)).matches(tree.root_node):
            if index == 0:
                found.declarations.append(captures["decl"][0])
            elif index == 1:
                found.macro_tokens.append(captures["tokens"][0])
            elif index == _DEFINITION_INDEX:
                found.definitions.append((captures["definition"][0], captures["name"][0]))
            else:
                found.includes.append((captures["call"][0], captures["args"][0]))
        return found


def may_load_files(data: bytes) -> bool:
    """Whether the text may hold `mod name;` or `include!`: only then is a parse needed here."""
    return _found_at_word(data, b"mod", _ANY_MOD) or _found_at_word(data, b"include", _INCLUDE_CALL)


def _found_at_word(data: bytes, word: bytes, regex: re.Pattern[bytes]) -> bool:
    """`regex.search(data)` for a regex that starts with `word`, tried only where the word is:
    `bytes.find` is a memchr scan, while a search for `\\bmod` tries every byte of the file."""
    start = data.find(word)
    while start != -1:
        if regex.match(data, start):
            return True
        start = data.find(word, start + 1)
    return False


def mod_declarations(found: _FileNodes, data: bytes) -> list[ModDecl]:
    """Every out-of-line module declaration in the file, in source order."""
    decls = list(_item_declarations(found.declarations, data))
    decls.extend(_macro_declarations(found.macro_tokens, data))
    decls.sort(key=lambda decl: (decl.line, decl.column))
    return decls


def input_declarations(
    tokens: Node,
    data: bytes,
    enclosing: tuple[InlineModule, ...],
    in_block: bool,
    paths: bool = False,
) -> Iterator[ModDecl]:
    """Each identifier in a call's input (at any depth), as a module a `mod $name;` macro may
    declare from it; with `paths` (`#[path = $p] mod $name;`), each string literal too, as
    the path of a module named by the identifier before it."""
    stack = [tokens]
    while stack:
        name: Node | None = None
        for child in stack.pop().children:
            if child.type == "token_tree":
                stack.append(child)
            elif child.type == "identifier":
                name = child
                yield _token_declaration(child, data, enclosing, in_block)
            elif paths and name is not None:
                path = _literal(child, data)
                if path is not None:
                    yield _token_declaration(name, data, enclosing, in_block, path, at=child)


def include_declarations(found: _FileNodes, data: bytes) -> list[Include]:
    """`include!` calls with a literal path at module level (where they bring in items).

    Expression-position includes (`let table = include!("data.rs");`) hold data, not items, and
    computed paths (`concat!(env!("OUT_DIR"), …)`) name build output; both are left out.
    """
    includes: list[Include] = []
    for call, args in found.includes:
        if not at_module_level(call):
            continue
        path = _include_path(args, data)
        if path is not None:
            line, column = source_position(call, data)
            includes.append(Include(path, line, column))
    includes.extend(_macro_includes(found.macro_tokens, data))
    includes.sort(key=lambda include: (include.line, include.column))
    return includes


def _include_path(args: Node, data: bytes) -> str | None:
    """The literal path of `include!("…")`'s arguments, unless it names a C or C++ header:
    `#[cxx::bridge]` modules say `include!("shim.h")` for C++, which rustc never reads."""
    inner = [child for child in args.children if child.type not in ("(", ")", ",")]
    path = _literal(inner[0], data) if len(inner) == 1 else None
    if path is not None and path.lower().endswith(_HEADER_SUFFIXES):
        return None
    return path


_HEADER_SUFFIXES = (".h", ".hh", ".hpp", ".hxx", ".h++")
# Tokens after which an `include!` in a macro's input starts an item (`cfg_if! { if #[cfg(x)]
# { include!("a.rs"); } }`), not an expression (`static T: X = include!("t.rs");`).
_ITEM_STARTS = frozenset({"{", ";", "}"})


def _macro_includes(roots: list[Node], data: bytes) -> Iterator[Include]:
    """`include!("…");` written in item position inside macro invocations (each token tree, at
    any depth): the invocation expands to items, the included file's among them."""
    for root in roots:
        if not _INCLUDE_CALL.search(data, root.start_byte, root.end_byte):
            continue
        stack = [root]
        while stack:
            children = stack.pop().children
            stack.extend(child for child in children if child.type == "token_tree")
            for index, child in enumerate(children[:-2]):
                bang, args = children[index + 1], children[index + 2]
                if not (
                    child.type == "identifier"
                    and source_text(child, data) == "include"
                    and bang.type == "!"
                    and args.type == "token_tree"
                    and starts_item(children[:index], data)
                ):
                    continue
                path = _include_path(args, data)
                if path is not None:
                    line, column = source_position(child, data)
                    yield Include(path, line, column)


def starts_item(before: list[Node], data: bytes) -> bool:
    """Whether the tokens before a macro's `include` leave it at the start of an item: nothing,
    a delimiter or `;`, a `{ … }` group, or an attribute (`#[cfg(x)]`), comments skipped."""
    index = len(before) - 1
    while index >= 0 and before[index].type in _COMMENTS:
        index -= 1
    if index < 0:
        return True
    token = before[index]
    if token.type in _ITEM_STARTS:
        return True
    if token.type == "token_tree":
        text = source_text(token, data)
        return text[:1] == "{" or (text[:1] == "[" and index > 0 and before[index - 1].type == "#")
    return False


def at_module_level(call: Node) -> bool:
    parent = call.parent
    if parent is not None and parent.type == "expression_statement":
        parent = parent.parent
    return parent is not None and parent.type in _MODULE_LEVEL


def _item_declarations(nodes: list[Node], data: bytes) -> Iterator[ModDecl]:
    for node in nodes:
        name = node.child_by_field_name("name")
        if name is None:  # pragma: no cover - the query requires it
            continue
        attrs = _outer_attributes(node)
        path, alternatives = _path_attributes(attrs, data)
        enclosing, in_block = declaration_context(node, data)
        line, column = source_position(node, data)
        yield ModDecl(
            name=_ident(source_text(name, data)),
            line=line,
            column=column,
            enclosing=enclosing,
            path=path,
            cfg_paths=alternatives,
            in_block=in_block,
            conditional=any(_attr_name(attr, data) == "cfg" for attr in attrs)
            or any(module.cfg for module in enclosing),
        )


def _path_attributes(attrs: list[Node], data: bytes) -> tuple[str | None, tuple[str, ...]]:
    """The first plain `#[path = "…"]` of an item's attributes, and its `cfg_attr(…, path =
    "…")` alternatives."""
    parsed = [_path_attr(attr, data) for attr in attrs]
    plain = [value for is_plain, value in parsed if is_plain and value is not None]
    alternatives = [value for is_plain, value in parsed if not is_plain and value is not None]
    return (plain[0] if plain else None), tuple(alternatives)


def _outer_attributes(node: Node) -> list[Node]:
    """The `attribute` nodes written before an item (tree-sitter makes them its siblings)."""
    out: list[Node] = []
    sibling = node.prev_sibling
    while sibling is not None and (sibling.type == "attribute_item" or sibling.type in _COMMENTS):
        if sibling.type == "attribute_item":
            out.extend(child for child in sibling.named_children if child.type == "attribute")
        sibling = sibling.prev_sibling
    out.reverse()
    return out


def _attr_name(attr: Node, data: bytes) -> str:
    first = attr.named_children[0] if attr.named_children else None
    return source_text(first, data) if first is not None and first.type == "identifier" else ""


def _path_attr(attr: Node, data: bytes) -> tuple[bool, str | None]:
    """(is a plain `#[path]`, its value) — or (False, value) for `cfg_attr(…, path = "…")`."""
    name = _attr_name(attr, data)
    if name == "path":
        value = attr.child_by_field_name("value")
        return True, _literal(value, data) if value is not None else None
    if name == "cfg_attr":
        tokens = next((c for c in attr.named_children if c.type == "token_tree"), None)
        return False, _token_path(tokens, data) if tokens is not None else None
    return False, None


def _token_path(tokens: Node, data: bytes) -> str | None:
    """The string after `path =` in a token tree (`cfg_attr(unix, path = "u.rs")`), at any
    depth: `cfg_attr(a, cfg_attr(b, path = "x.rs"))` nests one `cfg_attr` in another."""
    children = tokens.children
    for index in range(len(children) - 2):
        first, equals, value = children[index : index + 3]
        if first.type == "identifier" and source_text(first, data) == "path" and equals.type == "=":
            return _literal(value, data)
    for child in children:
        if child.type == "token_tree":
            found = _token_path(child, data)
            if found is not None:
                return found
    return None


def declaration_context(node: Node, data: bytes) -> tuple[tuple[InlineModule, ...], bool]:
    """The inline modules around `node` (outermost first) and whether any block encloses it."""
    modules: list[tuple[Node, int]] = []  # innermost first, with the blocks below each
    blocks = 0
    parent = node.parent
    while parent is not None:
        if parent.type in _BLOCK_KINDS:
            blocks += 1
        if parent.type == "mod_item" and parent.child_by_field_name("body") is not None:
            modules.append((parent, blocks))
        parent = parent.parent
    # A module is in a block when a block lies above it: more blocks in all than below it.
    chain = [_inline_module(item, data, in_block=blocks > below) for item, below in modules]
    chain.reverse()
    return tuple(chain), blocks > 0


def _inline_module(item: Node, data: bytes, *, in_block: bool) -> InlineModule:
    name = item.child_by_field_name("name")
    attrs = _outer_attributes(item)
    path, alternatives = _path_attributes(attrs, data)
    return InlineModule(
        name=_ident(source_text(name, data)) if name is not None else "",
        path=path,
        in_block=in_block,
        cfg_paths=alternatives,
        cfg=any(_attr_name(attr, data) == "cfg" for attr in attrs),
    )


def _macro_declarations(roots: list[Node], data: bytes) -> Iterator[ModDecl]:
    """`mod name;` written inside macro invocations (each token tree, at any depth).

    `mod name { … }` inside the tokens is an inline module there too (tokio's
    `cfg_aio! { pub mod bsd { mod poll_aio; } }` loads `bsd/poll_aio.rs`), so it is tracked.
    """
    for root in roots:
        if _OUT_OF_LINE_MOD.search(data, root.start_byte, root.end_byte):
            yield from _token_tree_declarations(root, data, *declaration_context(root, data))


def token_groups(
    root: Node, data: bytes, outer: tuple[InlineModule, ...]
) -> Iterator[tuple[list[Node], tuple[InlineModule, ...]]]:
    """Each token tree in `root` (itself included, at any depth) as its list of tokens, with the
    inline modules around it: `outer`, then each `mod name { … }` written in the tokens."""
    stack: list[tuple[Node, tuple[InlineModule, ...]]] = [(root, outer)]
    while stack:
        tokens, enclosing = stack.pop()
        children = tokens.children
        inline = _token_inline_modules(children, data)
        stack.extend(
            (child, (*enclosing, *inline.get(index, ())))
            for index, child in enumerate(children)
            if child.type == "token_tree"
        )
        yield children, enclosing


def _token_tree_declarations(
    root: Node, data: bytes, outer: tuple[InlineModule, ...], in_block: bool
) -> Iterator[ModDecl]:
    """`mod name;` in one token tree (at any depth), inside the inline modules `outer`."""
    for children, enclosing in token_groups(root, data, outer):
        for index, child in enumerate(children[:-2]):
            name, semicolon = children[index + 1], children[index + 2]
            if child.type == "mod" and name.type == "identifier" and semicolon.type == ";":
                path, cfg_paths = _token_attr_paths(children[:index], data)
                yield _token_declaration(name, data, enclosing, in_block, path, cfg_paths, at=child)


def _token_declaration(
    name: Node,
    data: bytes,
    enclosing: tuple[InlineModule, ...],
    in_block: bool,
    path: str | None = None,
    cfg_paths: tuple[str, ...] = (),
    at: Node | None = None,
) -> ModDecl:
    """A declaration read from a macro's tokens (at `at`, the `mod` keyword, or at the name):
    conditional, since which of a macro's branches rustc takes depends on its input and cfg."""
    line, column = source_position(at if at is not None else name, data)
    return ModDecl(
        name=_ident(source_text(name, data)),
        line=line,
        column=column,
        enclosing=enclosing,
        path=path,
        cfg_paths=cfg_paths,
        in_block=in_block,
        conditional=True,
    )


def _token_inline_modules(children: list[Node], data: bytes) -> dict[int, tuple[InlineModule]]:
    """Token trees that are bodies of `mod name { … }`, by index, with the module they open."""
    found: dict[int, tuple[InlineModule]] = {}
    for index in token_triples(children, ("mod", "identifier", "token_tree")):
        name, body = children[index + 1], children[index + 2]
        if source_text(body, data)[:1] == "{":
            path, alternatives = _token_attr_paths(children[:index], data)
            module = InlineModule(_ident(source_text(name, data)), path, cfg_paths=alternatives)
            found[index + 2] = (module,)
    return found


def token_triples(children: list[Node], kinds: tuple[str, str, str]) -> Iterator[int]:
    """Indices of the three consecutive tokens of these node kinds among `children` (`mod
    name {…}`, `name ! (…)`)."""
    for index in range(len(children) - 2):
        if (
            children[index].type == kinds[0]
            and children[index + 1].type == kinds[1]
            and children[index + 2].type == kinds[2]
        ):
            yield index


def _token_attr_paths(before: list[Node], data: bytes) -> tuple[str | None, tuple[str, ...]]:
    """The `#[path = "…"]` (the first written) and the `#[cfg_attr(…, path = "…")]`
    alternatives among the tokens just before `mod`, skipping `pub(…)`, comments and other
    attributes (mio's `cfg_os_poll! { #[cfg_attr(…, path = "selector/epoll.rs")] mod
    selector; }`)."""
    plain: str | None = None
    alternatives: list[str] = []
    for inner in _attributes_before(before, data):
        if len(inner) >= 4 and source_text(inner[1], data) == "path" and inner[2].type == "=":
            plain = _literal(inner[3], data)  # walking back: the last one seen is the first
        elif len(inner) >= 3 and source_text(inner[1], data) == "cfg_attr":
            arguments = inner[2] if inner[2].type == "token_tree" else None
            value = _token_path(arguments, data) if arguments is not None else None
            if value is not None:
                alternatives.append(value)
    alternatives.reverse()
    return plain, tuple(alternatives)


def _attributes_before(before: list[Node], data: bytes) -> Iterator[list[Node]]:
    """The tokens of each `#[…]` among the tokens just before a `mod`, nearest first,
    skipping `pub(…)` and comments."""
    index = len(before) - 1
    while index >= 0:
        token = before[index]
        if (
            token.type == "pub"
            or token.type in _COMMENTS
            or (token.type == "token_tree" and source_text(token, data)[:1] == "(")
        ):
            index -= 1
            continue
        if token.type == "token_tree" and index > 0 and before[index - 1].type == "#":
            yield token.children
            index -= 2
            continue
        return


def _paths_from_input(definition: Node, data: bytes) -> bool:
    """Whether a transcriber of the macro writes `#[path = $p] mod $name;`: rustc then reads
    the module from the path the call passes."""
    for rule in definition.children:
        transcriber = rule.child_by_field_name("right") if rule.type == "macro_rule" else None
        if transcriber is None:
            continue
        for children, _ in token_groups(transcriber, data, ()):
            for index, child in enumerate(children[:-2]):
                name, semicolon = children[index + 1], children[index + 2]
                if child.type != "mod" or name.type != "metavariable" or semicolon.type != ";":
                    continue
                if any(
                    len(inner) >= 4
                    and source_text(inner[1], data) == "path"
                    and inner[2].type == "="
                    and inner[3].type == "metavariable"
                    for inner in _attributes_before(children[:index], data)
                ):
                    return True
    return False


def _literal(node: Node, data: bytes) -> str | None:
    """The value of a string literal node (escapes decoded), None for anything else."""
    if node.type == "raw_string_literal":
        content = next((c for c in node.children if c.type == "string_content"), None)
        return source_text(content, data) if content is not None else ""
    if node.type != "string_literal":
        return None
    out = ""
    for child in node.children:
        if child.type == "string_content":
            out += source_text(child, data)
        elif child.type == "escape_sequence":
            out += _unescape(source_text(child, data))
    return out


def _unescape(escape: str) -> str:
    """One Rust escape sequence (`\\n`, `\\x41`, `\\u{1F600}`, a line continuation)."""
    body = escape[1:]
    if body in _ESCAPES:
        return _ESCAPES[body]
    if body.startswith("x") and len(body) == 3:
        return chr(int(body[1:], 16))
    if body.startswith("u{"):
        return chr(int(body[2:-1].replace("_", ""), 16))
    return ""  # a `\` + newline continuation


def _ident(text: str) -> str:
    return text[2:] if text.startswith("r#") else text


def source_text(node: Node, data: bytes) -> str:
    return data[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def source_position(node: Node, data: bytes) -> tuple[int, int]:
    """1-based line and code-point column of the node's start."""
    row, byte_column = node.start_point
    line_start = node.start_byte - byte_column
    column = len(data[line_start : node.start_byte].decode("utf-8", errors="replace")) + 1
    return row + 1, column
