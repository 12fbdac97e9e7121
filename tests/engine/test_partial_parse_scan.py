"""A scan that parses only the items a file's matches can lie in finds exactly what a scan of
whole files finds, and starts a file over, parsed whole, when its matching reads beyond them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_scan_support import RULE_FIXTURES, SEEDED, scan_folder
from tree_sitter import Node

from unsound.dsl.compiled import CompiledRule
from unsound.dsl.loader import compile_rule_files, load_rules
from unsound.engine import crate_scan
from unsound.engine import matcher as matcher_module
from unsound.engine.matcher import RuleSetMatcher
from unsound.engine.units import ParsedFile
from unsound.model import Report
from unsound.report.json_report import render_json

FOLDERS = [SEEDED, *sorted(p.parent for p in RULE_FIXTURES.glob("*/Cargo.toml"))]


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bool]]]:
    """(file, whether only some of its items were parsed) of every file the matcher runs on."""
    seen: list[tuple[str, bool]] = []
    real = RuleSetMatcher.run

    def run(self: RuleSetMatcher, unit: ParsedFile, *args: object, **kwargs: object) -> object:
        seen.append((unit.rel_path, unit.partial))
        return real(self, unit, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RuleSetMatcher, "run", run)
    yield seen


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[tuple[int, int]]]]:
    """The byte ranges of every parse of chosen pieces the scan makes."""
    seen: list[list[tuple[int, int]]] = []
    real = crate_scan.parse_items

    def parse(data: bytes, ranges: list[tuple[int, int]]) -> object:
        seen.append(ranges)
        return real(data, ranges)

    monkeypatch.setattr(crate_scan, "parse_items", parse)
    yield seen


def spots(report: Report) -> list[tuple[str, str, int, int]]:
    """(rule, file, line, column) of each finding of the report."""
    return [
        (f.rule_id, f.primary.path, f.primary.span.start_line, f.primary.span.start_column)
        for f in report.findings
    ]


def _whole_files(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RuleSetMatcher, "plan_items", lambda *args: None)


def _assert_as_whole_files(
    monkeypatch: pytest.MonkeyPatch, root: Path, rules: list[CompiledRule], report: Report
) -> None:
    """The folder's report when every file is parsed whole is `report`."""
    with monkeypatch.context() as whole:
        _whole_files(whole)
        assert render_json(scan_folder(root, rules=rules)) == render_json(report)


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_findings_equal_a_scan_of_whole_files(
    folder: Path, runs: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    items = render_json(scan_folder(folder))
    with monkeypatch.context() as whole:
        _whole_files(whole)
        assert render_json(scan_folder(folder)) == items


def test_the_fixtures_exercise_partial_parses(runs: list[tuple[str, bool]]) -> None:
    exercised = []
    for folder in FOLDERS:
        runs.clear()
        scan_folder(folder)
        if any(was_partial for _, was_partial in runs):
            exercised.append(folder.name)
    print(exercised)
    assert len(exercised) >= 4, "the fixtures have files with items no rule can match in"


# A file whose matching asks the crate index about the file itself (the struct a constructor
# fills is declared there): the index reads files whole, so the file is matched again whole.
SELF_ASKING = b"""pub struct Context<'a> {
    name: &'a str,
    instance: *mut u8,
}

pub fn unrelated_one() -> u32 {
    1
}

pub fn unrelated_two() -> u32 {
    2
}

pub fn unrelated_three() -> u32 {
    3
}

pub fn unrelated_four() -> u32 {
    4
}

impl<'a> Context<'a> {
    pub fn new(name: &'a str, instance: *mut u8) -> Context<'a> {
        Context { name, instance }
    }
}
"""


def _pieces_text(data: bytes, ranges: list[tuple[int, int]]) -> bytes:
    """The text of the pieces a parse was given, one after the other."""
    return b"".join(data[start:end] for start, end in ranges)


def _rules(rule_id: str) -> list[CompiledRule]:
    """The built-in rule with this id, alone."""
    return [rule for rule in load_rules() if rule.id == rule_id]


class _Parses:
    """The texts parsed whole and the pieces parsed apart, during a scan."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.whole: list[bytes] = []
        self.pieces: list[bytes] = []
        real_whole, real_items = crate_scan.parse_rust, crate_scan.parse_items

        def parse_whole(data: bytes) -> object:
            self.whole.append(data)
            return real_whole(data)

        def parse_items(data: bytes, ranges: list[tuple[int, int]]) -> object:
            self.pieces.append(_pieces_text(data, ranges))
            return real_items(data, ranges)

        monkeypatch.setattr(crate_scan, "parse_rust", parse_whole)
        monkeypatch.setattr(crate_scan, "parse_items", parse_items)


def _crate(tmp_path: Path, source: bytes, **modules: bytes) -> Path:
    """A one-package workspace whose `src/lib.rs` is `source`, with `src/NAME.rs` per module."""
    (tmp_path / "src").mkdir()
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "partial"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    (tmp_path / "src" / "lib.rs").write_bytes(source)
    for name, text in modules.items():
        (tmp_path / "src" / f"{name}.rs").write_bytes(text)
    return tmp_path


def test_a_file_the_index_asks_about_is_matched_again_whole(
    tmp_path: Path, runs: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _crate(tmp_path, SELF_ASKING)
    rules = _rules("raw-pointer-escapes-lifetime")
    report = scan_folder(root, rules=rules)
    assert [(f.rule_id, f.primary.path, f.primary.span.start_line) for f in report.findings] == [
        ("raw-pointer-escapes-lifetime", "src/lib.rs", 23)
    ]
    assert runs == [("src/lib.rs", True), ("src/lib.rs", False)]
    runs.clear()
    _assert_as_whole_files(monkeypatch, root, rules, report)


def test_candidates_judged_before_a_file_is_matched_again_are_not_judged_again(
    tmp_path: Path, runs: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    earlier = b"""pub fn first_view<'a>(name: &'a str, instance: *mut u8) -> &'a str {
    let _ = instance;
    name
}

"""
    source = SELF_ASKING.replace(b"impl<'a> Context<'a>", earlier + b"impl<'a> Context<'a>")
    root = _crate(tmp_path, source)
    rules = _rules("raw-pointer-escapes-lifetime")
    judged: list[tuple[bool, int]] = []
    real = matcher_module._first_finding

    def first_finding(root: Node, unit: ParsedFile, *args: object) -> object:
        judged.append((unit.partial, root.start_point.row + 1))
        return real(root, unit, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(matcher_module, "_first_finding", first_finding)
    report = scan_folder(root, rules=rules)
    assert spots(report) == [("raw-pointer-escapes-lifetime", "src/lib.rs", 28, 31)]
    assert runs == [("src/lib.rs", True), ("src/lib.rs", False)]
    # `first_view` (line 22) judged by the partly parsed try alone; `new` (line 28) by both,
    # the first giving up on it.
    assert judged == [(True, 22), (True, 28), (False, 28)]
    runs.clear()
    monkeypatch.undo()
    _assert_as_whole_files(monkeypatch, root, rules, report)


# Findings inside a `macro_rules!` transcriber, among items no rule can match in, and a macro
# whose transcriber holds none of the rule's words.
IN_A_MACRO = b"""pub fn unrelated_one() -> u32 {
    1
}

macro_rules! plain {
    ($x:expr) => {
        $x + 1
    };
}

pub fn unrelated_two() -> u32 {
    plain!(2)
}

macro_rules! cell_type {
    ($name:ident) => {
        pub struct $name<T> {
            value: std::cell::UnsafeCell<T>,
        }
        unsafe impl<T> Send for $name<T> {}
    };
}

cell_type!(Cell);

pub fn unrelated_three() -> u32 {
    3
}

pub fn unrelated_four() -> u32 {
    4
}
"""


def test_a_macro_definition_is_parsed_only_for_a_rule_whose_words_it_holds(
    tmp_path: Path,
    runs: list[tuple[str, bool]],
    parsed: list[list[tuple[int, int]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _crate(tmp_path, IN_A_MACRO)
    rules = _rules("send-impl-without-send-bound")
    report = scan_folder(root, rules=rules)
    assert spots(report) == [("send-impl-without-send-bound", "src/lib.rs", 20, 21)]
    assert runs == [("src/lib.rs", True)]
    [ranges] = parsed
    text = _pieces_text(IN_A_MACRO, ranges)
    assert b"macro_rules! cell_type" in text
    assert b"macro_rules! plain" not in text and b"unrelated_four" not in text
    runs.clear()
    _assert_as_whole_files(monkeypatch, root, rules, report)


# Rust in a multi-line string literal, at column 0: its lines look like items to the cutter, and
# a piece inside the string parses on its own.
IN_A_STRING = b"""pub fn first() -> u32 {
    1
}

pub const FIXTURE: &str = "
struct Inner;
pub fn reader(p: *const u32) -> u32 {
    unsafe { *p }
}
struct Tail;
";

pub fn escapes() -> (&'static str, char, &'static str) {
    ("C:\\\\", '"', "say \\"hi\\"")
}

pub fn last() -> usize {
    FIXTURE.len()
}
"""


def test_code_in_a_string_literal_is_not_matched(
    tmp_path: Path, runs: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The text before the piece inside the string leaves a string open: the file is parsed
    whole, and its string holds no finding (it held one, a false one, before)."""
    root = _crate(tmp_path, IN_A_STRING)
    rules = _rules("not-unsafe-ptr-arg-deref")
    report = scan_folder(root, rules=rules)
    assert report.findings == ()
    assert runs == [("src/lib.rs", False)]
    runs.clear()
    _assert_as_whole_files(monkeypatch, root, rules, report)


FOLLOWS_RULE = """
rule static-after-marker {
  title    "a static declared after a marker struct"
  severity warning
  match    `static $N: $T = $V;`
  where    $MATCH follows `struct Marker;`
  message  "`{N}` follows the marker"
  help     "x"
  example bad ```
struct Marker;
static A: u8 = 0; // ruleid: static-after-marker
```
  example good ```
static A: u8 = 0;
```
}
"""

# `Marker` is in an item no locator picks (not the first, which is always parsed); the static is
# parsed (statics always are), and its `follows` reads the file's other items: the file is
# matched again whole. (The rule's gate, that `struct Marker;` is in the file, is not asked of
# a partly parsed file.)
FOLLOWS_SOURCE = b"""fn zero() {}

struct Marker;

fn one() {}

fn two() {}

fn three() {}

fn four() {}

static LATE: u8 = 0;
"""


def test_a_top_level_follows_reads_the_whole_file(
    tmp_path: Path, runs: list[tuple[str, bool]]
) -> None:
    root = _crate(tmp_path, FOLLOWS_SOURCE)
    rules = compile_rule_files([("test", "follows.rules", FOLLOWS_RULE)])
    assert rules[0].locators, "the rule can locate its matches (`static`)"
    report = scan_folder(root, rules=rules)
    assert [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in report.findings
    ] == [("static-after-marker", 13, 1)]
    assert runs == [("src/lib.rs", True), ("src/lib.rs", False)]


# `static-mut-reference` spells no word of its own (`&$X`): its matches are located by the names
# of the crate's `static mut`s, as the crate gate knows them.
STATIC_MUT_SOURCE = b"""#![allow(static_mut_refs)]

static mut COUNTER: u32 = 0;

pub fn one() -> u32 {
    1
}

pub fn two() -> u32 {
    2
}

pub fn three() -> u32 {
    3
}

pub fn counter() -> &'static u32 {
    unsafe { &COUNTER }
}
"""


def test_a_crate_fact_locates_the_items_of_a_rule_without_words(
    tmp_path: Path, runs: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _crate(tmp_path, STATIC_MUT_SOURCE)
    rules = _rules("static-mut-reference")
    assert not rules[0].locators
    report = scan_folder(root, rules=rules)
    found = [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in report.findings
    ]
    assert found == [("static-mut-reference", 18, 14)]
    assert runs == [("src/lib.rs", True)]
    _assert_as_whole_files(monkeypatch, root, rules, report)


def test_workers_parsing_pieces_report_what_the_scan_in_process_reports(tmp_path: Path) -> None:
    # The pool's workers run the same `scan_crate`, pieces and all.
    root = _crate(tmp_path, MEMBERS_SOURCE + STATIC_MUT_SOURCE.replace(b"#![allow", b"#[allow"))
    report = scan_folder(root)
    found = sorted((f.rule_id, f.primary.span.start_line) for f in report.findings)
    assert found == [("static-mut-reference", 46), ("undocumented-unsafe", 46)]
    assert render_json(scan_folder(root, jobs=2)) == render_json(report)
    assert render_json(scan_folder(SEEDED, jobs=2)) == render_json(scan_folder(SEEDED))


def test_windows_line_endings_cut_and_locate_alike(
    tmp_path: Path, runs: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _crate(tmp_path, STATIC_MUT_SOURCE.replace(b"\n", b"\r\n"))
    rules = _rules("static-mut-reference")
    report = scan_folder(root, rules=rules)
    found = [(f.primary.span.start_line, f.primary.span.start_column) for f in report.findings]
    assert found == [(18, 14)]
    assert runs == [("src/lib.rs", True)]
    _assert_as_whole_files(monkeypatch, root, rules, report)


def test_a_file_without_cuts_is_parsed_whole(tmp_path: Path, runs: list[tuple[str, bool]]) -> None:
    # Not rustfmt's layout: every item on one line, nothing to cut.
    one_line = b" ".join(line.strip() for line in STATIC_MUT_SOURCE.splitlines())
    root = _crate(tmp_path, one_line)
    rules = _rules("static-mut-reference")
    report = scan_folder(root, rules=rules)
    assert [(f.primary.span.start_line, f.primary.span.start_column) for f in report.findings] == [
        (1, 186)
    ]
    assert runs == [("src/lib.rs", False)]


# An impl whose members are parsed only where a rule can match: `raw-pointer-escapes-lifetime`
# stays in one member (`member_local`); its constructor is one of five methods.
MEMBERS_SOURCE = b"""pub struct Context<'a> {
    name: &'a str,
    size: usize,
}

impl<'a> Context<'a> {
    pub fn size(&self) -> usize {
        self.size
    }

    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Made from a raw pointer.
    pub fn from_raw(name: &'a str, raw: *mut Context<'a>) -> Context<'a> {
        let _ = raw;
        Context { name, size: 0 }
    }

    pub fn empty(name: &'a str) -> Context<'a> {
        Context { name, size: 0 }
    }

    pub fn grow(&mut self) {
        self.size += 1;
    }
}
"""


def test_an_impl_is_parsed_without_the_members_no_rule_can_match_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parsed: list[list[tuple[int, int]]]
) -> None:
    root = _crate(tmp_path, MEMBERS_SOURCE)
    rules = _rules("not-unsafe-ptr-arg-deref")
    report = scan_folder(root, rules=rules)
    (ranges,) = parsed
    kept = _pieces_text(MEMBERS_SOURCE, ranges)
    assert b"fn from_raw" in kept and b"impl<'a> Context<'a> {" in kept
    assert b"fn size" not in kept and b"fn grow" not in kept
    _assert_as_whole_files(monkeypatch, root, rules, report)


NEGATIVE_RULE = """
rule impl-with-unsafe-and-no-check {
  title    "an impl with unsafe code and no check method"
  severity warning
  match    `impl $T { $..I }`
  where    $MATCH has `unsafe { $..S }`
  where    not $MATCH has `fn check(&self) { $..C }`
  message  "`{T}` has unsafe code and no check"
  help     "x"
  example bad ```
struct A;
impl A { fn f(&self) { unsafe {} } } // ruleid: impl-with-unsafe-and-no-check
```
  example good ```
struct A;
impl A { fn f(&self) { unsafe {} } fn check(&self) {} }
```
}
"""

# The rule's match is the whole impl and it reads every member (`not $MATCH has`): the impl is
# parsed whole, so the `check` method far from the `unsafe` is seen.
NEGATIVE_SOURCE = b"""pub struct Guarded;

impl Guarded {
    pub fn check(&self) {}

    pub fn one(&self) -> u32 {
        1
    }

    pub fn two(&self) -> u32 {
        2
    }

    pub fn risky(&self) -> u8 {
        unsafe { *(&0u8 as *const u8) }
    }
}

pub struct Open;

impl Open {
    pub fn one(&self) -> u32 {
        1
    }

    pub fn two(&self) -> u32 {
        2
    }

    pub fn risky(&self) -> u8 {
        unsafe { *(&0u8 as *const u8) }
    }
}
"""


def test_a_rule_that_reads_a_whole_impl_gets_it_whole(
    tmp_path: Path, runs: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _crate(tmp_path, NEGATIVE_SOURCE)
    rules = compile_rule_files([("test", "negative.rules", NEGATIVE_RULE)])
    report = scan_folder(root, rules=rules)
    found = [(f.rule_id, f.primary.span.start_line) for f in report.findings]
    assert found == [("impl-with-unsafe-and-no-check", 21)]
    _assert_as_whole_files(monkeypatch, root, rules, report)


MEMBER_FOLLOWS_RULE = """
rule const-after-marker {
  title    "an associated const after a marker method"
  severity warning
  match    `const $N: $T = $V;`
  where    $N matches "^LATE$"
  where    $MATCH follows `fn marker() {}`
  message  "`{N}` follows the marker"
  help     "x"
  example bad ```
struct S;
impl S {
    fn marker() {}
    const LATE: u8 = 0; // ruleid: const-after-marker
}
```
  example good ```
struct S;
impl S {
    const A: u8 = 0;
}
```
}
"""

# The const is parsed (its member holds its locator, `LATE`); the marker method is not. The
# `follows` reads the impl's other members: the file is matched again whole.
MEMBER_FOLLOWS_SOURCE = b"""pub struct S;

impl S {
    fn marker() {}

    pub fn one() -> u32 {
        1
    }

    pub fn two() -> u32 {
        2
    }

    pub fn three() -> u32 {
        3
    }

    const LATE: u8 = 0;
}
"""


def test_a_follows_among_an_impls_members_reads_the_whole_file(
    tmp_path: Path, runs: list[tuple[str, bool]]
) -> None:
    root = _crate(tmp_path, MEMBER_FOLLOWS_SOURCE)
    rules = compile_rule_files([("test", "follows.rules", MEMBER_FOLLOWS_RULE)])
    report = scan_folder(root, rules=rules)
    found = [(f.rule_id, f.primary.span.start_line) for f in report.findings]
    assert found == [("const-after-marker", 18)]
    assert runs == [("src/lib.rs", True), ("src/lib.rs", False)]


# `handle-duplicated-by-destructuring` needs the destructured type to implement `Drop`: only the
# items that name one of the crate's `Drop` types (`Fd`, or `Self` in `impl Fd`) are parsed, not
# the ones destructuring a plain `Pair`.
DROP_NAMES_SOURCE = b"""pub struct Fd(i32);

impl Drop for Fd {
    fn drop(&mut self) {
        release(self.0);
    }
}

fn release(_raw: i32) {}

pub struct Pair(u8, u8);

pub fn swap(pair: Pair) -> Pair {
    let Pair(a, b) = pair;
    Pair(b, a)
}

pub fn first(value: Option<u8>) -> u8 {
    let Pair(a, _) = Pair(value.unwrap_or(0), 0);
    a
}

impl Fd {
    pub fn raw(&self) -> i32 {
        self.0
    }

    pub fn duplicate(&self, other: Fd) -> Fd {
        let Self(raw) = other;
        Self(raw)
    }
}

pub fn split(handle: Fd) -> Fd {
    let Fd(raw) = handle;
    Fd(raw)
}
"""


def test_the_names_of_a_trait_the_matched_type_needs_locate_its_items(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parsed: list[list[tuple[int, int]]]
) -> None:
    root = _crate(tmp_path, DROP_NAMES_SOURCE)
    rules = _rules("handle-duplicated-by-destructuring")
    report = scan_folder(root, rules=rules)
    found = [
        (f.rule_id, f.primary.span.start_line, f.primary.span.start_column) for f in report.findings
    ]
    assert found == [
        ("handle-duplicated-by-destructuring", 29, 9),
        ("handle-duplicated-by-destructuring", 35, 5),
    ]
    (ranges,) = parsed
    kept = _pieces_text(DROP_NAMES_SOURCE, ranges)
    assert b"fn duplicate" in kept and b"fn split" in kept
    assert b"fn swap" not in kept and b"fn first" not in kept and b"fn raw" not in kept
    _assert_as_whole_files(monkeypatch, root, rules, report)


# A raw pointer made by a cast, none taken as an argument: the file passes
# `not-unsafe-ptr-arg-deref`'s prefilter (`*const`) but holds its locator (`: *const`, a typed
# argument or field) nowhere.
CAST_ONLY = b"""pub fn address(value: &u32) -> usize {
    let pointer = value as *const u32;
    pointer as usize
}
"""


def test_a_file_without_a_rules_locator_is_not_parsed(
    tmp_path: Path,
    runs: list[tuple[str, bool]],
    parsed: list[list[tuple[int, int]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _crate(tmp_path, CAST_ONLY)
    rules = _rules("not-unsafe-ptr-arg-deref")
    assert rules[0].may_match(CAST_ONLY)
    report = scan_folder(root, rules=rules)
    assert report.findings == ()
    assert runs == [] and parsed == []
    _assert_as_whole_files(monkeypatch, root, rules, report)


def test_a_file_without_a_rules_locator_still_has_its_suppressions_checked(
    tmp_path: Path, runs: list[tuple[str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = b"// unsound: allow(not-unsafe-ptr-arg-deref): the cast reads nothing\n" + CAST_ONLY
    root = _crate(tmp_path, source)
    rules = _rules("not-unsafe-ptr-arg-deref")
    report = scan_folder(root, rules=rules)
    assert spots(report) == [("unused-suppression", "src/lib.rs", 1, 1)]
    assert runs == []  # read for its suppressions, matched by no rule
    _assert_as_whole_files(monkeypatch, root, rules, report)


# A suppression left behind when the code it covered lost its `unsafe`: no rule's prefilter
# passes the file any more.
STALE = b"""// unsound: allow(mut-from-ref): the arena hands out fresh memory
pub fn get(value: &u32) -> u32 {
    *value
}
"""


def test_a_stale_suppression_in_a_file_no_rule_wants_is_reported(
    tmp_path: Path, runs: list[tuple[str, bool]]
) -> None:
    root = _crate(tmp_path, STALE)
    rules = load_rules()
    assert not any(rule.may_match(STALE) for rule in rules)
    report = scan_folder(root, rules=rules)
    assert spots(report) == [("unused-suppression", "src/lib.rs", 1, 1)]
    assert runs == []


# A generic impl with a method returning `&'a` and another calling `.as_ref()`: no method holds
# both, which `shared-borrow-escapes-mut-view` needs of its match (its return type and the raw
# view it reads through), so the impl is not parsed for it.
SPLIT_LOCATORS = b"""pub struct NamesMut<'a> {
    names: &'a [&'a str],
}

pub fn unrelated_one() -> u32 {
    1
}

pub fn unrelated_two() -> u32 {
    2
}

pub fn unrelated_three() -> u32 {
    3
}

impl<'a> NamesMut<'a> {
    pub fn first(&self) -> &'a str {
        self.names[0]
    }

    pub fn count(&self) -> usize {
        self.names.as_ref().len()
    }
}
"""


def test_a_rules_own_locators_are_found_in_one_method(
    tmp_path: Path,
    parsed: list[list[tuple[int, int]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = _rules("shared-borrow-escapes-mut-view")
    # `-> &'a`, `impl<` (around the match: its impl) and the raw view (`&*`, `.as_ref()`).
    assert rules[0].locators_in_match == (True, False, True)
    root = _crate(tmp_path, SPLIT_LOCATORS)
    report = scan_folder(root, rules=rules)
    assert report.findings == ()
    [ranges] = parsed
    text = _pieces_text(SPLIT_LOCATORS, ranges)
    assert b"impl<'a> NamesMut" not in text
    _assert_as_whole_files(monkeypatch, root, rules, report)


# A trait declared among other items of another file: `Shared: Sync` makes the impl's `T` Sync,
# which the crate index learns from that file's items that spell `trait`, not from a whole parse.
SHARED_TRAIT = b"""pub fn unrelated_one() -> u32 {
    1
}

pub trait Shared: Sync {}

pub fn unrelated_two() -> u32 {
    2
}

pub fn unrelated_three() -> u32 {
    3
}
"""

HOLDER = b"""pub mod shared;

use crate::shared::Shared;

pub struct Holder<'a, T> {
    value: &'a T,
}

unsafe impl<'a, T: Send + Shared> Send for Holder<'a, T> {}

pub fn first<'a, T>(holder: &Holder<'a, T>) -> &'a T {
    holder.value
}
"""


def test_a_traits_bounds_come_from_the_items_that_spell_trait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _crate(tmp_path, HOLDER, shared=SHARED_TRAIT)
    rules = _rules("send-impl-shared-borrow-without-sync")
    parses = _Parses(monkeypatch)
    report = scan_folder(root, rules=rules)
    assert report.findings == ()  # `T: Shared` is `Sync`
    assert SHARED_TRAIT not in parses.whole
    assert any(
        b"pub trait Shared: Sync {}" in text and b"unrelated_two" not in text
        for text in parses.pieces
    )
    monkeypatch.undo()
    without_bound = HOLDER.replace(b"T: Send + Shared", b"T: Send")
    (root / "src" / "lib.rs").write_bytes(without_bound)
    assert [
        (f.rule_id, f.primary.span.start_line) for f in scan_folder(root, rules=rules).findings
    ] == [("send-impl-shared-borrow-without-sync", 9)]
    (root / "src" / "lib.rs").write_bytes(HOLDER)
    _assert_as_whole_files(monkeypatch, root, rules, report)


# A `static mut` among the file's declarations, a function far from it taking a reference to
# it: the function's item is parsed for the match, the declarations apart when the condition
# `is static-mut` reads the file's top level.
STATIC_LATER = b"""use std::fmt::Write;

static mut COUNTER: u32 = 0;

pub fn unrelated_one(out: &mut String) -> u32 {
    let _ = write!(out, "one");
    1
}

pub fn unrelated_two() -> u32 {
    2
}

pub fn unrelated_three() -> u32 {
    3
}

pub fn unrelated_four() -> u32 {
    4
}

pub fn bump() -> u32 {
    unsafe {
        let counter = &mut COUNTER;
        *counter += 1;
        *counter
    }
}
"""


def test_a_static_mut_among_the_declarations_is_read_when_a_condition_asks(
    tmp_path: Path,
    runs: list[tuple[str, bool]],
    parsed: list[list[tuple[int, int]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _crate(tmp_path, STATIC_LATER)
    rules = _rules("static-mut-reference")
    report = scan_folder(root, rules=rules)
    assert spots(report) == [("static-mut-reference", "src/lib.rs", 24, 23)]
    assert runs == [("src/lib.rs", True)]
    matched, declarations = parsed
    matched_text = _pieces_text(STATIC_LATER, matched)
    declared_text = _pieces_text(STATIC_LATER, declarations)
    assert b"pub fn bump" in matched_text and b"unrelated_two" not in matched_text
    assert b"static mut COUNTER" in declared_text and b"pub fn bump" not in declared_text
    runs.clear()
    _assert_as_whole_files(monkeypatch, root, rules, report)


# A field stored in another file, among other items: the crate index finds the stores of
# `user` in that file's items that spell the word, without a parse of the whole file.
DROPPED_SESSION = b"""use std::ffi::c_void;

pub mod session;

pub struct Session {
    user: *mut c_void,
}

impl Drop for Session {
    fn drop(&mut self) {
        unsafe { drop(Box::from_raw(self.user as *mut String)) };
    }
}
"""

SESSION_MADE = b"""use std::ffi::c_void;

use crate::Session;

pub fn unrelated_one() -> u32 {
    1
}

pub struct Config {
    pub verbose: bool,
}

pub fn unrelated_two() -> u32 {
    2
}

impl Session {
    pub fn new(config: Config) -> Session {
        Session { user: Box::into_raw(Box::new(config)) as *mut c_void }
    }
}

pub fn unrelated_three() -> u32 {
    3
}
"""


def test_a_fields_stores_come_from_the_items_that_spell_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _crate(tmp_path, DROPPED_SESSION, session=SESSION_MADE)
    rules = _rules("box-from-raw-type-mismatch")
    parses = _Parses(monkeypatch)
    report = scan_folder(root, rules=rules)
    assert spots(report) == [("box-from-raw-type-mismatch", "src/lib.rs", 11, 23)]
    (related,) = report.findings[0].related
    assert (related.path, related.span.start_line, related.span.start_column) == (
        "src/session.rs",
        19,
        25,
    )
    assert SESSION_MADE not in parses.whole
    assert any(b"impl Session" in text and b"unrelated_two" not in text for text in parses.pieces)
    monkeypatch.undo()
    _assert_as_whole_files(monkeypatch, root, rules, report)


# A private `Inner<T>` reaches users through `Middle<T>`, which public `Outer<T>` holds; both
# holders are read from the items of `wrapper.rs` that spell each name, two parses of one
# file (another file declares a second `Middle`, so which one `Outer` holds is asked).
LEAKED_INNER = b"""pub mod other;
pub mod wrapper;

struct Inner<T> {
    value: Option<T>,
}

unsafe impl<T> Send for Inner<T> {}

impl<T> Inner<T> {
    fn take(&mut self) -> Option<T> {
        self.value.take()
    }
}
"""

LEAKING_WRAPPER = b"""pub fn unrelated_one() -> u32 {
    1
}

pub struct Outer<T> {
    middle: Middle<T>,
}

pub fn unrelated_two() -> u32 {
    2
}

struct Middle<T> {
    inner: crate::Inner<T>,
}

impl<T> Outer<T> {
    pub fn take(&mut self) -> Option<T> {
        self.middle.inner.take()
    }
}

pub fn unrelated_three() -> u32 {
    3
}
"""

OTHER_MIDDLE = b"""pub struct Middle {
    pub count: u32,
}
"""


def _item(source: bytes, start: bytes) -> bytes:
    """The text of the top-level item that starts with `start`, to the blank line after it."""
    begin = source.index(start)
    return source[begin : source.index(b"\n}\n", begin) + 4]


def test_a_types_holders_come_from_the_items_that_spell_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _crate(tmp_path, LEAKED_INNER, wrapper=LEAKING_WRAPPER, other=OTHER_MIDDLE)
    rules = _rules("send-impl-without-send-bound")
    parses = _Parses(monkeypatch)
    report = scan_folder(root, rules=rules)
    # Not an internal type: `Outer<T>` carries it, in the same file as `Middle<T>` (which
    # file declares each `Middle` is asked of whole files).
    assert spots(report) == [("send-impl-without-send-bound", "src/lib.rs", 8, 13)]
    outer = _item(LEAKING_WRAPPER, b"pub struct Outer")
    middle = _item(LEAKING_WRAPPER, b"struct Middle<")
    assert [text for text in parses.pieces if b"Middle" in text] == [middle, outer + middle]
    monkeypatch.undo()
    _assert_as_whole_files(monkeypatch, root, rules, report)


def test_a_file_still_to_be_matched_is_parsed_whole_once_for_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its items that spell the word are most of it: the index's parse is the matching's."""
    made_unsafe = b"""use std::ffi::c_void;

use crate::Session;

impl Session {
    pub fn new(config: String) -> Session {
        Session { user: Box::into_raw(Box::new(config)) as *mut c_void }
    }

    pub fn reset(&mut self, config: String) {
        unsafe { drop(Box::from_raw(self.user as *mut String)) };
        self.user = Box::into_raw(Box::new(config)) as *mut c_void;
    }
}
"""
    root = _crate(tmp_path, DROPPED_SESSION, session=made_unsafe)
    rules = _rules("box-from-raw-type-mismatch")
    parses = _Parses(monkeypatch)
    report = scan_folder(root, rules=rules)
    assert spots(report) == []  # a `String` both sides
    assert parses.whole.count(made_unsafe) == 1
    assert not any(b"impl Session" in text for text in parses.pieces)
    monkeypatch.undo()
    _assert_as_whole_files(monkeypatch, root, rules, report)


# A destructuring `let` of a type without `Drop` in an item that names the `Drop` type (declared
# in another file), beside two that duplicate the handle: through a path and through `Self`.
DESTRUCTURED = b"""use std::marker::PhantomData;

use crate::handle::{self, Handle};

pub struct Pair {
    pub left: u32,
    pub right: u32,
}

pub fn sum(pair: Pair, _keep: &Handle<u8>) -> u32 {
    let Pair { left, right } = pair;
    left + right
}

pub fn copied(other: Handle<u8>) -> Handle<u32> {
    let handle::Handle(ptr, _) = other;
    handle::Handle(ptr, PhantomData)
}

impl<T> Handle<T> {
    pub fn rebuilt(other: Handle<T>) -> Self {
        let Self(ptr, marker) = other;
        Self(ptr, marker)
    }
}
"""

DROPPED_HANDLE = b"""use std::marker::PhantomData;
use std::ptr::NonNull;

pub struct Object {
    refcount: usize,
}

extern "C" {
    fn decref(p: *mut Object);
}

pub struct Handle<T>(pub NonNull<Object>, pub PhantomData<T>);

impl<T> Drop for Handle<T> {
    fn drop(&mut self) {
        unsafe { decref(self.0.as_ptr()) }
    }
}
"""


def test_a_destructuring_let_is_located_by_the_drop_types_name_after_let(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = b"pub mod handle;\npub mod users;\n"
    root = _crate(tmp_path, lib, handle=DROPPED_HANDLE, users=DESTRUCTURED)
    rules = _rules("handle-duplicated-by-destructuring")
    parses = _Parses(monkeypatch)
    report = scan_folder(root, rules=rules)
    assert spots(report) == [
        ("handle-duplicated-by-destructuring", "src/users.rs", 16, 5),
        ("handle-duplicated-by-destructuring", "src/users.rs", 22, 9),
    ]
    assert DESTRUCTURED not in parses.whole
    (text,) = [text for text in parses.pieces if b"let " in text]
    assert b"let handle::Handle(ptr, _)" in text and b"let Self(ptr, marker)" in text
    assert b"let Pair {" not in text  # `Pair` has no `Drop`: its item is not parsed
    monkeypatch.undo()
    _assert_as_whole_files(monkeypatch, root, rules, report)
