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
    assert len(calls) == 3  # three functions, one structural match each for both rules
    apart = [f for rule in rules for f in scan_snippet([rule], CODE)]
    assert sorted(together, key=lambda f: f.rule_id) == sorted(apart, key=lambda f: f.rule_id)
