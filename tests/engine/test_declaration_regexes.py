"""The crate index's declaration regexes start with their keyword, yet match whole words."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from unsound.engine import mod_decls
from unsound.engine.crate_gate import _any_word
from unsound.engine.crate_index import IMPL_FOR, STATIC_MUT_DECLARATION


def test_impl_for_is_a_whole_word_anywhere_in_the_file() -> None:
    assert [m.group(1) for m in IMPL_FOR.finditer(b"impl Drop for A {}")] == [b"A"]
    assert [m.group(1) for m in IMPL_FOR.finditer(b"x;impl<T> Send for B<T> {}")] == [b"B"]
    assert not IMPL_FOR.search(b"fn simpl() { for x in y {} }")
    assert not IMPL_FOR.search(b"let impl_ = 1; for x in y {}")


def test_static_mut_is_not_a_static_reference_type() -> None:
    text = b"static mut A: u8 = 0;\nfn f() -> &'static mut u8 {}\nlet nonstatic mut_b = 1;"
    assert [m.group(1) for m in STATIC_MUT_DECLARATION.finditer(text)] == [b"A"]


def test_any_word_matches_whole_names_only() -> None:
    names = _any_word({"Handle", "Raw"})
    assert names is not None
    assert names.search(b"let h: Handle = x;") and names.search(b"Raw(p)")
    assert not names.search(b"let h: HandleSet = x; RawFd")
    assert not names.search(b"MyHandle")


# Declarations and near misses, whole or cut, with noise between them.
_MOD_PIECES = st.one_of(
    st.builds(
        lambda keyword, gap, dollar, name, end: keyword + gap + dollar + name + end,
        st.sampled_from(["mod", "pub mod", "model", "_mod", "include", "include!"]),
        st.sampled_from([" ", "", "/* c */ ", "\n"]),
        st.sampled_from(["", "$"]),
        st.sampled_from(["name", "x", "", "{"]),
        st.sampled_from([";", " ;", " {}", "", "!("]),
    ),
    st.sampled_from(["$", ";", " ", "\n", "// c\n", "{", "}", "!"]),
)
_MOD_TEXTS = st.lists(_MOD_PIECES, max_size=6).map(lambda parts: "".join(parts).encode())


@settings(max_examples=400, deadline=None)
@given(data=_MOD_TEXTS)
def test_one_mod_scan_answers_as_the_two_declaration_regexes(data: bytes) -> None:
    """`may_load_files` scans a file's `mod`s once with `_ANY_MOD`, the union of the
    out-of-line declaration and the `mod $name;` of a macro transcriber."""
    separate = any(
        regex.search(data) is not None
        for regex in (mod_decls._OUT_OF_LINE_MOD, mod_decls._MACRO_MOD, mod_decls._INCLUDE_CALL)
    )
    assert mod_decls.may_load_files(data) == separate, data
