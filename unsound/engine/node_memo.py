"""Facts about one syntax node, remembered while one file is matched.

Several rules ask the same questions of the same node: `$R has lifetime` of a function's return
type, `$PT is raw-pointer` of a parameter's type (the lifetime rules share their candidates).
The answers read the node's own tree (and, for `remember`, the crate index), so they are kept
for the length of one `RuleSetMatcher.run` (`scope`: one file, one crate, one reads recorder),
keyed by the node's id. A node's id is an address that a later tree may reuse once this one is
freed (a run parses and drops one macro region after another), so each entry also holds the
node, which keeps its tree alive until the scope ends; outside a scope nothing is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TypeVar

from tree_sitter import Node

T = TypeVar("T")

# (fact, node id) → (the node, kept so that its tree outlives the scope; the answer)
_memo: dict[tuple[str, int], tuple[Node | None, object]] | None = None


@contextmanager
def scope() -> Iterator[None]:
    """Remember node facts until the block ends (nested scopes share the outer one)."""
    global _memo
    if _memo is not None:
        yield
        return
    _memo = {}
    try:
        yield
    finally:
        _memo = None


def remember(name: str, node: Node, compute: Callable[[], T]) -> T:
    """`compute()`, remembered for `node` under `name` within a `scope`.

    For a fact that also reads the crate index: inside one scope every lookup is noted in the
    same file's recorder (`crate_reads`), so an answer remembered there was noted once already.
    """
    return _remembered((name, node.id), node, compute)


def remember_in_scope(name: str, compute: Callable[[], T]) -> T:
    """`compute()`, remembered under `name` within a `scope` (one file, one crate): for a
    fact of the crate that is no one node's. The answer must keep alive any tree it holds."""
    return _remembered((name, 0), None, compute)


def _remembered(key: tuple[str, int], keep: Node | None, compute: Callable[[], T]) -> T:
    memo = _memo
    if memo is None:
        return compute()
    found = memo.get(key)
    if found is not None:
        return found[1]  # type: ignore[return-value]
    value = compute()
    memo[key] = (keep, value)
    return value


def per_node(function: Callable[[Node], T]) -> Callable[[Node], T]:
    """Memoize a pure function of a node (its tree only) within a `scope`. Callers must not
    mutate what it returns."""
    name = function.__qualname__

    @wraps(function)
    def remembered(node: Node) -> T:
        memo = _memo
        if memo is None:
            return function(node)
        key = (name, node.id)
        found = memo.get(key)
        if found is not None:
            return found[1]  # type: ignore[return-value]
        value = function(node)
        memo[key] = (node, value)
        return value

    return remembered
