"""Suppressed findings, baselines and disabled rules in SARIF and JSON; SARIF's size limit.

Every SARIF document here is validated against the OASIS schema, every JSON report against ours.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
from typing import TYPE_CHECKING, Any

from unsound.model import Finding, Report, Severity, Suppression
from unsound.report import sarif
from unsound.report.json_report import render_json
from unsound.report.review import review_lines, suppression_summary

if TYPE_CHECKING:
    from conftest import Validators


def _suppressed_report(sample_report: Report) -> Report:
    """The sample with its first (by file order) error suppressed inline."""
    lower = next(f for f in sample_report.findings if f.primary.path.endswith("lib.rs"))
    silenced = dataclasses.replace(
        lower,
        suppression=Suppression(
            "`instance` outlives the context: owned by the store", lower.primary.path, 4
        ),
    )
    return dataclasses.replace(
        sample_report,
        findings=tuple(f for f in sample_report.findings if f is not lower),
        suppressed=(silenced,),
        baselined=2,
        disabled_rules=("napi-external-by-value",),
        configuration_notes=("--select limits the scan to: lifetime",),
    )


def _run(text: str, validators: Validators) -> dict[str, Any]:
    document = json.loads(text)
    validators.check_sarif(document)
    run: dict[str, Any] = document["runs"][0]
    return run


def test_suppressed_results_are_left_out_by_default(
    sample_report: Report, validators: Validators
) -> None:
    run = _run(sarif.render_sarif(_suppressed_report(sample_report)), validators)
    assert len(run["results"]) == 2
    assert not any("suppressions" in result for result in run["results"])
    properties = run["properties"]
    assert properties["suppressedResults"] == 1
    assert properties["suppressedResultsIncluded"] is False
    assert properties["suppressions"] == [
        {
            "path": "crates/component lower/src/lib.rs",
            "line": 4,
            "rule": "raw-pointer-escapes-lifetime",
            "reason": "`instance` outlives the context: owned by the store",
            "findings": 1,
        }
    ]
    assert properties["baselinedResults"] == 2
    assert properties["disabledRules"] == ["napi-external-by-value"]
    assert properties["configurationNotes"] == ["--select limits the scan to: lifetime"]


def test_include_suppressed_writes_accepted_suppressions(
    sample_report: Report, validators: Validators
) -> None:
    report = _suppressed_report(sample_report)
    run = _run(sarif.render_sarif(report, include_suppressed=True), validators)
    assert len(run["results"]) == 3
    [suppressed] = [r for r in run["results"] if "suppressions" in r]
    [entry] = suppressed["suppressions"]
    assert entry["kind"] == "inSource"
    assert entry["status"] == "accepted"
    assert "state" not in entry
    assert entry["justification"] == "`instance` outlives the context: owned by the store"
    place = entry["location"]["physicalLocation"]
    assert place["artifactLocation"]["uri"] == "rust/crates/component%20lower/src/lib.rs"
    assert place["region"] == {"startLine": 4}
    assert suppressed["level"] == "error"
    assert run["properties"]["suppressedResultsIncluded"] is True
    assert run["properties"]["resultsTotal"] == 3


def _many(finding: Finding, count: int, severity: Severity, first_line: int) -> tuple[Finding, ...]:
    return tuple(
        dataclasses.replace(
            finding,
            severity=severity,
            # Incompressible text, so each result costs its share of the gzipped size.
            message=f"{severity.value} {index} "
            + hashlib.sha256(f"{severity.value}{index}".encode()).hexdigest() * 8,
            primary=dataclasses.replace(
                finding.primary,
                span=dataclasses.replace(
                    finding.primary.span,
                    start_line=first_line + index,
                    end_line=first_line + index,
                ),
                source_lines=(),
            ),
            fingerprints={"primaryLocationLineHash": f"{index:016x}:1"},
        )
        for index in range(count)
    )


def test_size_limit_drops_the_least_severe(sample_report: Report, validators: Validators) -> None:
    base = sample_report.findings[0]
    findings = _many(base, 30, Severity.NOTE, 1000) + _many(base, 10, Severity.ERROR, 10)
    report = dataclasses.replace(sample_report, findings=findings)
    full = sarif.build_sarif(report)
    assert full.dropped_over_size == 0 and full.results_written == 40
    limit = len(gzip.compress(full.text.encode())) * 2 // 3
    built = sarif.build_sarif(report, max_gzip_bytes=limit)
    assert len(gzip.compress(built.text.encode(), mtime=0)) <= limit
    assert 10 <= built.results_written < 40
    assert built.dropped_over_size == 40 - built.results_written
    run = _run(built.text, validators)
    levels = [result["level"] for result in run["results"]]
    assert levels.count("error") == 10  # every error kept, notes dropped
    assert run["properties"]["resultsDroppedForSize"] == built.dropped_over_size
    assert run["properties"]["resultsDropped"] == built.dropped_over_size


def test_size_limit_can_drop_everything(sample_report: Report, validators: Validators) -> None:
    built = sarif.build_sarif(sample_report, max_gzip_bytes=10)
    assert built.results_written == 0
    run = _run(built.text, validators)
    assert run["results"] == []
    assert run["properties"]["resultsDroppedForSize"] == 3


def test_count_cap_is_reported_separately(
    sample_report: Report, validators: Validators, monkeypatch: Any
) -> None:
    monkeypatch.setattr(sarif, "MAX_RESULTS", 2)
    built = sarif.build_sarif(sample_report)
    assert (built.results_written, built.dropped_over_count, built.dropped_over_size) == (2, 1, 0)
    _run(built.text, validators)


def test_json_lists_suppressed_findings(sample_report: Report, validators: Validators) -> None:
    document = json.loads(render_json(_suppressed_report(sample_report)))
    validators.check_report(document)
    [suppressed] = document["suppressed"]
    assert suppressed["suppression"] == {
        "kind": "inSource",
        "reason": "`instance` outlives the context: owned by the store",
        "path": "crates/component lower/src/lib.rs",
        "line": 4,
    }
    assert all("suppression" not in finding for finding in document["findings"])
    summary = document["summary"]
    assert (summary["findings"], summary["suppressed"], summary["baselined"]) == (2, 1, 2)
    assert summary["disabled_rules"] == ["napi-external-by-value"]
    assert summary["configuration_notes"] == ["--select limits the scan to: lifetime"]


def test_review_lines(sample_report: Report) -> None:
    assert review_lines(sample_report) == []
    lines = review_lines(_suppressed_report(sample_report))
    assert lines == [
        "note: 1 finding suppressed by 1 inline comment (listed in --format json; "
        "--include-suppressed writes them to SARIF)",
        "note: 2 findings already in the baseline, not reported",
        "note: rules not run: napi-external-by-value",
        "note: --select limits the scan to: lifetime",
    ]
    assert len(suppression_summary(_suppressed_report(sample_report))) == 1


def test_fix_is_one_replacement_of_the_primary_region(
    sample_report: Report, validators: Validators
) -> None:
    from unsound.model import Fix

    view = next(f for f in sample_report.findings if f.primary.path.endswith("byte_view.rs"))
    fixed = dataclasses.replace(view, fix=Fix("tie `raw` to `'a`", "raw: &'a u8"))
    report = dataclasses.replace(sample_report, findings=(fixed,))
    run = _run(sarif.render_sarif(report), validators)
    [result] = run["results"]
    [fix] = result["fixes"]
    assert fix["description"] == {"text": "tie `raw` to `'a`"}
    [change] = fix["artifactChanges"]
    assert change["artifactLocation"] == {
        "uri": "rust/crates/component%20lower/src/raw/byte_view.rs",
        "uriBaseId": "%SRCROOT%",
    }
    [replacement] = change["replacements"]
    region = result["locations"][0]["physicalLocation"]["region"]
    # The same UTF-16 columns as the location (the emoji before it is two units).
    assert replacement["deletedRegion"] == {
        key: region[key] for key in ("startLine", "startColumn", "endLine", "endColumn")
    }
    assert replacement["insertedContent"] == {"text": "raw: &'a u8"}
    assert "fixes" not in _run(sarif.render_sarif(sample_report), validators)["results"][0]
