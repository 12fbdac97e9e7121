"""Typed data passed between the pipeline's stages.

Everything here is a frozen dataclass so a stage can never mutate what an earlier stage produced,
and so formatters (which only see `Finding` and `Report`) stay independent of the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from pathlib import Path


class Severity(Enum):
    """How serious a finding is; the order matters for `--fail-on` and for SARIF truncation."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"

    @property
    def rank(self) -> int:
        """Higher is more severe."""
        return {Severity.ERROR: 3, Severity.WARNING: 2, Severity.NOTE: 1}[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls(text.strip().lower())


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    CLEAN = 0
    FINDINGS = 1
    USAGE = 2
    INTERNAL = 3


@dataclass(frozen=True)
class Span:
    """A source range. Lines are 1-based; columns are 1-based, end-exclusive.

    `start_column`/`end_column` count Unicode code points (text and JSON output);
    `start_utf16`/`end_utf16` count UTF-16 code units (SARIF's default column kind).
    """

    start_line: int
    start_column: int
    end_line: int
    end_column: int
    start_utf16: int
    end_utf16: int
    start_byte: int
    end_byte: int


@dataclass(frozen=True)
class Location:
    """A place in a source file, with the text of the lines it covers for renderers."""

    path: str  # relative to the workspace root, '/'-separated
    span: Span
    label: str = ""
    source_lines: tuple[str, ...] = ()  # the full text of lines start_line..end_line


@dataclass(frozen=True)
class RuleInfo:
    """What reports need to know about a rule (never the matcher itself)."""

    id: str
    title: str
    severity: Severity
    pack: str
    help_markdown: str
    help_text: str
    help_uri: str
    tags: tuple[str, ...] = ()
    cwe: tuple[int, ...] = ()
    security_severity: float | None = None
    precision: str | None = None  # very-high | high | medium | low, from measurement
    enabled_by_default: bool = True


@dataclass(frozen=True)
class Suppression:
    """Why a finding is not reported: an inline `// unsound: allow(rule): reason` comment.

    Kept on the suppressed `Finding` so reviewers can see what was silenced, where and why
    (the JSON report lists them; SARIF writes them as `suppressions` with `--include-suppressed`).
    """

    reason: str
    path: str  # the file holding the comment, relative to the workspace root
    line: int  # the comment's 1-based line
    kind: str = "inSource"  # SARIF's suppression kind


@dataclass(frozen=True)
class Fix:
    """A mechanical fix: replace the primary location's text with `replacement`."""

    description: str
    replacement: str


@dataclass(frozen=True)
class Finding:
    """One reported problem: one per (rule, primary node)."""

    rule_id: str
    severity: Severity
    message: str
    primary: Location
    crate: str
    related: tuple[Location, ...] = ()
    item_path: str = ""  # e.g. `LowerContext::new`, for fingerprints that survive moves
    fingerprints: Mapping[str, str] = field(default_factory=dict)
    suppression: Suppression | None = None  # set only on findings in `Report.suppressed`
    fix: Fix | None = None  # from the rule's `fix` template, when it has one

    def sort_key(self) -> tuple[str, int, int, str]:
        span = self.primary.span
        return (self.primary.path, span.start_line, span.start_column, self.rule_id)


class ProblemKind(Enum):
    """Why a file's scan is incomplete; NOT_SCANNED makes the whole scan incomplete (exit 3)."""

    NOT_SCANNED = "not-scanned"
    PARTLY_PARSED = "partly-parsed"


@dataclass(frozen=True)
class ScanProblem:
    """A file that was not scanned, or only partly (tree-sitter ERROR regions)."""

    path: str
    kind: ProblemKind
    message: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class Report:
    """The result of one scan, everything a formatter may use."""

    tool_version: str
    workspace_root: Path
    uri_prefix: str  # the workspace root relative to the SARIF base (repo root), '' or 'a/b/'
    rules: tuple[RuleInfo, ...]
    findings: tuple[Finding, ...]
    problems: tuple[ScanProblem, ...] = ()
    crates_scanned: int = 0
    files_scanned: int = 0
    # What configuration hid, listed so a reviewer of a pull request sees it (DESIGN Decisions):
    suppressed: tuple[Finding, ...] = ()  # findings silenced inline, each with its `suppression`
    baselined: int = 0  # findings left out because the `--baseline` file already has them
    disabled_rules: tuple[str, ...] = ()  # rules that exist but did not run (--ignore, --select)
    configuration_notes: tuple[str, ...] = ()  # anything else that changes what is reported

    @property
    def complete(self) -> bool:
        return not any(p.kind is ProblemKind.NOT_SCANNED for p in self.problems)
