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
        " has bound '$",
        " has marker lifetime",
        " has safe method using unsafe",
        " has `",
        " within ",
        " has safety comment",
        " has doc section ",
        " matches ",
        " precedes `",
        " flows into $",
        " flows from allocation other than $",
        " implements ",
        " holds ",
        " or ",
        " and ",
        "not ",
    ):
        assert word in text, word


def test_fix_template_replaces_the_primary_location() -> None:
    from unsound.engine.examples import scan_snippet
    from unsound.model import Fix

    rule = next(r for r in RULES if r.id == "static-mut-ref-with-fix")
    code = "static mut BUF: [u8; 4] = [0; 4];\nfn f() -> *mut [u8; 4] { unsafe { &mut BUF } }\n"
    (finding,) = scan_snippet([rule], code)
    assert finding.fix == Fix("take a raw pointer instead", "&raw mut BUF")
    span = finding.primary.span
    assert (span.start_line, span.start_column, span.end_column) == (2, 35, 43)


def test_fix_placeholder_must_be_bound() -> None:
    from unsound.errors import RuleError

    text = RULES_FILE.read_text(encoding="utf-8").replace(
        'fix "&raw mut {X}"', 'fix "&raw mut {Y}"'
    )
    with pytest.raises(RuleError) as caught:
        compile_rule_files([("x", "x.rules", text)])
    assert "`{Y}` names a metavariable that is never bound" in caught.value.render()
