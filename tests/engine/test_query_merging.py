"""Candidate queries that differ only in names run as one tree-sitter pattern (`#any-of?`).

Each merged candidate still goes to every query it stands for, and the structural match checks
the name: two rules that look for `ptr::read` and `ptr::copy` keep their own findings, and a
call of neither name (`ptr::write`) finds nothing.
"""

from __future__ import annotations

from unsound.dsl.loader import compile_rule_files, load_rules
from unsound.dsl.rust_parser import parse_rust
from unsound.engine import relations
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


def shaped(rule_id: str, match: str, bad: str) -> str:
    """A rule matching `match`, which `bad` (one expression) holds."""
    return f'''rule {rule_id} {{
  title "{rule_id}"
  severity warning
  match `{match}`
  message "{rule_id}"
  location $MATCH "here"
  example bad `fn f(x: Vec<u8>, p: *const u8) {{ unsafe {{ {bad}; }} }} // ruleid: {rule_id}`
  example good `fn f(p: u8) -> u8 {{ p }}`
  help """
  ## What it does
  x
  """
}}
'''


def _one_rule_file(padding: int) -> ParsedFile:
    """A file that only the `reads` rule's words pass, `padding` bytes of comments long."""
    body = b"fn f(p: *const u8) -> u8 { unsafe { std::ptr::read(p) } }\n"
    body += b"// padding\n" * (padding // 11)
    return ParsedFile("src/lib.rs", "demo", body, parse_rust(body))


def test_a_rules_own_query_is_built_once_the_combined_passes_have_paid_for_it() -> None:
    """With the combined query built (a cold worker), a file that one rule wants takes the
    combined pass until that rule's own query would have saved its building cost; the findings
    are the same either way."""
    others = [
        ("$X.as_ptr()", "x.as_ptr()"),
        ("$X.set_len($N)", "x.set_len(0)"),
        ("$P as *mut $T", "p as *mut u8"),
        ("Box::from_raw($P)", "Box::from_raw(p as *mut u8)"),
        ("$X.get_unchecked($I)", "x.get_unchecked(0)"),
        ("mem::zeroed()", "std::mem::zeroed::<u8>()"),
        ("$X.offset($N)", "p.offset(1)"),
        ("$X.add($N)", "p.add(1)"),
    ]
    texts = rule("r0", "read") + "".join(
        shaped(f"other{i}", match, bad) for i, (match, bad) in enumerate(others)
    )
    rules = compile_rule_files([("demo", "demo.rules", texts)])
    matcher = RuleSetMatcher(rules)
    matcher.compile_all()
    single = matcher._single_plan(rules[0])
    small = _one_rule_file(0)
    crate = CrateIndex(lambda: [small], [(small.data, lambda: small)])
    findings = matcher.run(small, crate, {"r0"})
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in findings
    ] == [("r0", 1, 37)]
    assert not single.built  # one small file: the combined pass, no new query
    big = _one_rule_file(4_000_000)  # its passes would pay for the query
    crate = CrateIndex(lambda: [big], [(big.data, lambda: big)])
    findings = matcher.run(big, crate, {"r0"})
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in findings
    ] == [("r0", 1, 37)]
    assert single.built


def related(rule_id: str, name: str) -> str:
    """A rule on unsafe functions whose body calls `$Q::<name>(..)` (a `has` relation)."""
    return f'''rule {rule_id} {{
  title "{name}"
  severity warning
  match `unsafe fn $F($..P) {{ $..B }}`
  where $MATCH has `$Q::{name}($..A)`
  message "{name}"
  location $MATCH "here"
  example bad `unsafe fn f(p: *const u8) -> u8 {{ std::ptr::{name}(p) }} // ruleid: {rule_id}`
  example good `unsafe fn f(p: u8) -> u8 {{ p }}`
  help """
  ## What it does
  x
  """
}}
'''


RELATED = b"""unsafe fn reads(p: *const u8) -> u8 {
    std::ptr::read(p)
}
unsafe fn copies(p: *const u8, q: *mut u8) {
    std::ptr::copy(p, q, 1);
}
unsafe fn writes(q: *mut u8) {
    std::ptr::write(q, 0);
}
"""


def test_relation_queries_that_differ_in_a_name_share_one_query_and_keep_their_findings() -> None:
    rules = compile_rule_files(
        [("demo", "demo.rules", related("has-read", "read") + related("has-copy", "copy"))]
    )
    sources = [p.query for r in rules for ps in r.relations.values() for p in ps]
    assert len(set(sources)) == 2
    RuleSetMatcher(rules)  # registers the rules' relation queries
    shared = {relations._SHARED[source][0] for source in sources}
    assert len(shared) == 1  # one query (with any other rule set's names this process has seen)
    merged = shared.pop()
    assert "(#any-of? @_t0 " in merged and '"copy"' in merged and '"read"' in merged
    unit = ParsedFile("src/lib.rs", "demo", RELATED, parse_rust(RELATED))
    crate = CrateIndex(lambda: [unit], [(RELATED, lambda: unit)])
    findings = RuleSetMatcher(rules).run(unit, crate, {"has-read", "has-copy"})
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in findings
    ] == [("has-read", 1, 1), ("has-copy", 4, 1)]


STATIC_MUT = b"""#![allow(static_mut_refs)]

static mut COUNTER: u32 = 0;

pub fn counter() -> &'static u32 {
    // SAFETY: nothing writes it.
    unsafe { &COUNTER }
}
"""


def test_a_rule_only_the_crates_names_locate_has_a_pass_of_its_own() -> None:
    """`static-mut-reference` (`&$X` of a `static mut`) matches nearly every reference: its
    patterns are not in the combined pass, only in its own, for the files that want it."""
    rules = load_rules()
    matcher = RuleSetMatcher(rules)
    apart = "static-mut-reference"
    assert all(r.id != apart for users in matcher._combined.users for r, _ in users)
    others = {r.id for r in rules} - {apart}
    assert matcher._plans(others, 1000) == [matcher._combined]
    plans = matcher._plans({*others, apart}, 1000)
    assert plans[0] is matcher._combined and plans[1:] == [
        matcher._single_plan(next(r for r in rules if r.id == apart))
    ]
    unit = ParsedFile("src/lib.rs", "demo", STATIC_MUT, parse_rust(STATIC_MUT))
    crate = CrateIndex(lambda: [unit], [(STATIC_MUT, lambda: unit)])
    findings = matcher.run(unit, crate, {*others, apart})
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in findings
    ] == [(apart, 7, 14)]
    assert matcher.run(unit, crate, others) == []
