"""Crate-level prefilters: same findings, fewer parses, crate-dependent outcomes.

A rule that needs `$S implements "Drop"` of a type in the matched file skips files that name no
type the crate implements `Drop` for; one that needs `$X is static-mut` skips files that spell no
`static mut` of the crate. The declaration may be in another file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from test_scan_support import count_parses, scan_folder
from ws_helpers import package, write_tree

from unsound.dsl.loader import load_rules
from unsound.engine import crate_scan
from unsound.engine.crate_gate import CrateGate, _any_word, _whole_word_search
from unsound.model import Finding

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


def write_crate(tmp_path: Path, name: str, modules: dict[str, str]) -> Path:
    """A one-package workspace whose lib declares each module (`pub`, or private when its name
    starts with `_`, which is dropped) in `src/<module>.rs`."""
    declarations = "".join(
        f"mod {module[1:]};\n" if module.startswith("_") else f"pub mod {module};\n"
        for module in sorted(modules, key=lambda m: m.lstrip("_"))
    )
    files = {f"src/{module.lstrip('_')}.rs": text for module, text in modules.items()}
    return write_tree(
        tmp_path / "ws",
        {"Cargo.toml": package(name), "src/lib.rs": declarations, **files},
    )


def located(findings: Sequence[Finding]) -> list[tuple[str, str, int, int]]:
    """Each finding's rule, file, line and column."""
    return [
        (f.rule_id, f.primary.path, f.primary.span.start_line, f.primary.span.start_column)
        for f in findings
    ]


def crate(tmp_path: Path) -> Path:
    modules = {"handle": HANDLE, "_release": RELEASE, "convert": CONVERT, "other": OTHER}
    return write_crate(tmp_path, "handles", modules)


def test_the_implementors_come_from_the_whole_crate() -> None:
    rules = [r for r in load_rules() if r.id == "handle-duplicated-by-destructuring"]
    crate_impls = CrateGate(rules).for_crate([HANDLE.encode(), RELEASE.encode()])
    wanted = {"handle-duplicated-by-destructuring"}
    assert crate_impls.filter(wanted, CONVERT.encode()) == (wanted, True)
    assert crate_impls.filter(wanted, OTHER.encode()) == (set(), True)


def test_a_drop_impl_in_another_file_still_finds_the_bug(tmp_path: Path, parsed: list[int]) -> None:
    root = crate(tmp_path)
    rules = [r for r in load_rules() if r.id == "handle-duplicated-by-destructuring"]
    assert located(scan_folder(root, rules=rules).findings) == [
        ("handle-duplicated-by-destructuring", "src/convert.rs", 7, 9)
    ]
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


STATE = """pub static mut HITS: u32 = 0;
pub static LIMIT: u32 = 10;
"""

COUNTER = """use crate::state::HITS;

pub fn bump() -> &'static mut u32 {
    unsafe { &mut HITS }
}
"""

READER = """use crate::state::LIMIT;

pub fn limit() -> &'static u32 {
    let l: &'static u32 = unsafe { &LIMIT };
    l
}
"""

MACROS = """macro_rules! touch {
    ($e:expr) => {
        $e
    };
}

pub fn twice() -> u32 {
    let v = unsafe { touch!(&crate::state::HITS) };
    let w = unsafe { touch!(&crate::state::LIMIT) };
    *v + *w
}
"""


def static_crate(tmp_path: Path) -> Path:
    modules = {"state": STATE, "counter": COUNTER, "reader": READER, "macros": MACROS}
    return write_crate(tmp_path, "statics", modules)


def test_the_static_muts_come_from_the_whole_crate() -> None:
    rules = [r for r in load_rules() if r.id == "static-mut-reference"]
    names = CrateGate(rules).for_crate([STATE.encode(), COUNTER.encode(), READER.encode()])
    wanted = {"static-mut-reference"}
    assert names.filter(wanted, COUNTER.encode()) == (wanted, True)
    assert names.filter(wanted, READER.encode()) == (set(), True)
    assert names.allows("static-mut-reference", b"(&crate::state::HITS)")
    assert not names.allows("static-mut-reference", b"(&crate::state::LIMIT)")
    assert CrateGate(rules).for_crate([READER.encode()]).filter(wanted, READER.encode()) == (
        set(),
        True,
    )


def test_a_static_mut_in_another_file_still_finds_the_reference(
    tmp_path: Path, parsed: list[int]
) -> None:
    root = static_crate(tmp_path)
    rules = [r for r in load_rules() if r.id == "static-mut-reference"]
    assert located(scan_folder(root, rules=rules).findings) == [
        ("static-mut-reference", "src/counter.rs", 4, 14),
        ("static-mut-reference", "src/macros.rs", 8, 29),
    ]
    assert len(READER.encode()) not in parsed  # spells no `static mut`: never parsed


def test_a_skipped_file_is_rescanned_when_another_file_makes_its_static_mut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    root = static_crate(tmp_path)
    rules = [r for r in load_rules() if r.id == "static-mut-reference"]
    assert len(scan_folder(root, rules=rules, use_cache=True).findings) == 2
    state = root / "src/state.rs"
    state.write_text(STATE.replace("pub static LIMIT", "pub static mut LIMIT"))
    found = scan_folder(root, rules=rules, use_cache=True).findings
    assert [(f.primary.path, f.primary.span.start_line) for f in found] == [
        ("src/counter.rs", 4),
        ("src/macros.rs", 8),
        ("src/macros.rs", 9),
        ("src/reader.rs", 4),
    ]


@pytest.mark.parametrize(
    "text",
    [
        b"let h = Handle(p);",
        b"let h = MyHandle(p);",  # a longer name that ends with one
        b"let h = Handles(p);",  # one that starts with one
        b"let h = \xc3\xa9Handle(p);",  # after a non-ASCII byte: not a word byte for either
        b"let h = _Handle(p);",
        b"Guard",
        b"x.Guard_",
        b"",
    ],
)
def test_the_gates_whole_file_search_is_the_names_regex(text: bytes) -> None:
    """RE2's search (`\\b` around an alternation) answers as the lookaround regex does."""
    names = {"Handle", "Guard", "Lock"}
    regex = _any_word(names)
    search = _whole_word_search(names, regex)
    assert search is not None and regex is not None
    assert type(search.__self__).__module__.startswith("re2")  # type: ignore[attr-defined]
    assert (search(text) is not None) == (regex.search(text) is not None)
