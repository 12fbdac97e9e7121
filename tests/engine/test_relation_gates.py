"""A rule whose `where` needs a relation in the same file skips files where it cannot hold.

The skip must never change what is found: where the relation holds the findings are exact.
"""

from __future__ import annotations

import pytest

from unsound.dsl.compiler import required_relations
from unsound.dsl.loader import compile_rule_files, load_rules
from unsound.dsl.pattern import Pattern
from unsound.engine import matcher as matcher_module
from unsound.engine.examples import scan_snippet

RULE = """
rule call-after-read {
  title    "call after a bitwise read"
  severity warning
  match    `$C($..ARGS)`
  where    $MATCH follows `$Q::read($SRC)`
  message  "`{C}` runs after `{SRC}` was read"
  help     "x"
  example bad ```
fn f<T>(p: *const T, g: impl Fn()) {
    let v = unsafe { std::ptr::read(p) };
    g(); // ruleid: call-after-read
}
```
  example good ```
fn f(g: impl Fn()) {
    g();
}
```
}

rule call-near-holder {
  title    "call in a fn whose type is held elsewhere"
  severity warning
  match    `$C($..ARGS)`
  where    $MATCH inside `fn $F($..P) { $..B }`
  where    $F holds raw-pointer via $FIELD
  message  "x"
  help     "x"
  example bad ```
struct S { p: *const u8 }
fn f() {
    g(); // ruleid: call-near-holder
}
```
  example good ```
fn f() {}
```
}
"""


@pytest.fixture
def candidates(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = matcher_module._first_finding

    def counting(root, unit, pattern, context, shared=None):  # type: ignore[no-untyped-def]
        seen.append(context.rule.id)
        return real(root, unit, pattern, context, shared)

    monkeypatch.setattr(matcher_module, "_first_finding", counting)
    return seen


def rules():  # type: ignore[no-untyped-def]
    return compile_rule_files([("test", "test.rules", RULE)])


def test_only_relations_of_the_matched_file_gate() -> None:
    gated, holder = rules()
    assert [
        {p.source.code for p in alternatives} for alternatives in required_relations(gated)
    ] == [{"$Q::read($SRC)"}]
    # `inside` of $MATCH gates; nothing is said of what `holds` looks at in other files.
    assert [{p.source.code for p in a} for a in required_relations(holder)] == [
        {"fn $F($..P) { $..B }"}
    ]


def test_a_file_without_the_relation_is_skipped(candidates: list[str]) -> None:
    code = "fn f(g: impl Fn()) {\n    g();\n    h(1);\n}\n"
    assert scan_snippet(rules()[:1], code) == []
    assert candidates == []


def test_where_the_relation_occurs_the_findings_are_exact(candidates: list[str]) -> None:
    code = (
        "fn f<T>(p: *const T, g: impl Fn()) {\n"
        "    g();\n"
        "    let v = unsafe { std::ptr::read(p) };\n"
        "    g();\n"
        "}\n"
    )
    found = scan_snippet(rules()[:1], code)
    assert [(f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in found] == [
        ("call-after-read", 4, 5),
    ]
    assert candidates  # the rule ran here


def test_a_bound_variable_is_looked_for_where_the_relation_pattern_holds_it() -> None:
    """`inside fn $F($..PA, $C: $CT, $..PB)` with `$C` bound: only the parameters can hold it,
    so a function whose parameters do not spell it is turned away before it is matched; where
    the variable may lie anywhere (it is a child of the root itself), the whole candidate is
    searched."""
    from unsound.engine.relations import _holders

    rules = {rule.id: rule for rule in load_rules()}

    def relation(rule_id: str, kind: str) -> Pattern:
        relations = rules[rule_id].relations.values()
        return next(p for patterns in relations for p in patterns if p.root.kind == kind)

    inside_fn = relation("panic-safety-duplicated-ownership", "function_item")
    assert _holders(inside_fn, "C") == frozenset({"parameters"})
    assert _holders(inside_fn, "F") is None
    inside_impl = relation("raw-handle-escapes-drop-owner", "impl_item")
    assert _holders(inside_impl, "S") is None
