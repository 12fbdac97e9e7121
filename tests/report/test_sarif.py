"""SARIF output: valid against the OASIS schema, pinned by a snapshot, and right where GitHub looks.

Every SARIF document these tests produce goes through `validators.check_sarif`.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from unsound.model import (
    Finding,
    Location,
    ProblemKind,
    Report,
    RuleInfo,
    ScanProblem,
    Severity,
    Span,
)
from unsound.report import sarif
from unsound.report.sarif import render_sarif

if TYPE_CHECKING:
    from conftest import Validators

Snapshot = Callable[[str, str], None]


def _render(report: Report, validators: Validators, **kwargs: Any) -> dict[str, Any]:
    text = render_sarif(report, **kwargs)
    document = json.loads(text)
    validators.check_sarif(document)
    return document


def _run(report: Report, validators: Validators, **kwargs: Any) -> dict[str, Any]:
    runs = _render(report, validators, **kwargs)["runs"]
    assert len(runs) == 1
    run: dict[str, Any] = runs[0]
    return run


def _result_for(run: dict[str, Any], uri_end: str) -> dict[str, Any]:
    matches = [
        r
        for r in run["results"]
        if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith(uri_end)
    ]
    assert len(matches) == 1
    return matches[0]


def test_snapshot(sample_report: Report, validators: Validators, snapshot: Snapshot) -> None:
    text = render_sarif(sample_report)
    validators.check_sarif(json.loads(text))
    snapshot("sample.sarif.json", text)


def test_header_and_tool(sample_report: Report, validators: Validators) -> None:
    document = _render(sample_report, validators)
    assert list(document) == ["$schema", "version", "runs"]
    assert document["version"] == "2.1.0"
    driver = document["runs"][0]["tool"]["driver"]
    assert driver["name"] == "cargo-unsound"
    assert driver["semanticVersion"] == "0.1.0"
    assert driver["informationUri"].startswith("https://")


def test_level_is_always_written(sample_report: Report, validators: Validators) -> None:
    run = _run(sample_report, validators)
    assert {r["level"] for r in run["results"]} == {"error", "warning"}
    assert all("level" in r for r in run["results"])
    levels = {
        rule["id"]: rule["defaultConfiguration"]["level"] for rule in run["tool"]["driver"]["rules"]
    }
    assert levels == {"missing-safety-doc": "warning", "raw-pointer-escapes-lifetime": "error"}


def test_finding_severity_wins_over_rule_default(
    sample_report: Report, validators: Validators
) -> None:
    lowered = tuple(dataclasses.replace(f, severity=Severity.NOTE) for f in sample_report.findings)
    run = _run(dataclasses.replace(sample_report, findings=lowered), validators)
    assert {r["level"] for r in run["results"]} == {"note"}


def test_rule_index_points_at_the_rule(sample_report: Report, validators: Validators) -> None:
    run = _run(sample_report, validators)
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == ["missing-safety-doc", "raw-pointer-escapes-lifetime"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    assert {r["ruleIndex"] for r in run["results"]} == {0, 1}  # index 0 is written, too


def test_uris_are_relative_and_percent_encoded(
    sample_report: Report, validators: Validators
) -> None:
    run = _run(sample_report, validators)
    location = _result_for(run, "lib.rs")["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {
        "uri": "rust/crates/component%20lower/src/lib.rs",
        "uriBaseId": "%SRCROOT%",
    }
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": "file:///home/dev/work%20tree/repo/"}}


def test_base_folder_without_prefix(sample_report: Report, validators: Validators) -> None:
    report = dataclasses.replace(sample_report, uri_prefix="")
    run = _run(report, validators)
    assert (
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///home/dev/work%20tree/repo/rust/"
    )
    assert _result_for(run, "external.rs")["locations"][0]["physicalLocation"]["artifactLocation"][
        "uri"
    ] == ("crates/js-bridge/src/external.rs")


def test_base_folder_with_nested_prefix(sample_report: Report) -> None:
    report = dataclasses.replace(
        sample_report, workspace_root=Path("/srv/mono/rust/ws"), uri_prefix="rust/ws/"
    )
    assert sarif.base_uri(report) == "file:///srv/mono/"


def test_base_folder_when_prefix_does_not_match(sample_report: Report) -> None:
    report = dataclasses.replace(sample_report, workspace_root=Path("/srv/ws"), uri_prefix="other/")
    assert sarif.base_uri(report) == "file:///srv/ws/"


def test_non_ascii_path_is_utf8_percent_encoded() -> None:
    assert sarif.artifact_uri("", "src/héllo wörld#1.rs") == "src/h%C3%A9llo%20w%C3%B6rld%231.rs"


def test_columns_are_utf16_code_units(sample_report: Report, validators: Validators) -> None:
    run = _run(sample_report, validators)
    region = _result_for(run, "byte_view.rs")["locations"][0]["physicalLocation"]["region"]
    # `    let tag = "🦀"; View { buf, raw }`: the crab is one code point but two UTF-16 units.
    view = next(f for f in sample_report.findings if f.primary.path.endswith("byte_view.rs"))
    assert view.primary.span.start_column == 32
    assert region == {
        "startLine": 2,
        "startColumn": 33,
        "endLine": 2,
        "endColumn": 36,
        "snippet": {"text": "raw"},
    }
    assert run["columnKind"] == "utf16CodeUnits"


def test_rule_metadata(sample_report: Report, validators: Validators) -> None:
    rules = {r["id"]: r for r in _run(sample_report, validators)["tool"]["driver"]["rules"]}
    raw = rules["raw-pointer-escapes-lifetime"]
    assert raw["name"] == "RawPointerEscapesLifetime"
    assert raw["shortDescription"]["text"].startswith("Raw pointer stored")
    assert raw["fullDescription"]["text"].startswith("Finds a raw pointer stored")
    assert raw["help"]["markdown"].startswith("## What it does")
    assert "##" not in raw["help"]["text"]
    assert raw["helpUri"].endswith("/raw-pointer-escapes-lifetime.md")
    properties = raw["properties"]
    assert properties["security-severity"] == "8.1"
    assert isinstance(properties["security-severity"], str)
    assert 0 < float(properties["security-severity"]) <= 10
    assert properties["precision"] == "high"
    assert properties["tags"][:2] == ["security", "external/cwe/cwe-416"]
    safety = rules["missing-safety-doc"]["properties"]
    assert "security-severity" not in safety
    assert "precision" not in safety


def test_tags_are_capped_and_cwe_padded() -> None:
    rule = _rule(cwe=(79, 1321), tags=(*(f"t{i}" for i in range(20)), "security"))
    tags = sarif.rule_tags(rule)
    assert len(tags) == 10
    assert tags[:3] == ["security", "external/cwe/cwe-079", "external/cwe/cwe-1321"]
    assert tags.count("security") == 1


def test_security_severity_formats() -> None:
    assert sarif.rule_properties(_rule(security=10))["security-severity"] == "10.0"
    assert sarif.rule_properties(_rule(security=7.25))["security-severity"] == "7.25"
    assert "security-severity" not in sarif.rule_properties(_rule(security=0))


def test_full_description_is_capped() -> None:
    rule = _rule(help_markdown="## What it does\n" + "word " * 600 + "\n## Why is this bad?\nx\n")
    text = sarif.full_description(rule)
    assert len(text) == 1024
    assert text.endswith("…")
    assert sarif.full_description(_rule(help_markdown="no headings")) == "A title"


def test_camel_case() -> None:
    assert sarif.camel_case("raw-pointer-escapes-lifetime") == "RawPointerEscapesLifetime"
    assert sarif.camel_case("send_sync.impl") == "SendSyncImpl"


def test_related_locations_and_fingerprints(sample_report: Report, validators: Validators) -> None:
    run = _run(sample_report, validators)
    result = _result_for(run, "component%20lower/src/lib.rs")
    related = result["relatedLocations"]
    assert [r["id"] for r in related] == [1, 2]
    assert [r["message"]["text"] for r in related] == [
        "stored in this field",
        "the returned value carries `'a`",
    ]
    assert related[0]["physicalLocation"]["artifactLocation"]["uri"].endswith("src/data.rs")
    assert "message" not in result["locations"][0]
    assert "id" not in result["locations"][0]
    fingerprints = result["partialFingerprints"]
    assert list(fingerprints) == ["cargoUnsound/v1", "primaryLocationLineHash"]
    assert fingerprints["primaryLocationLineHash"].endswith(":1")


def test_results_are_sorted_and_deterministic(sample_report: Report) -> None:
    shuffled = dataclasses.replace(
        sample_report,
        findings=tuple(reversed(sample_report.findings)),
        rules=tuple(reversed(sample_report.rules)),
    )
    assert render_sarif(shuffled) == render_sarif(sample_report)
    run = json.loads(render_sarif(sample_report))["runs"][0]
    uris = [
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
    ]
    assert uris == sorted(uris)


def test_no_timestamps_and_one_absolute_path(sample_report: Report) -> None:
    text = render_sarif(sample_report)
    assert "Time" not in text
    assert text.count("/home/dev") == 1  # only the %SRCROOT% base


def test_category(sample_report: Report, validators: Validators) -> None:
    assert _run(sample_report, validators)["automationDetails"] == {"id": "cargo-unsound/"}
    assert _run(sample_report, validators, category="rust/core")["automationDetails"] == {
        "id": "rust/core/"
    }
    assert _run(sample_report, validators, category="x/")["automationDetails"]["id"] == "x/"


def test_partly_parsed_is_a_note_and_the_run_succeeds(
    sample_report: Report, validators: Validators
) -> None:
    invocation = _run(sample_report, validators)["invocations"][0]
    assert invocation["executionSuccessful"] is True
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "note"
    assert note["descriptor"] == {"id": "partly-parsed"}
    location = note["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "rust/crates/legacy-ffi/src/lib.rs"
    assert location["region"] == {"startLine": 40}


def test_not_scanned_fails_the_invocation(sample_report: Report, validators: Validators) -> None:
    crashed = ScanProblem(
        path="crates/napi shim/src/lib.rs",
        kind=ProblemKind.NOT_SCANNED,
        message="the parser process died (signal 11); this file was not scanned",
    )
    report = dataclasses.replace(sample_report, problems=(*sample_report.problems, crashed))
    invocation = _run(report, validators)["invocations"][0]
    assert invocation["executionSuccessful"] is False
    levels = {
        n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: n["level"]
        for n in invocation["toolExecutionNotifications"]
    }
    assert levels["rust/crates/napi%20shim/src/lib.rs"] == "error"
    error = next(n for n in invocation["toolExecutionNotifications"] if n["level"] == "error")
    assert "region" not in error["locations"][0]["physicalLocation"]


def test_empty_report_still_has_results_array(validators: Validators) -> None:
    report = Report(
        tool_version="0.1.0",
        workspace_root=Path("/repo"),
        uri_prefix="",
        rules=(),
        findings=(),
    )
    run = _run(report, validators)
    assert run["results"] == []  # an empty list closes fixed alerts; a missing one does not
    assert run["tool"]["driver"]["rules"] == []
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert run["properties"]["resultsDropped"] == 0


def test_unknown_rule_has_no_rule_index(sample_report: Report, validators: Validators) -> None:
    stray = dataclasses.replace(sample_report.findings[0], rule_id="not-in-rules")
    report = dataclasses.replace(sample_report, findings=(stray,))
    (result,) = _run(report, validators)["results"]
    assert result["ruleId"] == "not-in-rules"
    assert "ruleIndex" not in result


def test_truncation_keeps_the_most_severe(
    sample_report: Report, validators: Validators, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sarif, "MAX_RESULTS", 5)
    notes = _copies(sample_report.findings[0], 6, Severity.NOTE)
    errors = _copies(sample_report.findings[0], 3, Severity.ERROR, first_line=100)
    report = dataclasses.replace(sample_report, findings=notes + errors)
    run = _run(report, validators)
    levels = [r["level"] for r in run["results"]]
    assert levels.count("error") == 3
    assert levels.count("note") == 2
    lines = [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run["results"]]
    assert lines == [1, 2, 100, 101, 102]  # the earliest notes kept, then file order
    counts = {key: run["properties"][key] for key in ("resultsTotal", "resultsDropped")}
    assert counts == {"resultsTotal": 9, "resultsDropped": 4}
    assert run["properties"]["resultsLimit"] == 5


def test_truncation_at_the_real_limit(sample_report: Report) -> None:
    assert sarif.MAX_RESULTS == 5000
    findings = _copies(sample_report.findings[0], 5003, Severity.WARNING)
    run = json.loads(render_sarif(dataclasses.replace(sample_report, findings=findings)))["runs"][0]
    assert len(run["results"]) == 5000
    assert run["properties"]["resultsDropped"] == 3


def test_serializer_handles_sarif_om_quirks() -> None:
    import sarif_om as om

    suppression = om.Suppression(kind="inSource", state="accepted", justification="audited")
    assert sarif.serialize(suppression) == {
        "kind": "inSource",
        "justification": "audited",
        "status": "accepted",
    }
    result = om.Result(
        message=om.Message(text="m"),
        level="warning",
        properties={"precision": "high", "security-severity": "8.1"},
    )
    assert sarif.serialize(result) == {
        "message": {"text": "m"},
        "level": "warning",
        "properties": {"precision": "high", "security-severity": "8.1"},
    }
    run = om.Run(tool=om.Tool(driver=om.ToolComponent(name="t")))
    assert sarif.serialize(run) == {"tool": {"driver": {"name": "t"}}}  # defaults left out


def test_region_text_spans_lines() -> None:
    location = Location(
        path="a.rs",
        span=Span(2, 9, 3, 4, 9, 4, 0, 0),
        source_lines=("let x = foo(\r\n", "  1);\n"),
    )
    assert sarif.region_text(location) == "foo(\n  1"
    missing = dataclasses.replace(location, source_lines=("only one line",))
    assert sarif.region_text(missing) is None


def test_sarif_om_is_imported_lazily() -> None:
    code = (
        "import sys, unsound.report.sarif, unsound.report.json_report; "
        "print('sarif_om' in sys.modules, 'attr' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def _copies(
    finding: Finding, count: int, severity: Severity, *, first_line: int = 1
) -> tuple[Finding, ...]:
    out = []
    for line in range(first_line, first_line + count):
        span = dataclasses.replace(finding.primary.span, start_line=line, end_line=line)
        primary = dataclasses.replace(finding.primary, span=span, source_lines=())
        out.append(dataclasses.replace(finding, primary=primary, severity=severity, related=()))
    return tuple(out)


def _rule(
    *,
    cwe: tuple[int, ...] = (),
    tags: tuple[str, ...] = (),
    security: float | None = None,
    help_markdown: str = "",
) -> RuleInfo:
    return RuleInfo(
        id="a-rule",
        title="A title",
        severity=Severity.WARNING,
        pack="test",
        help_markdown=help_markdown,
        help_text=help_markdown,
        help_uri="https://example.invalid/a-rule",
        tags=tags,
        cwe=cwe,
        security_severity=security,
    )
