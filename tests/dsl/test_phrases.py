"""Phrase prefilters: every spelling a match can have passes, other code does not, no blow-up."""

from __future__ import annotations

import pickle
import re

import pytest

from unsound.dsl.ast import CodeBlock, SrcSpan
from unsound.dsl.needle import Needle
from unsound.dsl.pattern import compile_pattern, compile_pattern_variants
from unsound.dsl.phrases import phrase_regex


def phrase(code: str, word: str | None = None) -> re.Pattern[str]:
    pattern = compile_pattern(CodeBlock(code, SrcSpan("t.rules", 1, 1, 1, 1), 1, 1))
    regex = phrase_regex(pattern, word)
    assert regex is not None
    return re.compile(regex)


@pytest.mark.parametrize(
    "text",
    ["&mut *p", "& mut *p", "&mut/* why */*p", "&mut // note\n *p", "&\n    mut\n    *self.ptr"],
)
def test_a_deref_phrase_passes_every_spelling(text: str) -> None:
    assert phrase("&mut *$X").search(text)


@pytest.mark.parametrize("text", ["&mut p", "& *p", "mut *p", "&mut x; *p"])
def test_a_deref_phrase_rejects_other_code(text: str) -> None:
    assert not phrase("&mut *$X").search(text)


def test_a_phrase_starts_at_the_rarest_word() -> None:
    regex = phrase("$Q::read($SRC)", "read")
    assert regex.pattern.startswith(r"\bread")
    assert regex.search("ptr::read(src)") and regex.search("read ( src )")
    assert not regex.search("let read = 1;")


@pytest.mark.parametrize(
    "text", ["fn get<'a>(", "pub fn get <'a, T>(", "fn /* c */ get< 'a>", "fn r#type<'a>"]
)
def test_a_function_with_lifetime_generics_passes(text: str) -> None:
    assert phrase("fn $F<'$a, $..G>($..P) -> $R { $..B }").search(text)


@pytest.mark.parametrize("text", ["fn get<T>(", "fn get()", "impl<'a> X for Y<'a>"])
def test_a_function_without_lifetime_generics_is_rejected(text: str) -> None:
    assert not phrase("fn $F<'$a, $..G>($..P) -> $R { $..B }").search(text)


IMPL_WITH_LIFETIME = "impl<$..G1, '$a, $..G2> $S { $..I }"


@pytest.mark.parametrize(
    "text",
    [
        "impl<'a> View<'a> {",
        "impl<'x, 'a, T: Copy> View<'a, T> {",
        "unsafe impl < /* why */ 'a> Send for View<'a> {}",
        "unsafe impl<#[may_dangle] 'a> Drop for View<'a> {",
        "impl<\n    'a,\n> View<'a> {",
    ],
)
def test_an_impl_with_lifetime_generics_passes(text: str) -> None:
    # Rust declares lifetimes first: whatever `$..G1` holds, the generics start with one.
    assert phrase(IMPL_WITH_LIFETIME).search(text)


@pytest.mark.parametrize("text", ["impl<T> View<T> {", "impl View<'static> {", "fn f<'a>() {}"])
def test_an_impl_without_lifetime_generics_is_rejected(text: str) -> None:
    assert not phrase(IMPL_WITH_LIFETIME).search(text)


def test_an_impl_whose_generics_may_hold_no_lifetime_gets_no_phrase() -> None:
    block = CodeBlock("impl<$..G> $S { $..I }", SrcSpan("t.rules", 1, 1, 1, 1), 1, 1)
    assert phrase_regex(compile_pattern(block), "impl") is None


@pytest.mark.parametrize(
    "text",
    [
        "pub unsafe fn f(",
        'pub const unsafe extern "C" fn f(',
        "unsafe extern fn f(",
        "unsafe /* why */\n    fn f(",
    ],
)
def test_an_unsafe_function_phrase_passes_every_spelling(text: str) -> None:
    assert phrase("unsafe fn $F($..P) { $..B }", "unsafe").search(text)


@pytest.mark.parametrize("text", ["unsafe { f() }", "unsafe impl Send for X {}", "fn unsafe_f("])
def test_an_unsafe_function_phrase_rejects_other_unsafe_code(text: str) -> None:
    assert not phrase("unsafe fn $F($..P) { $..B }", "unsafe").search(text)


def test_an_unsafe_trait_phrase() -> None:
    regex = phrase("unsafe trait $T { $..I }", "unsafe")
    assert regex.search("pub unsafe trait Alloc {") and regex.search("unsafe auto trait Tag {}")
    assert not regex.search("unsafe impl Alloc for X {}")


def test_a_called_name_is_not_a_method_of_the_same_name() -> None:
    regex = phrase("$Q::read($SRC)", "read")
    assert regex.search("ptr::read(src)") and regex.search("read(src)")
    assert regex.search("0..read(n)")  # a range before a call
    assert not regex.search("file.read(&mut buf)")
    assert Needle((regex.pattern,)).search(b"file.read(&mut buf); ptr::read(src)")
    assert not Needle((regex.pattern,)).search(b"file.read(&mut buf)")


def test_a_trait_impl_phrase_is_the_trait_and_for() -> None:
    regex = phrase("unsafe impl<$..G> Send for $T<$..A> {}", "Send")
    assert regex.search("unsafe impl<T: ?Sized> Send for Wrapper<T> {}")
    assert regex.search("unsafe impl Send /* raw */ for Wrapper {}")
    assert not regex.search("fn spawn<F: FnOnce() + Send>(f: F) {}")


def test_a_call_pattern_is_not_also_read_as_an_fn_type() -> None:
    code = CodeBlock("$Q::read($SRC)", SrcSpan("t.rules", 1, 1, 1, 1), 1, 1)
    assert [p.root.kind for p in compile_pattern_variants(code)] == ["call_expression"]
    fn_type = CodeBlock("FnOnce($A)", SrcSpan("t.rules", 1, 1, 1, 1), 1, 1)
    assert [p.root.kind for p in compile_pattern_variants(fn_type)] == [
        "call_expression",
        "function_type",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "fn get(&mut self) -> &'a mut T {",
        "fn get(&mut self) ->&'_ mut T {",
        "fn get(&mut self) -> /* note */ &'static\n        mut T {",
    ],
)
def test_a_return_type_phrase_passes_every_spelling(text: str) -> None:
    assert phrase("fn $F(&mut self, $..P) -> &'$a mut $T { $..B }", "self").search(text)


@pytest.mark.parametrize(
    "text", ["fn get(&mut self) -> &'a T {", "fn get(&mut self) -> &mut T {", "x: &'a mut T"]
)
def test_a_return_type_phrase_rejects_other_returns(text: str) -> None:
    assert not phrase("fn $F(&mut self, $..P) -> &'$a mut $T { $..B }", "self").search(text)


def test_a_generic_return_type_phrase_is_rarer_than_its_word() -> None:
    regex = phrase("fn $F(&self) -> Option<&'$a $T> { $..B }", "Option")
    assert regex.search("fn get(&self) -> Option<&'a u8> {")
    assert not regex.search("fn get(&self) -> Option<u8> {")


def test_a_pattern_without_a_phrase_has_none() -> None:
    pattern = compile_pattern(CodeBlock("&$X", SrcSpan("t.rules", 1, 1, 1, 1), 1, 1))
    assert phrase_regex(pattern, None) is None


def test_comments_full_of_separators_do_not_make_the_search_blow_up() -> None:
    # Exponential backtracking on this text would never finish (2^60 paths), so finishing is
    # the check; the gap regex gives each character one way to be read.
    text = "x." + "// ,,,,,,,,,,,,,,,,,,,,,,,,,,,,,, //////////////////////////////\n" + ", " * 30
    assert not phrase("$X.as_mut()", "as_mut").search(text)


@pytest.mark.parametrize(
    "alternatives",
    [
        (r"\bread(?:\s)*\(", r"\bcopy\b"),
        (r"\&\s*\*", r"\bunsafe\b"),
        (r"CString",),
        (r"\*\s*(?:const|mut)\b|NonNull",),
        (r"unsafe\b|NonNull",),  # a word first, but the other branch needs no word
        (r"read(?:_exact|_to_end)?\s*\(",),
        # Branches split and grouped by their first character; a class or group holds a `|`.
        (r"->\s*&|->\s*\*|[|]x|a(b|c)|\|e",),
        (r"-?\*p|&+q",),  # an optional first character is no leading literal
        (r"\bas\s*\*", r"\bmut\b"),  # short words: rewritten to be searched by `re` itself
    ],
)
def test_a_needle_finds_what_its_regex_finds(alternatives: tuple[str, ...]) -> None:
    needle = Needle(alternatives)
    plain = re.compile(needle.pattern)
    texts = [
        b"ptr::read (x)",
        b"let read = 1; copy",
        b"copyright",
        b"&  *p",
        b"unsafe_code",
        b"CStringy",
        b"* const u8",
        b"NonNull<T>",
        b"bread(",
        b"read_exact (buf)",
        b"fn f() -> &T",
        b"-> *const",
        b"a|x ac",
        b"||e",
        b"*p &&q",
        b"class *p; immutable",
        b"as *const",
        b"x as*y mut",
        b"",
    ]
    for text in texts:
        expected = plain.search(text) is not None
        assert needle.search(text) == expected, text
        # As the compiled-rules cache gives it: each branch compiled when a search needs it.
        assert pickle.loads(pickle.dumps(needle)).search(text) == expected, text


def test_a_cached_needle_compiles_only_the_branches_a_search_tries() -> None:
    needle = pickle.loads(pickle.dumps(Needle((r"\bunsafe_cell\s*\(", r"\btransmute\b", "&x"))))
    assert not needle.search(b"fn main() { let y = 1; }")
    anchored, generic = vars(needle)["_searchers"]
    assert [branch.word for branch in anchored] == [b"unsafe_cell", b"transmute"]
    assert [branch.compiled for branch in anchored] == [None, None], "no word, no regex"
    assert [branch.compiled is not None for branch in generic] == [True]
    assert needle.search(b"std::mem::transmute(x)")
    assert [branch.compiled is not None for branch in anchored] == [False, True]


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("$S.len = $N;", "self.len = n;"),
        ("$S.len = $N;", "v . len\n    = 0;"),
        ("$S.len = $N;", "v.len /* reset */ = 0;"),
        ("$S.len += $N;", "self.len += 1;"),
        ("$S.len += $N;", "self.len\t+= count;"),
    ],
)
def test_an_assigned_field_phrase_passes_every_spelling(code: str, text: str) -> None:
    assert phrase(code, "len").search(text)


@pytest.mark.parametrize("text", ["let len = v.len();", "if v.len() == 0 {}", "len += 1;"])
def test_an_assigned_field_phrase_keeps_its_dot(text: str) -> None:
    """`len =` alone is every `let len = …`: the field's `.` stays in the phrase."""
    assert not phrase("$S.len = $N;", "len").search(text)
    assert not phrase("$S.len += $N;", "len").search(text)


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("$C($..A, self.$F, $..B)", "Wrapper::new(self.handle)"),
        ("$C($..A, self.$F, $..B)", "f(a, self.0, b)"),
        ("$C($..A, self.$F, $..B)", "f(self . r#type ,)"),
        ("$C($..A, self.$F, $..B)", "f(self.handle /* raw */ )"),
        ("$C($..A, self.$F, $..B)", "f(self.poign\u00e9e)"),
        ("$S { $..A, $N: self.$F, $..B }", "Handle { raw: self.raw }"),
        (
            "$S { $..A, $N: self.$F, $..B }",
            "Handle {\n    raw: self.raw,\n    ..Default::default()\n}",
        ),
    ],
)
def test_a_field_passed_on_is_followed_by_its_lists_separator(code: str, text: str) -> None:
    assert phrase(code, "self").search(text)


@pytest.mark.parametrize(
    "text", ["f(self.handle.get())", "f(&self.handle[0])", "self.handle = 1;", "f(self)"]
)
def test_a_field_used_otherwise_has_no_separator_after_it(text: str) -> None:
    assert not phrase("$C($..A, self.$F, $..B)", "self").search(text)


def test_a_separator_is_known_only_next_to_one_sequence() -> None:
    # Two sequences after the field: the second may hold the `)`, the first the `,`.
    assert phrase("$C(self.$F, $..A, $..B)", "self").search("f(self.x)")
    # An element after the sequence: a comma, whether the sequence is empty or not.
    regex = phrase("$C(self.$F, $..A, $Y)", "self")
    assert regex.search("f(self.x, y)") and not regex.search("f(self.x)")


RULE_WITH_TWO_PATTERNS = """rule box-from-anything {
  title "Box from a raw pointer"
  severity warning
  match `Box::from_raw($P as *mut $T)`
  match `Box::<$T>::from_raw($P)`
  message "here"
  location $MATCH "here"
  example bad ```
fn f(p: *mut u8) {
    let _b = unsafe { Box::from_raw(p as *mut u8) }; // ruleid: box-from-anything
}
```
  example good `fn f() {}`
  help \"\"\"
  ## What it does
  Finds boxes made from raw pointers.
  \"\"\"
}
"""


def test_a_name_every_pattern_spells_is_required_beside_the_rarest_word() -> None:
    """Each pattern's needle is its rarest word (`from_raw`); `Box`, which both spell, must be
    in the file too: `Arc::from_raw(p)` alone no longer passes."""
    from unsound.dsl.loader import compile_rule_files

    (rule,) = compile_rule_files([("mine", "mine.rules", RULE_WITH_TWO_PATTERNS)])
    assert rule.may_match(b"let b = unsafe { Box::from_raw(p as *mut u8) };")
    assert rule.may_match(b"let b = unsafe { Box::<u8>::from_raw(p) };")
    assert not rule.may_match(b"let a = unsafe { Arc::from_raw(p) };")


@pytest.mark.parametrize(
    "text",
    [
        "let Handle(p, _) = h;",
        "let ffi::Handle { raw, .. } = h;",
        "let Handle::<T>(p) = h;",
        "let /* owned */ Handle<u8> (p) = h;",
        # Generic arguments longer than the phrase looks through count as the phrase.
        "let Handle::<" + "Vec<u8>, " * 40 + ">(p) = h;",
    ],
)
def test_a_destructuring_let_phrase_passes_every_spelling(text: str) -> None:
    assert phrase("let $S($..A, $X, $..B) = $V;").search(text)


@pytest.mark.parametrize("text", ["let handle = h;", "let (a, b) = pair;", "let x: Vec<u8> = v;"])
def test_a_destructuring_let_phrase_rejects_other_lets(text: str) -> None:
    assert not phrase("let $S($..A, $X, $..B) = $V;").search(text)


def _self_borrow(code: str) -> re.Pattern[str] | None:
    from unsound.dsl.phrases import self_borrow_with_lifetime

    block = CodeBlock(code, SrcSpan("t.rules", 1, 1, 1, 1), 1, 1)
    regex = self_borrow_with_lifetime(compile_pattern(block))
    return re.compile(regex) if regex is not None else None


@pytest.mark.parametrize(
    "text", ["fn f<'c>(&'c self)", "fn f<'c>(&'c mut self, x: u8)", "(& 'c\n mut /* c */ self"]
)
def test_a_self_borrowed_with_a_lifetime_passes(text: str) -> None:
    for code in ("fn $F<'$c, $..G>(&'$c self, $..P) { $..B }", "fn $F(&'$c mut self) { $..B }"):
        regex = _self_borrow(code)
        assert regex is not None and regex.search(text)


@pytest.mark.parametrize("text", ["fn f(&self)", "fn f<'c>(&mut self, x: &'c u8)", "&'c myself"])
def test_a_self_borrowed_without_a_lifetime_is_rejected(text: str) -> None:
    regex = _self_borrow("fn $F<'$c, $..G>(&'$c self, $..P) { $..B }")
    assert regex is not None and not regex.search(text)


def test_only_a_self_borrowed_with_a_lifetime_makes_that_phrase() -> None:
    assert _self_borrow("fn $F(&self, $..P) { $..B }") is None
    assert _self_borrow("fn $F($..P) { $..B }") is None
