"""Structural relations: `inside`, `has`, `follows`, `precedes`.

Each relation matches its own pattern against nodes related to the bound one, with the bindings
made so far (the same metavariable must be the same code) and adds the new bindings it makes.
`has` and `follows`/`precedes` search subtrees with the pattern's tree-sitter query, so Python only
checks candidates; `inside` climbs the ancestors, which is cheap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import cast

from tree_sitter import Node, Query, QueryCursor

from unsound.dsl.pattern import Pattern
from unsound.dsl.rust_parser import rust_language
from unsound.engine import node_memo
from unsound.engine.bindings import Bindings, Bound
from unsound.engine.matching import Env, binding_text, match_pattern
from unsound.engine.query_merge import literals_hold, merge_by_literals, query_literals
from unsound.engine.syntax import enclosing_statement
from unsound.engine.units import ParsedFile, WholeFileNeeded

_SCOPES = frozenset({"function_item", "closure_expression"})
_QUERIES: dict[str, Query] = {}


def relate(
    relation: str,
    pattern: Pattern,
    node: Node,
    unit: ParsedFile,
    bindings: Bindings,
    within: int | None = None,
) -> Iterator[Bindings]:
    """The bindings extended by each related node the pattern matches, nearest first."""
    env = _env(bindings, unit)
    names = _metavariables(pattern)
    # A metavariable bound already must match code with the same text inside the candidate: a
    # candidate without that text is rejected by a substring search instead of a tree match
    # (`inside fn $F(.., $C: $CT, ..)` for each call `$C(..)` of a file).
    # Where in the candidate: the children of the kind that holds the metavariable in the
    # pattern (`fn $F($..PA, $C: $CT, $..PB)`: the parameters, not the body that holds the
    # call `$C(..)` whose enclosing functions are asked about).
    required = [
        (value.text, _holders(pattern, name))
        for name, value in env.items()
        if name in names and isinstance(value, Node) and value.text
    ]
    data = unit.data
    # Every method of an impl asks whether it is `inside impl<$..G> $S { $..I }`: the answer
    # for one enclosing node, given the texts of the pattern's variables bound already, is
    # matched once per unit (as the new bindings it makes).
    memo = unit.relation_memo if relation == "inside" else None
    bound_texts = tuple((n, binding_text(env[n])) for n in sorted(names) if n in env)
    for candidate in _candidates(relation, pattern, node, within, unit.partial):
        if any(not _spelled_in(data, text, candidate, kinds) for text, kinds in required):
            continue
        if memo is None:
            for matched in match_pattern(pattern, candidate, env):
                yield _extend(bindings, matched, unit)
            continue
        key = (id(pattern), candidate.id, bound_texts)
        made = memo.get(key)
        if made is None:
            made = memo[key] = [
                {name: value for name, value in matched.items() if name not in env}
                for matched in match_pattern(pattern, candidate, env)
            ]
        for new_bindings in made:
            yield _extend(bindings, cast(Env, new_bindings), unit)


def _spelled_in(data: bytes, text: bytes, candidate: Node, kinds: frozenset[str] | None) -> bool:
    """Whether `text` occurs in the candidate (in its children of these kinds, if given)."""
    if kinds is None:
        return data.find(text, candidate.start_byte, candidate.end_byte) != -1
    return any(
        data.find(text, child.start_byte, child.end_byte) != -1
        for child in candidate.children
        if child.type in kinds
    )


def _holders(pattern: Pattern, name: str) -> frozenset[str] | None:
    """Kinds of the pattern root's children under which metavariable `name` occurs: a match
    binds it inside a child of one of those kinds (children are matched by kind, in order).
    None when it may lie anywhere in the candidate: it is the root or a child itself, or occurs
    in the pattern's attributes."""
    memo: dict[str, frozenset[str] | None] = pattern.__dict__.setdefault("_holders", {})
    if name in memo:
        return memo[name]
    memo[name] = found = _holder_kinds(pattern, name)
    return found


def _holder_kinds(pattern: Pattern, name: str) -> frozenset[str] | None:
    root = pattern.root
    if root.var == name or any(node.var == name for a in pattern.attributes for node in a.walk()):
        return None
    kinds = set()
    for child in root.children:
        if not any(node.var == name for node in child.walk()):
            continue
        if child.var is not None or child.sequence:
            return None
        kinds.add(child.kind)
    return frozenset(kinds) or None


def _metavariables(pattern: Pattern) -> frozenset[str]:
    names = pattern.__dict__.get("_metavariable_names")
    if names is None:
        names = frozenset(pattern.metavariables())
        object.__setattr__(pattern, "_metavariable_names", names)
    return names


def _candidates(
    relation: str, pattern: Pattern, node: Node, within: int | None, partial: bool
) -> Iterator[Node]:
    if relation == "inside":
        ancestor = node.parent
        depth = 1
        wanted = pattern.root.kind if pattern.root.var is None else None
        while ancestor is not None and (within is None or depth <= within):
            if wanted is None or ancestor.type == wanted:
                yield ancestor
            ancestor = ancestor.parent
            depth += 1
    elif relation == "has":
        for candidate in _query_matches(pattern, node):
            if candidate != node and (within is None or _depth(candidate, node) <= within):
                yield candidate
    else:
        yield from _ordered_siblings(relation, pattern, node, partial)


def _ordered_siblings(relation: str, pattern: Pattern, node: Node, partial: bool) -> Iterator[Node]:
    """Statements before (`follows`) or after (`precedes`) the one holding `node`, at its block
    and every enclosing block up to the function: program order within one body (the other
    arms of a `match` are neither). At a file's top level these are its other items, which a
    partly parsed file (`partial`) may have left out."""
    statement = enclosing_statement(node)
    step = "prev_named_sibling" if relation == "follows" else "next_named_sibling"
    while statement is not None:
        if partial and _among_items(statement):
            raise WholeFileNeeded
        # The arms of a `match` are alternatives: no arm runs before or after another.
        if statement.type != "match_arm":
            sibling = getattr(statement, step)
            while sibling is not None:
                yield from _query_matches(pattern, sibling)
                sibling = getattr(sibling, step)
        parent = statement.parent
        if parent is None or parent.type in ("declaration_list", "source_file"):
            return
        if parent.parent is not None and parent.parent.type in _SCOPES:
            return
        statement = enclosing_statement(parent)


def _among_items(statement: Node) -> bool:
    """Whether the statement is a top-level item or a member of a top-level impl: the items
    and members a partly parsed file may have left out."""
    parent = statement.parent
    if parent is None:
        return False
    if parent.type == "source_file":
        return True
    owner = parent.parent
    return (
        parent.type == "declaration_list"
        and owner is not None
        and owner.type == "impl_item"
        and owner.parent is not None
        and owner.parent.type == "source_file"
    )


def _query_matches(pattern: Pattern, root: Node) -> list[Node]:
    """The pattern's candidates in the subtree of `root`. Remembered for the file's matching:
    rules (and a rule's severity lines) ask the same `has` of the same node again (on wasmtime
    11,725 questions, 3,339 distinct)."""
    return node_memo.remember(pattern.query, root, lambda: _run_query(pattern.query, root))


def _run_query(source: str, root: Node) -> list[Node]:
    shared = _SHARED.get(source)
    if shared is not None:
        merged, literals = shared
        # One pass of the merged query serves every relation it stands for at this node.
        found = node_memo.remember(_MERGED_KEY + merged, root, lambda: _captures(merged, root))
        return [
            node
            for captures in found
            if literals_hold(literals, captures)
            for node in captures.get("root", [])
        ]
    return [node for captures in _captures(source, root) for node in captures.get("root", [])]


def _captures(source: str, root: Node) -> list[dict[str, list[Node]]]:
    query = _QUERIES.get(source)
    if query is None:
        query = _QUERIES[source] = Query(rust_language(), source)
    return [captures for _, captures in QueryCursor(query).matches(root)]


def share_queries(queries: Iterable[str]) -> None:
    """Let relation queries that differ only in names run as one (`engine.query_merge`).

    The built-in rules' relations have about 55 distinct queries a cold worker builds, 2-5 ms
    each, and most are calls of one shape with another name (`ptr::read(..)`, `ptr::write(..)`).
    Each query keeps its own results: the merged query's matches are filtered by its names, as
    tree-sitter's `#eq?` would have. Called with every rule's relation queries when a rule set's
    matcher is made; queries never registered run alone.
    """
    new = [query for query in dict.fromkeys(queries) if query not in _REGISTERED]
    if not new:
        return
    _REGISTERED.update(dict.fromkeys(new))
    registered = list(_REGISTERED)
    merged, members = merge_by_literals(registered)
    for source, indices in zip(merged, members, strict=True):
        if len(indices) > 1:
            for index in indices:
                _SHARED[registered[index]] = (source, query_literals(registered[index]))


# Relation queries registered by `share_queries` (ordered), and for each one merged with others
# the query that runs in its place with the names it checks itself.
_REGISTERED: dict[str, None] = {}
_SHARED: dict[str, tuple[str, tuple[tuple[str, bytes], ...]]] = {}
_MERGED_KEY = "relations-merged:"


def _depth(node: Node, ancestor: Node) -> int:
    depth = 0
    current: Node | None = node
    while current is not None and current != ancestor:
        depth += 1
        current = current.parent
    return depth


def _env(bindings: Bindings, unit: ParsedFile) -> Env:
    env: dict[str, Node | tuple[Node, ...]] = {}
    for name, bound in bindings.items():
        if bound.unit is not unit:
            continue
        env[name] = bound.nodes if bound.sequence else bound.nodes[0]
    return env


def _extend(bindings: Bindings, env: Env, unit: ParsedFile) -> Bindings:
    extended = dict(bindings)
    for name, value in env.items():
        if name not in extended:
            nodes = value if isinstance(value, tuple) else (value,)
            extended[name] = Bound(unit, nodes, isinstance(value, tuple))
    return extended
