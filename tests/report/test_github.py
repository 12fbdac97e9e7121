"""`--format github`: workflow commands the Actions runner turns into annotations.

The escaping is what matters: text from the scanned tree must never end a property early or start
a new command on a line of its own.
"""

from __future__ import annotations

import dataclasses

from unsound.model import Finding, ProblemKind, Report, ScanProblem, Severity, Suppression
from unsound.report.github import command, escape_data, escape_property, render_github


def test_escaping() -> None:
    assert escape_data("100% a\r\nb") == "100%25 a%0D%0Ab"
    assert escape_property("a:b,c%d\ne") == "a%3Ab%2Cc%25d%0Ae"
    assert escape_data("%0A") == "%250A"  # `%` first: an escape in the input stays literal
    assert escape_data("a:b,c") == "a:b,c"  # the message may keep colons and commas


def test_command_shape() -> None:
    assert (
        command("error", {"file": "a,b.rs", "line": "3"}, "x") == "::error file=a%2Cb.rs,line=3::x"
    )
    assert command("notice", {}, "hi") == "::notice::hi"


def test_findings_most_severe_first_with_positions(sample_report: Report) -> None:
    lines = render_github(sample_report).splitlines()
    findings = [line for line in lines if line.startswith(("::error", "::warning"))]
    assert [line.split(" ", 1)[0] for line in findings] == ["::error", "::error", "::warning"]
    first = findings[0]
    # Repository-relative path (uri_prefix "rust/"), 1-based code-point columns.
    assert first.startswith(
        "::error file=rust/crates/component lower/src/lib.rs,line=5,col=45,endLine=5,endColumn=68,"
    )
    assert "title=raw-pointer-escapes-lifetime%3A Raw pointer stored" in first
    assert "%0A%0Ahelp: https://github.com/" in first
    emoji = next(line for line in findings if "byte_view.rs" in line)
    # Code points: the emoji before the finding counts as one column (UTF-16 would say 33).
    assert ",line=2,col=32," in emoji
    for line in lines:
        assert "\n" not in line and "\r" not in line


def test_problems_and_review_notes(sample_report: Report) -> None:
    crashed = ScanProblem("crates/a/src/lib.rs", ProblemKind.NOT_SCANNED, "parser died")
    suppressed = dataclasses.replace(
        sample_report.findings[0], suppression=Suppression("audited", "x.rs", 3)
    )
    report = dataclasses.replace(
        sample_report,
        problems=(*sample_report.problems, crashed),
        suppressed=(suppressed,),
        baselined=4,
        disabled_rules=("missing-safety-doc",),
    )
    lines = render_github(report).splitlines()
    assert "::error file=rust/crates/a/src/lib.rs,title=cargo-unsound::parser died" in lines
    assert any(
        line.startswith(
            "::notice file=rust/crates/legacy-ffi/src/lib.rs,title=cargo-unsound,line=40::"
        )
        for line in lines
    )
    notes = [line for line in lines if line.startswith("::notice title=cargo-unsound::")]
    assert len(notes) == 3
    assert "1 finding suppressed by 1 inline comment" in notes[0]
    assert "4 findings already in the baseline" in notes[1]
    assert "rules not run: missing-safety-doc" in notes[2]


def test_hostile_message_cannot_inject_a_command(sample_report: Report) -> None:
    finding: Finding = dataclasses.replace(
        sample_report.findings[0],
        message="`x`\n::add-mask::secret\r\n::stop-commands::token",
        severity=Severity.NOTE,
    )
    text = render_github(dataclasses.replace(sample_report, findings=(finding,)))
    [line] = [line for line in text.splitlines() if "::add-mask" in line]
    assert "%0A::add-mask::secret%0D%0A::stop-commands::token" in line
    assert not any(line.startswith(("::add-mask", "::stop-commands")) for line in text.splitlines())


def test_empty_report_prints_nothing(sample_report: Report) -> None:
    empty = dataclasses.replace(sample_report, findings=(), problems=())
    assert render_github(empty) == ""
