"""The JSON report: valid against its published schema, pinned by a snapshot, deterministic."""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest

from unsound.model import ProblemKind, Report, ScanProblem
from unsound.report.json_report import FORMAT_VERSION, render_json

if TYPE_CHECKING:
    from conftest import Validators

Snapshot = Callable[[str, str], None]


def _render(report: Report, validators: Validators) -> dict[str, Any]:
    text = render_json(report)
    assert text.endswith("}\n")
    document: dict[str, Any] = json.loads(text)
    validators.check_report(document)
    return document


def test_snapshot(sample_report: Report, validators: Validators, snapshot: Snapshot) -> None:
    text = render_json(sample_report)
    validators.check_report(json.loads(text))
    snapshot("sample.json", text)


def test_header(sample_report: Report, validators: Validators) -> None:
    document = _render(sample_report, validators)
    assert list(document) == [
        "version",
        "tool",
        "rules",
        "findings",
        "problems",
        "suppressed",
        "summary",
    ]
    assert document["version"] == FORMAT_VERSION == 1
    assert document["tool"] == {"name": "cargo-unsound", "version": "0.1.0"}
    assert [r["id"] for r in document["rules"]] == [
        "missing-safety-doc",
        "raw-pointer-escapes-lifetime",
    ]


def test_findings_use_code_point_columns(sample_report: Report, validators: Validators) -> None:
    findings = _render(sample_report, validators)["findings"]
    view = next(f for f in findings if f["path"].endswith("byte_view.rs"))
    # `    let tag = "🦀"; View { buf, raw }`: column 32 in code points (33 in UTF-16).
    assert (view["line"], view["column"], view["end_line"], view["end_column"]) == (2, 32, 2, 35)
    assert view["crate"] == "component-lower"
    assert view["path"] == "crates/component lower/src/raw/byte_view.rs"  # not URI-encoded


def test_related_and_fingerprints(sample_report: Report, validators: Validators) -> None:
    findings = _render(sample_report, validators)["findings"]
    lower = next(f for f in findings if f["path"].endswith("src/lib.rs"))
    assert lower["related"][0] == {
        "path": "crates/component lower/src/data.rs",
        "line": 3,
        "column": 5,
        "end_line": 3,
        "end_column": 28,
        "label": "stored in this field",
    }
    assert sorted(lower["fingerprints"]) == ["cargoUnsound/v1", "primaryLocationLineHash"]


def test_findings_sorted_and_output_deterministic(sample_report: Report) -> None:
    shuffled = dataclasses.replace(
        sample_report,
        findings=tuple(reversed(sample_report.findings)),
        rules=tuple(reversed(sample_report.rules)),
    )
    assert render_json(shuffled) == render_json(sample_report)
    findings = json.loads(render_json(sample_report))["findings"]
    keys = [(f["path"], f["line"], f["column"]) for f in findings]
    assert keys == sorted(keys)


def test_summary(sample_report: Report, validators: Validators) -> None:
    summary = _render(sample_report, validators)["summary"]
    assert summary == {
        "findings": 3,
        "by_severity": {"error": 2, "warning": 1, "note": 0},
        "crates": 3,
        "files": 7,
        "complete": True,
        "suppressed": 0,
        "baselined": 0,
        "disabled_rules": [],
        "configuration_notes": [],
    }


def test_problems_and_incomplete_scan(sample_report: Report, validators: Validators) -> None:
    crashed = ScanProblem(
        path="crates/a/src/lib.rs", kind=ProblemKind.NOT_SCANNED, message="parser died"
    )
    document = _render(
        dataclasses.replace(sample_report, problems=(*sample_report.problems, crashed)), validators
    )
    assert document["summary"]["complete"] is False
    assert document["problems"][0] == {
        "path": "crates/a/src/lib.rs",
        "kind": "not-scanned",
        "message": "parser died",
        "line": None,
        "column": None,
    }
    assert document["problems"][1]["kind"] == "partly-parsed"
    assert document["problems"][1]["line"] == 40


def test_empty_report(validators: Validators) -> None:
    report = Report(
        tool_version="0.1.0", workspace_root=Path("/r"), uri_prefix="", rules=(), findings=()
    )
    document = _render(report, validators)
    assert document["findings"] == []
    assert document["summary"]["by_severity"] == {"error": 0, "warning": 0, "note": 0}


def test_non_ascii_is_kept_readable(sample_report: Report) -> None:
    finding = dataclasses.replace(sample_report.findings[0], message="`ptr` outlives `ä` 🦀")
    text = render_json(dataclasses.replace(sample_report, findings=(finding,)))
    assert "`ptr` outlives `ä` 🦀" in text


@pytest.mark.parametrize(
    "break_it",
    [
        lambda d: d.pop("version"),
        lambda d: d.update(version=2),
        lambda d: d["findings"][0].update(column=0),
        lambda d: d["findings"][0].update(severity="fatal"),
        lambda d: d["findings"][0].update(extra=1),
        lambda d: d["findings"][0]["related"][0].pop("label"),
        lambda d: d["summary"]["by_severity"].pop("note"),
        lambda d: d["problems"][0].update(kind="skipped"),
    ],
)
def test_schema_rejects_broken_reports(
    sample_report: Report, validators: Validators, break_it: Callable[[dict[str, Any]], object]
) -> None:
    document = json.loads(render_json(sample_report))
    broken = copy.deepcopy(document)
    break_it(broken)
    with pytest.raises(jsonschema.ValidationError):
        validators.report.validate(broken)
