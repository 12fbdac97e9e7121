"""Parsing only the top-level items a file's matches can lie in (`engine.item_ranges`).

The cut is made on the text and trusted only when the parse of the chosen items proves it; the
nodes of a chosen item are then those of the whole file's parse, at the same bytes and points.
"""

from __future__ import annotations

import pytest
from tree_sitter import Node

from unsound.dsl.needle import Needle
from unsound.dsl.rust_parser import parse_rust
from unsound.engine.item_ranges import (
    ItemCuts,
    ItemPlan,
    _may_open_string,
    _raw_string_spans,
    parse_items,
)

SOURCE = b"""//! A crate.
#![allow(dead_code)]

use std::ptr;

/// Doc of `first`; it ends with a semicolon;
#[inline]
pub fn first(x: u32) -> u32 {
    x + 1
}

pub struct Holder {
    p: *mut u8,
}

fn second<T>(value: T) -> T
where
    T: Copy,
{
    value
}

// A comment line that ends with a brace }
impl Holder {
    pub fn get(&self) -> u8 {
        unsafe { ptr::read(self.p) }
    }
}

static COUNT: u32 = 0;

fn third() {}
"""


def _item_texts(data: bytes) -> list[bytes]:
    cuts = ItemCuts(data)
    ends = [*cuts.starts[1:], len(data)]
    return [data[start:end].strip() for start, end in zip(cuts.starts, ends, strict=True)]


def _first_lines(items: list[bytes]) -> list[bytes]:
    return [item.split(b"\n")[0] for item in items]


def test_items_start_at_column_zero_after_a_line_that_ends_an_item() -> None:
    # An impl is cut into its header (with `impl Holder {`), its members and its closing brace.
    items = _item_texts(SOURCE)
    assert _first_lines(items) == [
        b"//! A crate.",
        b"/// Doc of `first`; it ends with a semicolon;",
        b"pub struct Holder {",
        b"fn second<T>(value: T) -> T",
        b"// A comment line that ends with a brace }",
        b"pub fn get(&self) -> u8 {",
        b"}",
        b"static COUNT: u32 = 0;",
        b"fn third() {}",
    ]
    # The first item holds the inner attributes and the `use` (ended by its `;`, it is cut
    # after `use std::ptr;` only if a column-0 line follows: here a doc comment does).
    assert items[0].endswith(b"use std::ptr;")
    # A doc comment and an attribute stay with their item; a `where` clause with its `fn`.
    assert items[1].endswith(b"}") and b"#[inline]" in items[1]
    assert b"where" in items[3] and items[3].endswith(b"}")


# deno's layout (rustfmt with `tab_spaces = 2`), and a header written over several lines whose
# generic parameters are indented further than the members.
TWO_SPACES = b"""impl Holder {
  pub fn get(&self) -> u8 {
    let a = 1;
    let b = 2;
    a + b
  }

  pub fn put(&mut self) {}
}

impl<
    T: Copy,
  > Wrapper<T>
{
  fn inner(&self) -> T {
    self.0
  }
}
"""


def test_an_impls_members_are_cut_at_its_own_indentation() -> None:
    items = _item_texts(TWO_SPACES)
    assert _first_lines(items) == [
        b"impl Holder {",
        b"pub fn get(&self) -> u8 {",
        b"pub fn put(&mut self) {}",
        b"}",
        b"impl<",
        b"fn inner(&self) -> T {",
        b"}",
    ]
    # The statements four spaces in are inside `get`, not members.
    assert b"let b = 2;" in items[1] and items[1].endswith(b"}")
    tree = parse_rust(TWO_SPACES)
    assert not tree.root_node.has_error


def _same_subtree(left: Node, right: Node) -> bool:
    return (
        left.type == right.type
        and left.byte_range == right.byte_range
        and left.start_point == right.start_point
        and left.end_point == right.end_point
        and len(left.children) == len(right.children)
        and all(_same_subtree(a, b) for a, b in zip(left.children, right.children, strict=True))
    )


def test_the_chosen_items_parse_as_in_the_whole_file() -> None:
    cuts = ItemCuts(SOURCE)
    chosen = cuts.holding_needle(Needle((r"\bunsafe\b",)))
    assert len(chosen) == 1
    ranges = cuts.ranges(chosen)
    assert ranges is not None
    tree = parse_items(SOURCE, ranges)
    assert tree is not None
    whole = {child.start_byte: child for child in parse_rust(SOURCE).root_node.children}
    kept = tree.root_node.children
    # The `impl` with `unsafe`, and the first piece, which holds the file's inner attribute
    # (and a `use`); not `first`, `Holder`, `second`, `third`, nor the top-level `static`,
    # which the declarations' own parse holds (read only when a condition asks).
    kinds = [child.type for child in kept]
    assert kinds == [
        "line_comment",
        "inner_attribute_item",
        "use_declaration",
        "line_comment",
        "impl_item",
    ]
    declarations = parse_items(SOURCE, cuts.declaration_ranges())
    assert declarations is not None
    declared = declarations.root_node.children
    assert [child.type for child in declared] == [
        "line_comment",
        "inner_attribute_item",
        "use_declaration",
        "static_item",
    ]
    for child in (*kept, *declared):
        assert _same_subtree(child, whole[child.start_byte])


def test_the_first_piece_is_parsed_only_for_inner_attributes_or_as_a_stand_in() -> None:
    """Most files open with comments and `use`s, which no chosen item needs; a file's inner
    attributes (read by the lint levels) are in its first piece, which is then kept. With
    nothing chosen, the first piece stands for the file."""
    header = b"//! A module.\n\nuse std::ptr;\nuse std::mem;\n\n"
    body = (
        b"fn a() {}\n\nfn b(p: *const u8) -> u8 {\n    unsafe { ptr::read(p) }\n}\n"
        + UNRELATED_ITEMS
    )
    cuts = ItemCuts(header + body)
    chosen = cuts.holding_needle(Needle((r"\bunsafe\b",)))
    assert [
        (header + body)[start:end].split(b"\n")[0] for start, end in cuts.ranges(chosen) or []
    ] == [b"fn b(p: *const u8) -> u8 {"]
    with_attribute = header.replace(b"\n\nuse", b"\n#![allow(clippy::all)]\n\nuse", 1) + body
    cuts = ItemCuts(with_attribute)
    ranges = cuts.ranges(cuts.holding_needle(Needle((r"\bunsafe\b",))))
    assert ranges is not None and ranges[0][0] == 0
    tree = parse_items(with_attribute, ranges)
    assert tree is not None
    assert [c.type for c in tree.root_node.children][:3] == [
        "line_comment",
        "inner_attribute_item",
        "use_declaration",
    ]
    # An inner attribute spelled in a later piece (a string's) does not keep the first.
    in_a_string = header + b'const S: &str = "#![allow(x)]";\n\n' + body
    cuts = ItemCuts(in_a_string)
    ranges = cuts.ranges(cuts.holding_needle(Needle((r"\bunsafe\b",))))
    assert ranges is not None and ranges[0][0] > 0
    assert cuts.ranges(set()) == [(0, cuts.starts[1])]


def test_most_of_the_file_is_parsed_whole() -> None:
    cuts = ItemCuts(SOURCE)
    assert cuts.ranges(set(range(len(cuts.starts)))) is None
    assert cuts.ranges(set(range(1, len(cuts.starts) - 1))) is None


def test_items_with_suppressions_are_always_parsed_macro_definitions_only_when_chosen() -> None:
    """A suppression comment is read whatever the rules; a `macro_rules!` is matched in only by
    a rule whose locators it holds, so it is parsed when chosen like any other item."""
    data = b"""fn a() {}

macro_rules! m {
    () => {};
}

// unsound: allow(some-rule): reviewed
fn b() {}

fn c() {
    let x = 1;
}

fn d() {
    let y = 2;
}

fn e() {
    let z = 3;
}
"""
    cuts = ItemCuts(data)
    ranges = cuts.ranges(set())
    assert ranges is not None
    parsed = b"".join(data[start:end] for start, end in ranges)
    assert b"unsound: allow" in parsed
    assert b"macro_rules!" not in parsed and b"fn c()" not in parsed and b"fn e()" not in parsed
    chosen = cuts.ranges(cuts.holding_needle(Needle((r"\bmacro_rules\b",))))
    assert chosen is not None
    assert b"macro_rules!" in b"".join(data[start:end] for start, end in chosen)


# Items no rule of these tests wants, after the one under test.
UNRELATED_ITEMS = b"""
fn after() {}

fn later() {}

fn last() {}
"""


def test_a_cut_inside_a_string_is_refused_by_the_parse() -> None:
    # A string holding Rust at column 0: the text cuts inside it, and parsing the item in the
    # middle alone does not give back the whole file's tree.
    data = b"""const FIXTURE: &str = "
struct Inner;
fn inside() { unsafe { work() } }
struct Tail;
";
"""
    data += UNRELATED_ITEMS
    cuts = ItemCuts(data)
    chosen = cuts.holding_needle(Needle((r"\bunsafe\b",)))
    ranges = cuts.ranges(chosen)
    assert ranges is not None
    assert parse_items(data, ranges) is None


RAW_FIXTURES = b"""fn check(fixture: &[u8]) {}

#[test]
fn fixture_in_raw_string() {
    check(
        r#"
struct Inner;
fn inside() { unsafe { work() } }
"#
        .as_bytes(),
    );
    check(br##"
impl Inner {}
"##);
}

fn bar() -> &'static str { r"one line" }

fn after() { let p: *mut u8 = core::ptr::null_mut(); }
"""


def test_no_cut_inside_a_raw_string() -> None:
    # rust-analyzer keeps Rust fixtures at column 0 in raw strings: 123 of its files were cut
    # inside one, refused by the parse and parsed whole.
    assert _first_lines(_item_texts(RAW_FIXTURES)) == [
        b"fn check(fixture: &[u8]) {}",
        b"#[test]",
        b'fn bar() -> &\'static str { r"one line" }',
        b"fn after() { let p: *mut u8 = core::ptr::null_mut(); }",
    ]
    cuts = ItemCuts(RAW_FIXTURES)
    ranges = cuts.ranges(cuts.holding_needle(Needle((r"\*mut\b",))))
    assert ranges is not None
    tree = parse_items(RAW_FIXTURES, ranges)
    assert tree is not None and not parse_rust(RAW_FIXTURES).root_node.has_error


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        (b'let a = r"x\ny";', [(8, 14)]),
        (b'let a = br##"x"#\n"##;', [(8, 20)]),
        (b'let a = cr"\n";', [(8, 13)]),
        (b'let a = r"one line";', []),  # a line break is what can hold a cut
        (b'bar"\n"', []),  # the end of a name, not an opening
        (b'let a = r#"\nnever closed', []),
        (b'let a = r#"\n r"x"\n"#;', [(8, 20)]),  # an opening inside a literal opens nothing
    ],
)
def test_raw_string_spans(text: bytes, spans: list[tuple[int, int]]) -> None:
    assert _raw_string_spans(text) == spans


def test_needle_positions_cover_every_branch() -> None:
    data = b"fn a() { x.as_ptr() }\n\nfn b() {}\n\nfn c() { *mut_thing }\n"
    needle = Needle((r"\bas_ptr\s*\(", r"\*\s*mut"))
    cuts = ItemCuts(data)
    assert cuts.holding_needle(needle) == {0, 2}


def test_candidates_outside_a_rules_items_are_turned_away() -> None:
    cuts = ItemCuts(SOURCE)
    impl = cuts.holding_needle(Needle((r"\bunsafe\b",)))
    plan = ItemPlan(cuts, {"r": impl}, None)
    tree = parse_rust(SOURCE)
    items = plan.filter_for(tree, partial=False)
    assert items is not None
    by_type = {child.type: child for child in tree.root_node.children}
    impl_body = by_type["impl_item"].child_by_field_name("body")
    assert impl_body is not None
    method = impl_body.named_children[0]
    assert items.allows("r", method)
    # The pieces are the method's: the impl's header holds no `unsafe`.
    assert not items.allows("r", by_type["impl_item"])
    assert not items.allows("r", by_type["struct_item"])
    assert items.allows("other-rule", by_type["struct_item"])  # it locates nothing
    assert items.allows("r", tree.root_node)  # the file spans every item


def test_no_filter_when_a_cut_falls_inside_an_item() -> None:
    data = b"""const FIXTURE: &str = "
struct Inner;
fn inside() {}
";

fn after() {}
"""
    cuts = ItemCuts(data)
    assert len(cuts.starts) == 3  # one cut inside the string, one before `after`
    assert ItemPlan(cuts, {"r": {0}}, None).filter_for(parse_rust(data), partial=False) is None


def test_a_whole_parse_checks_the_cuts_outside_the_planned_ranges() -> None:
    # The plan chose the string's first half (it holds `unsafe`); its parse was refused and the
    # file parsed whole. The cut inside the string lies outside the planned range: a match in
    # the constant's second half must not be turned away.
    data = b"""const FIXTURE: &str = "
unsafe {
}
fn inside() {}
";
"""
    data += UNRELATED_ITEMS
    cuts = ItemCuts(data)
    chosen = cuts.holding_needle(Needle((r"\bunsafe\b",)))
    assert chosen == {0}
    ranges = cuts.ranges(chosen)
    assert ranges is not None and parse_items(data, ranges) is None
    plan = ItemPlan(cuts, {"r": chosen}, ranges)
    assert plan.filter_for(parse_rust(data), partial=False) is None


@pytest.mark.parametrize(
    ("left_out", "open_string"),
    [
        (b'fn a() -> &\'static str { "closed" }\n', False),
        # Escaped quotes, escaped backslashes before a closing quote, a quote as a character.
        (b'fn a() { f("say \\"hi\\"", \'"\', "C:\\\\"); }\n', False),
        (b"fn a() { g('\\\"'); }\n", False),
        (b'const S: &str = "\nstruct Inner;\n', True),
        (b'const S: &str = "a\\"\nstruct Inner;\n', True),
    ],
)
def test_text_left_open_inside_a_string(left_out: bytes, open_string: bool) -> None:
    data = left_out + b"fn chosen() {}\n"
    assert _may_open_string(data, [(len(left_out), len(data))]) is open_string
