"""Crate reads: a rescan redoes exactly the outcomes a change can alter, and never serves a stale
one.

The fixture crate spreads each crate-level fact over two files (a type and its `Drop` impl, a
`static mut` and its users, a type and its `unsafe impl Send`), so every crate-dependent rule
reads other files. The random walk toggles those facts and checks, after each step, that the warm
report is the cold one.
"""

from __future__ import annotations

import marshal
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scan_support import scan_folder

from unsound.engine import crate_reads
from unsound.engine.cache import ScanCache
from unsound.engine.crate_index import (
    _IMPL_HEADER,
    _TRAIT_DECLARATIONS,
    _TYPE_DECLARATIONS,
    IMPL_FOR,
    STATIC_MUT_DECLARATION,
    CrateIndex,
)
from unsound.engine.crate_reads import CrateReads, Selector
from unsound.engine.units import ParsedFile
from unsound.report.json_report import render_json

pytestmark = pytest.mark.usefixtures("private_key_folder")

MANIFEST = """[package]
name = "facts"
version = "0.1.0"
edition = "2021"

[lib]
path = "src/lib.rs"
"""

LIB = """pub mod handle;
pub mod holder;
pub mod object;
pub mod send_impl;
pub mod statics;
pub mod users;
"""

OBJECT = """use std::marker::PhantomData;
use std::ptr::NonNull;

pub struct Object {
    pub refcount: usize,
}

extern "C" {
    pub fn decref(p: *mut Object);
}

pub struct Any;

pub struct Handle<T>(pub NonNull<Object>, pub PhantomData<T>);
"""

HANDLE_DROP = """use crate::object::{decref, Handle};

impl<T> Drop for Handle<T> {
    fn drop(&mut self) {
        // SAFETY: the handle owns one reference.
        unsafe { decref(self.0.as_ptr()) }
    }
}
"""

HANDLE_NO_DROP = """use crate::object::{decref, Handle};

impl<T> Handle<T> {
    /// # Safety
    /// Call once.
    pub unsafe fn release(&mut self) {
        // SAFETY: the caller calls it once.
        unsafe { decref(self.0.as_ptr()) }
    }
}
"""

USERS = """use std::marker::PhantomData;

use crate::object::{Any, Handle};
use crate::statics::COUNTER;

pub fn erase<T>(other: Handle<T>) -> Handle<Any> {
    let Handle(ptr, _) = other;
    Handle(ptr, PhantomData)
}

#[allow(static_mut_refs)]
pub fn counter() -> &'static u32 {
    // SAFETY: read on one thread only.
    unsafe { &COUNTER }
}
"""

STATIC_MUT = "pub static mut COUNTER: u32 = 0;\n"
STATIC_PLAIN = "pub static COUNTER: u32 = 0;\n"

HOLDER_RAW = """pub struct Holder<T> {
    value: *mut T,
}

impl<T> Holder<T> {
    pub fn new(value: Box<T>) -> Self {
        Holder { value: Box::into_raw(value) }
    }
}
"""

HOLDER_BOXED = """pub struct Holder<T> {
    value: Box<T>,
}

impl<T> Holder<T> {
    pub fn new(value: Box<T>) -> Self {
        Holder { value }
    }
}
"""

SEND_IMPL = """use crate::holder::Holder;

// SAFETY: see the review of `Holder`.
unsafe impl<T> Send for Holder<T> {}
"""

# Each toggle switches one file between two texts; a comment is a change no rule can care about.
TOGGLES: dict[str, tuple[str, str]] = {
    "src/handle.rs": (HANDLE_DROP, HANDLE_NO_DROP),
    "src/statics.rs": (STATIC_MUT, STATIC_PLAIN),
    "src/holder.rs": (HOLDER_RAW, HOLDER_BOXED),
    "src/users.rs": (USERS, USERS + "\n// a comment\n"),
    "src/object.rs": (OBJECT, OBJECT + "\n// a comment\n"),
    "src/send_impl.rs": (SEND_IMPL, SEND_IMPL.replace("<T> Send", "<T: Send> Send")),
}


def write_crate(root: Path) -> Path:
    (root / "src").mkdir(parents=True)
    (root / "Cargo.toml").write_text(MANIFEST)
    (root / "src/lib.rs").write_text(LIB)
    for path, (first, _) in TOGGLES.items():
        (root / path).write_text(first)
    return root


@pytest.fixture
def recomputed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths whose outcome a scan computed (rather than took from the cache)."""
    seen: list[str] = []
    original = ScanCache.put

    def spy(self: ScanCache, view: object, outcome: object) -> None:
        seen.append(outcome.rel_path)  # type: ignore[attr-defined]
        original(self, view, outcome)  # type: ignore[arg-type]

    monkeypatch.setattr(ScanCache, "put", spy)
    return seen


def findings(root: Path) -> list[tuple[str, str, int, int]]:
    report = scan_folder(root, use_cache=True)
    return [
        (f.rule_id, f.primary.path, f.primary.span.start_line, f.primary.span.start_column)
        for f in report.findings
    ]


def test_the_fixture_reports_one_finding_per_cross_file_fact(tmp_path: Path) -> None:
    root = write_crate(tmp_path / "facts")
    assert findings(root) == [
        ("send-impl-without-send-bound", "src/send_impl.rs", 4, 13),
        ("handle-duplicated-by-destructuring", "src/users.rs", 7, 5),
        ("static-mut-reference", "src/users.rs", 14, 14),
    ]


def test_a_comment_in_a_file_nothing_read_rescans_only_that_file(
    tmp_path: Path, recomputed: list[str]
) -> None:
    root = write_crate(tmp_path / "facts")
    cold = findings(root)
    recomputed.clear()
    (root / "src/users.rs").write_text(USERS + "\n// a comment\n")
    assert findings(root) == cold
    assert recomputed == ["src/users.rs"]


def test_a_change_to_a_file_another_outcome_read_rescans_both(
    tmp_path: Path, recomputed: list[str]
) -> None:
    """`users.rs`'s destructuring finding needs the `impl Drop for Handle` in `handle.rs`."""
    root = write_crate(tmp_path / "facts")
    cold = findings(root)
    recomputed.clear()
    (root / "src/handle.rs").write_text(HANDLE_DROP + "\n// a comment\n")
    assert findings(root) == cold
    assert sorted(recomputed) == ["src/handle.rs", "src/users.rs"]


def test_a_new_fact_in_a_file_nothing_read_before_rescans_the_reader(
    tmp_path: Path, recomputed: list[str]
) -> None:
    """The `Drop` impl moves to `object.rs`: `handle.rs` (read before) changes and `object.rs`
    now matches the `impl … Drop for` selector; the finding must survive the move."""
    root = write_crate(tmp_path / "facts")
    cold = findings(root)
    (root / "src/handle.rs").write_text("use crate::object::Handle;\n")
    moved = HANDLE_DROP.replace("use crate::object::{decref, Handle};\n", "")
    (root / "src/object.rs").write_text(OBJECT + moved)
    recomputed.clear()
    assert findings(root) == cold
    assert "src/users.rs" in recomputed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_random_walk_of_edits_always_gives_the_cold_report(tmp_path: Path, seed: int) -> None:
    root = write_crate(tmp_path / "facts")
    state = {path: 0 for path in TOGGLES}
    chooser = random.Random(seed)
    seen = set()
    for _ in range(12):
        path = chooser.choice(sorted(TOGGLES))
        state[path] ^= 1
        (root / path).write_text(TOGGLES[path][state[path]])
        warm = render_json(scan_folder(root, use_cache=True))
        cold = render_json(scan_folder(root))
        assert warm == cold, (seed, state)
        seen.add(cold)
    assert len(seen) >= 3  # the walk did change what is reported


# --- selectors ---------------------------------------------------------------------------------

TEXTS = [
    b"pub struct Foo { a: u8 }\n// struct Bar is only in a comment\n",
    b"impl Clone for Foo { fn clone(&self) -> Self { todo!() } }\n",
    b"pub trait Marker: Send {}\nstatic mut HITS: u32 = 0;\nfn f(x: &'static mut u8) {}\n",
    b"impl<T> Drop for Wrapper<T> { fn drop(&mut self) {} }\nenum Foo2 { A }\n",
    b"type Alias = Foo;\nunion Bar { a: u8 }\n",
]


def index_of(texts: list[bytes]) -> CrateIndex:
    from unsound.dsl.rust_parser import parse_rust

    units = [ParsedFile(f"f{i}.rs", "c", data, parse_rust(data)) for i, data in enumerate(texts)]
    return CrateIndex(lambda: units, [(u.data, lambda u=u: u) for u in units])


@pytest.mark.parametrize(
    ("declarations", "name"),
    [
        (_TYPE_DECLARATIONS, "Foo"),
        (_TYPE_DECLARATIONS, "Bar"),
        (_TYPE_DECLARATIONS, "Foo2"),
        (_TRAIT_DECLARATIONS, "Marker"),
        ((IMPL_FOR,), "Foo"),
        ((IMPL_FOR,), "Wrapper"),
        ((STATIC_MUT_DECLARATION,), "HITS"),
    ],
)
def test_the_declaration_tables_pick_what_the_selectors_pick(
    declarations: tuple, name: str
) -> None:
    index = index_of(TEXTS)
    index._files_declaring(("question", name), declarations)
    for declaration in declarations:
        selector = crate_reads.declares(declaration, name)
        assert index._picked[selector] == [
            i for i, data in enumerate(TEXTS) if selector.matches(data)
        ]


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(st.binary(max_size=30), max_size=4),
    words=st.lists(st.text(alphabet="ab.|*(", min_size=1, max_size=3), min_size=1, max_size=3),
)
def test_spells_any_answers_what_its_selector_matches(texts: list[bytes], words: list[str]) -> None:
    """The answer comes from substring searches; a rescan replays it with the selector."""
    sources = [(data, lambda: None) for data in texts]
    index = CrateIndex(lambda: [], sources)  # type: ignore[arg-type]
    spelled = index.spells_any(("words", ",".join(words)), tuple(words))
    (selector,) = {s for s, _ in index._spelled.values()}
    assert spelled == any(selector.matches(data) for data in texts)


def test_the_impl_header_table_picks_what_its_selector_picks() -> None:
    index = index_of(TEXTS)
    for name in ("Foo", "Clone", "Wrapper", "T", "Bar"):
        selector = crate_reads.impl_header_names(_IMPL_HEADER, name)
        index._files(("safe-unsafe", name), lambda selector=selector: (selector,))
        assert index._picked[selector] == [
            i for i, data in enumerate(TEXTS) if selector.matches(data)
        ]


def test_selector_kinds_test_a_text_as_the_index_reads_it() -> None:
    assert crate_reads.declares(_TYPE_DECLARATIONS[0], "Foo").matches(TEXTS[0])
    # A text test is a superset of the parse: a declaration in a comment counts (a rescan more).
    assert crate_reads.declares(_TYPE_DECLARATIONS[0], "Bar").matches(TEXTS[0])
    assert not crate_reads.declares(_TYPE_DECLARATIONS[0], "Baz").matches(TEXTS[0])
    assert not crate_reads.declares(_TYPE_DECLARATIONS[0], "Fo").matches(TEXTS[0])
    assert crate_reads.impl_for_trait(IMPL_FOR, "Drop").matches(TEXTS[3])
    assert not crate_reads.impl_for_trait(IMPL_FOR, "Drop").matches(TEXTS[1])
    assert crate_reads.search(STATIC_MUT_DECLARATION).matches(TEXTS[2])
    assert not crate_reads.search(STATIC_MUT_DECLARATION).matches(b"fn f(x: &'static mut u8) {}")
    with pytest.raises(ValueError):
        Selector("nonsense", "x").matches(b"x")


def test_a_spelling_search_needs_its_regex_and_its_word() -> None:
    import re

    selector = crate_reads.search_spelling(re.compile(rb"#!\[allow\(clippy::all"), "mod")
    assert selector.matches(b"#![allow(clippy::all)]\nmod ffi;\n")
    assert selector.matches(b"#![allow(clippy::all)]\npub(crate) mod ffi {}\n")
    assert not selector.matches(b"#![allow(clippy::all)]\nfn model() {}\n")  # not the word
    assert not selector.matches(b"mod ffi;\n")


def test_reads_hold_only_while_no_read_or_newly_picked_file_changes() -> None:
    drop = crate_reads.impl_for_trait(IMPL_FOR, "Drop")
    reads = CrateReads((drop,), ("a.rs",))
    assert reads.still_valid({})
    assert reads.still_valid({"b.rs": b"fn main() {}"})
    assert not reads.still_valid({"a.rs": b"fn main() {}"})  # was read
    assert not reads.still_valid({"a.rs": None})  # removed
    assert not reads.still_valid({"b.rs": b"impl Drop for B { fn drop(&mut self) {} }"})  # picked
    assert reads.still_valid({"b.rs": None})
    assert not CrateReads(whole_crate=True).still_valid({"b.rs": b""})
    assert CrateReads(whole_crate=True).still_valid({})


# --- how the cache stores reads ------------------------------------------------------------------


def stored_outcome(tmp_path: Path, reads: CrateReads) -> tuple[Path, bytes]:
    """A cache file holding one crate-dependent outcome of `a.rs` with these reads."""
    from unsound.engine.crate_scan import FileOutcome

    key = b"k" * 32
    cache = ScanCache.load(tmp_path / "scan.bin", key)
    view = cache.crate_view("c", [("a.rs", "h1", b"a"), ("b.rs", "h2", b"b")])
    cache.put(view, FileOutcome("a.rs", crate_dependent=True, crate_reads=reads))
    cache.save()
    return tmp_path / "scan.bin", key


def reuse_after_b_changes(path: Path, key: bytes, new_b: bytes) -> bool:
    cache = ScanCache.load(path, key)
    view = cache.crate_view("c", [("a.rs", "h1", b"a"), ("b.rs", "h3", new_b)])
    return cache.get(view, "a.rs") is not None


def test_stored_reads_decide_reuse_after_a_change(tmp_path: Path) -> None:
    drop = crate_reads.impl_for_trait(IMPL_FOR, "Drop")
    path, key = stored_outcome(tmp_path, CrateReads((drop,), ("a.rs",)))
    assert reuse_after_b_changes(path, key, b"fn f() {}")
    path, key = stored_outcome(tmp_path, CrateReads((drop,), ("a.rs",)))
    assert not reuse_after_b_changes(path, key, b"impl Drop for B { fn drop(&mut self) {} }")
    path, key = stored_outcome(tmp_path, CrateReads((drop,), ("a.rs", "b.rs")))
    assert not reuse_after_b_changes(path, key, b"fn f() {}")


def test_selectors_are_stored_once_and_a_bad_index_is_never_reused(tmp_path: Path) -> None:
    import hashlib
    import hmac

    drop = crate_reads.impl_for_trait(IMPL_FOR, "Drop")
    path, key = stored_outcome(tmp_path, CrateReads((drop, drop), ("a.rs",)))
    body = marshal.loads(path.read_bytes().partition(b"\n")[2])
    assert body["selectors"] == [[drop.kind, drop.pattern, drop.name]]
    (entry,) = body["entries"].values()
    assert entry["reads"]["selectors"] == [0, 0]
    entry["reads"]["selectors"] = [7]  # out of the table, though correctly signed
    raw = marshal.dumps(body)
    path.write_bytes(hmac.new(key, raw, hashlib.sha256).hexdigest().encode() + b"\n" + raw)
    assert not reuse_after_b_changes(path, key, b"fn f() {}")


# --- early cutoff for the crate gate's reads ------------------------------------------------------

PAIRS = """pub struct Pair(pub u32, pub u32);

pub fn swap(pair: Pair) -> Pair {
    let Pair(a, b) = pair;
    Pair(b, a)
}
"""


def test_a_gate_read_holds_while_the_changed_file_captures_the_same_names() -> None:
    drop = crate_reads.impl_for_trait(IMPL_FOR, "Drop")
    reads = CrateReads((drop,), (), gate=((drop, (("a.rs", ("A",)),)),))
    assert reads.still_valid({"a.rs": b"impl Drop for A { fn drop(&mut self) {} }\n// note\n"})
    assert reads.still_valid({"b.rs": b"impl Clone for B { fn clone(&self) -> B { B } }"})
    assert not reads.still_valid({"a.rs": b"impl Drop for B { fn drop(&mut self) {} }"})
    assert not reads.still_valid({"a.rs": b"fn main() {}"})  # its name is gone
    assert not reads.still_valid({"a.rs": None})  # removed
    # A name in a file the gate did not pick before:
    assert not reads.still_valid({"b.rs": b"impl Drop for B { fn drop(&mut self) {} }"})


def test_a_file_only_the_gate_read_is_not_rescanned_for_a_comment_elsewhere(
    tmp_path: Path, recomputed: list[str]
) -> None:
    """`pairs.rs` destructures a `Pair`, which implements no `Drop`: the crate gate reads the
    names of the crate's `Drop` types (in `handle.rs`) and keeps the rule off the file. A
    comment in `handle.rs` leaves those names as they were, so `pairs.rs` is not redone; a
    rename of the `Drop` type is another name, so it is."""
    root = write_crate(tmp_path / "facts")
    (root / "src/lib.rs").write_text(LIB + "pub mod pairs;\n")
    (root / "src/pairs.rs").write_text(PAIRS)
    cold = findings(root)
    recomputed.clear()
    (root / "src/handle.rs").write_text(HANDLE_DROP + "\n// a comment\n")
    assert findings(root) == cold
    assert sorted(recomputed) == ["src/handle.rs", "src/users.rs"]  # users.rs asks the index
    recomputed.clear()
    (root / "src/handle.rs").write_text(HANDLE_DROP.replace("Drop for Handle<T>", "Drop for Pair"))
    warm = findings(root)
    assert "src/pairs.rs" in recomputed
    assert warm == findings_cold(root)


def test_stored_gate_reads_decide_reuse_and_a_bad_position_is_never_reused(
    tmp_path: Path,
) -> None:
    import hashlib
    import hmac

    drop = crate_reads.impl_for_trait(IMPL_FOR, "Drop")
    gate = ((drop, (("b.rs", ("B",)),)),)
    path, key = stored_outcome(tmp_path, CrateReads((drop,), (), gate=gate))
    assert reuse_after_b_changes(path, key, b"impl Drop for B { fn drop(&mut self) {} } // x")
    path, key = stored_outcome(tmp_path, CrateReads((drop,), (), gate=gate))
    assert not reuse_after_b_changes(path, key, b"impl Drop for C { fn drop(&mut self) {} }")
    path, key = stored_outcome(tmp_path, CrateReads((drop,), (), gate=gate))
    body = marshal.loads(path.read_bytes().partition(b"\n")[2])
    (entry,) = body["entries"].values()
    assert entry["reads"]["gate"] == [[0, [["b.rs", ["B"]]]]]
    entry["reads"]["gate"] = [[-1, [["b.rs", ["B"]]]]]  # no such position, though signed
    raw = marshal.dumps(body)
    path.write_bytes(hmac.new(key, raw, hashlib.sha256).hexdigest().encode() + b"\n" + raw)
    assert not reuse_after_b_changes(path, key, b"impl Drop for B { fn drop(&mut self) {} } // x")


def findings_cold(root: Path) -> list[tuple[str, str, int, int]]:
    report = scan_folder(root)
    return [
        (f.rule_id, f.primary.path, f.primary.span.start_line, f.primary.span.start_column)
        for f in report.findings
    ]


def test_a_files_facts_are_grouped_by_name_once() -> None:
    """What a file gives to `implements`/`definitions`/… of one name is read from its facts
    grouped by name, made once per file (ash's bindings have thousands of impls per file, asked
    about for each of thousands of type aliases)."""
    from unsound.engine.crate_index import _GIVES, _impls_in, parsed

    unit = parsed(
        "f.rs", b"struct A; struct B; impl Clone for A {} impl Copy for A {} impl Send for B {}"
    )
    calls = []
    real = _impls_in

    def counting(u):  # type: ignore[no-untyped-def]
        calls.append(u)
        return real(u)

    import unsound.engine.crate_index as crate_index_module

    gives = crate_index_module._named("test grouping", counting)
    assert gives(unit, "A") == ["Clone", "Copy"] and gives(unit, "B") == ["Send"]
    assert gives(unit, "C") == [] and len(calls) == 1
    assert _GIVES["impls"](unit, "A") == ["Clone", "Copy"]
    assert [d.name for d in _GIVES["definitions"](unit, "B")] == ["B"]  # type: ignore[attr-defined]


GOOD_READS = {
    "selectors": [0, 1],
    "files": ["a.rs", "b.rs"],
    "whole_crate": False,
    "gate": [[1, [["a.rs", ["Foo", "Bar"]]]]],
    "questions": [["definitions", "Foo"]],
    "loud": [0],
}


@pytest.mark.parametrize(
    "broken",
    [
        "x",
        {**GOOD_READS, "selectors": ["0"]},
        {**GOOD_READS, "files": [1]},
        {**GOOD_READS, "whole_crate": 0},
        {**GOOD_READS, "gate": [[1, [["a.rs", "Foo"]]]]},
        {**GOOD_READS, "gate": [["1", []]]},
        {**GOOD_READS, "questions": [["definitions"]]},
        {**GOOD_READS, "loud": [None]},
        {k: v for k, v in GOOD_READS.items() if k != "loud"},
    ],
)
def test_stored_reads_are_decoded_as_the_generic_decoder_does(broken: object) -> None:
    """The cache's hand-written decoder of an entry's reads (every entry a rescan checks goes
    through it) gives what `cache_codec.decode` gives, and refuses what it refuses."""
    from unsound.engine import cache as cache_module
    from unsound.engine.cache_codec import decode

    assert cache_module._stored_reads(GOOD_READS) == decode(cache_module._StoredReads, GOOD_READS)
    with pytest.raises((ValueError, TypeError, KeyError)):
        decode(cache_module._StoredReads, broken)
    with pytest.raises((ValueError, TypeError, KeyError)):
        cache_module._stored_reads(broken)


_NAMES = ["Drop", "Foo", "Fo", "é", "\ufffd"]
# Declarations and impl headers of the names (and near misses), with noise between them.
_NAME_PIECES = st.one_of(
    st.builds(
        lambda keyword, name, end: keyword + name + end,
        st.sampled_from(["struct ", "enum ", "trait ", "impl ", "impl<T> Send for ", "impl "]),
        st.sampled_from([*_NAMES, "Foo::Drop", "X"]),
        st.sampled_from([" {}", ";", "<T> {", " for Drop {", " for X {", ""]),
    ),
    st.sampled_from(["o", " ", "\n", "{", "}", "::", "\udcff", "Drop", "Fo"]),
)
_NAME_TEXTS = st.lists(_NAME_PIECES, max_size=8).map(
    lambda parts: "".join(parts).encode("utf-8", "surrogateescape")
)


@settings(max_examples=300, deadline=None)
@given(data=_NAME_TEXTS, name=st.sampled_from(_NAMES))
def test_a_named_selector_skips_only_texts_that_cannot_spell_its_name(
    data: bytes, name: str
) -> None:
    """`Selector.matches` answers a text without the name's bytes at once; with the regex it
    would have answered the same."""
    selectors = [
        crate_reads.declares(pattern, name)
        for pattern in (*_TYPE_DECLARATIONS, *_TRAIT_DECLARATIONS)
    ] + [
        crate_reads.impl_for_trait(IMPL_FOR, name),
        crate_reads.impl_header_names(_IMPL_HEADER, name),
    ]
    for selector in selectors:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(crate_reads, "_may_name", lambda name, data: True)
            reference = selector.matches(data)
        assert selector.matches(data) == reference, (selector, data)


HOLDER_SLOT = """pub struct Holder<T> {
    value: Slot<T>,
}
"""

WRAP_LATER = """pub struct SendWrapper<T>(T);

pub type Slot<T> = SendWrapper<T>;
"""


def test_holds_a_named_type_walks_no_field_of_a_crate_that_never_spells_it(
    tmp_path: Path, recomputed: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`not $T holds "SendWrapper"` (and "Fragile") of `send-impl-without-send-bound`: no file
    of the crate spells either name, so no field of `Holder` is walked for them. Once another
    file makes `Holder`'s `Slot<T>` an alias of a `SendWrapper<T>`, the cached outcome of
    `send_impl.rs` (which read that file for nothing else) is redone, and the finding goes, as
    in a cold scan."""
    from unsound.engine import conditions

    walked: list[object] = []
    real = conditions._holds_in

    def spy(field_type: object, test: object, *rest: object) -> bool:
        wanted = getattr(test, "args", ())
        if wanted in (("SendWrapper",), ("Fragile",)):
            walked.append(wanted)
        return real(field_type, test, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(conditions, "_holds_in", spy)
    root = write_crate(tmp_path / "facts")
    (root / "src/lib.rs").write_text(LIB + "pub mod wrap;\n")
    (root / "src/holder.rs").write_text(HOLDER_SLOT)
    (root / "src/wrap.rs").write_text("// nothing yet\n")
    send_impl = ("send-impl-without-send-bound", "src/send_impl.rs", 4, 13)
    assert send_impl in findings(root)
    assert walked == []
    (root / "src/wrap.rs").write_text(WRAP_LATER)
    recomputed.clear()
    rescanned = findings(root)
    assert "src/send_impl.rs" in recomputed
    assert send_impl not in rescanned
    assert walked  # the crate spells `SendWrapper` now: `Holder`'s field is followed to it
    shutil.rmtree(root / "target")
    assert findings(root) == rescanned
