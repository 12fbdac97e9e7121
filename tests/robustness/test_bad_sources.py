"""The bad-input matrix, source rows: odd files give a correct result or a reported problem.

Each hostile file sits in a package next to, or before, a seeded bug (Wasmtime's shape), so every
test checks both halves: the odd file is handled as the DESIGN says (scanned, a "partly parsed"
note, or "not scanned" with exit 3), and no finding is lost because of it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from unsound.cli.entry import main
from unsound.dsl.rust_parser import parse_rust
from unsound.engine import sources

BUG = (
    "pub struct Data<'a> {\n    x: &'a String,\n    y: *mut String,\n}\n\n"
    "pub fn bar<'a>(x: &'a String, y: *mut String) -> Data<'a> {\n    Data { x, y }\n}\n"
)
BUG_LINE = 6  # the `fn bar` line within BUG
RULE = "raw-pointer-escapes-lifetime"
DEPTH = 5000


def crate(root: Path, files: dict[str, bytes | str], lib: str | None = None) -> Path:
    """A package `t` whose lib.rs declares every file given (unless `lib` is given)."""
    (root / "src").mkdir(parents=True, exist_ok=True)
    (root / "Cargo.toml").write_text(
        '[package]\nname = "t"\nversion = "0.1.0"\nedition = "2021"\n', encoding="utf-8"
    )
    if lib is None:
        lib = "".join(f"mod {Path(name).stem};\n" for name in files)
    (root / "src" / "lib.rs").write_text(lib, encoding="utf-8")
    for name, data in files.items():
        path = root / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return root


def scan_json(
    root: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, Any], str]:
    code = main([str(root), "--format", "json", *extra])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, json.loads(captured.out), captured.err


def found(report: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(f["rule"], f["path"], f["line"]) for f in report["findings"]}


def problems(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(p["kind"], p["path"], p["message"]) for p in report["problems"]]


def assert_only_unreadable(code: int, report: dict[str, Any], path: str, reason: str) -> None:
    """The file at `path` was not scanned (for `reason`), `src/other.rs` still was: exit 3."""
    assert found(report) == {(RULE, "src/other.rs", BUG_LINE)}
    assert problems(report) == [("not-scanned", path, f"`{path}` could not be read: {reason}")]
    assert code == 3


# Encodings, sizes, emptiness ---------------------------------------------------------------------


def test_file_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Latin-1 bytes in a comment: rustc rejects the file, but its code can still be scanned."""
    crate(tmp_path, {"latin.rs": b"// caf\xe9 \xff\xfe\n" + BUG.encode()})
    code, report, _ = scan_json(tmp_path, capsys)
    assert found(report) == {(RULE, "src/latin.rs", BUG_LINE + 1)}
    assert code == 1


def test_file_with_nul_bytes_and_bidi_controls(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crate(tmp_path, {"odd.rs": "// \u202e\x00\u2066\n" + BUG})
    code, report, _ = scan_json(tmp_path, capsys)
    assert found(report) == {(RULE, "src/odd.rs", BUG_LINE + 1)}
    assert code == 1


def test_empty_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crate(tmp_path, {"empty.rs": b"", "blank.rs": b"\n\n  \n"})
    code, report, _ = scan_json(tmp_path, capsys)
    assert (code, report["findings"], report["problems"]) == (0, [], [])
    assert report["summary"]["files"] == 3


def test_ten_megabyte_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """10 MB before the bug: the bug at the end is still found, at the right line.

    The filler is mostly comments with a little code, so the test measures robustness (memory,
    positions past 2**23 bytes) rather than matching speed, which `bench/` measures.
    """
    filler = "// " + "generated table row, " * 4 + "\nconst _: u8 = 0;\n"
    copies = 10 * 1024 * 1024 // len(filler) + 1
    lines = copies * 2
    crate(tmp_path, {"big.rs": filler * copies + BUG})
    code, report, _ = scan_json(tmp_path, capsys)
    assert found(report) == {(RULE, "src/big.rs", lines + BUG_LINE)}
    assert code == 1


# Deep nesting: nothing may recurse per level ----------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "fn outer() " + "{" * DEPTH + "\n" + BUG + "}" * DEPTH + "\n",
        "fn outer() { let v = " + "(" * DEPTH + "1" + ")" * DEPTH + "; }\n" + BUG,
        "fn outer() { let v = " + "[" * DEPTH + "]" * DEPTH + "; }\n" + BUG,
        "mod m { " * DEPTH + "\n" + BUG + "}" * DEPTH + "\n",
        "type T = " + "Vec<" * DEPTH + "u8" + ">" * DEPTH + ";\n" + BUG,
        "m!" + "(" * DEPTH + ")" * DEPTH + ";\n" + BUG,
        BUG.replace("Data { x, y }", "if true {" * DEPTH + "}" * DEPTH + " Data { x, y }"),
        BUG.replace("Data { x, y }", "let c = " + "|| " * DEPTH + "0; Data { x, y }"),
    ],
    ids=[
        "blocks-around",
        "parens-elsewhere",
        "arrays-elsewhere",
        "modules-around",
        "generic-type",
        "macro-tokens",
        "ifs-in-body",
        "closures-in-body",
    ],
)
def test_nested_five_thousand_levels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    assert parse_rust(code.encode()).root_node.has_error is False
    crate(tmp_path, {"deep.rs": code})
    exit_code, report, err = scan_json(tmp_path, capsys)
    assert report["problems"] == [], err
    assert [f["rule"] for f in report["findings"]] == [RULE]
    assert exit_code == 1


# The value that flows into the struct passes through 5,000 levels: `flows into` must follow it.
# Inputs for the recursive paths in dataflow.py (nested blocks `{{y}}` take the unsafe-block path).
# A 5,000-call method chain `y.cast().cast()…` also recurses (`_call`), but relations.py is
# quadratic in that depth and takes about ten minutes to get there, so it is not run here.
_DEEP_FLOWS = [
    BUG.replace(
        "Data { x, y }", "let z = " + "(" * DEPTH + "y" + ")" * DEPTH + "; Data { x, y: z }"
    ),
    BUG.replace("Data { x, y }", "unsafe {" * DEPTH + " Data { x, y } " + "}" * DEPTH),
    BUG.replace("Data { x, y }", "let z = y" + " as *mut String" * DEPTH + "; Data { x, y: z }"),
]


@pytest.mark.parametrize("code", _DEEP_FLOWS, ids=["parens", "unsafe-blocks", "casts"])
def test_nested_five_thousand_levels_on_the_flow_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], code: str
) -> None:
    crate(tmp_path, {"deep.rs": code})
    exit_code, report, _ = scan_json(tmp_path, capsys)
    assert report["problems"] == []
    assert found(report) == {(RULE, "src/deep.rs", BUG_LINE)}
    assert exit_code == 1


def test_a_module_declaring_macro_called_ten_thousand_times_and_five_thousand_levels_deep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`macro_mods`: every call declares `mod types;` again (the file is read once, and calls
    in it declare `src/types/types.rs`, absent, which rustc would reject), one call sits under
    5,000 inline modules in a macro's input: discovery ends, with the bug in `types.rs` found."""
    lib = (
        "macro_rules! prelude {\n    () => {\n        mod types;\n    };\n}\n"
        "macro_rules! items {\n    ($($i:item)*) => { $($i)* };\n}\n"
        "items! { "
        + "mod a { " * DEPTH
        + "prelude!();"
        + " }" * DEPTH
        + " }\n"
        + "prelude!();\n" * 10_000
    )
    crate(tmp_path, {"types.rs": "prelude!();\n" + BUG}, lib=lib)
    exit_code, report, err = scan_json(tmp_path, capsys)
    assert report["problems"] == [], err
    assert found(report) == {(RULE, "src/types.rs", BUG_LINE + 1)}
    assert report["summary"]["files"] == 2
    assert exit_code == 1


# Files tree-sitter cannot fully parse -----------------------------------------------------------


def test_broken_region_before_a_bug(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An ERROR region is a note; the bug after it is still matched."""
    broken = "fn broken( { let = ;; }\nimpl<T Foo for {\n\n" + BUG
    crate(tmp_path, {"broken.rs": broken})
    code, report, _ = scan_json(tmp_path, capsys)
    assert found(report) == {(RULE, "src/broken.rs", BUG_LINE + 3)}
    assert problems(report) == [
        (
            "partly-parsed",
            "src/broken.rs",
            "file partly parsed: tree-sitter-rust could not parse a region; "
            "the rest of the file was scanned",
        )
    ]
    assert report["summary"]["complete"] is True
    assert code == 1


def test_binary_garbage_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    garbage = bytes(range(256)) * 40
    crate(tmp_path, {"garbage.rs": garbage + b"\n" + BUG.encode()}, lib="mod garbage;\n" + BUG)
    code, report, _ = scan_json(tmp_path, capsys)
    assert (RULE, "src/lib.rs", BUG_LINE + 1) in found(report)
    assert code == 1


# Modules that point nowhere, or outside ---------------------------------------------------------


def test_mod_whose_file_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    crate(tmp_path, {"good.rs": BUG}, lib="mod good;\nmod gone;\n")
    code, report, _ = scan_json(tmp_path, capsys)
    assert found(report) == {(RULE, "src/good.rs", BUG_LINE)}
    assert problems(report) == [
        (
            "not-scanned",
            "src/lib.rs",
            "module `gone` declared at src/lib.rs:2:1 has no file "
            "(looked for src/gone.rs, src/gone/mod.rs)",
        )
    ]
    assert code == 3  # a file the crate compiles was not scanned: 3 wins over findings


def test_path_attribute_outside_the_package(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "pkg"
    (tmp_path / "secret.rs").write_text(BUG, encoding="utf-8")
    crate(root, {"good.rs": BUG}, lib='mod good;\n#[path = "../../secret.rs"]\nmod secret;\n')
    code, report, _ = scan_json(root, capsys)
    assert found(report) == {(RULE, "src/good.rs", BUG_LINE)}
    assert problems(report) == [
        (
            "not-scanned",
            "src/lib.rs",
            "module `secret` declared at src/lib.rs:3:1 points outside its package, to "
            "`../secret.rs`; it was not read",
        )
    ]
    assert code == 3


def test_include_outside_the_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "pkg"
    (tmp_path / "secret.rs").write_text(BUG, encoding="utf-8")
    crate(root, {}, lib='include!("../../secret.rs");\n')
    code, report, _ = scan_json(root, capsys)
    assert report["findings"] == []
    assert problems(report) == [
        (
            "not-scanned",
            "src/lib.rs",
            "`include!` at src/lib.rs:1:1 reads `../secret.rs`, which is outside its package; "
            "it was not read",
        )
    ]
    assert code == 3


def test_mod_cycle_through_path_attributes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`a.rs` declares `lib.rs` as a module again: each file is read once, the walk ends."""
    crate(
        tmp_path,
        {"a.rs": '#[path = "lib.rs"]\nmod again;\n' + BUG},
        lib='#[path = "a.rs"]\nmod a;\n',
    )
    code, report, _ = scan_json(tmp_path, capsys)
    assert found(report) == {(RULE, "src/a.rs", BUG_LINE + 2)}
    assert report["summary"]["files"] == 2
    assert code == 1


# Files that change under the scan ----------------------------------------------------------------


def _failing_read(monkeypatch: pytest.MonkeyPatch, victim: str, error: OSError) -> None:
    real_read = sources._read_with_stat

    def read(path: str) -> tuple[bytes, os.stat_result]:
        if os.path.basename(path) == victim:
            raise error
        return real_read(path)

    monkeypatch.setattr(sources, "_read_with_stat", read)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (FileNotFoundError(2, "No such file or directory"), "No such file or directory"),
        (PermissionError(13, "Permission denied"), "Permission denied"),
        (IsADirectoryError(21, "Is a directory"), "Is a directory"),
        (OSError(5, "Input/output error"), "Input/output error"),
    ],
    ids=["vanished", "unreadable", "became-a-folder", "io-error"],
)
def test_file_that_cannot_be_read_mid_scan(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    error: OSError,
    reason: str,
) -> None:
    """The file was listed, then could not be read: reported, and the other files' findings kept."""
    crate(tmp_path, {"victim.rs": BUG, "other.rs": BUG})
    _failing_read(monkeypatch, "victim.rs", error)
    code, report, err = scan_json(tmp_path, capsys)
    assert_only_unreadable(code, report, "src/victim.rs", reason)
    assert "1 file not scanned" in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_where_a_module_file_should_be_is_not_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Opening a pipe for reading waits for a writer: the scan would hang on it for ever."""
    crate(tmp_path, {"other.rs": BUG, "pipe.rs": ""})
    (tmp_path / "src" / "pipe.rs").unlink()
    os.mkfifo(tmp_path / "src" / "pipe.rs")
    code, report, _ = scan_json(tmp_path, capsys)
    reason = "not a regular file (a pipe, socket or device)"
    assert_only_unreadable(code, report, "src/pipe.rs", reason)


def test_file_that_vanishes_between_listing_and_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--all-files` lists a folder, then the file is gone when it is read."""
    crate(tmp_path, {"other.rs": BUG}, lib="mod other;\n")
    (tmp_path / "src" / "loose.rs").write_text(BUG, encoding="utf-8")
    real_read = sources._read_with_stat

    def read(path: str) -> tuple[bytes, os.stat_result]:
        if path.endswith("loose.rs"):
            os.unlink(path)
        return real_read(path)

    monkeypatch.setattr(sources, "_read_with_stat", read)
    code, report, _ = scan_json(tmp_path, capsys, "--all-files")
    assert_only_unreadable(code, report, "src/loose.rs", "No such file or directory")


def test_folder_that_cannot_be_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    crate(tmp_path, {"other.rs": BUG}, lib="mod other;\n")
    (tmp_path / "src" / "locked").mkdir()
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, report, _ = scan_json(tmp_path, capsys, "--all-files")
    assert found(report) == {(RULE, "src/other.rs", BUG_LINE)}
    assert problems(report) == [
        (
            "not-scanned",
            "src/locked",
            "`src/locked` could not be listed: Permission denied; it was not scanned",
        )
    ]
    assert code == 3
