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


def test_each_remembered_answer_holds_its_node_until_the_scope_ends() -> None:
    """A node's id is an address a later parse may reuse once its tree is freed (a run parses
    and drops one macro region after another); the memo holds the node, and with it its tree,
    so no id can mean two nodes within a scope."""

    def answer_for_a_fresh_tree() -> int:
        return child_count(parse_rust(b"fn a() {}").root_node.children[0])

    with node_memo.scope():
        assert answer_for_a_fresh_tree() == 4
        memo = node_memo._memo
        assert memo is not None
        [(held, answer)] = memo.values()
        assert held.type == "function_item" and answer == 4
    assert node_memo._memo is None
