"""The bad-input matrix, rule-file and output rows: located errors with a caret, exit 2.

Rule files are the user's own input (never read from the scanned tree unless named), so each
mistake must say where it is and what to do, before anything is scanned. A rule that is valid
but pathological (a catastrophic regex, a pattern or condition nested thousands deep) must not
hang the scan or crash it with a RecursionError.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from unsound.cli.entry import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "seeded-workspace"

RULE = """rule my-rule {{
  title    "A test rule"
  severity warning
  match    `fn $F($..BEFORE, $P: $PT, $..AFTER) -> $R {{ $..BODY }}`
  {where}
  message  "`{{F}}` takes a raw pointer"
  example bad  `fn f(p: *mut u8) -> u8 {{ 0 }} // ruleid: my-rule`
  example good `fn g(p: u8) -> u8 {{ 0 }}`
  help \"\"\"
  ## What it does
  Finds functions that take a raw pointer.
  \"\"\"
}}
"""


def rule_file(tmp_path: Path, where: str = "where    $PT is raw-pointer", text: str = "") -> Path:
    path = tmp_path / "mine.rules"
    path.write_text(text or RULE.format(where=where), encoding="utf-8")
    return path


def scan_with(rules: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["--manifest-path", str(EXAMPLE / "Cargo.toml"), "--rules", str(rules), *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def test_valid_rule_file_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = scan_with(rule_file(tmp_path), capsys, "--select", "my-rule")
    assert code == 1
    assert "warning[my-rule]" in out


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (
            "wher     $PT is raw-pointer",
            "5:3: error: unknown key `wher` in rule — did you mean `where`?\n"
            "  |\n5 |   wher     $PT is raw-pointer\n  |   ^^^^",
        ),
        (
            "where    $Q is raw-pointer",
            "5:12: error: metavariable `$Q` is used but never bound — bind it in every `match` "
            "pattern, or with `via` / `has lifetime` before using it\n"
            "  |\n5 |   where    $Q is raw-pointer\n  |            ^^",
        ),
        (
            'where    $F matches "(unclosed"',
            "5:23: error: bad regular expression: missing ) — regexes use Python `re` syntax\n"
            '  |\n5 |   where    $F matches "(unclosed"\n  |                       ^',
        ),
        (
            "where    $PT is raw-pointr",
            "5:19: error: unknown shape `raw-pointr` — did you mean `raw-pointer`?\n"
            "  |\n5 |   where    $PT is raw-pointr\n  |                   ^^^^^^^^^^",
        ),
        (
            "where    ($PT is raw-pointer",
            "6:3: error: unexpected `message` — expected `)`\n"
            '  |\n6 |   message  "`{F}` takes a raw pointer"\n  |   ^^^^^^^',
        ),
    ],
    ids=["unknown-key", "unbound-metavariable", "bad-regex", "unknown-shape", "unclosed-paren"],
)
def test_rule_file_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, expected: str
) -> None:
    path = rule_file(tmp_path, where)
    code, _, err = scan_with(path, capsys)
    assert code == 2
    assert err == f"{path}:{expected}\n"


def test_rule_file_truncated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = RULE.format(where="where    $PT is raw-pointer")
    path = rule_file(tmp_path, text=text[: text.index("help")])
    code, _, err = scan_with(path, capsys)
    assert code == 2
    assert err.splitlines()[0] == (
        f"{path}:9:3: error: unexpected end of file — is a `}}` missing?"
    )


def test_rule_file_condition_missing_its_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = rule_file(tmp_path, "where    $PT is")
    code, _, err = scan_with(path, capsys)
    assert code == 2
    assert err.splitlines()[0] == (
        f"{path}:5:18: error: the entry before `message` is incomplete: `message` was read as "
        "its value — finish that entry (a shape after `is`, a pattern after `has`, …)"
    )


def test_rule_file_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "latin.rules"
    path.write_bytes(b"rule caf\xe9 {}\n")
    code, _, err = scan_with(path, capsys)
    assert code == 2
    assert err.splitlines()[0] == (
        f"{path}: error: cannot read rule file: 'utf-8' codec can't decode byte 0xe9 in "
        "position 8: invalid continuation byte — check the file"
    )


def test_rule_file_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = scan_with(tmp_path / "nope.rules", capsys)
    assert code == 2
    assert (
        err == f"{tmp_path / 'nope.rules'}: error: rule file not found — check the --rules path\n"
    )


def test_catastrophic_regex_is_stopped_and_reported(tmp_path: Path) -> None:
    """`^(a|aa)+$` backtracks exponentially on `aaaa…aX` even in the `regex` module: the rule
    must be stopped at its time budget and the file reported as not scanned (exit 3)."""
    path = rule_file(tmp_path, 'where    $F matches "^(a|aa)+$"')
    workspace = tmp_path / "ws"
    (workspace / "src").mkdir(parents=True)
    (workspace / "Cargo.toml").write_text('[package]\nname = "ws"\nversion = "0.1.0"\n')
    (workspace / "src" / "lib.rs").write_text(f"pub fn {'a' * 40}X(p: *mut u8) -> u8 {{ 0 }}\n")
    started = time.monotonic()
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "unsound",
                str(workspace),
                "--rules",
                str(path),
                "--select",
                "my-rule",
            ],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the scan hung on a catastrophic regex")
    assert time.monotonic() - started < 20
    assert "Traceback" not in result.stderr
    assert result.returncode == 3
    assert "rule `my-rule` stopped: its regex '^(a|aa)+$' ran past" in result.stdout
    assert "1 file not scanned" in result.stdout


def test_condition_nested_five_thousand_levels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = rule_file(tmp_path, "where    " + "not " * 5000 + "$PT is raw-pointer")
    code = main(["rules", "check", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[0] == (
        f"{path}:1:6: error: rule `my-rule` nests conditions too deeply — keep "
        "`not`/`and`/`or`/parentheses under 50 levels"
    )


def test_pattern_nested_three_thousand_levels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = RULE.format(where="where    $PT is raw-pointer").replace(
        "{ $..BODY }", "{ " + "(" * 3000 + "$X" + ")" * 3000 + " }"
    )
    path = rule_file(tmp_path, text=text)
    code = main(["rules", "check", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[0] == (
        f"{path}:4:13: error: this pattern nests too deeply — patterns are matched "
        "structurally; write a shallower pattern and use `has` for what is inside"
    )


# Output paths ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "missing/folder/out.sarif",
            "error: cannot write the report: the folder {tmp}/missing/folder does not exist — "
            "create the folder first, or choose another --output path",
        ),
        (
            "a-file/out.sarif",
            "error: cannot write the report: a part of the path is a file, not a folder — "
            "choose an --output path whose folders are folders",
        ),
        (
            "a-folder",
            "error: cannot write the report: this is a directory — give a file name, for "
            "example {tmp}/a-folder/cargo-unsound.sarif",
        ),
    ],
    ids=["missing-folder", "file-as-folder", "is-a-folder"],
)
def test_output_path_that_cannot_be_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, expected: str
) -> None:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "a-folder").mkdir()
    target = tmp_path / name
    code = main(
        ["--manifest-path", str(EXAMPLE / "Cargo.toml"), "--format", "sarif", "-o", str(target)]
    )
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert code == 2
    assert err.splitlines()[0] == f"{target}: " + expected.format(tmp=tmp_path)
    assert not any(p.name.endswith(".tmp") for p in tmp_path.rglob("*"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write to a read-only file")
def test_output_to_a_read_only_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    target.chmod(0o444)
    code = main(
        ["--manifest-path", str(EXAMPLE / "Cargo.toml"), "--format", "json", "-o", str(target)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[0] == (
        f"{target}: error: cannot write the report: permission denied, the file is read-only "
        "— make it writable (chmod u+w) or choose another --output path"
    )
    assert target.read_text() == "old"


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--no-such-option"])
    err = capsys.readouterr().err
    assert code == 2
    assert "No such option: --no-such-option" in err
    assert "Traceback" not in err
