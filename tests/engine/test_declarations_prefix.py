"""`declarations_of` parses only the items that hold a file's declarations, or else its text up to
the last one: it must find exactly what a parse of the whole file finds, wherever the
declarations and the text around them are."""

from __future__ import annotations

import random

import pytest

from unsound.dsl.rust_parser import parse_rust
from unsound.engine import mod_decls
from unsound.engine.mod_decls import FileDecls, declarations_of, file_declarations

# A module file with a bit of everything discovery must read past: attributes, an inline
# module, a function body, a macro, strings and comments that spell `mod` and braces.
BODY = """\
//! Crate docs that say mod fake; and { an open brace.
#![allow(dead_code)]

#[cfg(unix)]
pub mod unix;
#[path = "other_name.rs"]
mod renamed;
#[cfg_attr(windows, path = "win.rs")]
pub(crate) mod platform;

/* A block comment: mod not_a_module; */
const TEXT: &str = "mod also_not; {";
const RAW: &str = r#"mod raw_not; "}""#;

pub mod inline {
    pub mod nested;
    pub fn helper() -> char {
        '{'
    }
}

macro_rules! declare {
    ($name:ident) => {
        mod $name;
    };
}

cfg_if::cfg_if! {
    if #[cfg(feature = "fast")] {
        mod fast;
    } else {
        mod slow;
    }
}

pub fn run<'a>(input: &'a str) -> &'a str {
    let brace = '}';
    let _ = brace;
    input
}

include!("generated.rs");

#[cfg(test)]
mod tests;
"""


def _full(data: bytes) -> FileDecls:
    return file_declarations(parse_rust(data), data)


def test_a_file_with_code_after_its_declarations_gives_what_the_full_parse_gives() -> None:
    data = BODY.encode() + b"\nfn tail() {}\n" * 50
    found = declarations_of(data)
    assert found == _full(data)
    assert [decl.name for decl in found.mods] == [
        "unix",
        "renamed",
        "platform",
        "nested",
        "fast",
        "slow",
        "tests",
    ]
    assert [include.path for include in found.includes] == ["generated.rs"]


@pytest.mark.parametrize(
    "tail",
    [
        # The last declaration inside an inline module: the prefix ends inside its braces.
        "pub mod outer {\n    mod last;\n}\nfn after() {}\n",
        # Inside a function body (in_block).
        "fn body() {\n    mod local;\n}\nfn after() {}\n",
        # Inside a macro's tokens (conditional).
        "cfg_if::cfg_if! {\n    if #[cfg(a)] { mod in_macro; }\n}\nfn after() {}\n",
        # The last match is text in a block comment, a raw string, a doc comment.
        "/* mod in_comment; */\nfn after() {}\n",
        'const S: &str = r#"\nmod in_raw;\n"#;\nfn after() {}\n',
        "/// mod in_doc;\nfn after() {}\n",
        # An `include!` call spread over lines.
        'include!(\n    "split.rs"\n);\nfn after() {}\n',
    ],
)
def test_a_prefix_that_ends_inside_an_item_falls_back_to_the_whole_file(tail: str) -> None:
    data = (BODY + tail).encode()
    assert declarations_of(data) == _full(data)


def test_declarations_inserted_anywhere_give_the_full_parse_result() -> None:
    """A seeded random walk: declarations inserted at random line starts (inside functions,
    inline modules, macros and macro definitions) never change the answer on a file that
    parses without error."""
    rng = random.Random(20261124)
    lines = (BODY + "fn tail() {\n    let x = 1;\n}\n" * 5).splitlines(keepends=True)
    insertions = [
        "mod inserted;\n",
        "#[cfg(test)]\npub mod other;\n",
        'include!("more.rs");\n',
        "mod block {\n    mod inner;\n}\n",
        "fn local() {\n    mod in_fn;\n}\n",
    ]
    compared = 0
    for _ in range(300):
        variant = list(lines)
        for _ in range(rng.randint(1, 3)):
            variant.insert(rng.randint(0, len(variant)), rng.choice(insertions))
        data = "".join(variant).encode()
        if parse_rust(data).root_node.has_error:
            continue  # see the next test
        compared += 1
        assert declarations_of(data) == _full(data), data.decode()
    assert compared > 200


def test_a_syntax_error_after_the_last_declaration_does_not_hide_the_ones_before() -> None:
    """The one difference from a parse of the whole file, on purpose: an unclosed brace after the
    last declaration makes tree-sitter's recovery of the whole file swallow earlier items (here
    the `include!`); the error-free part before it is read as rustc would read it."""
    data = (BODY + "fn broken() {\n{\n    let x = 1;\n}\n").encode()
    assert [include.path for include in _full(data).includes] == []
    found = declarations_of(data)
    assert [include.path for include in found.includes] == ["generated.rs"]
    assert [decl.name for decl in found.mods][-1] == "tests"


def test_a_file_without_declarations_is_not_parsed() -> None:
    assert declarations_of(b"fn main() {}\n") == FileDecls((), ())


# Items with no declaration in them, which a parse of the declarations' items leaves out.
FILLER = "".join(f"pub fn filler_{i}(x: u32) -> u32 {{\n    x + {i}\n}}\n\n" for i in range(40))


def _without_whole_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any parse of the whole file or of a prefix fail the test."""

    def refuse(data: bytes) -> None:
        raise AssertionError(f"parsed {len(data)} bytes from the start of the file")

    monkeypatch.setattr(mod_decls, "parse_rust", refuse)


def test_a_declaration_after_the_code_is_read_from_its_item_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """rust-analyzer's layout: `mod tests;` as the last item, after all the code."""
    data = (FILLER + "#[cfg(test)]\nmod tests;\n").encode()
    expected = _full(data)
    _without_whole_parses(monkeypatch)
    found = declarations_of(data)
    assert found == expected
    [decl] = found.mods
    assert (decl.name, decl.line, decl.column, decl.conditional) == ("tests", 162, 1, True)


def test_declarations_between_items_keep_their_attributes_and_modules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = (FILLER + BODY + FILLER).encode()
    expected = _full(data)
    _without_whole_parses(monkeypatch)
    assert declarations_of(data) == expected
    assert [decl.name for decl in expected.mods][-1] == "tests"


def test_an_attribute_whose_line_ends_in_a_comment_stays_with_its_item() -> None:
    """A comment that ends with `;` after an attribute makes its line look like the end of an
    item: the item before the declaration's is parsed too, or the `cfg` would be lost."""
    data = (FILLER + "#[cfg(test)] // keep this one;\nmod tests;\n" + FILLER).encode()
    found = declarations_of(data)
    assert found == _full(data)
    [decl] = found.mods
    assert decl.conditional


def test_a_cut_inside_a_declarations_item_falls_back_to_a_parse_that_proves_itself() -> None:
    """A brace at column 0 inside a string looks like the end of an item: the cut after it
    splits the item, whose parse then fails, and the prefix is parsed instead."""
    data = (FILLER + 'const S: &str = "\n}\nmod fake;\n";\nmod real;\n' + FILLER).encode()
    found = declarations_of(data)
    assert found == _full(data)
    assert [decl.name for decl in found.mods] == ["real"]


def test_a_declaration_spelled_in_a_string_literal_is_not_read() -> None:
    """A piece cut inside a multi-line string parses on its own: the text before it leaves a
    string open, so it is not trusted (the prefix, which holds the whole string, is parsed)."""
    data = (
        FILLER + 'pub const S: &str = "\nstruct A;\nmod fake;\nstruct B;\n";\n' + FILLER
    ).encode() + b"mod real;\n"
    found = declarations_of(data)
    assert found == _full(data)
    assert [decl.name for decl in found.mods] == ["real"]
