"""The versioned JSON report: the format scripts and other tools are meant to parse.

Its shape is published as `unsound/schemas/report.schema.json`. Any change that can break a
reader (a field removed, renamed or retyped) bumps `FORMAT_VERSION`; adding a field does not.
Output is deterministic (fixed key order, sorted findings, no timestamps) so reports can be diffed
and snapshot-tested. Columns are 1-based Unicode code points, as in the text output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from unsound.model import Finding, Location, Report, RuleInfo, ScanProblem, Severity

FORMAT_VERSION = 1
TOOL_NAME = "cargo-unsound"

JsonObject = dict[str, Any]


def render_json(report: Report) -> str:
    """The whole report as JSON text: indented by 2, UTF-8 characters kept, trailing newline."""
    document: JsonObject = {
        "version": FORMAT_VERSION,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "rules": [_rule(rule) for rule in sorted(report.rules, key=lambda r: r.id)],
        "findings": [_finding(f) for f in sorted(report.findings, key=finding_order)],
        "problems": [_problem(p) for p in sorted(report.problems, key=problem_order)],
        "suppressed": [_finding(f) for f in sorted(report.suppressed, key=finding_order)],
        "summary": _summary(report),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def finding_order(finding: Finding) -> tuple[str, int, int, str, int, int, str]:
    """A total order on findings, so two scans of the same tree print the same bytes."""
    span = finding.primary.span
    return (*finding.sort_key(), span.end_line, span.end_column, finding.message)


def problem_order(problem: ScanProblem) -> tuple[str, int, int, str, str]:
    """A total order on scan problems; a problem without a position sorts first in its file."""
    return (
        problem.path,
        problem.line or 0,
        problem.column or 0,
        problem.kind.value,
        problem.message,
    )


def _rule(rule: RuleInfo) -> JsonObject:
    """The rules that ran, so a reader can tell "clean" from "not checked" and find the help."""
    return {
        "id": rule.id,
        "title": rule.title,
        "severity": rule.severity.value,
        "help_uri": rule.help_uri,
    }


def _finding(finding: Finding) -> JsonObject:
    return {
        "rule": finding.rule_id,
        "severity": finding.severity.value,
        "message": finding.message,
        **_position(finding.primary),
        "crate": finding.crate,
        "related": [_related(location) for location in finding.related],
        "fingerprints": _sorted_mapping(finding.fingerprints),
        **_suppression(finding),
    }


def _suppression(finding: Finding) -> JsonObject:
    """Only suppressed findings carry it: the comment that silenced them and its reason."""
    where = finding.suppression
    if where is None:
        return {}
    return {
        "suppression": {
            "kind": where.kind,
            "reason": where.reason,
            "path": where.path,
            "line": where.line,
        }
    }


def _position(location: Location) -> JsonObject:
    span = location.span
    return {
        "path": location.path,
        "line": span.start_line,
        "column": span.start_column,
        "end_line": span.end_line,
        "end_column": span.end_column,
    }


def _related(location: Location) -> JsonObject:
    return {**_position(location), "label": location.label}


def _problem(problem: ScanProblem) -> JsonObject:
    return {
        "path": problem.path,
        "kind": problem.kind.value,
        "message": problem.message,
        "line": problem.line,
        "column": problem.column,
    }


def _summary(report: Report) -> JsonObject:
    by_severity = {severity.value: 0 for severity in Severity}
    for finding in report.findings:
        by_severity[finding.severity.value] += 1
    return {
        "findings": len(report.findings),
        "by_severity": by_severity,
        "crates": report.crates_scanned,
        "files": report.files_scanned,
        "complete": report.complete,
        # What configuration hid (DESIGN: listed so a reviewer sees it).
        "suppressed": len(report.suppressed),
        "baselined": report.baselined,
        "disabled_rules": sorted(report.disabled_rules),
        "configuration_notes": list(report.configuration_notes),
    }


def _sorted_mapping(mapping: Mapping[str, str]) -> dict[str, str]:
    return {key: mapping[key] for key in sorted(mapping)}
