"""SARIF 2.1.0 for GitHub code scanning and other SARIF consumers.

The log is built from sarif-om's classes, which mirror the schema, and written by a small walker
over their attrs fields (sarif-om ships no serializer). Three things the walker must get right,
each of which GitHub punishes silently when wrong:

- `level` is always written: sarif-om's default is "warning", so a walker that drops defaults drops
  a warning's level, and SARIF then falls back to the rule's default level.
- `properties` are plain dicts: sarif-om's `PropertyBag` declares only `tags` and would lose
  `precision` and `security-severity`.
- sarif-om's `Suppression.state` is `status` in the final schema.

GitHub's other limits are enforced here too: at most `MAX_RESULTS` results per run and
`MAX_GZIP_BYTES` of gzipped SARIF per upload. When either is exceeded the least severe results are
dropped (never the file cut), and the run's properties say how many. Suppressed findings are left
out unless asked for, because GitHub ignores SARIF `suppressions` and would open alerts for them;
with `include_suppressed` they are written with a `suppressions` entry (status "accepted", the
comment's reason as justification). The run's properties list every suppression, the baseline
count and the rules that did not run, so a reviewer sees what configuration hid.

A finding with a `fix` (from the rule's fix template) gets one SARIF `fix`: replace the primary
region with the template's text, in the same UTF-16 columns as the location.

The output is deterministic (sorted rules and results, no timestamps, no absolute paths except the
base folder), so it can be snapshot-tested and diffed between runs.
"""

from __future__ import annotations

import gzip
import importlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from unsound.model import Finding, Location, ProblemKind, Report, RuleInfo, ScanProblem
from unsound.report.json_report import TOOL_NAME, finding_order, problem_order
from unsound.report.review import suppression_summary

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://github.com/cargo-unsound/cargo-unsound"
SRCROOT = "%SRCROOT%"
DEFAULT_CATEGORY = "cargo-unsound/"
MAX_RESULTS = 5000  # GitHub shows only 5,000 results per run, by severity; we choose which
MAX_GZIP_BYTES = 10 * 1024 * 1024  # GitHub refuses larger uploads (gzipped SARIF)
MAX_TAGS = 10
MAX_FULL_DESCRIPTION = 1024

_ALWAYS_WRITTEN = frozenset({"level"})
_RENAMED = {("Suppression", "state"): "status"}
_PROBLEM_LEVELS = {ProblemKind.NOT_SCANNED: "error", ProblemKind.PARTLY_PARSED: "note"}


@dataclass(frozen=True)
class SarifOutput:
    """A rendered log and how many results GitHub's limits cost, for the CLI to say on stderr."""

    text: str
    results_written: int
    dropped_over_count: int  # beyond MAX_RESULTS
    dropped_over_size: int  # to stay within the gzipped size limit


def render_sarif(
    report: Report, *, category: str | None = None, include_suppressed: bool = False
) -> str:
    """The report as a SARIF 2.1.0 log with one run, as indented JSON text.

    `category` becomes `automationDetails.id`; GitHub keeps one set of alerts per category, so two
    scans of different parts of a repository need different categories. A trailing "/" is added
    when missing, as codeql-action does, to mark it as a category rather than a run id.
    """
    return build_sarif(report, category=category, include_suppressed=include_suppressed).text


def build_sarif(
    report: Report,
    *,
    category: str | None = None,
    include_suppressed: bool = False,
    max_gzip_bytes: int = MAX_GZIP_BYTES,
) -> SarifOutput:
    """`render_sarif`, plus what was dropped to respect GitHub's result and size limits.

    Over the size limit, the largest number of results (most severe first) that fits is found by
    bisection, so a huge report costs about log2(5000) ≈ 13 extra renders, and only then.
    """
    om = importlib.import_module("sarif_om")  # only SARIF output pays for sarif-om and attrs
    builder = _RunBuilder(om, report, include_suppressed=include_suppressed)
    ranked = builder.ranked()
    capped = min(len(ranked), MAX_RESULTS)

    def render(count: int) -> str:
        run = builder.run(_category(category), ranked[:count], dropped_for_size=capped - count)
        log = om.SarifLog(version=SARIF_VERSION, schema_uri=SCHEMA_URI, runs=[run])
        document = serialize(log)
        ordered = {key: document[key] for key in ("$schema", "version", "runs")}
        return json.dumps(ordered, indent=2, ensure_ascii=False) + "\n"

    count = capped
    text = render(count)
    if _gzipped_size(text) > max_gzip_bytes:
        low, high = 0, capped - 1  # `low` results always fit (checked last if never tried)
        while low < high:
            middle = (low + high + 1) // 2
            if _gzipped_size(render(middle)) <= max_gzip_bytes:
                low = middle
            else:
                high = middle - 1
        count = low
        text = render(count)
    return SarifOutput(text, count, len(ranked) - capped, capped - count)


def _gzipped_size(text: str) -> int:
    """Compressed as GitHub measures it (codeql-action and `upload` gzip the file as it is)."""
    return len(gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0))


def serialize(value: Any) -> Any:
    """sarif-om objects to plain JSON data: schema names, no None, no defaults but `level`."""
    return _Serializer(importlib.import_module("attr")).walk(value)


_REQUIRED = object()  # marks a field without a default: always written


class _Serializer:
    """Walks attrs objects; each class's fields are looked up once, as a log has thousands."""

    def __init__(self, attrs: Any) -> None:
        self.attrs = attrs
        self.plans: dict[type, list[tuple[str, str, Any]] | None] = {}

    def walk(self, value: Any) -> Any:
        cls = type(value)
        plan = self.plans[cls] if cls in self.plans else self._plan(cls)
        if plan is not None:
            out: dict[str, Any] = {}
            for attribute, name, default in plan:
                item = getattr(value, attribute)
                if item is None or (type(item) is type(default) and item == default):
                    continue
                out[name] = self.walk(item)
            return out
        if isinstance(value, Mapping):
            return {str(key): self.walk(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.walk(item) for item in value]
        return value

    def _plan(self, cls: type) -> list[tuple[str, str, Any]] | None:
        """(attribute, schema name, default to skip) per field; None for a non-attrs type."""
        if not self.attrs.has(cls):
            self.plans[cls] = None
            return None
        plan = []
        for field in self.attrs.fields(cls):
            name = field.metadata.get("schema_property_name", field.name)
            name = _RENAMED.get((cls.__name__, name), name)
            default = field.default
            if isinstance(default, self.attrs.Factory):
                default = default.factory()
            if default is self.attrs.NOTHING or name in _ALWAYS_WRITTEN:
                default = _REQUIRED
            plan.append((field.name, name, default))
        self.plans[cls] = plan
        return plan


def _category(category: str | None) -> str:
    if not category:
        return DEFAULT_CATEGORY
    return category if category.endswith("/") else category + "/"


class _RunBuilder:
    """Builds the run's parts from one report; holds the lazily imported sarif_om module."""

    def __init__(self, om: Any, report: Report, *, include_suppressed: bool = False) -> None:
        self.om = om
        self.report = report
        self.include_suppressed = include_suppressed
        self.rules = sorted(report.rules, key=lambda r: r.id)
        self.rule_index = {rule.id: index for index, rule in enumerate(self.rules)}

    def ranked(self) -> list[Finding]:
        """Every result to write, most severe first (see `severity_first`)."""
        findings = list(self.report.findings)
        if self.include_suppressed:
            findings.extend(self.report.suppressed)
        return sorted(findings, key=severity_first(self.rules))

    def run(self, category: str, results: Sequence[Finding], *, dropped_for_size: int = 0) -> Any:
        om = self.om
        kept = sorted(results, key=finding_order)
        total = len(self.report.findings)
        if self.include_suppressed:
            total += len(self.report.suppressed)
        return om.Run(
            tool=om.Tool(
                driver=om.ToolComponent(
                    name=TOOL_NAME,
                    semantic_version=self.report.tool_version,
                    information_uri=INFORMATION_URI,
                    rules=[self.rule(rule) for rule in self.rules],
                )
            ),
            results=[self.result(finding) for finding in kept],
            automation_details=om.RunAutomationDetails(id=category),
            column_kind="utf16CodeUnits",
            original_uri_base_ids={SRCROOT: om.ArtifactLocation(uri=base_uri(self.report))},
            invocations=[self.invocation()],
            properties={
                "resultsTotal": total,
                "resultsDropped": total - len(kept),
                "resultsLimit": MAX_RESULTS,
                "resultsDroppedForSize": dropped_for_size,
                "gzipLimitBytes": MAX_GZIP_BYTES,
                **self.review_properties(),
            },
        )

    def review_properties(self) -> dict[str, Any]:
        """What configuration hid from this run, so a reviewer of the upload can see it."""
        report = self.report
        return {
            "suppressedResults": len(report.suppressed),
            "suppressedResultsIncluded": self.include_suppressed,
            "suppressions": suppression_summary(report),
            "baselinedResults": report.baselined,
            "disabledRules": sorted(report.disabled_rules),
            "configurationNotes": list(report.configuration_notes),
        }

    def rule(self, rule: RuleInfo) -> Any:
        om = self.om
        return om.ReportingDescriptor(
            id=rule.id,
            name=camel_case(rule.id),
            short_description=om.MultiformatMessageString(text=rule.title or rule.id),
            full_description=om.MultiformatMessageString(text=full_description(rule)),
            help=om.MultiformatMessageString(
                text=rule.help_text or rule.title or rule.id, markdown=rule.help_markdown or None
            ),
            help_uri=rule.help_uri or None,
            default_configuration=om.ReportingConfiguration(
                level=rule.severity.value, enabled=rule.enabled_by_default
            ),
            properties=rule_properties(rule),
        )

    def result(self, finding: Finding) -> Any:
        om = self.om
        related = [
            self.location(location, location_id=index)
            for index, location in enumerate(finding.related, start=1)
        ]
        fingerprints = {key: finding.fingerprints[key] for key in sorted(finding.fingerprints)}
        return om.Result(
            rule_id=finding.rule_id,
            rule_index=self.rule_index.get(finding.rule_id, -1),  # -1: unknown, not written
            level=finding.severity.value,
            message=om.Message(text=finding.message),
            locations=[self.location(finding.primary)],
            related_locations=related or None,
            partial_fingerprints=fingerprints or None,
            suppressions=[self.suppression(finding)] if finding.suppression else None,
            fixes=[self.fix(finding)] if finding.fix else None,
        )

    def fix(self, finding: Finding) -> Any:
        """The rule's fix as one replacement of the primary region."""
        om = self.om
        assert finding.fix is not None
        span = finding.primary.span
        return om.Fix(
            description=om.Message(text=finding.fix.description),
            artifact_changes=[
                om.ArtifactChange(
                    artifact_location=self.artifact(finding.primary.path),
                    replacements=[
                        om.Replacement(
                            deleted_region=om.Region(
                                start_line=span.start_line,
                                start_column=span.start_utf16,
                                end_line=span.end_line,
                                end_column=span.end_utf16,
                            ),
                            inserted_content=om.ArtifactContent(text=finding.fix.replacement),
                        )
                    ],
                )
            ],
        )

    def suppression(self, finding: Finding) -> Any:
        """An accepted in-source suppression, pointing at the comment that holds its reason."""
        om = self.om
        assert finding.suppression is not None
        where = finding.suppression
        return om.Suppression(
            kind=where.kind,
            state="accepted",  # written as `status` (see _RENAMED)
            justification=where.reason,
            location=om.Location(
                physical_location=om.PhysicalLocation(
                    artifact_location=self.artifact(where.path),
                    region=om.Region(start_line=where.line),
                )
            ),
        )

    def location(self, location: Location, *, location_id: int | None = None) -> Any:
        om = self.om
        span = location.span
        snippet = region_text(location)
        region = om.Region(
            start_line=span.start_line,
            start_column=span.start_utf16,
            end_line=span.end_line,
            end_column=span.end_utf16,
            snippet=om.ArtifactContent(text=snippet) if snippet else None,
        )
        return om.Location(
            id=location_id if location_id is not None else -1,
            physical_location=om.PhysicalLocation(
                artifact_location=self.artifact(location.path), region=region
            ),
            message=om.Message(text=location.label)
            if location_id is not None and location.label
            else None,
        )

    def artifact(self, path: str) -> Any:
        return self.om.ArtifactLocation(
            uri=artifact_uri(self.report.uri_prefix, path), uri_base_id=SRCROOT
        )

    def invocation(self) -> Any:
        notifications = [self.notification(problem) for problem in _sorted_problems(self.report)]
        return self.om.Invocation(
            execution_successful=self.report.complete,
            tool_execution_notifications=notifications or None,
        )

    def notification(self, problem: ScanProblem) -> Any:
        """A file not scanned (error) or partly parsed (note), where the scan log can show it.

        Only the line is given: the problem's column is not specified in UTF-16 units, and a wrong
        column is worse than none.
        """
        om = self.om
        region = om.Region(start_line=problem.line) if problem.line else None
        return om.Notification(
            message=om.Message(text=problem.message),
            level=_PROBLEM_LEVELS[problem.kind],
            descriptor=om.ReportingDescriptorReference(id=problem.kind.value),
            locations=[
                om.Location(
                    physical_location=om.PhysicalLocation(
                        artifact_location=self.artifact(problem.path), region=region
                    )
                )
            ],
        )


def _sorted_problems(report: Report) -> list[ScanProblem]:
    return sorted(report.problems, key=problem_order)


def select_results(
    findings: Sequence[Finding], rules: Sequence[RuleInfo]
) -> tuple[list[Finding], int]:
    """At most `MAX_RESULTS` findings, the most severe kept, in file order; and how many dropped."""
    kept = sorted(findings, key=severity_first(rules))[:MAX_RESULTS]
    return sorted(kept, key=finding_order), len(findings) - len(kept)


def severity_first(rules: Sequence[RuleInfo]) -> Any:
    """Sort key: severity, then the rule's security severity, then file order: stable cuts."""
    security = {rule.id: rule.security_severity or 0.0 for rule in rules}

    def key(finding: Finding) -> tuple[int, float, tuple[Any, ...]]:
        return (-finding.severity.rank, -security.get(finding.rule_id, 0.0), finding_order(finding))

    return key


def rule_properties(rule: RuleInfo) -> dict[str, Any]:
    """GitHub's rule properties: tags (security, CWE), precision, security-severity."""
    properties: dict[str, Any] = {"tags": rule_tags(rule)}
    if rule.precision:
        properties["precision"] = rule.precision
    if rule.security_severity is not None and 0 < rule.security_severity <= 10:
        # A numeric string: GitHub reads it as a float and maps it to critical/high/medium/low.
        properties["security-severity"] = str(float(rule.security_severity))
    return properties


def rule_tags(rule: RuleInfo) -> list[str]:
    """`security` first (GitHub lists only rules with it under security alerts), then CWE tags in
    CodeQL's spelling (`external/cwe/cwe-079`), then the rule's own; at most `MAX_TAGS`."""
    tags = ["security", *(f"external/cwe/cwe-{number:03d}" for number in rule.cwe), *rule.tags]
    return list(dict.fromkeys(tags))[:MAX_TAGS]


def camel_case(rule_id: str) -> str:
    """`raw-pointer-escapes-lifetime` → `RawPointerEscapesLifetime`, SARIF's descriptive name."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", rule_id))


def full_description(rule: RuleInfo) -> str:
    """The "What it does" section of the help as one paragraph, within GitHub's 1,024 chars.

    Falls back to the title when the help has no such section.
    """
    text = _section(rule.help_markdown, "What it does") or rule.title or rule.id
    text = " ".join(text.split())
    if len(text) > MAX_FULL_DESCRIPTION:
        text = text[: MAX_FULL_DESCRIPTION - 1].rstrip() + "…"
    return text


def _section(markdown: str, heading: str) -> str:
    lines: list[str] = []
    inside = False
    for line in markdown.splitlines():
        if line.startswith("#"):
            if inside:
                break
            inside = line.lstrip("#").strip().lower() == heading.lower()
            continue
        if inside:
            lines.append(line)
    return "\n".join(lines).strip()


def artifact_uri(uri_prefix: str, path: str) -> str:
    """A relative URI under %SRCROOT%: '/'-separated, percent-encoded (a space is %20)."""
    joined = uri_prefix + path.replace("\\", "/").lstrip("/")
    return quote(joined, safe="/")


def base_uri(report: Report) -> str:
    """The file URI of %SRCROOT%: the workspace root with `uri_prefix` taken off its end.

    That is the enclosing git repository's root, so artifact URIs match the paths GitHub knows.
    When the prefix does not match the end of the root, the workspace root itself is used.
    """
    root = Path(report.workspace_root).absolute()
    prefix = tuple(part for part in report.uri_prefix.split("/") if part)
    if prefix and len(root.parts) > len(prefix) and root.parts[-len(prefix) :] == prefix:
        root = root.parents[len(prefix) - 1]
    uri = root.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def region_text(location: Location) -> str | None:
    """The exact text of a location's region from its source lines, for SARIF's `snippet`.

    None when the lines given do not cover the span, so a snippet is never wrong, only absent.
    """
    span = location.span
    lines = [line.rstrip("\r\n") for line in location.source_lines]
    if len(lines) != span.end_line - span.start_line + 1:
        return None
    if len(lines) == 1:
        text = lines[0][span.start_column - 1 : span.end_column - 1]
    else:
        text = "\n".join(
            [lines[0][span.start_column - 1 :], *lines[1:-1], lines[-1][: span.end_column - 1]]
        )
    return text or None
