"""`transmute-extends-lifetime` reports an extension in safe code as an error, and one inside an
`unsafe fn` (the function's contract: tikv's `unsafe fn unsafe_into(self) -> &'static T`) as a
warning."""

from __future__ import annotations

from pathlib import Path

from unsound.dsl.loader import load_rules
from unsound.engine.scan import scan_sources
from unsound.engine.sources import SourceFile
from unsound.model import Severity

CODE = b"""pub fn safe_extend(s: &str) -> &'static str {
    unsafe { std::mem::transmute(s) }
}

/// # Safety
/// The caller keeps `s` alive for the rest of the program.
pub unsafe fn unsafe_extend(s: &str) -> &'static str {
    std::mem::transmute(s)
}

pub trait UnsafeInto<T> {
    /// # Safety
    /// As above.
    unsafe fn unsafe_into(self) -> T;
}

impl<'a> UnsafeInto<&'static str> for &'a str {
    unsafe fn unsafe_into(self) -> &'static str {
        std::mem::transmute(self)
    }
}
"""


def test_an_extension_inside_an_unsafe_fn_is_a_warning() -> None:
    rules = [rule for rule in load_rules() if rule.id == "transmute-extends-lifetime"]
    source = SourceFile(Path("/t/src/lib.rs"), "src/lib.rs", "t", CODE, None)
    findings, problems = scan_sources([source], rules)
    assert problems == []
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column, f.severity)
        for f in findings
    ] == [
        ("transmute-extends-lifetime", 2, 14, Severity.ERROR),
        ("transmute-extends-lifetime", 8, 5, Severity.WARNING),
        ("transmute-extends-lifetime", 19, 9, Severity.WARNING),
    ]
