"""Each candidate is judged once per distinct reading of its pattern.

An item pattern reads the same in the item and the statement context; two equal variants
judged every candidate, and every relation, twice.
"""

from __future__ import annotations

from collections import Counter

import pytest

from unsound.dsl.loader import compile_rule_files
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

    def counting(conditions, bindings, context):  # type: ignore[no-untyped-def]
        judged[bindings["F"].nodes[0].start_point[0] + 1] += 1
        return real(conditions, bindings, context)

    monkeypatch.setattr(matcher_module, "all_hold", counting)
    findings = scan_snippet([_rule("special-input")], CODE)
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in findings
    ] == [("special-input", 11, 1)]
    assert judged == {3: 1, 7: 1, 11: 1}
