"""`implements` asks first whether any file of the crate spells the trait's name: without it no
file is parsed for the type's impls, and a rescan after a file starts spelling it is redone."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan_support import count_parses, rule_findings
from ws_helpers import package, write_tree

from unsound.dsl.rust_parser import parse_rust
from unsound.engine.crate_index import CrateIndex
from unsound.engine.units import ParsedFile

pytestmark = pytest.mark.usefixtures("private_key_folder")

HOLDER = (
    "pub struct Holder {\n    raw: *mut u8,\n}\n\n"
    "impl Drop for Holder {\n    fn drop(&mut self) {}\n}\n"
)


def _index(files: dict[str, str], parsed: list[str]) -> CrateIndex:
    def unit(path: str, text: str) -> ParsedFile:
        parsed.append(path)
        data = text.encode()
        return ParsedFile(path, "c", data, parse_rust(data))

    sources = [
        (text.encode(), lambda path=path, text=text: unit(path, text))
        for path, text in files.items()
    ]
    return CrateIndex(lambda: [thunk() for _, thunk in sources], sources)


def test_a_trait_no_file_spells_is_answered_without_a_parse() -> None:
    parsed: list[str] = []
    index = _index({"src/lib.rs": "mod holder;\n", "src/holder.rs": HOLDER}, parsed)
    assert not index.implements("Holder", "napi::FromNapiValue")
    assert parsed == []
    assert index.implements("Holder", "Drop")
    assert parsed == ["src/holder.rs"]
    assert not index.implements("Holder", "Clone")  # spelled nowhere: no new parse
    assert parsed == ["src/holder.rs"]


RULE = "napi-external-by-value"
LIB = "mod alias;\nmod convert;\nmod holder;\n"
# Apart from `lib.rs`, which discovery parses for its `mod`s (an in-process scan keeps that tree).
ALIAS = "pub type Alias = crate::holder::Holder;\n"
CONVERT_WITHOUT = "pub trait Convert {\n    fn convert();\n}\n"
CONVERT_WITH = (
    "pub trait FromNapiValue {\n    fn from_napi_value();\n}\n\n"
    "impl FromNapiValue for crate::holder::Holder {\n    fn from_napi_value() {}\n}\n"
)


def _napi_like(tmp_path: Path) -> Path:
    """A crate with a type alias of a pointer holder and no trait named like NAPI's."""
    return write_tree(
        tmp_path / "ws",
        {
            "Cargo.toml": package("napi_like"),
            "src/lib.rs": LIB,
            "src/alias.rs": ALIAS,
            "src/holder.rs": HOLDER,
            "src/convert.rs": CONVERT_WITHOUT,
        },
    )


def test_a_file_that_starts_spelling_the_trait_redoes_a_cached_outcome(tmp_path: Path) -> None:
    root = _napi_like(tmp_path)
    assert rule_findings(root, RULE, use_cache=True) == []
    (root / "src/convert.rs").write_text(CONVERT_WITH)
    expected = [(RULE, "src/alias.rs", 1, 1), (RULE, "src/convert.rs", 5, 1)]
    assert rule_findings(root, RULE) == expected
    assert rule_findings(root, RULE, use_cache=True) == expected


def _rule(rule_id: str, matches: list[str], where: str) -> str:
    """A rule with these patterns and `where` line (its examples are never run here)."""
    lines = "\n".join(f"  match    `{pattern}`" for pattern in matches)
    return (
        f'rule {rule_id} {{\n  title "x"\n  severity warning\n{lines}\n  where    {where}\n'
        '  message "x"\n  help "x"\n'
        "  example bad ```\npub type Alias = u8;\n```\n  example good ```\nfn f() {}\n```\n}\n"
    )


CRATE_WORD_RULES = "\n".join(
    (
        _rule(
            "alias-of-converted",
            ["impl Convert for $T { $..ITEMS }", "pub type $A = $T;"],
            'not $MATCH kind type_item or $T implements "Convert" or $T implements "a::Into"',
        ),
        _rule("never-an-alias", ["pub type $A = $T;"], "not $MATCH kind type_item"),
        _rule(
            "plain-alias", ["pub type $A = $T;"], '$T implements "Convert" or $A matches "Alias"'
        ),
    )
)


def test_crate_words_decide_match_kinds_per_pattern() -> None:
    from unsound.dsl.loader import compile_rule_files
    from unsound.dsl.rule_facts import crate_words

    rules = {r.id: r for r in compile_rule_files([("t", "t.rules", CRATE_WORD_RULES)])}
    # The impl pattern spells `Convert`; the alias needs one of the traits implemented.
    assert crate_words(rules["alias-of-converted"]) == ("Convert", "Into")
    # A pattern whose every finding is ruled out needs nothing: no word to ask for.
    assert crate_words(rules["never-an-alias"]) == ()
    # A finding that may come without any `implements`: the crate need not spell a trait.
    assert crate_words(rules["plain-alias"]) == ()


def test_a_crate_without_the_traits_parses_no_alias_file_for_the_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from unsound.engine import crate_scan

    parsed = count_parses(monkeypatch, crate_scan)
    assert rule_findings(_napi_like(tmp_path), RULE) == []
    assert parsed == []


def test_a_tuple_fields_index_has_no_mentions_and_parses_nothing() -> None:
    """`self.0` names a field no identifier spells: `mentions("0")` parsed every file holding
    the number."""
    parsed: list[str] = []
    tuple_struct = (
        "pub struct Wrap(pub *mut u8);\n\n"
        "impl Wrap {\n    fn get(&self) -> *mut u8 {\n        self.0\n    }\n}\n"
    )
    index = _index({"src/lib.rs": tuple_struct}, parsed)
    assert index.mentions("0") == []
    assert parsed == []
    assert [node.text for _, node in index.mentions("Wrap")] == [b"Wrap", b"Wrap"]
    assert parsed == ["src/lib.rs"]
