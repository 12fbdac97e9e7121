"""Node facts are remembered only inside a matching scope, and never across it."""

from __future__ import annotations

import pytest
from tree_sitter import Node

from unsound.dsl.rust_parser import parse_rust
from unsound.engine import node_memo

calls: list[int] = []


@node_memo.per_node
def child_count(node: Node) -> int:
    calls.append(node.id)
    return node.child_count


def test_a_fact_is_computed_once_per_node_inside_a_scope_only() -> None:
    tree = parse_rust(b"fn a() {} fn b() {}")
    first, second = tree.root_node.children
    calls.clear()
    with node_memo.scope():
        assert [child_count(first), child_count(first), child_count(second)] == [4, 4, 4]
        with node_memo.scope():  # nested: the same memo
            child_count(first)
        assert calls == [first.id, second.id]
    child_count(first)
    child_count(first)
    assert calls == [first.id, second.id, first.id, first.id]  # outside: never remembered


def test_a_scope_left_by_an_exception_remembers_nothing_after() -> None:
    tree = parse_rust(b"fn a() {}")
    node = tree.root_node.children[0]
    with pytest.raises(RuntimeError), node_memo.scope():
        child_count(node)
        raise RuntimeError
    calls.clear()
    child_count(node)
    assert calls == [node.id]
