"""`cargo unsound baseline` and `--baseline FILE`, end to end on a real Rust crate.

The crate is the rule fixture copied to a temporary folder, so the tests can edit it: code
inserted above baselined findings shifts every line, and must not bring them back.
"""

from __future__ import annotations

import importlib.resources
import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from unsound.cli.entry import main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "rust" / "raw_pointer_escapes_lifetime"
SCHEMA = importlib.resources.files("unsound.schemas") / "baseline.schema.json"
NEW_BAD = "\npub fn brand_new<'a>(x: &'a String, y: *mut String) -> Data<'a> { Data { x, y } }\n"


@pytest.fixture
def crate(tmp_path: Path) -> Path:
    target = tmp_path / "crate"
    shutil.copytree(FIXTURE, target)
    return target


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def scan_json(crate: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> dict[str, Any]:
    code, out, err = run([str(crate), "--format", "json", *extra], capsys)
    document = json.loads(out)
    document["_code"], document["_err"] = code, err
    return document


def write_baseline(crate: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, dict[str, Any]]:
    baseline = crate / "unsound-baseline.json"
    code, _, err = run(["baseline", str(crate), "--output", str(baseline)], capsys)
    assert code == 0, err
    return baseline, json.loads(baseline.read_text(encoding="utf-8"))


def test_baseline_file_is_versioned_and_valid(
    crate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    findings = scan_json(crate, capsys)["findings"]
    _, document = write_baseline(crate, capsys)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
    assert document["version"] == 1
    assert document["fingerprint"] == "cargoUnsound/v1"
    assert len(document["findings"]) == len(findings) > 5
    assert sorted(row["fingerprint"] for row in document["findings"]) == sorted(
        f["fingerprints"]["cargoUnsound/v1"] for f in findings
    )


def test_default_output_name(
    crate: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(crate)
    code, _, err = run(["baseline"], capsys)
    assert code == 0
    assert (crate / "unsound-baseline.json").is_file()
    assert "to the baseline unsound-baseline.json" in err


def test_baselined_findings_are_not_reported(
    crate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline, document = write_baseline(crate, capsys)
    report = scan_json(crate, capsys, "--baseline", str(baseline))
    assert report["findings"] == []
    assert report["_code"] == 0
    assert report["summary"]["baselined"] == len(document["findings"])
    assert f"{len(document['findings'])} findings already in the baseline" in report["_err"]


def test_editing_lines_above_does_not_resurrect(
    crate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline, _ = write_baseline(crate, capsys)
    lib = crate / "src" / "lib.rs"
    text = lib.read_text(encoding="utf-8")
    anchor = "use std::ptr::NonNull;\n"
    inserted = (
        "\n// A new helper, and its doc.\n/// Adds one.\npub fn helper(n: u32) -> u32 {\n"
        "    n + 1\n}\n"
    )
    lib.write_text(text.replace(anchor, anchor + inserted, 1), encoding="utf-8")
    report = scan_json(crate, capsys, "--baseline", str(baseline))
    assert report["findings"] == []
    assert report["_code"] == 0
    # The lines really moved: without the baseline, every finding sits 7 lines lower.
    before = [f["line"] for f in scan_json(FIXTURE, capsys)["findings"]]
    after = [f["line"] for f in scan_json(crate, capsys)["findings"]]
    assert after == [line + inserted.count("\n") for line in before]


def test_a_new_finding_is_reported(crate: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline, _ = write_baseline(crate, capsys)
    lib = crate / "src" / "lib.rs"
    lib.write_text(lib.read_text(encoding="utf-8") + NEW_BAD, encoding="utf-8")
    report = scan_json(crate, capsys, "--baseline", str(baseline))
    assert [f["message"].split("`")[1] for f in report["findings"]] == ["y"]
    assert report["findings"][0]["line"] == len(lib.read_text(encoding="utf-8").splitlines())
    assert report["_code"] == 1


def test_a_duplicate_of_a_baselined_finding_is_new(
    crate: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fingerprints are a multiset: a second copy of accepted code is still a new finding."""
    lib = crate / "src" / "lib.rs"
    lib.write_text(lib.read_text(encoding="utf-8") + NEW_BAD, encoding="utf-8")
    baseline, _ = write_baseline(crate, capsys)
    (crate / "src" / "copy.rs").write_text("use crate::Data;\n" + NEW_BAD, encoding="utf-8")
    lib.write_text(lib.read_text(encoding="utf-8") + "mod copy;\n", encoding="utf-8")
    report = scan_json(crate, capsys, "--baseline", str(baseline))
    # One of the two copies is new; which one is file order's choice (the first is "old").
    assert len(report["findings"]) == 1
    assert report["summary"]["baselined"] == len(json.loads(baseline.read_text())["findings"])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "baseline file not found"),
        ("{not json", "is not JSON"),
        ('{"version": 7, "findings": []}', "not a cargo-unsound baseline of version 1"),
        ('{"version": 1, "findings": [{"rule": 1}]}', "needs string `rule` and `fingerprint`"),
    ],
)
def test_bad_baseline_is_exit_2(
    crate: Path, capsys: pytest.CaptureFixture[str], content: str | None, expected: str
) -> None:
    baseline = crate / "broken.json"
    if content is not None:
        baseline.write_text(content, encoding="utf-8")
    code, out, err = run([str(crate), "--baseline", str(baseline)], capsys)
    assert code == 2
    assert expected in err and out == ""


@pytest.mark.parametrize("extra", [["--format", "json"], ["--baseline", "x.json"]])
def test_baseline_command_refuses_report_options(
    crate: Path, capsys: pytest.CaptureFixture[str], extra: list[str]
) -> None:
    code, _, err = run(["baseline", str(crate), *extra], capsys)
    assert code == 2
    assert "cargo unsound baseline" in err
    assert not (crate / "unsound-baseline.json").exists()
