"""An elided lifetime (`-> Data` for `struct Data<'a>`) is looked up only for a type that some
file of the crate declares with generics: `struct Name<` (or a comment after the name, which may
hide them). Every other name is answered "no lifetime" without parsing its declaring files.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unsound.dsl.compiled import CompiledRule
from unsound.dsl.loader import compile_rule_files
from unsound.dsl.rust_parser import parse_rust
from unsound.engine import crate_reads
from unsound.engine.conditions import _first_lifetime_parameter
from unsound.engine.crate_index import (
    _GENERIC_TYPE_DECLARATIONS,
    _definitions_in,
)
from unsound.engine.examples import scan_snippet
from unsound.engine.units import ParsedFile
from unsound.model import Finding

RULE = """
rule returns-lifetime {
  title    "returned lifetime, written or elided"
  severity error
  match    `fn $F($..P) -> $R { $..B }`
  where    $R has lifetime '$a
  message  "`{F}` returns `'{a}`"
  help     "x"
  example bad ```
fn f<'a>(p: &'a u8) -> &'a u8 { p } // ruleid: returns-lifetime
```
  example good ```
fn f(p: u8) -> u8 { p }
```
}
"""

CODE = """\
struct Plain {
    byte: u8,
}

struct Hidden /* the buffer's lifetime */ <'d> {
    bytes: &'d [u8],
}

fn plain() -> Plain {
    Plain { byte: 0 }
}

fn hidden(bytes: &[u8]) -> Hidden {
    Hidden { bytes }
}
"""


def _rule() -> CompiledRule:
    return compile_rule_files([("test", "test.rules", RULE)])[0]


def _found(found: list[Finding]) -> list[tuple[str, int, int, str]]:
    return [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column, f.message)
        for f in found
    ]


def test_only_a_type_declared_with_generics_is_looked_up(definitions_asked: list[str]) -> None:
    assert _found(scan_snippet([_rule()], CODE)) == [
        ("returns-lifetime", 13, 1, "`hidden` returns `'d`"),
    ]
    # `Plain` has no generics anywhere: its definitions were never asked for (nor parsed).
    assert definitions_asked == ["Hidden"]


# Type declarations, with and without generics, comments between the name and them, and text
# around them that is not a declaration.
_DECLARATIONS = st.builds(
    lambda keyword, name, gap, generics, body: f"{keyword} {name}{gap}{generics}{body}",
    st.sampled_from(["struct", "pub struct", "enum", "pub(crate) union", "structure"]),
    st.sampled_from(["Data", "Other"]),
    st.sampled_from(["", " ", "\n", "/* c */", " // c\n", "/* a /* nested */ b */"]),
    st.sampled_from(["", "<'a>", "<T>", "<'a, T>", "<\n    'a,\n>", "</* c */ 'a>", "<#[x] 'a>"]),
    st.sampled_from([" { x: u8 }", "(u8);", ";", " where T: 'static { x: T }", " { x: &'a u8 }"]),
)
_TEXTS = st.lists(
    st.one_of(_DECLARATIONS, st.sampled_from(["fn f() {}", "// struct Data<'a>", "\n"])),
    max_size=4,
).map(lambda parts: "\n".join(parts).encode())


@settings(max_examples=400, deadline=None)
@given(data=_TEXTS)
def test_every_definition_with_a_lifetime_is_in_a_file_the_gate_picks(data: bytes) -> None:
    """What the gate leaves out can only be a file none of whose definitions of the name has a
    lifetime parameter, as the tree of the whole file says."""
    unit = ParsedFile("src/lib.rs", "", data, parse_rust(data))
    if unit.tree.root_node.has_error:
        return  # tree-sitter's recovery makes items of text that is no Rust (`structure X<'a>`)
    for definition in _definitions_in(unit):
        if _first_lifetime_parameter(definition) is None:
            continue
        selectors = [crate_reads.declares(d, definition.name) for d in _GENERIC_TYPE_DECLARATIONS]
        assert any(selector.matches(data) for selector in selectors), data


POINTER_RULE = """
rule pointer-into-lifetime {
  title    "raw pointer parameter, lifetime in the result"
  severity error
  match    `fn $F($..BEFORE, $P: $PT, $..AFTER) -> $R { $..BODY }`
  where    $PT is raw-pointer
  where    $R has lifetime '$a
  message  "`{P}` and `'{a}`"
  help     "x"
  example bad ```
fn f<'a>(p: *const u8) -> &'a u8 { unsafe { &*p } } // ruleid: pointer-into-lifetime
```
  example good ```
fn f(p: *const u8) -> u8 { unsafe { *p } }
```
}
"""

POINTER_CODE = """\
struct View<'v> {
    bytes: &'v [u8],
}

fn plain(a: *const u8, b: *const u8, c: *const u8) -> usize {
    a as usize + b as usize + c as usize
}

fn view(owner: &u8, a: *const u8, b: *const u8) -> View {
    let _ = (owner, b);
    View { bytes: unsafe { std::slice::from_raw_parts(a, 1) } }
}
"""


def test_a_result_without_a_lifetime_is_turned_away_before_the_structural_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from unsound.engine import matcher

    tried: list[str] = []
    real = matcher.match_pattern

    def counting(pattern, node, *args):  # type: ignore[no-untyped-def]
        if node.type == "function_item":
            tried.append(node.child_by_field_name("name").text.decode())
        return real(pattern, node, *args)

    monkeypatch.setattr(matcher, "match_pattern", counting)
    (rule,) = compile_rule_files([("test", "test.rules", POINTER_RULE)])
    # `view` elides `View<'v>`: one finding per pointer parameter's match, the first reported.
    assert _found(scan_snippet([rule], POINTER_CODE)) == [
        ("pointer-into-lifetime", 9, 1, "`a` and `'v`"),
    ]
    # `plain`'s `usize` has no lifetime: its three parameters were never tried.
    assert tried == ["view"]


HOLDS_RULE = """
rule held-reference {
  title    "a field that is a reference"
  severity error
  match    `unsafe impl<$..G> Send for $T { $..I }`
  where    $T holds reference via $F and $F matches ":\\\\s*&"
  message  "`{F}`"
  help     "x"
  example bad ```
struct S<'a>(&'a u8);
struct W<'a> { r: &'a u8 }
unsafe impl<'a> Send for W<'a> {} // ruleid: held-reference
```
  example good ```
struct W { r: u8 }
unsafe impl Send for W {}
```
}
"""

HOLDS_CODE = """\
struct Inner<'a, T> {
    r: &'a T,
}

struct Outer<'a, T> {
    inner: Inner<'a, T>,
    direct: &'a T,
}

unsafe impl<'a, T> Send for Outer<'a, T> {}
"""


def test_a_field_that_fails_the_next_test_is_not_looked_through(
    definitions_asked: list[str],
) -> None:
    """`$T holds reference via $F and $F matches …`: `inner` is no `&`, so the index is never
    asked what `Inner` holds; `direct` is the solution, as before."""
    (rule,) = compile_rule_files([("test", "test.rules", HOLDS_RULE)])
    assert _found(scan_snippet([rule], HOLDS_CODE)) == [
        ("held-reference", 10, 1, "`direct: &'a T`"),
    ]
    assert "Inner" not in definitions_asked
    assert "Outer" in definitions_asked
