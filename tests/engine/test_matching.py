"""Pattern semantics: metavariables, sequences, optional parts, consistency, positions."""

from __future__ import annotations

from unsound.dsl.ast import CodeBlock, SrcSpan
from unsound.dsl.pattern import compile_pattern, substitute_metavariables
from unsound.dsl.rust_parser import parse_rust
from unsound.engine.matching import match_pattern


def matches(pattern: str, code: str) -> list[str]:
    """Text of every node in `code` the pattern matches, in source order."""
    compiled = compile_pattern(CodeBlock(pattern, SrcSpan("t.rules", 1, 1, 1, 1), 1, 1))
    from tree_sitter import Query, QueryCursor

    from unsound.dsl.rust_parser import rust_language

    tree = parse_rust(code.encode())
    cursor = QueryCursor(Query(rust_language(), compiled.query))
    out = []
    for _, captures in cursor.matches(tree.root_node):
        for node in captures["root"]:
            if any(True for _ in match_pattern(compiled, node)):
                out.append(node.text.decode())
    return out


def test_substitution_keeps_every_character_position() -> None:
    source = "fn $F<'$a, $..>($..XS, $_: $T)"
    rewritten = substitute_metavariables(source)
    assert rewritten == "fn µF<'µa, µµµ>(µµµXS, µ_: µT)"
    assert len(rewritten) == len(source)


def test_pattern_without_modifiers_matches_items_with_them() -> None:
    code = "pub unsafe fn f<T>(x: T) where T: Copy {}\nfn g() {}"
    assert matches("fn $F($..A) { $..B }", code) == [
        "pub unsafe fn f<T>(x: T) where T: Copy {}",
        "fn g() {}",
    ]


def test_sequence_in_parameters_finds_the_parameter_anywhere() -> None:
    code = "fn a(x: u8, p: *mut u8, y: u8) {}\nfn b(p: *mut u8) {}\nfn c(x: u8) {}"
    found = matches("fn $F($..A, $P: *mut u8, $..B) { $..C }", code)
    assert found == ["fn a(x: u8, p: *mut u8, y: u8) {}", "fn b(p: *mut u8) {}"]


def test_same_metavariable_twice_means_the_same_code() -> None:
    code = "fn f() { foo(a, a); foo(a, b); }"
    assert matches("foo($X, $X)", code) == ["foo(a, a)"]


def test_literal_tokens_must_be_equal() -> None:
    code = "fn f() { x.cast(); x.add(1); }"
    assert matches("$X.cast()", code) == ["x.cast()"]


def test_lifetime_metavariable_binds_any_lifetime_only() -> None:
    code = "struct A<'x> { r: &'x u8 }\nstruct B<T> { r: T }"
    assert matches("struct $S<'$a> { $..F }", code) == ["struct A<'x> { r: &'x u8 }"]


def test_reference_pattern_does_not_match_mutable_reference() -> None:
    code = "fn f() { g(&x); g(&mut x); }"
    assert matches("&$X", code) == ["&x"]


def test_impl_pattern_with_and_without_generics() -> None:
    code = "impl<T> Tr for A<T> {}\nimpl Tr for B {}\nimpl Other for C {}"
    assert matches("impl Tr for $T { $..I }", code) == [
        "impl<T> Tr for A<T> {}",
        "impl Tr for B {}",
    ]


def test_attribute_in_pattern_must_precede_the_item() -> None:
    code = '#[no_mangle]\nextern "C" fn a() {}\nextern "C" fn b() {}'
    assert matches('#[no_mangle] extern "C" fn $F() { $..B }', code) == ['extern "C" fn a() {}']


def test_let_pattern_ignores_mut_and_type_annotation() -> None:
    code = "fn f() { let mut a: u8 = 1; let b = 2; }"
    assert matches("let $X = $V;", code) == ["let mut a: u8 = 1;", "let b = 2;"]


def test_query_is_a_relaxation_with_literals() -> None:
    compiled = compile_pattern(
        CodeBlock("impl FromNapiValue for $T { $.. }", SrcSpan("t", 1, 1, 1, 1), 1, 1)
    )
    assert '"FromNapiValue"' in compiled.query
    assert compiled.literal_words() == {"FromNapiValue"}


def test_attribute_alone_is_a_pattern() -> None:
    code = '#[no_mangle]\npub extern "C" fn a() {}\n#[inline]\nfn b() {}'
    assert matches("#[no_mangle]", code) == ["#[no_mangle]"]


def test_type_pattern_matches_types_anywhere() -> None:
    code = "fn f(a: *mut u8, b: &u8) -> *mut u8 { a }"
    assert matches("*mut $T", code) == ["*mut u8", "*mut u8"]


def test_statement_pattern() -> None:
    code = "fn f() { let p = v.as_ptr(); drop(v); }"
    assert matches("let $P = $V.as_ptr();", code) == ["let p = v.as_ptr();"]


def test_keywords_written_in_a_pattern_are_required() -> None:
    code = "unsafe fn a() {}\nfn b() {}\npub fn c() {}\npub(crate) fn d() {}"
    assert matches("unsafe fn $F() { $..B }", code) == ["unsafe fn a() {}"]
    assert matches("pub fn $F() { $..B }", code) == ["pub fn c() {}"]


def test_modifiers_written_in_a_pattern_must_be_there_others_may_be() -> None:
    code = (
        "pub const unsafe fn a() {}\n"
        'unsafe extern "C" fn b() {}\n'
        "const fn c() {}\n"
        'extern "C" fn d() {}\n'
        "async unsafe fn e() {}\n"
    )
    assert matches("unsafe fn $F() { $..B }", code) == [
        "pub const unsafe fn a() {}",
        'unsafe extern "C" fn b() {}',
        "async unsafe fn e() {}",
    ]
    assert matches('extern "C" fn $F() { $..B }', code) == [
        'unsafe extern "C" fn b() {}',
        'extern "C" fn d() {}',
    ]
    assert matches("const unsafe fn $F() { $..B }", code) == ["pub const unsafe fn a() {}"]


def test_lone_generic_metavariable_matches_bounded_parameters() -> None:
    code = "unsafe impl<T: Send, 'a, U> Send for X<T, U> {}"
    compiled = compile_pattern(
        CodeBlock(
            "unsafe impl<$..A, $P, $..B> Send for $T { $..I }", SrcSpan("t", 1, 1, 1, 1), 1, 1
        )
    )
    tree = parse_rust(code.encode())
    impl = tree.root_node.named_children[0]
    bound = [env["P"].text.decode() for env in match_pattern(compiled, impl)]  # type: ignore[union-attr]
    assert bound == ["T: Send", "'a", "U"]
