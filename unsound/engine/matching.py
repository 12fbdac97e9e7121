"""Structural matching of a compiled pattern against a candidate tree-sitter node.

The candidate query has already done the cheap filtering in C; this checks the rest exactly:
node kinds, literal tokens, metavariable consistency and `$..` sequences (with backtracking).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache

from tree_sitter import Node

from unsound.dsl.pattern import OPTIONAL_KINDS, Pattern, PatternNode
from unsound.engine.syntax import preceding_attributes

Binding = Node | tuple[Node, ...]
Env = Mapping[str, Binding]

_SKIPPED = frozenset({",", "line_comment", "block_comment"})
_MUT_OPTIONAL_IN = frozenset({"let_declaration", "parameter"})
_FUNCTION_KINDS = frozenset({"function_item", "function_signature_item", "closure_expression"})


def match_pattern(pattern: Pattern, candidate: Node, env: Env | None = None) -> Iterator[Env]:
    """Every way the pattern matches the candidate node (usually zero or one), consistent with
    the bindings in `env`."""
    for matched in match_node(pattern.root, candidate, env or {}):
        if not pattern.attributes:
            yield matched
            continue
        attributes = preceding_attributes(candidate)
        yield from _match_attributes(list(pattern.attributes), attributes, matched)


def match_node(pattern: PatternNode, target: Node, env: Env) -> Iterator[Env]:
    """Match one pattern node against one target node."""
    if pattern.var is not None and not pattern.sequence:
        if pattern.lifetime and target.type != "lifetime":
            return
        yield from _bind(pattern.var, target, env)
        return
    if pattern.kind != target.type:
        return
    if not pattern.children:
        # A named leaf in the pattern may be a node with tokens in the target (`self`): the
        # text decides.
        if _leaf_text_equal(pattern, target):
            yield env
        return
    if pattern.kind == "function_modifiers":
        # `unsafe fn` matches `pub const unsafe extern "C" fn`: the modifiers a pattern writes
        # must be there, in order; the others may be too (as visibility and generics may).
        yield from _match_subsequence(list(pattern.children), 0, target.children, 0, env)
        return
    targets = _target_children(pattern, target)
    patterns = _pattern_children(pattern, targets)
    if not pattern.has_sequence_child:
        if len(patterns) == len(targets):
            yield from _match_pairs(patterns, targets, env)
        return  # without a `$..`, one pattern child per target child
    yield from _match_sequence(patterns, 0, targets, 0, env)


def _match_pairs(patterns: Sequence[PatternNode], targets: list[Node], env: Env) -> list[Env]:
    """Each pattern child against the target child at its position: every solution, in the
    order the recursive matcher gives them (almost always none or one, so built eagerly,
    without a generator per child)."""
    envs = [env]
    for pattern, target in zip(patterns, targets, strict=True):
        if pattern.var is None and not pattern.children:
            if pattern.kind != target.type or not _leaf_text_equal(pattern, target):
                return []
            continue
        envs = [matched for current in envs for matched in match_node(pattern, target, current)]
        if not envs:
            return envs
    return envs


def _leaf_text_equal(pattern: PatternNode, target: Node) -> bool:
    expected = pattern.text_bytes
    if expected is None:
        return _text(target) == pattern.text
    return (target.text or b"") == expected


def _match_sequence(
    patterns: Sequence[PatternNode], pi: int, targets: list[Node], ti: int, env: Env
) -> Iterator[Env]:
    if pi == len(patterns):
        if ti == len(targets):
            yield env
        return
    current = patterns[pi]
    if current.sequence:
        rest = len(patterns) - pi - 1
        if not any(p.sequence for p in patterns[pi + 1 :]):
            # The last `$..` takes exactly what the single children after it leave (`{ $..B }`):
            # trying every split would cost a generator per statement of the block.
            end = len(targets) - rest
            ends: Iterable[int] = range(end, end + 1) if end >= ti else range(0)
        else:
            ends = _split_points(patterns[pi + 1], targets, ti)
        for end in ends:
            for bound in _bind_sequence(current.var or "", tuple(targets[ti:end]), env):
                yield from _match_sequence(patterns, pi + 1, targets, end, bound)
        return
    if ti == len(targets):
        return
    for matched in match_node(current, targets[ti], env):
        yield from _match_sequence(patterns, pi + 1, targets, ti + 1, matched)


def _split_points(following: PatternNode, targets: list[Node], start: int) -> Iterable[int]:
    """Where a `$..` that starts at `start` may end, given the pattern after it: a node of a
    fixed kind can only match a target of that kind (`$..A, $C: $CT, $..B` tries only the
    parameters, not every split of the list)."""
    if following.sequence or following.var is not None:
        return range(start, len(targets) + 1)
    kind = following.kind
    return [end for end in range(start, len(targets)) if targets[end].type == kind]


def _match_subsequence(
    patterns: list[PatternNode], pi: int, targets: list[Node], ti: int, env: Env
) -> Iterator[Env]:
    """Each pattern child matched by a target child, in order, other target children skipped."""
    if pi == len(patterns):
        yield env
        return
    for index in range(ti, len(targets)):
        for matched in match_node(patterns[pi], targets[index], env):
            yield from _match_subsequence(patterns, pi + 1, targets, index + 1, matched)


def _bind(name: str, node: Node, env: Env) -> Iterator[Env]:
    if not name:
        yield env
        return
    previous = env.get(name)
    if previous is None:
        yield {**env, name: node}
    elif binding_text(previous) == _text(node):
        yield env


def _bind_sequence(name: str, nodes: tuple[Node, ...], env: Env) -> Iterator[Env]:
    if not name:
        yield env
        return
    previous = env.get(name)
    if previous is None:
        yield {**env, name: nodes}
    elif binding_text(previous) == binding_text(nodes):
        yield env


def _target_children(pattern: PatternNode, target: Node) -> list[Node]:
    """The target's children that take part in matching, without the parts the pattern omits.

    Hot: runs for every node the matcher visits, so field names (a slow lookup) are asked for
    only where they decide something (a function's return type, a `let`'s type).
    """
    kinds, tokens = pattern.child_kinds, pattern.child_tokens
    dropped = _dropped_kinds(kinds)
    target_type = target.type
    drop_return = target_type in _FUNCTION_KINDS and "->" not in tokens
    drop_let_type = target_type == "let_declaration" and ":" not in tokens
    drop_mut = target_type in _MUT_OPTIONAL_IN and "mutable_specifier" not in kinds
    if not (drop_return or drop_let_type or drop_mut):
        return [child for child in target.children if child.type not in dropped]
    kept = []
    for index, child in enumerate(target.children):
        kind = child.type
        if kind in dropped:
            continue
        if drop_mut and kind == "mutable_specifier":
            continue  # `let $X = ..` matches `let mut x = ..`; `$P: $T` matches `mut p: T`
        if drop_return and (kind == "->" or target.field_name_for_child(index) == "return_type"):
            continue
        if drop_let_type and (kind == ":" or target.field_name_for_child(index) == "type"):
            continue
        kept.append(child)
    return kept


@cache
def _dropped_kinds(pattern_kinds: frozenset[str]) -> frozenset[str]:
    """Target children never matched: separators, comments, and the optional parts (`pub`,
    generics, attributes) the pattern does not write."""
    return _SKIPPED | (OPTIONAL_KINDS - pattern_kinds)


def _pattern_children(pattern: PatternNode, targets: list[Node]) -> Sequence[PatternNode]:
    """Pattern children, without optional parts made only of `$..` when the target has none."""
    absentable = pattern.absentable_children
    if not absentable:
        return pattern.children
    target_kinds = {t.type for t in targets}
    return [
        child
        for child in pattern.children
        if not (child.kind in absentable and child.kind not in target_kinds)
    ]


def _match_attributes(wanted: list[PatternNode], present: list[Node], env: Env) -> Iterator[Env]:
    if not wanted:
        yield env
        return
    first, rest = wanted[0], wanted[1:]
    for attribute in present:
        for matched in match_node(first, attribute, env):
            yield from _match_attributes(rest, present, matched)


def _text(node: Node) -> str:
    return node.text.decode("utf-8", "replace") if node.text is not None else ""


def binding_text(binding: Binding) -> str:
    if isinstance(binding, tuple):
        return "\x00".join(_text(n) for n in binding)
    return _text(binding)
