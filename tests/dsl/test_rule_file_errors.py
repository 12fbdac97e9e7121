"""Every mistake in a rule file is one message: file:line:col, the line, a caret, a hint."""

from __future__ import annotations

import pytest

from unsound.dsl.loader import compile_rule_files
from unsound.errors import RuleError

GOOD = '''rule demo {
  title "Demo"
  severity warning
  match `fn $F($P: $T) { $..B }`
  where $T is raw-pointer
  message "`{P}` is a raw pointer"
  location $P..$T "here"
  example bad `fn f(p: *mut u8) {} // ruleid: demo`
  example good `fn f(p: u8) {}`
  help """
  ## What it does
  x
  """
}
'''


def compile_text(text: str) -> None:
    compile_rule_files([("demo", "demo.rules", text)])


def error_for(text: str) -> str:
    with pytest.raises(RuleError) as caught:
        compile_text(text)
    return caught.value.render()


def test_a_good_rule_compiles() -> None:
    compile_text(GOOD)


def test_unknown_key_suggests_the_closest() -> None:
    assert error_for(GOOD.replace('title "Demo"', 'titel "Demo"')) == (
        "demo.rules:2:3: error: unknown key `titel` in rule — did you mean `title`?\n"
        "  |\n"
        '2 |   titel "Demo"\n'
        "  |   ^^^^^"
    )


def test_unknown_condition_suggests_flows_into() -> None:
    text = GOOD.replace("where $T is raw-pointer", "where $P flow-into return")
    assert error_for(text).splitlines()[0] == (
        "demo.rules:5:12: error: unknown condition `flow-into` — did you mean `flows into`?"
    )


def test_unbound_metavariable_in_a_condition() -> None:
    text = GOOD.replace("where $T is raw-pointer", "where $Q is raw-pointer")
    rendered = error_for(text)
    assert rendered.splitlines()[0] == (
        "demo.rules:5:9: error: metavariable `$Q` is used but never bound — bind it in every "
        "`match` pattern, or with `via` / `has lifetime` before using it"
    )
    assert rendered.splitlines()[-1] == "  |         ^^"


def test_unbound_type_of_flows_from_allocation() -> None:
    text = GOOD.replace(
        "where $T is raw-pointer", "where $P flows from allocation other than $NOPE"
    )
    assert error_for(text).splitlines()[0] == (
        "demo.rules:5:45: error: metavariable `$NOPE` is used but never bound — bind it in every "
        "`match` pattern, or with `via` / `has lifetime` before using it"
    )


def test_unbound_placeholder_in_the_message() -> None:
    text = GOOD.replace('message "`{P}` is a raw pointer"', 'message "`{X}` is a raw pointer"')
    assert error_for(text).splitlines()[0] == (
        "demo.rules:6:13: error: `{X}` names a metavariable that is never bound — use a "
        "metavariable bound by the pattern or a condition"
    )


def test_unknown_shape() -> None:
    text = GOOD.replace("is raw-pointer", "is raw-ptr")
    assert error_for(text).splitlines()[0] == (
        "demo.rules:5:15: error: unknown shape `raw-ptr` — did you mean `raw-pointer`?"
    )


def test_bad_regex() -> None:
    text = GOOD.replace("where $T is raw-pointer", 'where $F matches "(unclosed"')
    assert error_for(text).splitlines()[0] == (
        "demo.rules:5:20: error: bad regular expression: missing ) — regexes use Python `re` syntax"
    )


def test_pattern_that_is_not_rust_points_into_the_pattern() -> None:
    text = GOOD.replace("match `fn $F($P: $T) { $..B }`", "match `fn $F($P: $T { $..B }`")
    rendered = error_for(text)
    assert rendered.splitlines()[0].startswith("demo.rules:4:")
    assert "not valid Rust" in rendered


def test_missing_help() -> None:
    text = GOOD[: GOOD.index("  help")] + "}\n"
    assert error_for(text).splitlines()[0] == (
        "demo.rules:1:6: error: rule `demo` has no `help` — add a `help` entry "
        "(see docs/rule-language.md)"
    )


def test_missing_good_example() -> None:
    text = GOOD.replace("  example good `fn f(p: u8) {}`\n", "")
    assert "has no `example good`" in error_for(text).splitlines()[0]


def test_duplicate_key() -> None:
    text = GOOD.replace("  severity warning\n", "  severity warning\n  severity error\n")
    assert error_for(text).splitlines()[0] == (
        "demo.rules:4:3: error: `severity` is given twice in rule `demo` — the first is on "
        "line 3; keep one"
    )


def test_security_out_of_range() -> None:
    text = GOOD.replace("  severity warning\n", "  severity warning\n  security 11\n")
    assert error_for(text).splitlines()[0] == (
        "demo.rules:4:3: error: security severity 11.0 is out of range — use a number in "
        "(0, 10], as GitHub's security-severity"
    )


def test_unterminated_pattern() -> None:
    text = GOOD.replace("match `fn $F($P: $T) { $..B }`", "match `fn $F($P: $T) { $..B }")
    rendered = error_for(text)
    assert "error:" in rendered.splitlines()[0]
    assert rendered.splitlines()[0].startswith("demo.rules:")


def test_unexpected_end_of_file() -> None:
    assert (
        error_for(GOOD.rstrip().rstrip("}"))
        .splitlines()[0]
        .endswith("error: unexpected end of file — is a `}` missing?")
    )


def test_rule_defined_twice() -> None:
    rendered = error_for(GOOD + GOOD)
    assert rendered.splitlines()[0] == (
        "demo.rules:15:6: error: rule `demo` is defined twice — the other definition is in "
        "demo.rules; rename one"
    )


def test_catastrophic_regex_is_stopped_not_left_hanging() -> None:
    """A user's regex that backtracks exponentially stops at its budget with a clear reason."""
    from unsound.engine.conditions import RuleBudgetExceeded
    from unsound.engine.examples import scan_snippet

    text = GOOD.replace("where $T is raw-pointer", 'where $F matches "(a|aa)+$"').replace(
        "example bad `fn f(p: *mut u8) {} // ruleid: demo`", "example bad `fn f(p: *mut u8) {}`"
    )
    rules = compile_rule_files([("demo", "demo.rules", text)])
    victim = "fn " + "a" * 40 + "b(p: *mut u8) {}"
    with pytest.raises(RuleBudgetExceeded) as caught:
        scan_snippet(rules, victim)
    assert str(caught.value) == (
        "rule `demo` stopped: its regex '(a|aa)+$' ran past 1 s (catastrophic backtracking?); "
        "fix the rule's regex"
    )
