"""`cargo unsound rules list|show|check|test` for rule authors."""

from __future__ import annotations

from pathlib import Path

import pytest

from unsound.cli.entry import main

RULE = '''rule no-send-bound {
  title "unsafe impl Send without a Send bound"
  severity error
  match `unsafe impl<$..A, $P, $..B> Send for $T { $..I }`
  where $P is type-parameter and not $P has bound "Send"
  message "`{T}` is Send for any `{P}`"
  location $P
  example bad `unsafe impl<T> Send for X<T> {} // ruleid: no-send-bound`
  example good `unsafe impl<T: Send> Send for X<T> {}`
  help """
  ## What it does
  x
  """
}
'''


def test_rules_test_runs_examples_and_test_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule_file = tmp_path / "mine.rules"
    rule_file.write_text(RULE, encoding="utf-8")
    tests = tmp_path / "mine.tests"
    tests.mkdir()
    (tests / "ok.rs").write_text(
        "unsafe impl<T> Send for A<T> {} // ruleid: no-send-bound\n"
        "unsafe impl<T: Sync + Send> Send for B<T> {}\n",
        encoding="utf-8",
    )
    assert main(["rules", "test", str(rule_file)]) == 0
    assert capsys.readouterr().out == "3 passed, 0 failed\n"

    (tests / "missed.rs").write_text("unsafe impl<T> Send for C<T> {}\n", encoding="utf-8")
    assert main(["rules", "test", str(rule_file)]) == 1
    out = capsys.readouterr().out
    assert f"{tests / 'missed.rs'}: FAIL unexpected: no-send-bound at line 1\n" in out
    assert out.endswith("3 passed, 1 failed\n")


def test_rules_check_reports_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rule_file = tmp_path / "mine.rules"
    rule_file.write_text(RULE, encoding="utf-8")
    assert main(["rules", "check", str(rule_file)]) == 0
    assert capsys.readouterr().out == "1 rule OK\n"


def test_rules_show_unknown_id(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "show", "nope"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: no rule `nope` — see `cargo unsound rules list`"
    )


def test_rules_list_has_every_builtin_rule(capsys: pytest.CaptureFixture[str]) -> None:
    from unsound.dsl.loader import load_rules

    assert main(["rules", "list"]) == 0
    out = capsys.readouterr().out
    for rule in load_rules():
        assert rule.id in out
