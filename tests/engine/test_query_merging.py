"""Candidate queries that differ only in names run as one tree-sitter pattern (`#any-of?`).

Each merged candidate still goes to every query it stands for, and the structural match checks
the name: two rules that look for `ptr::read` and `ptr::copy` keep their own findings, and a
call of neither name (`ptr::write`) finds nothing.
"""

from __future__ import annotations

from unsound.dsl.loader import compile_rule_files
from unsound.dsl.rust_parser import parse_rust
from unsound.engine.crate_index import CrateIndex
from unsound.engine.matcher import RuleSetMatcher, _QueryPlan
from unsound.engine.units import ParsedFile


def rule(rule_id: str, name: str) -> str:
    return f'''rule {rule_id} {{
  title "{name}"
  severity warning
  match `$Q::{name}($..A)`
  message "{name}"
  location $MATCH "here"
  example bad `fn f(p: *const u8) -> u8 {{ unsafe {{ std::ptr::{name}(p) }} }} // ruleid: {rule_id}`
  example good `fn f(p: u8) -> u8 {{ p }}`
  help """
  ## What it does
  x
  """
}}
'''


CODE = b"""fn f(p: *const u8, q: *mut u8) {
    unsafe {
        let a = std::ptr::read(p);
        std::ptr::copy(p, q, 1);
        std::ptr::write(q, a);
    }
}
"""


def test_queries_that_differ_in_a_name_are_one_pattern_and_keep_their_findings() -> None:
    rules = compile_rule_files(
        [("demo", "demo.rules", rule("reads", "read") + rule("copies", "copy"))]
    )
    plan = _QueryPlan(rules)
    assert plan.size < len(plan.queries)
    unit = ParsedFile("src/lib.rs", "demo", CODE, parse_rust(CODE))
    crate = CrateIndex(lambda: [unit], [(CODE, lambda: unit)])
    findings = RuleSetMatcher(rules).run(unit, crate, {"reads", "copies"})
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in findings
    ] == [
        ("reads", 3, 17),
        ("copies", 4, 9),
    ]
