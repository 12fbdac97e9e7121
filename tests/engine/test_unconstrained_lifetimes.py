"""`'$a is unconstrained` is about lifetimes the function itself declares and names.

`$R has lifetime '$a` binds a lifetime the return type writes, or, when it writes none, the
lifetime parameter of a crate type it names without one (`-> Data` for `struct Data<'a>`).
That second kind is the struct's parameter: never unconstrained, so a conjunction that asks
`is unconstrained` next does not look it up in the crate index at all.
"""

from __future__ import annotations

from tree_sitter import Node

from unsound.dsl.compiled import CompiledRule
from unsound.dsl.loader import compile_rule_files
from unsound.dsl.rust_parser import parse_rust
from unsound.engine.examples import scan_snippet
from unsound.engine.generics import is_unconstrained
from unsound.model import Finding

RULES = """
rule free-lifetime {
  title    "returned lifetime the caller picks"
  severity error
  match    `fn $F<'$first, $..G>($..P) -> $R { $..B }`
  where    $R has lifetime '$a and '$a is unconstrained
  message  "`{F}` returns `'{a}`"
  help     "x"
  example bad ```
fn f<'a>(p: *const u8) -> &'a u8 { // ruleid: free-lifetime
    unsafe { &*p }
}
```
  example good ```
fn f<'a>(p: &'a u8) -> &'a u8 { p }
```
}

rule any-lifetime {
  title    "returned lifetime, written or elided"
  severity error
  match    `fn $F<'$first, $..G>($..P) -> $R { $..B }`
  where    $R has lifetime '$a
  message  "`{F}` returns `'{a}`"
  help     "x"
  example bad ```
fn f<'a>(p: &'a u8) -> &'a u8 { p } // ruleid: any-lifetime
```
  example good ```
fn f<'a>(p: u8) -> u8 { p }
```
}
"""

CODE = """\
struct Data<'d> {
    bytes: &'d [u8],
}

fn elided<'b>(p: *const u8) -> Data {
    unsafe { Data { bytes: std::slice::from_raw_parts(p, 1) } }
}

fn written<'b>(p: *const u8) -> Data<'b> {
    unsafe { Data { bytes: std::slice::from_raw_parts(p, 1) } }
}
"""


def _rules() -> dict[str, CompiledRule]:
    return {rule.id: rule for rule in compile_rule_files([("test", "test.rules", RULES)])}


def _positions(found: list[Finding]) -> list[tuple[str, int, int]]:
    return [(f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in found]


def test_an_elided_lifetime_is_bound_but_never_unconstrained(definitions_asked: list[str]) -> None:
    rules = _rules()
    # Alone, `has lifetime` binds the struct's `'d` for `-> Data`: the index was asked.
    assert _positions(scan_snippet([rules["any-lifetime"]], CODE)) == [
        ("any-lifetime", 5, 1),
        ("any-lifetime", 9, 1),
    ]
    assert "Data" in definitions_asked
    definitions_asked.clear()
    # Followed by `is unconstrained`, only the written `'b` is reported, and the index is not
    # asked for the elided one.
    assert _positions(scan_snippet([rules["free-lifetime"]], CODE)) == [("free-lifetime", 9, 1)]
    assert definitions_asked == []


def _lifetime_named(node: Node, name: bytes, inside: str) -> Node:
    """The first `lifetime` node spelled `name` under a node of kind `inside`."""
    stack = [(node, False)]
    while stack:
        current, within = stack.pop()
        within = within or current.type == inside
        if within and current.type == "lifetime" and current.text == name:
            return current
        stack.extend((child, within) for child in reversed(current.children))
    raise AssertionError(f"no {name!r} under {inside}")


def test_a_lifetime_of_an_item_declared_in_the_body_is_not_the_functions() -> None:
    # The function declares `'a` and no input names it; the struct in its body declares its
    # own `'a`, which belongs to the struct.
    code = b"fn f<'a>() -> &'a u8 {\n    struct Inner<'a>(&'a u8);\n    &0\n}\n"
    root = parse_rust(code).root_node
    assert is_unconstrained(_lifetime_named(root, b"'a", "reference_type"))
    assert not is_unconstrained(_lifetime_named(root, b"'a", "struct_item"))
