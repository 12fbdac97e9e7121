"""Rust patterns with metavariables → a `PatternNode` tree and a tree-sitter query for candidates.

Metavariables are rewritten to identifiers that tree-sitter-rust accepts (as ast-grep does, with
`µ`, which Rust allows in identifiers), keeping every character position so tree-sitter errors map
back to the rule file:

    $X      → µX       any one node, bound to X (the same name twice means the same code)
    $_      → µ_       any one node, not bound
    $..XS   → µµµXS    any number of siblings, bound to XS
    $..     → µµµ      any number of siblings
    '$a     → 'µa      any lifetime, bound to a
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cache, cached_property
from typing import Literal

from tree_sitter import Node, Query, QueryError

from unsound.dsl.ast import CodeBlock
from unsound.dsl.rust_parser import parse_rust, rust_language
from unsound.errors import RuleError

# Keywords rare enough in Rust source to be worth prefiltering on (`fn`, `impl`, `mut` are not).
_RARE_KEYWORDS = frozenset({"unsafe", "static", "extern", "union"})
_LIFETIME_VAR = re.compile(r"'\$([a-z_][a-z0-9_]*)")
_SEQUENCE_VAR = re.compile(r"\$\.\.([A-Z_][A-Z0-9_]*)?")
_SINGLE_VAR = re.compile(r"\$([A-Z_][A-Z0-9_]*)")
_MV_SEQUENCE = re.compile(r"^µµµ(\w*)$")
_MV_SINGLE = re.compile(r"^µ(\w+)$")

# Wrappers tried in order: a pattern is an item, else a statement or expression, else a type.
_ITEM = ("", "")
_STATEMENT = ("fn µµctx() {\n", "\n}")
_TYPE = ("type µµTy = ", ";")
_CONTEXTS = (_ITEM, _STATEMENT, _TYPE)

_SKIPPED_TOKENS = frozenset({",", "line_comment", "block_comment"})

# Children a pattern may leave out: when the pattern has none of these, the target's are ignored
# (`fn $F()` matches `pub unsafe fn f<T>() where T: Send`).
OPTIONAL_KINDS = frozenset(
    {
        "visibility_modifier",
        "function_modifiers",
        "type_parameters",
        "where_clause",
        "attribute_item",
        "inner_attribute_item",
        "line_comment",
        "block_comment",
    }
)


@dataclass(frozen=True)
class PatternNode:
    """One node of a compiled pattern.

    `var` is set for a metavariable ("" for `$_`/`$..`), `sequence` when it stands for any number
    of siblings, `lifetime` when it is a lifetime metavariable. `field` is the tree-sitter field
    name of the node in its parent, which the matcher uses to recognise optional parts.
    """

    kind: str
    text: str
    named: bool
    children: tuple[PatternNode, ...] = ()
    field: str | None = None
    var: str | None = None
    sequence: bool = False
    lifetime: bool = False

    @cached_property
    def child_kinds(self) -> frozenset[str]:
        """Kinds of the children (the matcher asks for every node it visits: computed once)."""
        return frozenset(c.kind for c in self.children)

    @cached_property
    def child_tokens(self) -> frozenset[str]:
        """Anonymous tokens among the children (`->`, `:`)."""
        return frozenset(c.text for c in self.children if not c.named)

    @cached_property
    def absentable_children(self) -> frozenset[str]:
        """Kinds of the optional children written only with `$..` (`<$..G>`): they also match
        a target that has no such part."""
        return frozenset(
            c.kind for c in self.children if c.kind in OPTIONAL_KINDS and may_be_absent(c)
        )

    @cached_property
    def has_sequence_child(self) -> bool:
        return any(c.sequence for c in self.children)

    @cached_property
    def text_bytes(self) -> bytes | None:
        """The text as the source's bytes, to compare a leaf without decoding the target; None
        when the text holds U+FFFD, which an undecodable target would also read as."""
        return None if "\ufffd" in self.text else self.text.encode("utf-8")

    def walk(self) -> Iterator[PatternNode]:
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern: the root to match, attributes it requires, its candidate query."""

    root: PatternNode
    attributes: tuple[PatternNode, ...]
    query: str
    source: CodeBlock

    def metavariables(self) -> set[str]:
        names = {n.var for n in self.root.walk() if n.var}
        for attribute in self.attributes:
            names |= {n.var for n in attribute.walk() if n.var}
        return names

    def literal_words(self) -> set[str]:
        """Identifiers and rare keywords every match must contain, for the literal prefilter."""
        words = set()
        for node in self.root.walk():
            if node.children or node.var is not None:
                continue
            if (node.named and _is_word(node.text)) or node.text in _RARE_KEYWORDS:
                words.add(node.text)
        return words

    @cached_property
    def all_words(self) -> frozenset[bytes]:
        """Every identifier and keyword the pattern spells out: a node it matches contains each
        of them in its text (leaves are compared exactly), so a code region without one of them
        cannot hold a match."""
        return frozenset(
            node.text.encode("utf-8")
            for node in self.root.walk()
            if not node.children and node.var is None and _is_word(node.text)
        )


def substitute_metavariables(code: str) -> str:
    """Rewrite metavariables to µ-identifiers, keeping every character at its position."""
    code = _LIFETIME_VAR.sub(lambda m: "'µ" + m.group(1), code)
    code = _SEQUENCE_VAR.sub(lambda m: "µµµ" + (m.group(1) or ""), code)
    return _SINGLE_VAR.sub(lambda m: "µ" + m.group(1), code)


def compile_pattern(block: CodeBlock) -> Pattern:
    """The pattern in the first context where it is valid Rust; raise `RuleError` if none."""
    return compile_pattern_variants(block)[0]


def compile_pattern_variants(block: CodeBlock) -> tuple[Pattern, ...]:
    """The pattern in every context where it is valid Rust, first context first.

    `&mut $T` is both an expression and a type: a rule author means either, so both are kept
    and a node matches if any variant does. A variant that is only a metavariable adds nothing.
    """
    code = substitute_metavariables(block.code)
    first_error: tuple[int, int] | None = None
    variants: list[Pattern] = []
    for prefix, suffix in _CONTEXTS:
        source = (prefix + code + suffix).encode("utf-8")
        tree = parse_rust(source)
        error = _first_error(tree.root_node)
        if error is None:
            root, attributes = _extract_root(tree.root_node, prefix)
            if root is None:
                continue
            try:
                pnode = _convert(root, None)
            except RecursionError:
                raise RuleError(
                    "this pattern nests too deeply",
                    path=block.span.path,
                    line=block.line,
                    column=block.column,
                    hint="patterns are matched structurally; write a shallower pattern and use "
                    "`has` for what is inside",
                ) from None
            if variants and pnode.var is not None:
                continue
            if variants and _call_read_as_function_type(pnode, variants):
                continue
            converted = tuple(_convert(a, None) for a in attributes)
            if any(v.root == pnode and v.attributes == converted for v in variants):
                # An item reads the same as a statement (`fn $F(..)`, `unsafe impl ..`): a
                # second, equal variant would judge every candidate, and every relation, twice.
                continue
            variants.append(
                Pattern(root=pnode, attributes=converted, query=_query_for(pnode), source=block)
            )
        elif first_error is None and prefix == "":
            first_error = _code_position(source, error, len(prefix.encode()))
    if variants:
        return tuple(variants)
    line, column = first_error or (0, 0)
    raise _pattern_error(block, line, column)


_FN_TRAITS = frozenset({"Fn", "FnMut", "FnOnce"})


def _call_read_as_function_type(root: PatternNode, variants: list[Pattern]) -> bool:
    """Whether a type variant is only the `Fn(A)` sugar reading of a call (`ptr::read($S)`): a
    rule that writes a call means a call, unless it names an `Fn` trait."""
    if root.kind != "function_type" or not any(v.root.kind == "call_expression" for v in variants):
        return False
    trait = next((c for c in root.children if c.field == "trait"), None)
    last = trait.children[-1] if trait is not None and trait.children else trait
    return last is None or last.text not in _FN_TRAITS


def _pattern_error(block: CodeBlock, line: int, column: int) -> RuleError:
    code_lines = block.code.split("\n")
    source_line = code_lines[line] if line < len(code_lines) else ""
    file_line = block.line + line
    file_column = (block.column if line == 0 else 1) + column
    prefix = ""
    if line == 0:
        # Show the rule-file line as it is written, so the caret sits under the real text.
        prefix = " " * (block.column - 1)
    return RuleError(
        "this pattern is not valid Rust in any position (item, statement, expression or type)",
        path=block.span.path,
        line=file_line,
        column=file_column,
        hint="metavariables are `$X`, `$..XS` and `'$a`; check the Rust around the caret",
        source_line=prefix + source_line if line == 0 else source_line,
    )


def _code_position(source: bytes, node: Node, prefix_bytes: int) -> tuple[int, int]:
    """(line, column in code points) of a node inside the pattern's own code."""
    start = max(0, node.start_byte - prefix_bytes)
    before = source[prefix_bytes : prefix_bytes + start].decode("utf-8", "replace")
    line = before.count("\n")
    column = len(before) - (before.rfind("\n") + 1)
    return line, column


def _first_error(root: Node) -> Node | None:
    """The first ERROR or MISSING node, ignoring ERROR nodes that only hold a sequence variable."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "ERROR" and _lone_sequence_var(node) is not None:
            continue
        if node.is_missing or node.type == "ERROR":
            return node
        if node.has_error:
            stack.extend(reversed(node.children))
    return None


def _extract_root(source_file: Node, prefix: str) -> tuple[Node | None, list[Node]]:
    """The pattern's own node inside its context wrapper, and any attributes before it."""
    if prefix == _ITEM[0]:
        nodes = _significant(source_file.named_children)
    elif prefix == _STATEMENT[0]:
        function = source_file.named_children[0]
        body = function.child_by_field_name("body")
        nodes = _significant(body.named_children) if body is not None else []
    else:
        type_item = source_file.named_children[0]
        found = type_item.child_by_field_name("type")
        return found, []
    attributes = [n for n in nodes if n.type == "attribute_item"]
    others = [n for n in nodes if n.type != "attribute_item"]
    if not others and len(attributes) == 1:
        return attributes[0], []  # the pattern is an attribute itself: `#[no_mangle]`
    if len(others) != 1:
        return None, []
    root = others[0]
    if root.type == "expression_statement" and root.named_child_count == 1:
        last = root.children[-1]
        if last.type != ";":
            root = root.named_children[0]
    return root, attributes


def _significant(nodes: list[Node]) -> list[Node]:
    return [n for n in nodes if n.type not in ("line_comment", "block_comment")]


def _convert(node: Node, field: str | None) -> PatternNode:
    """tree-sitter node → PatternNode, recognising metavariables and sequence wrappers."""
    text = node.text.decode("utf-8") if node.text is not None else ""
    sequence = _lone_sequence_var(node)
    if sequence is not None:
        return PatternNode(node.type, text, True, field=field, var=sequence, sequence=True)
    if node.type == "lifetime":
        ident = node.named_children[0] if node.named_children else None
        ident_text = ident.text.decode("utf-8") if ident is not None and ident.text else ""
        single = _MV_SINGLE.match(ident_text)
        if single:
            name = single.group(1)
            return PatternNode(
                "lifetime", text, True, field=field, var="" if name == "_" else name, lifetime=True
            )
    if node.child_count == 0 or _is_single_var_wrapper(node):
        single = _MV_SINGLE.match(text.rstrip(";").strip())
        if single and node.is_named:
            name = single.group(1)
            return PatternNode(node.type, text, True, field=field, var="" if name == "_" else name)
    if node.child_count == 0:
        return PatternNode(node.type, text, node.is_named, field=field)
    children = []
    for index, child in enumerate(node.children):
        if child.type in _SKIPPED_TOKENS:
            continue
        children.append(_convert(child, node.field_name_for_child(index)))
    return PatternNode(node.type, text, node.is_named, tuple(children), field=field)


def _lone_sequence_var(node: Node) -> str | None:
    """`µµµX` itself, or a wrapper (statement, ERROR, type parameter) that holds only it."""
    current = node
    while True:
        if current.child_count == 0:
            text = current.text.decode("utf-8") if current.text else ""
            match = _MV_SEQUENCE.match(text)
            return match.group(1) if match else None
        named = [c for c in current.named_children if c.type not in _SKIPPED_TOKENS]
        others = [c for c in current.children if not c.is_named and c.type not in (";", ",")]
        if len(named) != 1 or others:
            return None
        current = named[0]


def _is_single_var_wrapper(node: Node) -> bool:
    """A node that only wraps one metavariable stands for any node: `$X;` for any statement,
    `<$P>`'s type parameter for any parameter (`T`, `T: Send`, `'a`)."""
    named = [c for c in node.named_children if c.type not in _SKIPPED_TOKENS]
    others = [c for c in node.children if not c.is_named and c.type not in (";", ",")]
    return (
        node.type in ("expression_statement", "type_parameter")
        and len(named) == 1
        and not others
        and named[0].child_count == 0
    )


# Candidate queries ---------------------------------------------------------------------------

# How deep a candidate query follows the pattern (the root is depth 0). Deeper queries turn away
# more candidates in C, but tree-sitter's query compiler costs about 1 ms per pattern step and the
# cursor keeps more states alive: on wasmtime, depth 2 instead of 4 made the combined query 41
# patterns instead of 56, compiled in 33 ms instead of 113 (in every worker), and the cold scan
# took 4.08 s of CPU instead of 4.40 (7 alternating runs); the 43% more candidates are turned
# away by the structural match's first steps (the candidates' Python time stayed 0.75 s).
# Depth 1 made three times the candidates and cost more than it saved. The way down to a
# constrained metavariable is kept at any depth (`_leads_to`).
_MAX_QUERY_DEPTH = 2
# Fields whose presence a metavariable in them demands, and that the matcher never drops.
_REQUIRED_FIELDS = frozenset({"return_type", "trait", "value", "type", "arguments"})
_TEXT_KINDS = frozenset(
    {
        "identifier",
        "type_identifier",
        "field_identifier",
        "primitive_type",
        "self",
        "crate",
        "super",
        "metavariable",
    }
)


@dataclass(frozen=True)
class VarConstraint:
    """What a rule's `where` lines demand of a metavariable's node, written into the query:
    the kinds it may have (`$V kind identifier`; `$X is static-mut`: a name or a path) and a
    word its text contains (`$FN matches "transmute"`)."""

    kinds: tuple[str, ...] = ()
    word: str | None = None
    # A regex the text of a *type* must match (`$T is raw-pointer`: `\*|NonNull`); not used
    # where the metavariable is an expression, whose shape comes from its declaration.
    type_text: str | None = None


def constrained(pattern: Pattern, constraints: dict[str, VarConstraint]) -> Pattern:
    """The pattern with a query that also checks what `constraints` demand of its
    metavariables: fewer candidates reach the matcher, and none that could match is lost."""
    query = _query_for(pattern.root, constraints)
    if query == pattern.query or not _compiles(query):
        # The kind cannot stand there (`$C kind identifier` in the type variant `$C($..A)`,
        # whose `$C` is a type): keep the plain query; the condition still decides.
        return pattern
    return replace(pattern, query=query)


@cache
def _compiles(query: str) -> bool:
    """Whether tree-sitter accepts the query (rules that share a pattern and its conditions
    ask about the same one: 29 narrowed queries of the built-in rules, 20 distinct)."""
    try:
        Query(rust_language(), query)
    except QueryError:
        return False
    return True


def _query_for(root: PatternNode, constraints: dict[str, VarConstraint] | None = None) -> str:
    """A tree-sitter query that every match of the pattern satisfies (a relaxation of it).

    It keeps node kinds, nesting and literal identifiers down to a few levels; metavariables,
    sequences and anonymous tokens are left out, except a metavariable in a field (one child
    position) that `constraints` say something about. The matcher then checks the candidate
    exactly.
    """
    counter = iter(range(1_000_000))
    body = _query_node(root, 0, counter, constraints or {})
    return f"{body} @root" if body else "(_) @root"


def _constrained_var(node: PatternNode, constraint: VarConstraint, counter: Iterator[int]) -> str:
    capture = f"_v{next(counter)}"
    kinds = [f"({kind})" for kind in constraint.kinds]
    node_query = kinds[0] if len(kinds) == 1 else f"[{' '.join(kinds)}]" if kinds else "_"
    regexes = [re.escape(constraint.word)] if constraint.word else []
    if constraint.type_text and node.kind == "type_identifier":
        regexes.append(constraint.type_text)
    predicates = "".join(
        f' (#{BYTES_MATCH} @{capture} "{_query_string(regex)}")' for regex in regexes
    )
    return f"{node.field}: {node_query} @{capture}{predicates}"


# Our own regex predicate, on the node's bytes: tree-sitter's `#match?` decodes the text as
# UTF-8 and fails on a file with invalid bytes, which the scan must read like any other.
BYTES_MATCH = "bytes-match?"


def query_predicate(
    predicate: str,
    args: list[tuple[str, Literal["capture", "string"]]],
    pattern_index: int,
    captures: dict[str, list[Node]],
) -> bool:
    """The `predicate` callable of `QueryCursor.matches` for the predicates queries hold beyond
    tree-sitter's own: `(#bytes-match? @capture "regex")`."""
    if predicate != BYTES_MATCH:
        raise ValueError(f"unknown query predicate #{predicate}")
    (capture, _), (regex, _) = args
    compiled = _byte_regex(regex)
    return all(compiled.search(node.text or b"") for node in captures.get(capture, []))


@cache
def _byte_regex(regex: str) -> re.Pattern[bytes]:
    return re.compile(regex.encode("utf-8"))


def _query_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _query_node(
    node: PatternNode, depth: int, counter: Iterator[int], constraints: dict[str, VarConstraint]
) -> str | None:
    if (
        depth > 0
        and node.var
        and not node.sequence
        and not node.lifetime
        and node.field is not None
        and node.var in constraints
    ):
        return _constrained_var(node, constraints[node.var], counter)
    if depth > 0 and node.var is not None and not node.sequence and node.field in _REQUIRED_FIELDS:
        # `-> $R`: any node, but there must be one (a function without a return type is not
        # even a candidate).
        return f"{node.field}: (_)"
    if node.var is not None or not node.named or node.kind == "ERROR":
        return None
    if depth > 0 and node.kind in OPTIONAL_KINDS and may_be_absent(node):
        # The matcher lets a pattern's all-sequence `<$..G>` match no generics at all; a part
        # with anything else in it (`<'$a, $..G>`, `unsafe`) must be there, so it stays.
        return None
    if not node.children:
        if node.kind in _TEXT_KINDS and _is_word(node.text):
            capture = f"_t{next(counter)}"
            literal = node.text.replace("\\", "\\\\").replace('"', '\\"')
            return f'(({node.kind}) @{capture} (#eq? @{capture} "{literal}"))'
        return f"({node.kind})"
    parts = []
    for child in node.children:
        # Past the depth, only the way down to a constrained metavariable (`$PT is
        # raw-pointer` in `fn $F($..A, $P: $PT, $..B)`): what a rule's conditions demand of it
        # turns away most candidates, where more of the pattern's structure does not.
        if depth < _MAX_QUERY_DEPTH or _leads_to(child, constraints):
            part = _query_node(child, depth + 1, counter, constraints)
            if part is not None:
                parts.append(_in_field(child, part))
    return f"({node.kind}{' ' if parts else ''}{' '.join(parts)})"


def _leads_to(node: PatternNode, constraints: dict[str, VarConstraint]) -> bool:
    """Whether a metavariable with a constraint lies at or under the node."""
    return bool(constraints) and any(n.var in constraints for n in node.walk())


def _in_field(child: PatternNode, part: str) -> str:
    """The child's query with the field the pattern has it in (`function: (scoped_identifier)`).

    The grammar gives a kind at one position of its parent one field, so every match has the
    child in the same field; and tree-sitter drops a pattern's state as soon as the field's
    node fails to match (a call whose `function:` is not the pattern's kind), where a child
    without a field keeps the state alive while the rest of the parent, body and all, is
    walked: a fifth of the query pass on wasmtime.
    """
    if child.field is None or part.startswith(f"{child.field}:"):
        return part
    return f"{child.field}: {part}"


def may_be_absent(node: PatternNode) -> bool:
    """An optional part written only with `$..` sequences (`<$..G>`, `where $..W`): it also
    matches a target that has no such part at all."""
    return any(c.sequence for c in node.children) and all(
        c.sequence or c.text in ("<", ">", ",") for c in node.children
    )


def _is_word(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text)) and not text.startswith("µ")
