"""The rustc-style text output, pinned by snapshots so any change to the layout is a visible diff.

Reports are built by hand so these tests exercise the formatter alone. Spans are computed from
the source text (code points, UTF-16 units and file byte offsets all agree), never typed in.
Run with `UPDATE_SNAPSHOTS=1` to rewrite the files in `snapshots/` after an intended change.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

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
from unsound.report.text import display_width, render_text

SNAPSHOTS = Path(__file__).parent / "snapshots"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


# Building reports by hand.


@dataclass(frozen=True)
class Source:
    """A source file's text, to compute spans from instead of typing columns in."""

    path: str
    text: str

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def loc(
        self,
        line: int,
        needle: str,
        label: str = "",
        *,
        nth: int = 0,
        end: tuple[int, str] | None = None,
    ) -> Location:
        """The `nth` occurrence of `needle` on `line` (1-based); with `end`, the span runs to the
        end of that needle on that line instead."""
        start_col = self._find(line, needle, nth)
        end_line, end_col = line, start_col + len(needle)
        if end is not None:
            end_line = end[0]
            end_col = self._find(end_line, end[1], 0) + len(end[1])
        start_u16, start_byte = self._offsets(line, start_col)
        end_u16, end_byte = self._offsets(end_line, end_col)
        span = Span(
            start_line=line,
            start_column=start_col + 1,
            end_line=end_line,
            end_column=end_col + 1,
            start_utf16=start_u16,
            end_utf16=end_u16,
            start_byte=start_byte,
            end_byte=end_byte,
        )
        return Location(self.path, span, label, tuple(self.lines[line - 1 : end_line]))

    def _find(self, line: int, needle: str, nth: int) -> int:
        text = self.lines[line - 1]
        index = -1
        for _ in range(nth + 1):
            index = text.index(needle, index + 1)
        return index

    def _offsets(self, line: int, column: int) -> tuple[int, int]:
        """1-based UTF-16 column and absolute byte offset of a 0-based code-point column."""
        before = "".join(f"{text}\n" for text in self.lines[: line - 1]).encode("utf-8")
        prefix = self.lines[line - 1][:column]
        return len(prefix.encode("utf-16-le")) // 2 + 1, len(before) + len(prefix.encode("utf-8"))


RAW_POINTER = RuleInfo(
    id="raw-pointer-escapes-lifetime",
    title="Raw pointer stored in a lifetime-bound value without a lifetime tie",
    severity=Severity.ERROR,
    pack="lifetimes",
    help_markdown="## What it does\nFinds it.\n\n## Why is this bad?\nThe value outlives it.\n",
    help_text=(
        "What it does\nFinds functions that store a raw pointer in a returned value.\n\n"
        "Why is this bad?\nThe returned value promises, through `'a`, that everything it holds\n"
        "stays valid for `'a`. A raw pointer has no lifetime.\n\nExample\n..."
    ),
    help_uri="https://example.org/rules/raw-pointer-escapes-lifetime.md",
)
NAPI = RuleInfo(
    id="napi-external-by-value",
    title="By-value NAPI conversion for a type that holds a pointer the JS engine owns",
    severity=Severity.ERROR,
    pack="ffi",
    help_markdown="## What it does\nFinds it.\n",
    help_text="What it does\nFinds it.\n\nWhy is this bad?\n\nThe JS engine can free it. Really.\n",
    help_uri="https://example.org/rules/napi-external-by-value.md",
)


def finding(
    primary: Location,
    *related: Location,
    rule: RuleInfo = RAW_POINTER,
    message: str = "`y` is a raw pointer stored in `Data<'a>`; nothing ties it to `'a`",
    severity: Severity | None = None,
    crate: str = "x",
) -> Finding:
    return Finding(
        rule_id=rule.id,
        severity=severity or rule.severity,
        message=message,
        primary=primary,
        crate=crate,
        related=related,
    )


def report(
    *findings: Finding,
    problems: tuple[ScanProblem, ...] = (),
    crates: int = 1,
    files: int = 1,
    rules: tuple[RuleInfo, ...] = (RAW_POINTER, NAPI),
) -> Report:
    return Report(
        tool_version="0.1.0",
        workspace_root=Path("/ws"),
        uri_prefix="",
        rules=rules,
        findings=tuple(sorted(findings, key=Finding.sort_key)),
        problems=problems,
        crates_scanned=crates,
        files_scanned=files,
    )


def assert_snapshot(name: str, output: str) -> None:
    """Compare with `snapshots/text_<name>.txt`; rewrite it instead when UPDATE_SNAPSHOTS=1."""
    path = SNAPSHOTS / f"text_{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(output, encoding="utf-8", newline="\n")
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path.name}; run with UPDATE_SNAPSHOTS=1 to create it")
    assert output == path.read_text(encoding="utf-8")


# Sources.

BAR = Source(
    "crates/x/src/lib.rs",
    "pub struct Data<'a> {\n"
    "    x: &'a String,\n"
    "    y: *mut String,\n"
    "}\n"
    "\n"
    "pub fn bar<'a>(x: &'a String, y: *mut String) -> Data<'a> {\n"
    "    Data { x, y }\n"
    "}\n",
)

LOWER = Source(
    "crates/component-lower/src/lower/mod.rs",
    "\n" * 96
    + (
        "impl<'a, T> LowerContext<'a, T> {\n"  # 97
        "    /// Creates a new lowering context.\n"  # 98
        "    pub unsafe fn new(\n"  # 99
        "        store: &'a mut T,\n"  # 100
        "        options: &'a Options,\n"  # 101
        "        instance: *mut Instance,\n"  # 102
        "    ) -> LowerContext<'a, T> {\n"  # 103
        "        LowerContext {\n"  # 104
        "            store,\n"  # 105
        "            options,\n"  # 106
        "            instance,\n"  # 107
        "        }\n"
        "    }\n"
        "}\n"
    ),
)

NAPI_IMPL = Source(
    "crates/js-bridge/src/convert/value.rs",
    "use crate::external::External;\n"
    "\n"
    "impl<T: 'static> FromNapiValue for External<T> {\n"
    "    unsafe fn from_napi_value(env: napi_env, v: napi_value) -> Result<Self, Status> {\n",
)
NAPI_STRUCT = Source(
    "crates/js-bridge/src/external.rs",
    "\n" * 10
    + "pub struct External<T: 'static> {\n"  # 11
    + "    obj: *mut TaggedObject<T>,\n"  # 12
    + "    size_hint: usize,\n}\n",
)


def bar_finding() -> Finding:
    return finding(
        BAR.loc(6, "y: *mut String", "raw pointer parameter"),
        BAR.loc(6, "Data<'a>", "this type carries `'a`"),
    )


# Snapshots.


def test_related_label_on_the_same_line() -> None:
    assert_snapshot("same_line", render_text(report(bar_finding())))


def test_related_labels_on_other_lines() -> None:
    lower = finding(
        LOWER.loc(102, "instance: *mut Instance", "raw pointer parameter"),
        LOWER.loc(103, "LowerContext<'a, T>", "this type carries `'a`"),
        LOWER.loc(107, "instance", "stored here"),
        message="`instance` is a raw pointer stored in `LowerContext<'a, T>`",
        severity=Severity.WARNING,
    )
    assert_snapshot("other_lines", render_text(report(lower)))


def test_related_label_in_another_file() -> None:
    napi = finding(
        NAPI_IMPL.loc(3, "impl<T: 'static> FromNapiValue for External<T>", "by-value conversion"),
        NAPI_STRUCT.loc(12, "obj: *mut TaggedObject<T>", "points into JS memory"),
        rule=NAPI,
        message="`External<T>` holds a raw pointer but implements the by-value `FromNapiValue`",
    )
    assert_snapshot("other_file", render_text(report(napi)))


def test_tab_indented_line() -> None:
    source = Source(
        "src/tabs.rs",
        "impl<'a> Data<'a> {\n\tpub fn new(x: &'a String,\ty: *mut String) -> Self {\n",
    )
    tabbed = finding(
        source.loc(2, "y: *mut String", "raw pointer parameter"),
        source.loc(2, "Self", "this type carries `'a`"),
    )
    assert_snapshot("tabs", render_text(report(tabbed)))


def test_non_ascii_before_the_span() -> None:
    source = Source(
        "src/名前.rs",
        "pub fn 読む<'a>(名前: &'a str, /* 🦀 */ ポインタ: *mut u8) -> Data<'a> { // café\n",
    )
    wide = finding(
        source.loc(1, "ポインタ: *mut u8", "raw pointer parameter"),
        source.loc(1, "Data<'a>", "this type carries `'a`"),
        message="`ポインタ` is a raw pointer stored in `Data<'a>`; nothing ties it to `'a`",
    )
    assert_snapshot("non_ascii", render_text(report(wide)))


def test_span_over_several_lines_shows_its_first_line() -> None:
    source = Source(
        "src/convert.rs",
        "impl<T> FromNapiValue for Handle<T>\nwhere\n    T: 'static,\n{\n",
    )
    header = source.loc(1, "impl", "by-value conversion", end=(3, "T: 'static,"))
    multi = finding(header, rule=NAPI, message="`Handle<T>` holds a raw pointer")
    assert_snapshot("multi_line", render_text(report(multi)))


def test_hostile_text_is_shown_not_obeyed() -> None:
    """Escape sequences and bidi overrides from the scanned tree must not reach the terminal."""
    source = Source(
        "src/\x1b[8mhidden.rs",
        "let s = \"\u202e\x1b[2K\"; pub fn f<'a>(x: &'a u8, y: *mut u8) -> D<'a> {\n",
    )
    hostile = finding(
        source.loc(1, "y: *mut u8", "raw\x1b]0;title\x07 pointer"),
        message="`y`\u2066 is stored\r\x1b[1A",
    )
    assert_snapshot("hostile", render_text(report(hostile)))


def test_no_findings() -> None:
    assert_snapshot("no_findings", render_text(report(crates=3, files=41)))


def test_problems_and_incomplete_scan() -> None:
    problems = (
        ScanProblem(
            "src/x.rs",
            ProblemKind.PARTLY_PARSED,
            "file partly parsed",
            line=3,
            column=5,
        ),
        ScanProblem(
            "src/y.rs",
            ProblemKind.NOT_SCANNED,
            "internal error while matching: RecursionError: too deep",
        ),
    )
    text = render_text(report(bar_finding(), problems=problems, crates=2, files=7))
    assert_snapshot("problems", text)


def test_summary_singular() -> None:
    only = finding(
        BAR.loc(6, "y: *mut String", "raw pointer parameter"),
        severity=Severity.NOTE,
    )
    assert_snapshot("singular", render_text(report(only, crates=1, files=1)))


def test_summary_plural_with_breakdown() -> None:
    findings = (
        bar_finding(),
        finding(
            LOWER.loc(102, "instance: *mut Instance", "raw pointer parameter"),
            message="`instance` is a raw pointer stored in `LowerContext<'a, T>`",
            severity=Severity.WARNING,
        ),
        finding(
            NAPI_IMPL.loc(3, "impl<T: 'static> FromNapiValue for External<T>", "by-value"),
            rule=NAPI,
            message="`External<T>` holds a raw pointer",
        ),
    )
    assert_snapshot("plural", render_text(report(*findings, crates=3, files=41)))


def test_color() -> None:
    problems = (ScanProblem("src/y.rs", ProblemKind.NOT_SCANNED, "unreadable"),)
    assert_snapshot("color", render_text(report(bar_finding(), problems=problems), color=True))


# Properties that snapshots alone would not make obvious.


def test_color_only_adds_escape_codes() -> None:
    problems = (ScanProblem("src/x.rs", ProblemKind.PARTLY_PARSED, "partly parsed", 1, 1),)
    subject = report(bar_finding(), problems=problems)
    colored = render_text(subject, color=True)
    assert "\x1b[" in colored
    assert ANSI.sub("", colored) == render_text(subject)
    assert "\x1b[" not in render_text(subject)


def test_hostile_text_leaves_only_our_escape_codes() -> None:
    source = Source("src/\x1b[8m.rs", "\x1b[2K\u202e y\x9b\n")
    subject = report(
        finding(source.loc(1, "y", "\x1b[0m")),
        problems=(ScanProblem("\x1b[8m.rs", ProblemKind.NOT_SCANNED, "\x1bc"),),
    )
    plain = render_text(subject)
    assert not any(c in plain for c in "\x1b\x07\x9b\u202e\r")
    assert ANSI.sub("", render_text(subject, color=True)) == plain


def test_carets_line_up_under_wide_characters() -> None:
    source = Source("src/w.rs", "let 名 = x; // 🦀 y\n")
    text = render_text(report(finding(source.loc(1, "y", "here"))))
    code, marks = (line for line in text.splitlines() if line.startswith("1 |") or "^" in line)
    assert display_width(code.split("y")[0]) == display_width(marks.split("^")[0])


@pytest.mark.parametrize(
    ("text", "width"),
    [
        ("abc", 3),
        ("\tx", 5),
        ("名前", 4),
        ("🦀", 2),
        ("e\u0301", 1),  # e + combining acute accent
        ("a\u200bb", 2),  # zero-width space
        ("", 0),
    ],
)
def test_display_width(text: str, width: int) -> None:
    assert display_width(text) == width


def test_unknown_rule_still_gets_a_help_line() -> None:
    subject = report(bar_finding(), rules=())
    text = render_text(subject)
    assert "= help: see `cargo unsound rules show raw-pointer-escapes-lifetime`\n" in text
    assert "= note:" not in text


def test_location_without_source_text_shows_only_its_place() -> None:
    bare = Location("src/gone.rs", BAR.loc(6, "y").span, "raw pointer parameter")
    text = render_text(report(finding(bare)))
    assert " --> src/gone.rs:6:31\n  = note:" in text


def test_not_scanned_counts_files_once() -> None:
    problems = (
        ScanProblem("a.rs", ProblemKind.NOT_SCANNED, "not scanned: worker died"),
        ScanProblem("a.rs", ProblemKind.NOT_SCANNED, "unreadable"),
        ScanProblem("b.rs", ProblemKind.NOT_SCANNED, "unreadable"),
    )
    text = render_text(report(problems=problems))
    assert "error: a.rs: not scanned: worker died\n" in text
    assert text.endswith("no findings in 1 crate, 1 file; 2 files not scanned\n")


def test_hand_built_spans_agree_with_each_other() -> None:
    """The hand-built spans must be what the engine would produce, or the snapshots prove little."""
    source = Source("src/w.rs", "fn a() {}\nlet 名 = x; // 🦀 y\n")
    span = source.loc(2, "y").span
    data = source.text.encode("utf-8")
    assert data[span.start_byte : span.end_byte] == b"y"
    assert (span.start_column, span.end_column) == (17, 18)
    assert (span.start_utf16, span.end_utf16) == (18, 19)  # the crab is two UTF-16 units
