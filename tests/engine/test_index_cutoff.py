"""Early cutoff for the crate index's reads: an outcome that read a file which gave nothing to
its answers (a declaration spelled inside a string literal, as rust-analyzer's test fixtures
do) survives a change to that file that still gives nothing, and is redone when it does.

`fixtures/workspaces/index_cutoff` is a real crate (`cargo check` passes): `convert.rs` converts
`External` by value, whose definition in `lib.rs` holds a raw pointer; `fixtures.rs` spells
`pub struct External { … }` inside a string, which the index's text selectors pick. "Redone"
is checked by the files the scan parses, never by time.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from test_scan_support import scan_folder

from unsound.engine import crate_scan
from unsound.engine.crate_index import gives_something, parsed
from unsound.engine.crate_reads import UNKNOWN_QUESTION, CrateReads, Question, declares
from unsound.report.json_report import render_json

pytestmark = pytest.mark.usefixtures("private_key_folder")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "workspaces" / "index_cutoff"
EXTERNAL: Question = ("definitions", "External")


@pytest.fixture
def scanned(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Texts of the files the (in-process) scan parses from now on."""
    seen: list[bytes] = []
    real = crate_scan.parse_rust

    def counting(data: bytes):  # type: ignore[no-untyped-def]
        seen.append(data)
        return real(data)

    monkeypatch.setattr(crate_scan, "parse_rust", counting)
    return seen


@pytest.fixture
def crate(tmp_path: Path) -> Path:
    copy = tmp_path / "index_cutoff"
    shutil.copytree(FIXTURE, copy, ignore=shutil.ignore_patterns("target", "Cargo.lock"))
    return copy


def _convert(root: Path) -> bytes:
    return (root / "src/convert.rs").read_bytes()


@pytest.mark.parametrize(
    ("path", "edit", "redone"),
    [
        # Still a string: `fixtures.rs` gave nothing to `definitions("External")` and gives
        # nothing now, so `convert.rs`'s outcome, which read it, stays.
        ("src/fixtures.rs", lambda text: text.replace("u32", "u64") + "// edited\n", False),
        # A real `External` in another module: it gives something now.
        (
            "src/fixtures.rs",
            lambda text: text + "\npub struct External {\n    handle: u32,\n}\n",
            True,
        ),
        # The file that gave the definition: redone on any change, a comment included.
        ("src/lib.rs", lambda text: text + "// a comment: the definition's file changed\n", True),
    ],
)
def test_an_outcome_is_redone_only_when_a_file_it_read_gives_or_gave_something(
    crate: Path, scanned: list[bytes], path: str, edit: Callable[[str], str], redone: bool
) -> None:
    first = scan_folder(crate, use_cache=True)
    assert [f.rule_id for f in first.findings] == ["napi-external-by-value"]
    assert _convert(crate) in scanned
    edited = crate / path
    edited.write_text(edit(edited.read_text()))
    scanned.clear()
    warm = scan_folder(crate, use_cache=True)
    assert (_convert(crate) in scanned) == redone
    assert render_json(warm) == render_json(scan_folder(crate))


def test_a_file_gives_what_its_parse_holds_not_what_its_text_spells() -> None:
    in_string = parsed("f.rs", b'const F: &str = "pub struct External { handle: u32 }";')
    assert declares_external(in_string.data) and not gives_something(in_string, EXTERNAL)
    real = parsed("f.rs", b"pub struct External { handle: u32 }")
    assert gives_something(real, EXTERNAL)
    # A question the index does not answer file by file counts as given.
    assert gives_something(in_string, ("pub-mod", "x"))
    assert gives_something(in_string, UNKNOWN_QUESTION)


def declares_external(data: bytes) -> bool:
    from unsound.engine.crate_index import _TYPE_DECLARATIONS

    return any(declares(d, "External").matches(data) for d in _TYPE_DECLARATIONS)


def test_reads_vouch_for_a_quiet_file_only_with_questions_to_ask() -> None:
    selector = declares(re.compile(rb"struct\s+([A-Za-z_]\w*)"), "External")
    quiet = CrateReads((selector,), ("a.rs", "b.rs"), questions=(EXTERNAL,), loud=("a.rs",))

    def never(path: str, data: bytes, questions: tuple[Question, ...]) -> bool:
        return False

    def always(path: str, data: bytes, questions: tuple[Question, ...]) -> bool:
        return True

    text = b"struct External;"
    assert quiet.still_valid({"b.rs": text}, never)  # read, gave nothing, gives nothing
    assert quiet.still_valid({"b.rs": None}, never)  # read, gave nothing, removed
    assert quiet.still_valid({"c.rs": text}, never)  # newly picked, gives nothing
    assert not quiet.still_valid({"b.rs": text}, always)
    assert not quiet.still_valid({"c.rs": text}, always)
    assert not quiet.still_valid({"a.rs": b"fn f() {}"}, never)  # gave something
    assert not quiet.still_valid({"b.rs": text})  # nothing to ask with
    unasked = CrateReads((selector,), ("a.rs", "b.rs"))
    assert not unasked.still_valid({"b.rs": b"fn f() {}"}, never)
    assert not unasked.still_valid({"c.rs": text}, never)


def test_many_changed_files_are_not_parsed_to_spare_outcomes() -> None:
    """A branch switch changes many files of a crate: redoing the outcomes on the workers costs
    less than parsing every changed file in the parent, one after the other."""
    from unsound.engine.cache import _CUTOFF_FILES, CrateView

    text = b'const F: &str = "pub struct External { handle: u32 }";'
    few = CrateView("c", "fp", {}, changed={"f.rs": text})
    assert not few.contributes("f.rs", text, (EXTERNAL,))
    many = CrateView("c", "fp", {}, changed={f"f{i}.rs": text for i in range(_CUTOFF_FILES + 1)})
    assert many.contributes("f0.rs", text, (EXTERNAL,))
