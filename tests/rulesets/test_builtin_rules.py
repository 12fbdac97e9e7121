"""Every built-in rule passes its own examples, and carries the metadata reports need."""

from __future__ import annotations

import re

import pytest

from unsound.dsl.compiler import CompiledRule
from unsound.dsl.loader import load_rules
from unsound.engine.examples import run_examples

RULES = load_rules()
HEADINGS = (
    "## What it does",
    "## Why is this bad?",
    "## Example",
    "## Use instead",
    "## References",
)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_examples_produce_exactly_the_marked_findings(rule: CompiledRule) -> None:
    results = run_examples(rule)
    assert {r.kind for r in results} == {"bad", "good"}
    for result in results:
        assert result.passed, f"{result.kind} example at line {result.line}: {result.describe()}"
    bad_marks = sum(len(r.expected) for r in results if r.kind == "bad")
    assert bad_marks >= 1, "a bad example must mark at least one finding"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_help_has_the_standard_headings_in_order(rule: CompiledRule) -> None:
    positions = [rule.info.help_markdown.find(h) for h in HEADINGS]
    assert all(p >= 0 for p in positions), positions
    assert positions == sorted(positions)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_metadata_is_complete(rule: CompiledRule) -> None:
    info = rule.info
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", info.id)
    assert info.help_uri.endswith(f"/{info.id}.md")
    assert info.security_severity is not None and 0 < info.security_severity <= 10
    assert 1 <= len(info.tags) <= 10
    assert info.title and len(info.title) < 100


def test_the_two_seed_rules_ship() -> None:
    assert {r.id for r in RULES} >= {"raw-pointer-escapes-lifetime", "napi-external-by-value"}


DOCS = __import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "rules"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_page_is_generated_and_current(rule: CompiledRule) -> None:
    from unsound.dsl.docs import render_rule_page

    page = DOCS / f"{rule.id}.md"
    assert page.read_text(encoding="utf-8") == render_rule_page(rule.info), (
        "stale rule page: run `python tools/gen_rule_docs.py`"
    )


def test_no_rule_page_without_a_rule() -> None:
    assert {p.stem for p in DOCS.glob("*.md")} == {r.id for r in RULES}


def test_rule_index_is_generated_and_current() -> None:
    from unsound.dsl.docs import render_rule_index

    index = DOCS.parent / "rules.md"
    assert index.read_text(encoding="utf-8") == render_rule_index([r.info for r in RULES]), (
        "stale docs/rules.md: run `python tools/gen_rule_docs.py`"
    )
