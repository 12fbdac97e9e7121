"""Def-use flow from a parameter into the return value: positives and the cuts."""

from __future__ import annotations

import pytest

from unsound.dsl.rust_parser import parse_rust
from unsound.engine.dataflow import flows_into_return


def sink_of(code: str, parameter: str = "p") -> str | None:
    tree = parse_rust(code.encode())
    function = tree.root_node.named_children[-1]
    assert function.type == "function_item"
    params = function.child_by_field_name("parameters")
    assert params is not None
    for param in params.named_children:
        pattern = param.child_by_field_name("pattern")
        if pattern is not None and pattern.text == parameter.encode():
            sink = flows_into_return(pattern, function)
            return sink.text.decode() if sink is not None else None
    raise AssertionError("no such parameter")


@pytest.mark.parametrize(
    ("body", "sink"),
    [
        ("S { p }", "p"),
        ("S { q: p }", "q: p"),
        ("let q = p; S { q }", "q"),
        ("let q = p as *const u8; S { q }", "q"),
        ("let q = p.cast::<u16>(); S { q }", "q"),
        ("S { q: p.cast_const() }", "q: p.cast_const()"),
        ("unsafe { S { q: p } }", "q: p"),
        ("Self::from_parts(p)", "p"),
        ("if c { return S { q: p }; } S { q: null() }", "q: p"),
        ("S { r: unsafe { &*p } }", "r: unsafe { &*p }"),
        ("Some(S { q: p })", "q: p"),
        ("let mut q = null(); if c { q = p; } S { q }", "q"),
    ],
)
def test_flows(body: str, sink: str) -> None:
    code = f"fn f(c: bool, p: *mut u8) -> S {{ {body} }}"
    assert sink_of(code) == sink


@pytest.mark.parametrize(
    "body",
    [
        "let n = unsafe { (*p).len() }; S { n }",
        "let p = null_mut(); S { p }",  # shadowed
        "let mut q = p; q = null_mut(); S { q }",  # reassigned
        "let v = unsafe { std::ptr::read(p) }; S { v }",
        "if p.is_null() { S::default() } else { S::default() }",
        "let q = p; drop(q); S::default()",
    ],
)
def test_does_not_flow(body: str) -> None:
    code = f"fn f(c: bool, p: *mut u8) -> S {{ {body} }}"
    assert sink_of(code) is None


def self_sink(body: str) -> str | None:
    """Where a method's receiver `self` lands in its result."""
    tree = parse_rust(f"impl T {{ fn f(&self, i: usize) -> S {{ {body} }} }}".encode())
    function = tree.root_node.named_children[0].child_by_field_name("body").named_children[0]  # type: ignore[union-attr]
    receiver = function.child_by_field_name("parameters").named_children[0].named_children[0]  # type: ignore[union-attr]
    assert receiver.type == "self"
    sink = flows_into_return(receiver, function)
    return sink.text.decode() if sink is not None else None


@pytest.mark.parametrize(
    ("body", "sink"),
    [
        ("S { ptr: self.ptr }", "ptr: self.ptr"),
        ("self.inner.get()", "self"),
        ("self.items[i].as_ref()", "self"),  # an element of a field is part of `self`
        ("let v = &self.items; v[i].clone_handle()", "v"),
        ("S::new(self)", "self"),
    ],
)
def test_receiver_flows(body: str, sink: str) -> None:
    assert self_sink(body) == sink


@pytest.mark.parametrize(
    "body",
    [
        "self.position += 1; S::default()",  # naga's parser: nothing of `self` in the result
        "let n = self.items.len(); S { n }",
        "S { n: self.items[i] + 1 }",
    ],
)
def test_receiver_does_not_flow(body: str) -> None:
    assert self_sink(body) is None
