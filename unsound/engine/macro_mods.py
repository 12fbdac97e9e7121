"""Modules that a crate's `macro_rules!` macros declare where they are called.

rustc expands a macro call first and resolves the `mod name;` items of the expansion from the
*call's* module: libc's `macro_rules! prelude { () => { mod types; … } }` in `src/macros.rs`,
called as `prelude!();` in `src/lib.rs`, loads `src/types.rs` (not `src/macros/types.rs`). A
file's own declarations (`mod_decls`) cannot hold those: the definition and the call are in two
files, and the declaration belongs to the caller. So once discovery has followed a crate's
files, and some define macros that declare modules (a literal `mod name;` in a transcriber, or
`mod $name;` made from the call's input), it asks here where the crate calls them at item
position and what each call declares there.

The macros each file defines are part of its declarations (`mod_decls.declaring_macros`, kept
in the scan cache with them); the calls are looked for here. Like every declaration read from
tokens, these are conditional: which of a macro's rules a call takes is not known without
expanding it, so only the files that exist are followed and a missing one is not reported.
Macros are matched by name within the crate, whatever file defines them: textual scoping and
`#[macro_use]` are not modelled, so a call may bring in a file rustc would not read. Not seen:
macros of other crates, and a call written inside another macro's transcriber (`outer!()`
expanding to `prelude!();`), which only expanding `outer!` would show.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import replace

from tree_sitter import Node, QueryCursor, Tree

from unsound.engine.mod_decls import (
    DeclaringMacro,
    InlineModule,
    ModDecl,
    at_module_level,
    declaration_context,
    file_query,
    input_declarations,
    source_position,
    source_text,
    starts_item,
    token_groups,
    token_triples,
)

_CALLS = """
(macro_invocation macro: (identifier) @name (token_tree) @tokens) @call
(macro_invocation macro: (scoped_identifier name: (identifier) @name) (token_tree) @tokens) @call
"""


def may_call(data: bytes, names: Iterable[str]) -> bool:
    """Whether the text may call one of the macros (`name!`), before any parse."""
    words = sorted(names)
    if not words:
        return False
    pattern = rb"\b(?:" + b"|".join(re.escape(w.encode()) for w in words) + rb")\s*!"
    return re.search(pattern, data) is not None


def call_declarations(
    macros: dict[str, DeclaringMacro], data: bytes, tree: Tree
) -> Iterator[ModDecl]:
    """What the file's item-position calls of `macros` declare, at each call: calls in the
    file's items, and calls in item position inside another macro's input (libc calls
    `prelude!();` in each branch of a `cfg_if! { … }`).

    A call in a function body expands to items of that block, which cannot load a file by
    `mod name;`."""
    for _, captures in QueryCursor(file_query(_CALLS)).matches(tree.root_node):
        call, tokens = captures["call"][0], captures["tokens"][0]
        if not at_module_level(call):
            continue
        enclosing, in_block = declaration_context(call, data)
        macro = macros.get(source_text(captures["name"][0], data))
        if macro is not None:
            yield from _expansion(macro, call, tokens, enclosing, in_block, data)
        if may_call(data[tokens.start_byte : tokens.end_byte], macros):
            for name, args, inner in _token_calls(tokens, data, macros, enclosing):
                yield from _expansion(
                    macros[source_text(name, data)], name, args, inner, in_block, data
                )


def _expansion(
    macro: DeclaringMacro,
    at: Node,
    args: Node,
    enclosing: tuple[InlineModule, ...],
    in_block: bool,
    data: bytes,
) -> Iterator[ModDecl]:
    """The declarations one call makes: the macro's literal ones, placed at the call, and
    each identifier of its input when the macro writes `mod $name;`."""
    line, column = source_position(at, data)
    for template in macro.literal:
        yield replace(
            template,
            line=line,
            column=column,
            enclosing=(*enclosing, *template.enclosing),
            in_block=in_block,
            conditional=True,
        )
    if macro.from_input:
        yield from input_declarations(args, data, enclosing, in_block, macro.paths_from_input)


def _token_calls(
    root: Node, data: bytes, macros: dict[str, DeclaringMacro], outer: tuple[InlineModule, ...]
) -> Iterator[tuple[Node, Node, tuple[InlineModule, ...]]]:
    """`name!(…)` calls of `macros` at the start of an item in a macro's input (at any depth,
    inside the `mod m { … }` written there): the name, the input, the inline modules."""
    for children, enclosing in token_groups(root, data, outer):
        for index in token_triples(children, ("identifier", "!", "token_tree")):
            name = children[index]
            if source_text(name, data) in macros and starts_item(children[:index], data):
                yield name, children[index + 2], enclosing
