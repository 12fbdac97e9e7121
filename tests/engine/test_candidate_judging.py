"""Each candidate is judged once, and a `where` line's other ways only when they can matter.

An item pattern reads the same in the item and the statement context; two equal variants
judged every candidate, and every relation, twice.

A relation can hold in several ways (`fn $F($..A, $Q: &$U, $..C)` once per `&` parameter). When
the lines after it fail for the first way, they fail for every way that differs only in names
none of them reads: those ways are not tried. A line that reads such a name (`$U matches …`)
still gets every way.
"""

from __future__ import annotations

from collections import Counter

import pytest

from unsound.dsl.loader import compile_rule_files
from unsound.engine import conditions as conditions_module
from unsound.engine.examples import scan_snippet

RULES = """
rule no-mut-input {
  title    "a function with a shared reference input and no `&mut` one"
  severity warning
  match    `fn $F($..P) -> $R { $..B }`
  where    $F inside `fn $F($..A, $Q: &$U, $..C) -> $R { $..B2 }`
  where    not $F inside `fn $F($..A5, $Q5: &mut $U5, $..C5) -> $R { $..B5 }`
  message  "`{F}` borrows `{Q}`"
  help     "x"
  example bad ```
fn g(a: &u8) -> u8 { *a } // ruleid: no-mut-input
```
  example good ```
fn f(a: &u8, d: &mut u8) -> u8 { *a + *d }
```
}

rule special-input {
  title    "a function with a `&Special` input"
  severity warning
  match    `fn $F($..P) -> $R { $..B }`
  where    $F inside `fn $F($..A, $Q: &$U, $..C) -> $R { $..B2 }`
  where    $U matches "^Special$"
  message  "`{F}` borrows `{Q}`"
  help     "x"
  example bad ```
struct Special;
fn h(a: &u8, b: &Special) -> u8 { *a } // ruleid: special-input
```
  example good ```
fn g(a: &u8) -> u8 { *a }
```
}
"""

CODE = """struct Special;

fn f(a: &u8, b: &u8, c: &u8, d: &mut u8) -> u8 {
    *a + *b + *c + *d
}

fn g(a: &u8, b: &u8) -> u8 {
    *a + *b
}

fn h(a: &u8, b: &Special) -> u8 {
    *a
}
"""


def _rule(rule_id: str):  # type: ignore[no-untyped-def]
    (rule,) = [r for r in compile_rule_files([("test", "test.rules", RULES)]) if r.id == rule_id]
    return rule


def test_a_line_no_later_line_reads_from_is_not_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: Counter[tuple[str, int]] = Counter()
    real = conditions_module.relate

    def counting(relation, pattern, node, unit, bindings, within=None):  # type: ignore[no-untyped-def]
        asked[(relation, node.start_point[0] + 1)] += 1
        return real(relation, pattern, node, unit, bindings, within)

    monkeypatch.setattr(conditions_module, "relate", counting)
    findings = scan_snippet([_rule("no-mut-input")], CODE)
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in findings
    ] == [
        ("no-mut-input", 7, 1),
        ("no-mut-input", 11, 1),
    ]
    # The message takes the first way the line held: `g`'s first `&` parameter.
    assert [f.message for f in findings] == ["`g` borrows `a`", "`h` borrows `a`"]
    # `f` holds the first line three ways (`a`, `b`, `c`); the `not inside` after it reads only
    # `$F` and `$R`, bound by the match, so it is asked once for `f`, not once per way.
    assert asked[("inside", 3)] == 2


def test_a_later_line_that_reads_a_name_gets_every_way() -> None:
    findings = scan_snippet([_rule("special-input")], CODE)
    # `h`'s first `&` parameter is `a: &u8`; only its second way (`b: &Special`) passes.
    assert [(f.primary.span.start_line, f.message) for f in findings] == [(11, "`h` borrows `b`")]


def test_the_names_each_line_shares_with_the_lines_after_it() -> None:
    rule = _rule("no-mut-input")
    assert conditions_module.shared_onward(rule.ast.conditions, rule.relations) == (
        frozenset({"F", "R"}),
        frozenset(),
    )
    special = _rule("special-input")
    assert conditions_module.shared_onward(special.ast.conditions, special.relations) == (
        frozenset({"U"}),
        frozenset(),
    )


@pytest.mark.parametrize(
    ("code", "kinds"),
    [
        # An item reads the same in the item and the statement context: one variant.
        ("fn $F($..P) -> $R { $..B }", ["function_item"]),
        ("unsafe impl<$..A, $P, $..B> Send for $T { $..I }", ["impl_item"]),
        # An expression that is also a type keeps both readings.
        ("&mut $T", ["reference_expression", "reference_type"]),
    ],
)
def test_a_pattern_has_one_variant_per_distinct_reading(code: str, kinds: list[str]) -> None:
    from unsound.dsl.ast import CodeBlock, SrcSpan
    from unsound.dsl.pattern import compile_pattern_variants

    block = CodeBlock(code, SrcSpan("t.rules", 1, 1, 1, 1), 1, 1)
    assert [p.root.kind for p in compile_pattern_variants(block)] == kinds


def test_each_candidate_is_judged_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from unsound.engine import matcher as matcher_module

    judged: Counter[int] = Counter()
    real = matcher_module.all_hold

    def counting(conditions, bindings, context, onward=None):  # type: ignore[no-untyped-def]
        judged[bindings["F"].nodes[0].start_point[0] + 1] += 1
        return real(conditions, bindings, context, onward)

    monkeypatch.setattr(matcher_module, "all_hold", counting)
    findings = scan_snippet([_rule("special-input")], CODE)
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in findings
    ] == [("special-input", 11, 1)]
    assert judged == {3: 1, 7: 1, 11: 1}


def test_a_crate_wide_shape_is_asked_once_per_node(monkeypatch: pytest.MonkeyPatch) -> None:
    """`$T is internal-type` looks through the crate for the wrappers that could leak `$T`;
    each type parameter of one impl is a match of its own, and asks it of the same `$T`."""
    from unsound.dsl.loader import load_rules

    asked: list[str] = []
    real = conditions_module.is_internal_type

    def counting(crate, type_node):  # type: ignore[no-untyped-def]
        asked.append(type_node.text.decode())
        return real(crate, type_node)

    monkeypatch.setattr(conditions_module, "is_internal_type", counting)
    rules = [r for r in load_rules() if r.id == "send-impl-without-send-bound"]
    code = """struct Pair<A, B> {
    a: A,
    b: B,
}

unsafe impl<A, B> Send for Pair<A, B> {}

pub struct Open<T> {
    value: T,
}

unsafe impl<T> Send for Open<T> {}
"""
    findings = scan_snippet(rules, code)
    # `Pair` is private and no public type holds it: neither `A` nor `B` is reported.
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in findings
    ] == [("send-impl-without-send-bound", 12, 13)]
    assert asked == ["Pair<A, B>", "Open<T>"]


def test_a_node_its_query_matches_several_ways_is_judged_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`not-unsafe-ptr-arg-deref`'s query matches a function once per raw-pointer parameter;
    the rule judges the function once."""
    from unsound.dsl.loader import load_rules
    from unsound.engine import matcher as matcher_module

    judged: Counter[int] = Counter()
    real = matcher_module._first_finding

    def counting(root, unit, pattern, context, shared=None):  # type: ignore[no-untyped-def]
        judged[root.start_point[0] + 1] += 1
        return real(root, unit, pattern, context, shared)

    monkeypatch.setattr(matcher_module, "_first_finding", counting)
    rules = [r for r in load_rules() if r.id == "not-unsafe-ptr-arg-deref"]
    code = """pub fn copy_one(src: *const u8, dst: *mut u8, len: usize) {
    if len > 0 {
        unsafe { *dst = *src };
    }
}
"""
    findings = scan_snippet(rules, code)
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in findings
    ] == [("not-unsafe-ptr-arg-deref", 1, 17)]
    assert judged == {1: 1}
