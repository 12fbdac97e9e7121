"""The rule-language features, each exercised by a rule with exact bad/good examples.

tests/fixtures/rules/language.rules holds rules written the way a user would (Send without a
bound, a safe `pub fn` dereferencing a raw pointer, `// SAFETY:` comments, `# Safety` docs,
`transmute` to `'static`, `set_len` before `read`, data flow into a call, `implements`, `has …
within`): each bad example must give exactly its marked lines, each good one nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from unsound.dsl.compiler import CompiledRule
from unsound.dsl.loader import compile_rule_files, user_rule_files
from unsound.engine.examples import run_examples

RULES_FILE = Path(__file__).parent.parent / "fixtures" / "rules" / "language.rules"
RULES = compile_rule_files(user_rule_files([RULES_FILE]))


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_language_feature_rule(rule: CompiledRule) -> None:
    results = run_examples(rule)
    assert results
    for result in results:
        assert result.passed, f"{result.kind} at line {result.line}: {result.describe()}"


def test_every_condition_kind_is_exercised() -> None:
    text = RULES_FILE.read_text(encoding="utf-8")
    for word in (
        " is type-parameter",
        " has bound ",
        " has `",
        " within ",
        " has safety comment",
        " has doc section ",
        " matches ",
        " precedes `",
        " flows into $",
        " implements ",
        " holds ",
        " or ",
        " and ",
        "not ",
    ):
        assert word in text, word
