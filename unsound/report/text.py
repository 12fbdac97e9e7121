"""Human-readable output in rustc's layout, so a finding reads like the compiler errors Rust users
already know how to act on.

```
error[raw-pointer-escapes-lifetime]: `y` is a raw pointer stored in `Data<'a>`; ...
  --> crates/x/src/lib.rs:27:9
   |
27 |     pub fn bar<'a>(x: &'a String, y: *mut String) -> Data<'a> {
   |                                   ^^^^^^^^^^^^^^ raw pointer parameter
   |                                                    -------- this type carries `'a`
   = help: see `cargo unsound rules show raw-pointer-escapes-lifetime` or <help uri>
```

Layout choices, each taken from rustc unless noted:

- The gutter is as wide as the largest line number shown anywhere in the diagnostic, with the
  numbers left-aligned in it, so every `|` of one diagnostic lines up, across files too.
- Each annotation gets its own line under the source line (`^` for the primary span, `-` for
  related ones), primary first, then related ones from left to right. rustc packs several
  underlines onto one line and hangs labels below them; one line per label is simpler to read
  in a log and cannot collide.
- Lines of one file are shown in order, with `...` where lines are skipped; a related location in
  another file gets a ` ::: path:line:col` block of its own.
- A span over several lines is shown by its first line, underlined to the end of that line.
- A tab is shown as four spaces, as rustc does, and the underline is computed on the same text.
- The scanned tree is hostile, and file names, source lines, messages and labels all come from it:
  control characters are shown as their Unicode "control pictures" (ESC as `␛`) and C1 controls
  and bidirectional overrides as `�`, so a file can neither drive the terminal nor reorder what
  a reviewer reads (Trojan Source). Each such character stays one code point, so columns hold.
- Underlines are placed by terminal cells, not code points: a character whose
  `unicodedata.east_asian_width` is `W` (wide) or `F` (fullwidth), which covers CJK and most
  emoji, takes two cells; combining marks and format characters (categories Mn, Me, Cf) take
  none; everything else, including East Asian "ambiguous" characters, takes one, as terminals
  in non-CJK locales draw them. The `path:line:col` header still counts code points, the unit
  the JSON output and editors use.

Only `Report` and the model types are used here; the CLI decides whether to color (a terminal,
`NO_COLOR`, `--color`) and prints the result.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from unsound.model import (
    Finding,
    Location,
    ProblemKind,
    Report,
    RuleInfo,
    ScanProblem,
    Severity,
)

__all__ = ["display_width", "render_text"]

_TAB = "    "
_BIDI_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"
_BLUE = "\x1b[1;34m"
_CYAN = "\x1b[1;36m"
_SEVERITY_COLORS = {
    Severity.ERROR: "\x1b[1;31m",
    Severity.WARNING: "\x1b[1;33m",
    Severity.NOTE: "\x1b[1;32m",
}
_SENTENCE = re.compile(r"(.+?[.!?])(?:\s|$)")
_NOTE_SECTION = "Why is this bad?"
_MAX_NOTE = 160


def render_text(report: Report, *, color: bool = False) -> str:
    """The whole report: each finding, then the scan's problems, then a one-line summary.

    `report.findings` is already sorted. The result ends with a newline; ANSI colors appear only
    when `color` is true.
    """
    style = _Style(color)
    rules = {rule.id: rule for rule in report.rules}
    blocks = [_render_finding(f, rules.get(f.rule_id), style) for f in report.findings]
    if report.problems:
        blocks.append([_render_problem(problem, style) for problem in report.problems])
    blocks.append([_summary(report, style)])
    return "\n\n".join("\n".join(block) for block in blocks) + "\n"


# Text measurement.


def display_width(text: str) -> int:
    """Terminal cells `text` takes as shown (see the module docstring)."""
    return sum(_char_width(char) for char in _visible(text))


def _char_width(char: str) -> int:
    if unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _visible_table() -> dict[int, str]:
    """Tabs to spaces; C0 controls and DEL to control pictures; C1 and bidi controls to `�`."""
    table = {code: chr(0x2400 + code) for code in range(0x20)}
    table[0x7F] = "\u2421"
    table.update(dict.fromkeys(range(0x80, 0xA0), "\ufffd"))
    table.update(dict.fromkeys(_BIDI_CONTROLS, "\ufffd"))
    table[ord("\t")] = _TAB
    return table


_VISIBLE = _visible_table()


def _visible(text: str) -> str:
    """Text from the scanned tree as it is safe to print (see the module docstring)."""
    return text.translate(_VISIBLE)


# Colors.


@dataclass(frozen=True)
class _Style:
    """Wraps text in ANSI codes when color is on; otherwise returns it unchanged."""

    color: bool

    def paint(self, text: str, code: str) -> str:
        if not self.color or not text:
            return text
        return f"{code}{text}{_RESET}"

    def severity(self, text: str, severity: Severity) -> str:
        return self.paint(text, _SEVERITY_COLORS[severity])

    def gutter(self, text: str) -> str:
        return self.paint(text, _BLUE)

    def strong(self, text: str) -> str:
        return self.paint(text, _BOLD)


# One finding.


@dataclass(frozen=True)
class _Mark:
    """One underline under a source line, in terminal cells of the tab-expanded line."""

    start: int
    width: int
    primary: bool
    label: str


@dataclass
class _FileBlock:
    """The lines of one file that a diagnostic shows, with their underlines."""

    location: Location  # the first location in this file: named in the `-->` / `:::` line
    lines: dict[int, str] = field(default_factory=dict)
    marks: dict[int, list[_Mark]] = field(default_factory=dict)

    def add(self, location: Location, primary: bool) -> None:
        if not location.source_lines:
            return
        number = location.span.start_line
        text = location.source_lines[0]
        self.lines[number] = text
        self.marks.setdefault(number, []).append(_mark(location, text, primary))


def _render_finding(finding: Finding, rule: RuleInfo | None, style: _Style) -> list[str]:
    blocks = _file_blocks(finding)
    width = len(str(max((n for b in blocks for n in b.lines), default=1)))
    out = [_header(finding, style)]
    for index, block in enumerate(blocks):
        out.extend(_file_lines(block, width, style, first=index == 0, severity=finding.severity))
    out.extend(_footer(finding, rule, width, style))
    return out


def _header(finding: Finding, style: _Style) -> str:
    code = style.severity(
        f"{finding.severity.value}[{_visible(finding.rule_id)}]", finding.severity
    )
    return code + style.strong(f": {_visible(finding.message)}")


def _file_blocks(finding: Finding) -> list[_FileBlock]:
    """The primary location's file first, then other files in the order they are related."""
    blocks = {finding.primary.path: _FileBlock(finding.primary)}
    blocks[finding.primary.path].add(finding.primary, primary=True)
    for related in finding.related:
        block = blocks.setdefault(related.path, _FileBlock(related))
        block.add(related, primary=False)
    return list(blocks.values())


def _mark(location: Location, text: str, primary: bool) -> _Mark:
    """Where the span's underline goes on its first line, in terminal cells."""
    span = location.span
    start = min(max(span.start_column - 1, 0), len(text))
    if span.end_line == span.start_line:
        end = min(max(span.end_column - 1, start), len(text))
    else:
        end = max(len(text.rstrip()), start)
    cells = display_width(text[start:end])
    return _Mark(display_width(text[:start]), max(cells, 1), primary, location.label)


def _file_lines(
    block: _FileBlock, width: int, style: _Style, *, first: bool, severity: Severity
) -> list[str]:
    pad = " " * width
    span = block.location.span
    where = f"{_visible(block.location.path)}:{span.start_line}:{span.start_column}"
    bar = style.gutter(f"{pad} |")
    arrow = "-->" if first else ":::"
    out = [] if first else [bar]
    out.append(style.gutter(f"{pad}{arrow}") + f" {where}")
    if not block.lines:
        return out
    out.append(bar)
    previous: int | None = None
    for number in sorted(block.lines):
        if previous is not None and number > previous + 1:
            out.append(style.gutter("..."))
        out.append(_source_line(number, block.lines[number], width, style))
        marks = sorted(block.marks[number], key=lambda m: (not m.primary, m.start))
        out.extend(_mark_line(mark, pad, style, severity) for mark in marks)
        previous = number
    return out


def _source_line(number: int, text: str, width: int, style: _Style) -> str:
    gutter = style.gutter(f"{number:<{width}} |")
    return f"{gutter} {_visible(text)}".rstrip()


def _mark_line(mark: _Mark, pad: str, style: _Style, severity: Severity) -> str:
    underline = ("^" if mark.primary else "-") * mark.width
    body = f"{underline} {_visible(mark.label)}".rstrip()
    painted = style.severity(body, severity) if mark.primary else style.gutter(body)
    return style.gutter(f"{pad} |") + " " + " " * mark.start + painted


def _footer(finding: Finding, rule: RuleInfo | None, width: int, style: _Style) -> list[str]:
    """`= note:` with the first sentence of the rule's rationale, then `= help:` with where to
    read the rule's full help, so a reader can go from a finding to its explanation."""
    pad = " " * (width + 1)
    out = []
    note = _rationale(rule.help_text) if rule is not None else None
    if note:
        out.append(pad + style.gutter("=") + " " + style.strong("note") + f": {_visible(note)}")
    where = f"see `cargo unsound rules show {_visible(finding.rule_id)}`"
    if rule is not None and rule.help_uri:
        where += f" or <{_visible(rule.help_uri)}>"
    out.append(pad + style.gutter("=") + " " + style.paint("help", _CYAN) + f": {where}")
    return out


def _rationale(help_text: str) -> str | None:
    """The first sentence of the help's "Why is this bad?" section, unwrapped; None when the help
    has no such section (every built-in rule has one) or the sentence is too long for a line."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", help_text) if p.strip()]
    for index, paragraph in enumerate(paragraphs):
        head, _, rest = paragraph.partition("\n")
        if head.strip() != _NOTE_SECTION:
            continue
        body = rest if rest.strip() else "".join(paragraphs[index + 1 : index + 2])
        sentence = _SENTENCE.match(" ".join(body.split()))
        if sentence is None or len(sentence.group(1)) > _MAX_NOTE:
            return None
        return sentence.group(1)
    return None


# Problems and summary.


def _render_problem(problem: ScanProblem, style: _Style) -> str:
    """`note: path: message (ERROR at l:c)` for a partly parsed file, `error: path: not
    scanned: message` for a skipped one: a reader must know which files the findings cover."""
    if problem.kind is ProblemKind.NOT_SCANNED:
        severity, text = Severity.ERROR, _prefixed("not scanned", problem.message)
        at = "at"
    else:
        # A partly parsed file is still scanned (DESIGN.md, Decisions): a note, not a warning.
        severity, text = Severity.NOTE, problem.message
        at = "ERROR at"
    if problem.line is not None:
        text += f" ({at} {problem.line}:{problem.column or 1})"
    message = f": {_visible(problem.path)}: {_visible(text)}"
    return style.severity(severity.value, severity) + style.strong(message)


def _prefixed(prefix: str, message: str) -> str:
    if message.startswith(prefix):
        return message
    return f"{prefix}: {message}"


def summary_line(report: Report) -> str:
    """The plain summary line, for stderr when the report itself goes elsewhere."""
    return _summary(report, _Style(False))


def _summary(report: Report, style: _Style) -> str:
    """`2 findings in 3 crates, 41 files (1 error, 1 warning); 1 file not scanned`."""
    count = len(report.findings)
    found = _plural(count, "finding") if count else "no findings"
    text = (
        f"{found} in {_plural(report.crates_scanned, 'crate')}, "
        f"{_plural(report.files_scanned, 'file')}"
    )
    if count:
        text += f" ({_breakdown(f.severity for f in report.findings)})"
    unscanned = {p.path for p in report.problems if p.kind is ProblemKind.NOT_SCANNED}
    if unscanned:
        text += f"; {_plural(len(unscanned), 'file')} not scanned"
    return style.strong(text)


def _breakdown(severities: Iterable[Severity]) -> str:
    """Counts by severity, most severe first, leaving out severities with none."""
    counts = dict.fromkeys(Severity, 0)
    for severity in severities:
        counts[severity] += 1
    ordered = sorted(counts, key=lambda s: -s.rank)
    return ", ".join(_plural(counts[s], s.value) for s in ordered if counts[s])


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
