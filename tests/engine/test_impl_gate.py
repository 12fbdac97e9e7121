"""The crate-level `implements` prefilter: same findings, fewer parses, crate-dependent outcomes.

A rule that needs `$S implements "Drop"` of a type in the matched file skips files that name no
type the crate implements `Drop` for; the implementing impl may be in another file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan_support import count_parses, scan_folder
from ws_helpers import package, write_tree

from unsound.dsl.loader import load_rules
from unsound.engine import crate_scan
from unsound.engine.impl_gate import ImplGate

HANDLE = """use std::marker::PhantomData;
use std::ptr::NonNull;

pub struct Object {
    refcount: usize,
}

pub struct Handle<T>(pub NonNull<Object>, pub PhantomData<T>);

pub struct Any;
"""

RELEASE = """use crate::handle::Handle;

extern "C" {
    fn decref(p: *mut crate::handle::Object);
}

impl<T> Drop for Handle<T> {
    fn drop(&mut self) {
        unsafe { decref(self.0.as_ptr()) }
    }
}
"""

CONVERT = """use std::marker::PhantomData;

use crate::handle::{Any, Handle};

impl<T> From<Handle<T>> for Handle<Any> {
    fn from(other: Handle<T>) -> Self {
        let Handle(ptr, _) = other;
        Handle(ptr, PhantomData)
    }
}
"""

OTHER = """pub struct Plain(pub u8);

pub fn split(p: Plain) -> Plain {
    let Plain(x) = p;
    Plain(x)
}
"""


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return count_parses(monkeypatch, crate_scan)


def crate(tmp_path: Path) -> Path:
    return write_tree(
        tmp_path / "ws",
        {
            "Cargo.toml": package("handles"),
            "src/lib.rs": "pub mod convert;\npub mod handle;\npub mod other;\nmod release;\n",
            "src/handle.rs": HANDLE,
            "src/release.rs": RELEASE,
            "src/convert.rs": CONVERT,
            "src/other.rs": OTHER,
        },
    )


def test_the_implementors_come_from_the_whole_crate() -> None:
    rules = [r for r in load_rules() if r.id == "handle-duplicated-by-destructuring"]
    crate_impls = ImplGate(rules).for_crate([HANDLE.encode(), RELEASE.encode()])
    wanted = {"handle-duplicated-by-destructuring"}
    assert crate_impls.filter(wanted, CONVERT.encode()) == (wanted, True)
    assert crate_impls.filter(wanted, OTHER.encode()) == (set(), True)


def test_a_drop_impl_in_another_file_still_finds_the_bug(tmp_path: Path, parsed: list[int]) -> None:
    root = crate(tmp_path)
    rules = [r for r in load_rules() if r.id == "handle-duplicated-by-destructuring"]
    report = scan_folder(root, rules=rules)
    assert [
        (f.rule_id, f.primary.path, f.primary.span.start_line, f.primary.span.start_column)
        for f in report.findings
    ] == [("handle-duplicated-by-destructuring", "src/convert.rs", 7, 9)]
    assert len(OTHER.encode()) not in parsed  # names no Drop type: never parsed


def test_a_skipped_file_is_rescanned_when_another_file_adds_the_impl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # the cache key stays here
    root = crate(tmp_path)
    rules = [r for r in load_rules() if r.id == "handle-duplicated-by-destructuring"]
    assert len(scan_folder(root, rules=rules, use_cache=True).findings) == 1
    release = root / "src/release.rs"
    release.write_text(
        release.read_text()
        + "\nimpl Drop for crate::other::Plain {\n    fn drop(&mut self) {}\n}\n"
    )
    found = scan_folder(root, rules=rules, use_cache=True).findings
    assert [(f.primary.path, f.primary.span.start_line) for f in found] == [
        ("src/convert.rs", 7),
        ("src/other.rs", 4),
    ]
