"""What a rule's `where` lines add to its candidate queries and its macro-region prefilter.

A required `$V kind K` or a word of `$V matches "..."` goes into the tree-sitter query, so fewer
candidates reach the Python matcher; the `where` words about the match's own code must be in a
macro region before the region is parsed. Neither may lose a finding.
"""

from __future__ import annotations

from tree_sitter import Query, QueryCursor

from unsound.dsl.compiler import CompiledRule
from unsound.dsl.loader import compile_rule_files, load_rules
from unsound.dsl.pattern import query_predicate
from unsound.dsl.rust_parser import parse_rust, rust_language

RULE = """rule transmute-call {
  title "Transmute"
  severity warning
  match `$FN($X)`
  where $FN matches "(^|::)transmute(::<.*>)?$"
  where $X kind identifier
  message "transmute of {X}"
  location $MATCH "here"
  example bad `fn f(x: u32) -> f32 { unsafe { std::mem::transmute(x) } } // ruleid: transmute-call`
  example good `fn f(x: u32) -> u32 { g(x) } fn g(x: u32) -> u32 { x }`
  help \"\"\"
  ## What it does
  x
  \"\"\"
}
"""

CODE = b"""fn f(x: u32, v: &[u32]) -> f32 {
    let a = g(x);
    let b = std::mem::transmute::<u32, f32>(x);
    let c = transmute(v[0]);
    let d = mem::transmute(a);
    b
}
"""


def compiled() -> CompiledRule:
    (rule,) = compile_rule_files([("demo", "demo.rules", RULE)])
    return rule


def test_kind_and_word_conditions_narrow_the_candidate_query() -> None:
    pattern = compiled().patterns[0]
    assert '(#bytes-match? @_v0 "transmute")' in pattern.query
    assert "(arguments (identifier)" not in pattern.query  # `$X` sits in no field: left out
    assert candidates(pattern.query, CODE) == TRANSMUTES


TRANSMUTES = [b"std::mem::transmute::<u32, f32>(x)", b"transmute(v[0])", b"mem::transmute(a)"]


def candidates(query: str, code: bytes) -> list[bytes | None]:
    """The text of each node the query (with our predicates) finds as `@root` in the code."""
    tree = parse_rust(code)
    return [
        node.text
        for _, captures in QueryCursor(Query(rust_language(), query)).matches(
            tree.root_node, query_predicate
        )
        for node in captures["root"]
    ]


def test_one_of_several_kinds_narrows_the_candidate_query() -> None:
    """`$FN kind A or $FN kind B …` is an alternation in the query: a method call's callee (a
    `field_expression`, its whole receiver chain) is not read for the word."""
    source = RULE.replace(
        "  where $X kind identifier\n",
        "  where $X kind identifier\n"
        "  where $FN kind identifier or $FN kind scoped_identifier or $FN kind generic_function\n",
    )
    (rule,) = compile_rule_files([("demo", "demo.rules", source)])
    query = rule.patterns[0].query
    assert "function: [(identifier) (scoped_identifier) (generic_function)] @_v0" in query
    assert candidates(query, CODE + b"fn h(o: O) { o.transmute(1); }\n") == TRANSMUTES
    (builtin,) = [r for r in load_rules() if r.id == "transmute-extends-lifetime"]
    assert [p.query for p in builtin.patterns] == [query]


def test_a_kind_that_cannot_stand_in_a_variant_keeps_its_plain_query() -> None:
    # `$C($..ARGS)` is also a function type, whose `$C` is a type: `(identifier)` is impossible
    # there, so that variant keeps the query without it (and still compiles).
    (rule,) = [r for r in load_rules() if r.id == "panic-safety-duplicated-ownership"]
    queries = [p.query for p in rule.patterns]
    assert any("function: (identifier) @_v0" in q for q in queries)
    assert all(Query(rust_language(), q) for q in queries)


def test_a_macro_region_needs_the_words_of_where_lines_about_its_own_code() -> None:
    (rule,) = [r for r in load_rules() if r.id == "panic-safety-duplicated-ownership"]
    assert not rule.may_match_region(b"fn f<F: FnOnce()>(g: F) { g() }")
    assert rule.may_match_region(b"fn f<F: FnOnce()>(g: F) { let v = ptr::read(p); g() }")
    # `is static-mut`'s `unsafe` may be outside the region: it is not asked of the region.
    (static,) = [r for r in load_rules() if r.id == "static-mut-reference"]
    assert static.may_match_region(b"(&COUNTER)")


def test_a_pointer_shape_of_a_type_narrows_the_query_but_not_of_an_expression() -> None:
    (by_type,) = [r for r in load_rules() if r.id == "not-unsafe-ptr-arg-deref"]
    assert all('(#bytes-match? @_v0 "\\\\*|NonNull")' in p.query for p in by_type.patterns)
    tree = parse_rust(
        b"pub fn a(p: *mut u8) {}\npub fn b(n: usize) {}\npub fn c(p: NonNull<u8>) {}"
    )
    query = Query(rust_language(), by_type.patterns[0].query)
    found = [
        (node.text or b"").split(b"(")[0]
        for _, captures in QueryCursor(query).matches(tree.root_node, query_predicate)
        for node in captures["root"]
    ]
    assert found == [b"pub fn a", b"pub fn c"]
    # `$X is static-mut`-like shapes of an expression come from its declaration: left out.
    (by_expression,) = [r for r in load_rules() if r.id == "static-mut-reference"]
    assert not any("#match?" in p.query for p in by_expression.patterns)


def test_a_static_mut_shape_narrows_the_query_to_names_and_paths() -> None:
    """`$X is static-mut` holds only for a name or a path (the static's), so the candidate
    query leaves out method calls on `self.x`, `f()` or `a.b`; the rule's findings stay."""
    (rule,) = [r for r in load_rules() if r.id == "static-mut-reference"]
    (calls,) = [p for p in rule.patterns if p.query.startswith("(call_expression")]
    tree = parse_rust(
        b"static mut LOG: Vec<u8> = Vec::new();\n"
        b"fn f(v: &mut Vec<u8>) {\n"
        b"    unsafe { LOG.push(1); crate::LOG.push(2); }\n"
        b"    v.push(3);\n"
        b"    self_like().push(4);\n"
        b"    v.first().map(|x| x.clone());\n"
        b"}\n"
    )
    query = Query(rust_language(), calls.query)
    found = [
        node.text
        for _, captures in QueryCursor(query).matches(tree.root_node, query_predicate)
        for node in captures["root"]
    ]
    # A local's method call stays a candidate (the condition decides); a call on a call's
    # result (`.map(..)` on `v.first()`, `.push(4)` on `self_like()`) does not reach the matcher.
    assert found == [
        b"LOG.push(1)",
        b"crate::LOG.push(2)",
        b"v.push(3)",
        b"v.first()",
        b"x.clone()",
    ]


WRITE_RULE = """rule ptr-write {
  title "Write through a pointer"
  severity warning
  match `$M::write($P, $V)`
  message "write"
  location $MATCH "here"
  example bad `fn f(p: *mut u32) { unsafe { ptr::write(p, 1) } } // ruleid: ptr-write`
  example good `fn f(p: *mut u32) { g(p) } fn g(p: *mut u32) {}`
  help \"\"\"
  ## What it does
  x
  \"\"\"
}
"""


def test_a_child_stays_in_its_field_in_the_query() -> None:
    """A literal written in a field must be found in that field: `write` as the name of a
    path (`$M::write`), not as a path's first segment (`write::LocationList`); and tree-sitter
    drops the pattern's state at the first field that fails, instead of walking the call's
    arguments with it."""
    (rule,) = compile_rule_files([("demo", "demo.rules", WRITE_RULE)])
    assert rule.patterns[0].query == (
        "(call_expression function: (scoped_identifier"
        ' name: ((identifier) @_t0 (#eq? @_t0 "write"))) arguments: (arguments)) @root'
    )
    tree = parse_rust(
        b"fn f(p: *mut u32, out: &mut Vec<u8>) {\n"
        b"    out.push(write::LocationList(1));\n"
        b"    unsafe { ptr::write(p, 1) };\n"
        b"    write::ptr(p, 2);\n"
        b"}\n"
    )
    found = [
        captures["root"][0].text
        for _, captures in QueryCursor(Query(rust_language(), rule.patterns[0].query)).matches(
            tree.root_node, query_predicate
        )
    ]
    assert found == [b"ptr::write(p, 1)"]


def test_a_word_predicate_reads_bytes_that_are_not_utf8() -> None:
    # tree-sitter's own `#match?` decodes the text and fails on `\x80`; the scan must not.
    (by_type,) = [r for r in load_rules() if r.id == "not-unsafe-ptr-arg-deref"]
    tree = parse_rust(b"pub fn a(f: impl\x80Fn(), p: *mut u8) {}\npub fn b(q: impl\x80Fn()) {}")
    query = Query(rust_language(), by_type.patterns[0].query)
    matches = QueryCursor(query).matches(tree.root_node, query_predicate)
    assert [captures["root"][0].start_point for _, captures in matches] == [(0, 0)]


def test_a_file_with_invalid_utf8_is_scanned_with_the_same_narrowed_queries() -> None:
    from pathlib import Path

    from unsound.engine.scan import scan_sources
    from unsound.engine.sources import SourceFile

    rules = [r for r in load_rules() if r.id == "not-unsafe-ptr-arg-deref"]
    data = b"// caf\xe9\npub fn deref(p: *mut u8) -> u8 {\n    unsafe { *p }\n}\n"
    source = SourceFile(Path("/t/src/lib.rs"), "src/lib.rs", "t", data, None)
    findings, problems = scan_sources([source], rules)
    assert problems == []
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in findings
    ] == [("not-unsafe-ptr-arg-deref", 2, 14)]  # at the parameter `p`


def test_prefilters_and_queries_do_not_depend_on_the_hash_seed() -> None:
    # Set order changes with PYTHONHASHSEED; a prefilter chosen from a set by a tie must not
    # (the files a scan parses, and so its speed, would change from run to run).
    import os
    import subprocess
    import sys

    script = (
        "from unsound.dsl.loader import load_rules\n"
        "for r in load_rules():\n"
        "    print(r.id, [n.pattern for n in (*r.prefilter, *r.region_prefilter)],"
        " [p.query for p in r.patterns])\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def test_a_candidate_query_stops_two_levels_down_but_for_a_constrained_metavariable() -> None:
    """Deeper structure cost more in tree-sitter's query compiler and cursor than the
    candidates it turned away saved; a constrained metavariable's path is kept whole."""
    (stored,) = [r for r in load_rules() if r.id == "borrow-stored-as-raw-pointer"]
    # `fn $F($..BEFORE, $P: &$U, $..AFTER) -> $R { $..BODY }`: the parameter's reference type
    # (three levels down) is left out, so `&$U` and `&mut $U` share one query.
    assert {p.query for p in stored.patterns} == {
        "(function_item parameters: (parameters (parameter)) return_type: (_) body: (block)) @root"
    }
    (by_type,) = [r for r in load_rules() if r.id == "not-unsafe-ptr-arg-deref"]
    # function_item > parameters > parameter > type, where `$PT is raw-pointer` is.
    assert all(
        "(parameters (parameter type: _ @_v0 (#bytes-match?" in p.query for p in by_type.patterns
    )
