"""What configuration hid from this report, in words and as data, for every output format.

DESIGN (Decisions, "the scanned tree is hostile"): a pull request can add a suppression comment,
a baseline entry or an `--ignore` in a workflow to make a real bug disappear. So whatever hid
findings is listed where a reviewer looks: on stderr under the summary, in the JSON summary, and
in the SARIF run's properties.
"""

from __future__ import annotations

from typing import Any

from unsound.model import Report


def suppression_summary(report: Report) -> list[dict[str, Any]]:
    """One entry per suppression comment and rule: where it is, its reason, what it hid."""
    groups: dict[tuple[str, int, str, str], int] = {}
    for finding in report.suppressed:
        if finding.suppression is None:
            continue
        s = finding.suppression
        key = (s.path, s.line, finding.rule_id, s.reason)
        groups[key] = groups.get(key, 0) + 1
    return [
        {"path": path, "line": line, "rule": rule, "reason": reason, "findings": count}
        for (path, line, rule, reason), count in sorted(groups.items())
    ]


def review_lines(report: Report) -> list[str]:
    """Lines for stderr under the summary; empty when nothing was hidden."""
    lines: list[str] = []
    if report.suppressed:
        places = len(suppression_summary(report))
        lines.append(
            f"note: {_plural(len(report.suppressed), 'finding')} suppressed by "
            f"{_plural(places, 'inline comment')} (listed in --format json; "
            "--include-suppressed writes them to SARIF)"
        )
    if report.baselined:
        lines.append(
            f"note: {_plural(report.baselined, 'finding')} already in the baseline, not reported"
        )
    if report.disabled_rules:
        lines.append("note: rules not run: " + ", ".join(sorted(report.disabled_rules)))
    lines.extend(f"note: {note}" for note in report.configuration_notes)
    return lines


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
