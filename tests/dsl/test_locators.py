"""A rule's locators: texts the top-level item around each of its matches must hold, from its
patterns and from the `where` lines that read no further than the match and its ancestors."""

from __future__ import annotations

import re

from unsound.dsl.compiled import CompiledRule
from unsound.dsl.loader import compile_rule_files
from unsound.dsl.needle import Needle
from unsound.dsl.rule_facts import fact_phrases, locating_facts, member_local
from unsound.engine.crate_gate import CrateGate


def _rule(match: str, *wheres: str) -> CompiledRule:
    lines = "\n".join(f"  where    {w}" for w in wheres)
    source = f"""
rule r {{
  title    "t"
  severity warning
  match    `{match}`
{lines}
  message  "m"
  help     "h"
  example bad ```
fn a() {{}}
```
  example good ```
fn b() {{}}
```
}}
"""
    (rule,) = compile_rule_files([("test", "r.rules", source)])
    return rule


def _locators(match: str, *wheres: str) -> list[tuple[str, ...]]:
    return [needle.alternatives for needle in _rule(match, *wheres).locators]


def test_pattern_words_and_local_conditions_locate() -> None:
    # The pattern's phrase, the name every pattern spells, the `matches` word of `$X`.
    locators = _locators("$X.as_ptr()", '$X matches "buffer"')
    assert [alternatives[0][:10] for alternatives in locators] == [
        r"\bas_ptr(?",
        r"\bas_ptr\b",
        "buffer",
    ]


def test_a_pointer_shape_locates_but_static_mut_does_not() -> None:
    assert _locators("$C($X)", "$X is raw-pointer") == [(r"\*\s*(?:const|mut)\b|NonNull",)]
    assert _locators("&$X", "$X is static-mut") == []


def test_a_pointer_type_after_a_colon_is_looked_for_there() -> None:
    (typed,) = _locators("fn $F($..A, $P: $T, $..B) { $..C }", "$T is raw-pointer")
    needle = Needle(typed)
    for text in (
        b"fn get(p: *const u8) {",
        b"fn get(a: u8, mut p /* raw */ : *\n    mut T) {",
        b"fn get(p: Option<*mut T>) {",
        b"fn get(p: std::option::Option<*mut T>) {",
        b"fn get(p: Option::<*mut T>) {",
        b"fn get(p: ptr::NonNull<T>) {",
        b"fn get(p: <T as Trait>::NonNull) {",
    ):
        assert needle.search(text), text
    assert not needle.search(b"fn get(p: usize) {\n    let q = p as *mut u8;\n}")
    # A `let`'s type and a field's are written after a `:` too; a return type is not.
    (typed_let,) = _locators("let $X: $T = $V;", "$T is mut-pointer")
    assert Needle(typed_let).search(b"let p: *mut u8 = q;")
    assert not Needle(typed_let).search(b"let p = q as *mut u8;")
    assert _locators("fn $F() -> $T { $..B }", "$T is raw-pointer") == [
        (r"\*\s*(?:const|mut)\b|NonNull",)
    ]


def test_follows_locates_only_inside_a_function() -> None:
    # At the top level a `follows` reads the file's other items: its words may be elsewhere.
    assert _locators("$C($..A)", "$MATCH follows `transmute($Y)`") == []
    inside = _locators(
        "$C($..A)", "$MATCH inside `fn $F($..P) { $..B }`", "$MATCH follows `transmute($Y)`"
    )
    assert len(inside) == 1 and inside[0][0].startswith(r"\btransmute")


def test_conditions_on_other_code_do_not_locate() -> None:
    # `$S` is bound by a relation, not by the match: its text may be anywhere in the crate.
    assert _locators("$C($..A)", "$MATCH inside `impl $S { $..I }`", '$S matches "Registry"') == []


def _member_local(match: str, *wheres: str) -> bool:
    return member_local(_rule(match, *wheres))


def test_a_rule_whose_matches_stay_in_one_member_of_an_impl() -> None:
    assert _member_local("fn $F($..P) { $..B }", "$MATCH has `unsafe { $..S }`")
    # An ancestor impl whose members nothing reads.
    assert _member_local("fn $F($..P) { $..B }", "$F inside `impl $S { $..I }`")
    assert _member_local("$C($..A)", "$MATCH follows `transmute($Y)`")


def test_a_rule_that_reads_more_than_one_member() -> None:
    # The match is the impl; a bare metavariable may be one.
    assert not _member_local("impl $T { $..I }")
    assert not _member_local("$X", "$X kind identifier")
    # An ancestor impl whose members the rule reads, or asks for.
    assert not _member_local(
        "fn $F($..P) { $..B }", "$F inside `impl $S { $..I }`", "$..I has `fn clean() {}`"
    )
    assert not _member_local("fn $F($..P) { $..B }", "$F inside `impl $S { fn clean() {} }`")
    assert not _member_local("$C($..A)", "$MATCH inside `$ANY`", '$ANY matches "x"')


def test_a_trait_the_type_in_the_match_implements_locates() -> None:
    # `$S` is spelled in the match (or is `Self`, named by the impl's header).
    assert locating_facts(_rule("let $S($..A) = $V;", '$S implements "Drop"')) == ("Drop",)
    # The whole match: its type may be declared outside it (a field, an earlier `let`).
    assert locating_facts(_rule("$X", '$X implements "Drop"')) == ()
    # Bound by a relation: the type may be anywhere in the crate.
    assert (
        locating_facts(
            _rule("$C($..A)", "$MATCH inside `fn $F($P: $T) { $..B }`", '$T implements "Drop"')
        )
        == ()
    )
    # Not every finding needs it.
    assert (
        locating_facts(_rule("let $S($..A) = $V;", '$S implements "Drop" or $S matches "Handle"'))
        == ()
    )


def test_a_destructured_drop_type_is_located_by_its_name_after_let() -> None:
    rule = _rule("let $S($..A) = $V;", '$S implements "Drop"')
    ((trait, prefix),) = fact_phrases(rule)
    assert trait == "Drop"
    crate = CrateGate([rule]).for_crate([b"impl Drop for Handle {\n    fn drop(&mut self) {}\n}\n"])
    phrase = crate.after_prefix("Drop", prefix)
    assert phrase is not None
    for spelled in (
        b"let Handle(p) = h;",
        b"let crate::ffi::Handle { p } = h;",
        b"let /* the handle */ Handle::<u8>(p) = h;",
        b"let Self(p) = h;",
        b"let r#Handle(p) = h;",
    ):
        assert phrase.search(spelled), spelled
    for other in (b"let Handles(p) = h;", b"let handle = Handle(p);", b"outlet Handle(p)"):
        assert not phrase.search(other), other
    # The struct a `let` destructures, in every pattern: `$S` in a call is not one.
    assert fact_phrases(_rule("$S($..A)", '$S implements "Drop"')) == ()
    assert fact_phrases(_rule("let $P = $S($..A);", '$S implements "Drop"')) == ()


def test_a_word_of_the_return_type_is_looked_for_in_the_signature() -> None:
    (returned, _) = _locators(
        "fn $F($..P) -> $R { $..B }", r'$R matches "&\\s*mut\\b"', "$F is unsafe"
    )
    (regex,) = (re.compile(branch.encode()) for branch in returned)
    for signature in (
        b"pub fn get(&self) -> &mut T {",
        b"fn get(&self) -> Option<&'a mut T> where T: Sized {",
        # A const argument's or a macro's braces inside the type do not end it.
        b"fn get(&self) -> Foo<{ N }, &mut T> {",
        b"fn get(&self) -> Wrapper<ty!{ &mut T }> {",
        b"fn get(&self)\n    -> ([u8; { N }], &mut T)\n{",
    ):
        assert regex.search(signature), signature
    assert not regex.search(b"fn get(&self) -> u8 {\n    *(&mut 0)\n}")
    # The search looks 400 characters past a `->` (declarations without a body, thousands of
    # lines of `extern` block, have no `{` to stop at): a longer signature counts as holding.
    assert regex.search(b"fn get(&self) -> Long<" + b"A, " * 200 + b"> {")
    assert not regex.search(b"fn get(&self) -> u8 {" + b" " * 500 + b"&mut x }")
    # A parameter's type: the word alone.
    assert _locators("fn $F($X: $T) -> $R { $..B }", '$T matches "Cell"')[-1] == ("Cell",)


def test_a_written_lifetime_of_the_return_type_is_looked_for_in_the_signature() -> None:
    """`$R has lifetime '$a and '$a is unconstrained` counts only a lifetime the return type
    writes, or its impl's through `Self`; `$R has `&'$a $T`` one it spells."""
    match = "fn $F<'$first, $..G>($..P) -> $R { $..B }"
    written = (
        "($R has lifetime '$a and '$a is unconstrained)"
        " or ($R has `&'$a $T` and '$a is unconstrained)"
    )
    locators = _locators(match, written)
    needle = Needle(locators[-1])
    for text in (b"fn f<'a>(p: *const u8) -> &'a u8 {", b"fn new<'a>(p: *mut T) -> Self {"):
        assert needle.search(text), text
    for text in (b"fn f<'a>(p: *const u8) -> u8 { let x: &'a u8; }", b"fn f<'a>() -> Data {"):
        assert not needle.search(text), text
    # Without `is unconstrained` next, an elided lifetime counts (`-> Data` of `Data<'d>`).
    assert not any(
        "->" in a for alternatives in _locators(match, "$R has lifetime '$a") for a in alternatives
    )
