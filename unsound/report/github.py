"""GitHub Actions workflow commands: findings as annotations on the pull request.

`::error file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message` lines, read by the Actions
runner from a step's stdout. This works without code scanning (private repositories without
GitHub Advanced Security, forks whose token cannot upload SARIF). The runner shows at most 10
annotations of each level per step and 50 per job, so the most severe come first.

Escaping follows the runner's `ActionCommand` parser (actions/toolkit `command.ts`): in the
message, `%`, CR and LF are percent-encoded; in property values also `:` and `,`, which would
otherwise end the value. `%` goes first, or the escapes themselves would be escaped again. The
text is from the scanned tree, which is hostile: an unescaped newline in a message would let a
pull request print its own workflow commands (`::add-mask::`, `::stop-commands::`).

Paths are relative to the repository root (`uri_prefix` + path), which is where the runner
checks out the code and how GitHub names files. Columns are 1-based code points.
"""

from __future__ import annotations

from unsound.model import Finding, ProblemKind, Report, RuleInfo, ScanProblem, Severity
from unsound.report.json_report import finding_order, problem_order
from unsound.report.review import review_lines

_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTE: "notice"}


def render_github(report: Report) -> str:
    """One workflow command per finding (most severe first) and per scan problem."""
    rules = {rule.id: rule for rule in report.rules}
    findings = sorted(report.findings, key=lambda f: (-f.severity.rank, finding_order(f)))
    lines = [_finding(f, rules.get(f.rule_id), report.uri_prefix) for f in findings]
    lines.extend(_problem(p, report.uri_prefix) for p in sorted(report.problems, key=problem_order))
    lines.extend(
        f"::notice title=cargo-unsound::{escape_data(line)}" for line in review_lines(report)
    )
    return "".join(line + "\n" for line in lines)


def _finding(finding: Finding, rule: RuleInfo | None, uri_prefix: str) -> str:
    span = finding.primary.span
    title = f"{finding.rule_id}: {rule.title}" if rule and rule.title else finding.rule_id
    message = finding.message
    if rule and rule.help_uri:
        message += f"\n\nhelp: {rule.help_uri}"
    properties = {
        "file": uri_prefix + finding.primary.path,
        "line": str(span.start_line),
        "col": str(span.start_column),
        "endLine": str(span.end_line),
        "endColumn": str(span.end_column),
        "title": title,
    }
    return command(_COMMANDS[finding.severity], properties, message)


def _problem(problem: ScanProblem, uri_prefix: str) -> str:
    properties = {"file": uri_prefix + problem.path, "title": "cargo-unsound"}
    if problem.line:
        properties["line"] = str(problem.line)
    name = "error" if problem.kind is ProblemKind.NOT_SCANNED else "notice"
    return command(name, properties, problem.message)


def command(name: str, properties: dict[str, str], message: str) -> str:
    """`::name key=value,…::message` with every part escaped."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return (
        f"::{name} {props}::{escape_data(message)}"
        if props
        else f"::{name}::{escape_data(message)}"
    )


def escape_data(text: str) -> str:
    """A message: `%`, CR, LF percent-encoded (`%` first)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value: as a message, and `:` and `,` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
