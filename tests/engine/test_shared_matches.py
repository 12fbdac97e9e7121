"""Rules that spell the same pattern share its structural matches; each keeps its own conditions."""

from __future__ import annotations

import pytest

from unsound.dsl.loader import compile_rule_files
from unsound.engine import matcher as matcher_module
from unsound.engine.examples import scan_snippet

RULES = """
rule returns-raw {
  title    "returns a raw pointer"
  severity warning
  match    `fn $F($..P) -> $R { $..B }`
  where    $R is raw-pointer
  message  "x"
  help     "x"
  example bad ```
fn f() -> *const u8 { std::ptr::null() } // ruleid: returns-raw
```
  example good ```
fn f() -> u8 { 0 }
```
}

rule returns-reference {
  title    "returns a reference"
  severity warning
  match    `fn $F($..P) -> $R { $..B }`
  where    $R is reference
  message  "x"
  help     "x"
  example bad ```
fn f(x: &u8) -> &u8 { x } // ruleid: returns-reference
```
  example good ```
fn f() -> u8 { 0 }
```
}
"""

CODE = """fn a() -> *const u8 { std::ptr::null() }
fn b(x: &u8) -> &u8 { x }
fn c() -> u8 { 0 }
"""


def test_each_rule_keeps_its_findings_and_each_node_is_matched_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = compile_rule_files([("test", "test.rules", RULES)])
    calls: list[int] = []
    real = matcher_module.match_pattern

    def counting(pattern, node, env=None):  # type: ignore[no-untyped-def]
        calls.append(node.start_byte)
        return real(pattern, node, env)

    monkeypatch.setattr(matcher_module, "match_pattern", counting)
    together = scan_snippet(rules, CODE)
    assert [(f.rule_id, f.primary.span.start_line) for f in together] == [
        ("returns-raw", 1),
        ("returns-reference", 2),
    ]
    # One structural match per function for both rules; `c`'s return type fails both rules'
    # test on it (`-> $R` is the candidate's return type) before any match is made.
    assert calls == [0, 41]
    apart = [f for rule in rules for f in scan_snippet([rule], CODE)]
    assert sorted(together, key=lambda f: f.rule_id) == sorted(apart, key=lambda f: f.rule_id)


def test_a_test_on_a_root_field_turns_a_candidate_away_before_its_structural_match() -> None:
    """`where $R matches …` (an `and` line of node tests counts) on `-> $R`: read off the
    candidate's return type; a metavariable written twice, or in a sequence, is not."""
    rules = compile_rule_files([("test", "test.rules", RULES)])
    pattern = rules[0].patterns[0]
    assert matcher_module._root_field(pattern, "R") == "return_type"
    assert matcher_module._root_field(pattern, "F") == "name"
    assert matcher_module._root_field(pattern, "P") is None  # inside the parameters
    assert matcher_module._root_field(pattern, "B") is None  # a sequence


def test_an_and_line_of_node_tests_joins_the_leading_tests() -> None:
    from unsound.dsl import ast
    from unsound.dsl.loader import load_rules
    from unsound.engine.conditions import precheck_var, split_prechecks

    (rule,) = [r for r in load_rules() if r.id == "borrow-stored-as-raw-pointer"]
    run, rest = split_prechecks(rule.ast.conditions)
    # `not $R is reference`, then `$R matches "…" and not $R matches "'_"`, split in two.
    assert [precheck_var(c) for c in run] == ["R", "R", "R"]
    assert isinstance(run[1], ast.MatchesRegex) and isinstance(run[2], ast.Not)
    assert rest == rule.ast.conditions[2:]


def test_a_later_node_test_of_the_match_itself_runs_first() -> None:
    """`missing-safety-doc`'s `$MATCH matches "…unsafe\\s"` comes after an `or` line with a
    relation; it reads only the matched node, so it runs before that line, on every
    candidate, ahead of any binding or relation."""
    from unsound.dsl import ast
    from unsound.dsl.loader import load_rules
    from unsound.engine.conditions import precheck_var, split_prechecks

    (rule,) = [r for r in load_rules() if r.id == "missing-safety-doc"]
    conditions = rule.ast.conditions
    matched = frozenset({"MATCH", *(n for p in rule.patterns for n in p.metavariables())})
    run, rest = split_prechecks(conditions, matched)
    assert isinstance(conditions[0], ast.Or) and isinstance(conditions[1], ast.MatchesRegex)
    assert [precheck_var(c) for c in run] == ["MATCH"]
    assert rest == (conditions[0], *conditions[2:])
    # Without the metavariables bound by the match, only the leading tests (none here) run first.
    assert split_prechecks(conditions) == ((), conditions)
