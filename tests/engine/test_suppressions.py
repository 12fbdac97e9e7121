"""Inline suppressions over real findings: the built-in rules run on real Rust, then
`apply_suppressions` decides. Each placement the docs promise is pinned, and so are the
negatives (a reason is required, a doc comment is not a suppression, scope ends with the item).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from unsound.dsl.loader import load_rules
from unsound.dsl.rust_parser import parse_rust
from unsound.engine.crate_index import CrateIndex
from unsound.engine.matcher import RuleSetMatcher
from unsound.engine.suppressions import (
    INVALID_RULE_ID,
    SUPPRESSION_RULES,
    UNUSED_RULE_ID,
    SuppressionResult,
    apply_suppressions,
)
from unsound.engine.units import ParsedFile
from unsound.fingerprints import LINE_HASH_KEY, STABLE_KEY
from unsound.model import Finding

RULE = "raw-pointer-escapes-lifetime"
DATA = "pub struct Data<'a> { x: &'a String, y: *mut String }\n"
BAD = "pub fn {name}<'a>(x: &'a String, y: *mut String) -> Data<'a> {{ Data {{ x, y }} }}"


@dataclass
class Scanned:
    unit: ParsedFile
    findings: list[Finding]
    result: SuppressionResult

    def lines(self, findings: tuple[Finding, ...]) -> list[tuple[str, int]]:
        return [(f.rule_id, f.primary.span.start_line) for f in findings]

    @property
    def kept(self) -> list[tuple[str, int]]:
        return self.lines(self.result.kept)

    @property
    def suppressed(self) -> list[tuple[str, int]]:
        return self.lines(self.result.suppressed)

    @property
    def diagnostics(self) -> list[tuple[str, int]]:
        return self.lines(self.result.diagnostics)


@pytest.fixture(scope="module")
def matcher() -> RuleSetMatcher:
    return RuleSetMatcher(load_rules())


def scan(matcher: RuleSetMatcher, source: str, active: set[str] | None = None) -> Scanned:
    data = (DATA + source).encode("utf-8")
    unit = ParsedFile("src/lib.rs", "demo", data, parse_rust(data))
    findings = matcher.run(unit, CrateIndex(lambda: [unit]), matcher.wanted(data))
    active_rules = active if active is not None else {rule.id for rule in matcher.rules}
    return Scanned(unit, findings, apply_suppressions(unit, findings, active_rules=active_rules))


def bad(name: str) -> str:
    return BAD.format(name=name)


def test_unsuppressed_findings_are_kept(matcher: RuleSetMatcher) -> None:
    scanned = scan(matcher, bad("a") + "\n")
    assert scanned.kept == [(RULE, 2)]
    assert scanned.result.suppressed == () and scanned.result.diagnostics == ()


def test_end_of_line(matcher: RuleSetMatcher) -> None:
    scanned = scan(matcher, bad("a") + f" // unsound: allow({RULE}): arena-owned\n" + bad("b"))
    assert scanned.kept == [(RULE, 3)]
    assert scanned.suppressed == [(RULE, 2)]
    suppression = scanned.result.suppressed[0].suppression
    assert suppression is not None
    assert (suppression.reason, suppression.path, suppression.line) == (
        "arena-owned",
        "src/lib.rs",
        2,
    )
    assert scanned.result.diagnostics == ()


def test_line_above_covers_only_the_next_line(matcher: RuleSetMatcher) -> None:
    source = (
        "pub fn outer() {\n"
        "    let _ = 1;\n"
        f"    // unsound: allow({RULE}): not a finding line\n"
        "    let _ = 2;\n"
        "}\n" + bad("a") + "\n"
    )
    scanned = scan(matcher, source)
    assert scanned.kept == [(RULE, 7)]
    assert scanned.diagnostics == [(UNUSED_RULE_ID, 4)]


def test_above_an_item_covers_the_whole_item_through_attributes(matcher: RuleSetMatcher) -> None:
    source = (
        f"// unsound: allow({RULE}): the pointer is owned by `x`'s arena\n"
        "#[inline]\n"
        "#[allow(clippy::all)]\n"
        "pub fn a<'a>(\n"
        "    x: &'a String,\n"
        "    y: *mut String,\n"
        ") -> Data<'a> {\n"
        "    Data { x, y }\n"
        "}\n" + bad("b") + "\n"
    )
    scanned = scan(matcher, source)
    assert scanned.suppressed == [(RULE, 7)]
    assert scanned.kept == [(RULE, 11)]  # the next item is not covered


def test_above_an_impl_covers_its_methods(matcher: RuleSetMatcher) -> None:
    source = (
        "pub struct Ctx<'a> { x: &'a String, y: *mut String }\n"
        f"// unsound: allow({RULE}): checked by the caller\n"
        "impl<'a> Ctx<'a> {\n"
        "    pub fn new(x: &'a String, y: *mut String) -> Ctx<'a> { Ctx { x, y } }\n"
        "}\n"
    )
    scanned = scan(matcher, source)
    assert scanned.suppressed == [(RULE, 5)]
    assert scanned.kept == []


def test_stacked_suppressions_and_id_lists(matcher: RuleSetMatcher) -> None:
    source = (
        "// unsound: allow(napi-external-by-value): unrelated, reported as unused\n"
        f"// unsound: allow(other-rule, {RULE}): both named\n" + bad("a") + "\n"
    )
    scanned = scan(matcher, source, active={RULE, "napi-external-by-value"})
    assert scanned.suppressed == [(RULE, 4)]
    # `other-rule` did not run: not called unused; the napi one did and matched nothing.
    assert scanned.diagnostics == [(UNUSED_RULE_ID, 2)]
    assert "napi-external-by-value" in scanned.result.diagnostics[0].message


def test_without_a_reason_nothing_is_suppressed(matcher: RuleSetMatcher) -> None:
    for comment in (f"// unsound: allow({RULE})", f"// unsound: allow({RULE}):   "):
        scanned = scan(matcher, bad("a") + " " + comment + "\n")
        assert scanned.kept == [(RULE, 2)]
        assert scanned.diagnostics == [(INVALID_RULE_ID, 2)]
        assert "no reason" in scanned.result.diagnostics[0].message


def test_malformed_suppression_is_reported(matcher: RuleSetMatcher) -> None:
    for comment in (
        "// unsound: allow(): empty",
        "// unsound: allow(bad id!): what",
        "// unsound: allow raw-pointer",
    ):
        scanned = scan(matcher, comment + "\n" + bad("a") + "\n")
        assert scanned.kept == [(RULE, 3)], comment
        assert scanned.diagnostics == [(INVALID_RULE_ID, 2)], comment
        assert "does not parse" in scanned.result.diagnostics[0].message


def test_doc_comments_and_prose_are_not_suppressions(matcher: RuleSetMatcher) -> None:
    source = (
        f"/// unsound: allow({RULE}): in the docs, not a suppression\n"
        + bad("a")
        + "\n// unsound: this comment only talks about the tool\n"
    )
    scanned = scan(matcher, source)
    assert scanned.kept == [(RULE, 3)]
    assert scanned.diagnostics == []


def test_block_inside_function_line_above(matcher: RuleSetMatcher) -> None:
    source = (
        "pub fn a<'a>(x: &'a String,\n"
        f"    // unsound: allow({RULE}): the parameter line is covered\n"
        "    y: *mut String) -> Data<'a> { Data { x, y } }\n"
    )
    scanned = scan(matcher, source)
    assert scanned.suppressed == [(RULE, 4)]


def test_suppression_at_end_of_file_is_unused(matcher: RuleSetMatcher) -> None:
    scanned = scan(matcher, bad("a") + f"\n// unsound: allow({RULE}): dangling\n")
    assert scanned.kept == [(RULE, 2)]
    assert scanned.diagnostics == [(UNUSED_RULE_ID, 3)]


def test_diagnostics_cannot_be_suppressed_and_have_fingerprints(matcher: RuleSetMatcher) -> None:
    source = f"// unsound: allow({UNUSED_RULE_ID}): try\n// unsound: allow({RULE}): x\n"
    scanned = scan(matcher, source, active={RULE, UNUSED_RULE_ID})
    assert sorted(scanned.diagnostics) == [(UNUSED_RULE_ID, 2), (UNUSED_RULE_ID, 3)]
    for diagnostic in scanned.result.diagnostics:
        assert set(diagnostic.fingerprints) == {LINE_HASH_KEY, STABLE_KEY}
        assert diagnostic.primary.span.start_column == 1
        assert diagnostic.crate == "demo"


def test_findings_of_other_files_pass_through(matcher: RuleSetMatcher) -> None:
    scanned = scan(matcher, bad("a") + f" // unsound: allow({RULE}): here\n")
    other = [replace(f, primary=replace(f.primary, path="src/b.rs")) for f in scanned.findings]
    result = apply_suppressions(scanned.unit, other)
    assert result.kept == tuple(other) and result.suppressed == ()


def test_file_without_marker_is_not_queried(matcher: RuleSetMatcher) -> None:
    scanned = scan(matcher, bad("a") + "\n")
    result = apply_suppressions(scanned.unit, scanned.findings)
    assert list(result.kept) == scanned.findings


def test_non_ascii_before_the_comment(matcher: RuleSetMatcher) -> None:
    source = (
        'pub const CRAB: &str = "🦀"; // unsound: allow(' + RULE + "): nothing here\n" + bad("a")
    )
    scanned = scan(matcher, source)
    assert scanned.kept == [(RULE, 3)]
    [diagnostic] = scanned.result.diagnostics
    assert diagnostic.primary.span.start_column == len('pub const CRAB: &str = "🦀"; ') + 1


def test_pseudo_rules_have_complete_metadata() -> None:
    assert {rule.id for rule in SUPPRESSION_RULES} == {INVALID_RULE_ID, UNUSED_RULE_ID}
    for rule in SUPPRESSION_RULES:
        for heading in ("What it does", "Why is this bad?", "Example", "Use instead", "References"):
            assert f"## {heading}" in rule.help_markdown
        assert rule.help_text and rule.help_uri and rule.title
