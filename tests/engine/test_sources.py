"""Source collection: the files rustc would compile, found by following `mod` declarations.

The expected sets for `root_package` were checked against rustc's own dep-info (`cargo check`
writes the list of files each crate read): they are equal, plus `src/other_impl.rs`, the
`cfg_attr` alternative for non-unix targets, which a scanner that ignores cfg must also read.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from tree_sitter import Tree
from ws_helpers import FIXTURES, package, write_tree

from unsound.engine.sources import SourceFile, collect_sources
from unsound.engine.workspace import load_workspace, select_packages
from unsound.model import ProblemKind, ScanProblem


def rel_paths(files: Iterable[SourceFile]) -> set[str]:
    return {source.rel_path for source in files}


ROOT_PACKAGE = FIXTURES / "root_package"
VIRTUAL = FIXTURES / "virtual_globs"
WITH_TARGET = FIXTURES / "with_target_dir"

APP_FILES = {
    "benches/speed.rs",
    "build.rs",
    "examples/demo.rs",
    "examples/multi/helper.rs",
    "examples/multi/main.rs",
    "src/bin/extra.rs",
    "src/cli.rs",
    "src/custom/renamed.rs",
    "src/custom/sibling.rs",
    "src/dir/deep.rs",
    "src/folder/mod.rs",
    "src/from_macro.rs",
    "src/inline/inner.rs",
    "src/inline_with_path/other.rs",
    "src/lib.rs",
    "src/main.rs",
    "src/nested.rs",
    "src/nested/child.rs",
    "src/nested/child/grandchild.rs",
    "src/nested/inl/x.rs",
    "src/other_impl.rs",
    "src/plain.rs",
    "src/type.rs",
    "src/unix_impl.rs",
    "tests/smoke.rs",
    "tests/suite/cases.rs",
    "tests/suite/main.rs",
}


def _collect(
    start: Path, *, all_files: bool = False, keep_trees: bool = True, **flags: object
) -> tuple[tuple[SourceFile, ...], tuple[ScanProblem, ...]]:
    ws = load_workspace(start)
    selected = select_packages(ws, **flags)  # type: ignore[arg-type]
    return collect_sources(selected, ws.root, all_files=all_files, keep_trees=keep_trees)


def test_root_package_files_follow_mod_declarations() -> None:
    files, problems = _collect(ROOT_PACKAGE / "Cargo.toml")
    assert rel_paths(files) == APP_FILES
    assert problems == ()
    assert {source.crate for source in files} == {"app"}


def test_each_file_is_read_once_and_sorted() -> None:
    # src/plain.rs is declared twice (`mod plain;` and `#[path = "plain.rs"] mod plain_again;`).
    files, _ = _collect(ROOT_PACKAGE / "Cargo.toml")
    paths = [source.rel_path for source in files]
    assert paths == sorted(APP_FILES)


def test_source_file_fields() -> None:
    files, _ = _collect(ROOT_PACKAGE / "Cargo.toml")
    by_path = {source.rel_path: source for source in files}
    lib = by_path["src/lib.rs"]
    assert lib.path == ROOT_PACKAGE.resolve() / "src/lib.rs"
    assert lib.data == lib.path.read_bytes()
    # Files that declare modules were parsed to find them; the tree is kept for the scan.
    assert isinstance(lib.tree, Tree)
    assert lib.tree.root_node.type == "source_file"
    assert by_path["src/plain.rs"].tree is None


def test_workspace_files_with_crate_names() -> None:
    files, problems = _collect(ROOT_PACKAGE / "Cargo.toml", workspace=True)
    crates = {source.rel_path: source.crate for source in files}
    assert crates["core/src/lib.rs"] == "core_lib"
    assert crates["plugins/one/src/lib.rs"] == "plugin-one"
    assert rel_paths(files) == APP_FILES | {
        "core/src/lib.rs",
        "plugins/one/src/lib.rs",
        "plugins/two/src/lib.rs",
    }
    assert problems == ()


def test_unreached_file_only_with_all_files() -> None:
    files, problems = _collect(ROOT_PACKAGE / "Cargo.toml", all_files=True)
    # Nested member packages (core/, plugins/) are not part of app's folder walk.
    assert rel_paths(files) == APP_FILES | {"src/unreached.rs"}
    assert problems == ()


def test_virtual_workspace_all_members() -> None:
    files, problems = _collect(VIRTUAL / "Cargo.toml", workspace=True)
    assert rel_paths(files) == {
        "crates/alpha/src/lib.rs",
        "crates/beta/src/bin/multi/args.rs",
        "crates/beta/src/bin/multi/main.rs",
        "crates/beta/src/bin/tool.rs",
        "crates/beta/src/lib.rs",
        "crates/beta/src/main.rs",
        "helpers/helper/src/lib.rs",
        "libs/shared/src/lib.rs",
        "tools/cli/build.rs",
        "tools/cli/src/main.rs",
        "tools/gen/src/lib.rs",
    }
    assert problems == ()


def test_all_files_skips_nested_packages_hidden_folders_and_excluded_members() -> None:
    files, _ = _collect(VIRTUAL / "crates/alpha/Cargo.toml", all_files=True)
    # Not crates/alpha/nested/src/lib.rs (another package), not crates/alpha/.hidden/hidden.rs.
    assert rel_paths(files) == {"crates/alpha/src/lib.rs", "crates/alpha/src/unreached.rs"}


def test_default_selection_paths_are_relative_to_the_workspace_root() -> None:
    files, _ = _collect(VIRTUAL / "crates/beta/Cargo.toml")
    assert "crates/beta/src/bin/multi/args.rs" in rel_paths(files)


def test_target_folder_is_never_scanned() -> None:
    files, problems = _collect(WITH_TARGET / "Cargo.toml", all_files=True)
    assert (WITH_TARGET / "target/planted.rs").is_file()
    assert rel_paths(files) == {"src/lib.rs", "src/real.rs"}
    assert problems == (
        ScanProblem(
            "src/lib.rs",
            ProblemKind.NOT_SCANNED,
            "module `planted` declared at src/lib.rs:7:1 loads `target/planted.rs`, which is"
            " build output (in Cargo's target folder), which is never scanned; it was not read",
            7,
            1,
        ),
    )


def test_cargo_target_dir_is_never_scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_tree(
        tmp_path,
        {"Cargo.toml": package("p"), "src/lib.rs": "", "build-out/gen.rs": "", "src/x/y.rs": ""},
    )
    monkeypatch.setenv("CARGO_TARGET_DIR", str(root / "build-out"))
    files, problems = _collect(root / "Cargo.toml", all_files=True)
    assert rel_paths(files) == {"src/lib.rs", "src/x/y.rs"}
    assert problems == ()


def test_missing_module_file_is_a_problem(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": package("p"),
            "src/lib.rs": '//! docs\n\n  pub mod gone;\n#[path = "nowhere.rs"] mod elsewhere;\n',
        },
    )
    files, problems = _collect(root / "Cargo.toml")
    assert rel_paths(files) == {"src/lib.rs"}
    assert problems == (
        ScanProblem(
            "src/lib.rs",
            ProblemKind.NOT_SCANNED,
            "module `gone` declared at src/lib.rs:3:3 has no file"
            " (looked for src/gone.rs, src/gone/mod.rs)",
            3,
            3,
        ),
        ScanProblem(
            "src/lib.rs",
            ProblemKind.NOT_SCANNED,
            "module `elsewhere` declared at src/lib.rs:4:24 has no file"
            " (looked for src/nowhere.rs)",
            4,
            24,
        ),
    )


def test_nested_missing_module_reports_the_declaring_file(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {"Cargo.toml": package("p"), "src/lib.rs": "mod a;\n", "src/a.rs": "mod b;\n"},
    )
    _, problems = _collect(root / "Cargo.toml")
    assert [(p.path, p.message) for p in problems] == [
        (
            "src/a.rs",
            "module `b` declared at src/a.rs:1:1 has no file"
            " (looked for src/a/b.rs, src/a/b/mod.rs)",
        ),
    ]


def test_conditional_declarations_without_files_are_fine(tmp_path: Path) -> None:
    lib = (
        "#[cfg(windows)]\nmod win;\n"
        "cfg_if::cfg_if! { if #[cfg(unix)] { mod unix; } else { mod other; } }\n"
        '#[cfg_attr(unix, path = "u.rs")]\nmod imp;\n'
        "fn f() { mod in_block; }\n"
    )
    root = write_tree(
        tmp_path,
        {"Cargo.toml": package("p"), "src/lib.rs": lib, "src/unix.rs": "", "src/u.rs": ""},
    )
    files, problems = _collect(root / "Cargo.toml")
    assert rel_paths(files) == {"src/lib.rs", "src/unix.rs", "src/u.rs"}
    assert problems == ()


def test_both_module_files_present_are_both_scanned(tmp_path: Path) -> None:
    # rustc rejects this (E0761); scanning both loses nothing.
    root = write_tree(
        tmp_path,
        {"Cargo.toml": package("p"), "src/lib.rs": "mod m;", "src/m.rs": "", "src/m/mod.rs": ""},
    )
    files, problems = _collect(root / "Cargo.toml")
    assert rel_paths(files) == {"src/lib.rs", "src/m.rs", "src/m/mod.rs"}
    assert problems == ()


def test_path_attribute_in_block_and_in_inline_module_of_a_non_mod_rs_file(
    tmp_path: Path,
) -> None:
    files_in = {
        "Cargo.toml": package("p"),
        "src/lib.rs": 'mod a;\nfn f() {\n    #[path = "blk.rs"]\n    mod blk;\n}\n',
        "src/a.rs": 'mod inline {\n    mod deep;\n    #[path = "p.rs"]\n    mod p;\n}\n',
        "src/a/inline/deep.rs": "",
        "src/a/inline/p.rs": "",
        "src/blk.rs": "",
    }
    root = write_tree(tmp_path, files_in)
    files, problems = _collect(root / "Cargo.toml")
    assert rel_paths(files) == {
        "src/lib.rs",
        "src/a.rs",
        "src/a/inline/deep.rs",
        "src/a/inline/p.rs",
        "src/blk.rs",
    }
    assert problems == ()


def test_path_to_another_folder_of_the_workspace_is_read(tmp_path: Path) -> None:
    """rustc compiles it, and it is inside the tree we were asked to scan (rust-openssl's
    `systest/build.rs` includes `openssl-sys/build/cfgs.rs` this way)."""
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["p"]\n',
            "p/Cargo.toml": package("p"),
            "p/src/lib.rs": '#[path = "../../shared.rs"]\nmod shared;\n',
            "shared.rs": "pub unsafe fn f() {}",
        },
    )
    files, problems = _collect(root / "Cargo.toml")
    assert rel_paths(files) == {"p/src/lib.rs", "shared.rs"}
    assert problems == ()


def test_path_escaping_the_workspace_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "secret.rs").write_text("pub unsafe fn f() {}")
    root = write_tree(
        tmp_path / "ws",
        {
            "Cargo.toml": '[workspace]\nmembers = ["p"]\n',
            "p/Cargo.toml": package("p"),
            "p/src/lib.rs": '#[path = "../../../secret.rs"]\nmod secret;\n',
        },
    )
    files, problems = _collect(root / "Cargo.toml")
    assert rel_paths(files) == {"p/src/lib.rs"}
    assert problems == (
        ScanProblem(
            "p/src/lib.rs",
            ProblemKind.NOT_SCANNED,
            "module `secret` declared at p/src/lib.rs:2:1 points outside its package,"
            " to `../secret.rs`; it was not read",
            2,
            1,
        ),
    )


def test_symlink_out_of_the_workspace_is_not_followed(tmp_path: Path) -> None:
    outside = write_tree(tmp_path / "outside", {"secret.rs": "pub fn secret() {}"})
    root = write_tree(tmp_path / "ws", {"Cargo.toml": package("p"), "src/lib.rs": "mod linked;\n"})
    (root / "src/linked.rs").symlink_to(outside / "secret.rs")
    (root / "src/dir").symlink_to(outside, target_is_directory=True)
    files, problems = _collect(root / "Cargo.toml", all_files=True)
    assert rel_paths(files) == {"src/lib.rs"}
    assert [(p.path, p.message) for p in problems] == [
        (
            "src/dir",
            "`src/dir` is outside the workspace (after following symlinks); it was not scanned",
        ),
        (
            "src/lib.rs",
            "module `linked` declared at src/lib.rs:1:1 loads `src/linked.rs`, which"
            " is outside the workspace (after following symlinks); it was not read",
        ),
        (
            "src/linked.rs",
            "`src/linked.rs` is outside the workspace (after following symlinks); it was not read",
        ),
    ]


def test_symlink_loops_end(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": package("p"), "src/lib.rs": "", "src/a/x.rs": ""})
    (root / "src/a/loop").symlink_to(root / "src", target_is_directory=True)
    (root / "src/self.rs").symlink_to(root / "src/self.rs")
    files, problems = _collect(root / "Cargo.toml", all_files=True)
    assert rel_paths(files) == {"src/lib.rs", "src/a/x.rs"}
    assert [(p.path, p.message.split(":")[0]) for p in problems] == [
        ("src/self.rs", "`src/self.rs` could not be read"),
    ]


def test_file_reached_through_an_inside_symlink_is_read_once(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path, {"Cargo.toml": package("p"), "src/lib.rs": "mod a;\nmod b;\n", "src/a.rs": ""}
    )
    (root / "src/b.rs").symlink_to(root / "src/a.rs")
    files, problems = _collect(root / "Cargo.toml")
    assert rel_paths(files) == {"src/lib.rs", "src/a.rs"}
    assert problems == ()


def test_unreadable_file_and_missing_crate_root(tmp_path: Path) -> None:
    extra = '\n[[bin]]\nname = "ghost"\npath = "src/ghost.rs"\n'
    root = write_tree(tmp_path, {"Cargo.toml": package("p", extra), "src/lib.rs": "mod d;\n"})
    (root / "src/d.rs").mkdir()
    files, problems = _collect(root / "Cargo.toml")
    assert rel_paths(files) == {"src/lib.rs"}
    assert [(p.path, p.message) for p in problems] == [
        ("src/d.rs", "`src/d.rs` could not be read: Is a directory"),
        ("src/ghost.rs", "crate root of bin `ghost` does not exist"),
    ]
    assert all(p.kind is ProblemKind.NOT_SCANNED for p in problems)


def test_non_utf8_bytes_are_kept(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": package("p"), "src/lib.rs": "mod latin;\n"})
    (root / "src/latin.rs").write_bytes(b"// caf\xe9\nmod inner;\n")
    (root / "src/latin").mkdir()
    (root / "src/latin/inner.rs").write_bytes(b"")
    files, problems = _collect(root / "Cargo.toml")
    by_path = {source.rel_path: source for source in files}
    assert by_path["src/latin.rs"].data == b"// caf\xe9\nmod inner;\n"
    assert "src/latin/inner.rs" in by_path
    assert problems == ()


def test_raw_identifier_and_nested_folders(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": package("p"),
            "src/lib.rs": "mod r#match;\n",
            "src/match.rs": "mod r#in;\n",
            "src/match/in/mod.rs": "",
        },
    )
    files, problems = _collect(root / "Cargo.toml")
    assert rel_paths(files) == {"src/lib.rs", "src/match.rs", "src/match/in/mod.rs"}
    assert problems == ()


def test_item_position_includes_are_read_in_the_including_module(tmp_path: Path) -> None:
    lib = (
        'include!("gen/items.rs");\n'
        'mod inner {\n    std::include!("../more.rs");\n}\n'
        'fn f() -> u32 {\n    include!("data.rs")\n}\n'
        'include!(concat!(env!("OUT_DIR"), "/out.rs"));\n'
        'include!("../../outside.rs");\n'
    )
    root = write_tree(
        tmp_path / "ws",
        {
            "Cargo.toml": package("p"),
            "src/lib.rs": lib,
            # Resolves from the included file's folder, as rustc does: src/gen/child.rs.
            "src/gen/items.rs": "mod child;\n",
            "src/gen/child.rs": "",
            "src/child.rs": "",  # where the including module would put it: not read
            "more.rs": "",  # relative to the including file: src/../more.rs
            "src/data.rs": "1",  # expression position: data, not items
        },
    )
    write_tree(tmp_path, {"outside.rs": ""})
    files, problems = _collect(root / "Cargo.toml")
    assert rel_paths(files) == {"src/lib.rs", "src/gen/items.rs", "src/gen/child.rs", "more.rs"}
    assert [(p.path, p.line, p.column, p.message) for p in problems] == [
        (
            "src/lib.rs",
            9,
            1,
            "`include!` at src/lib.rs:9:1 reads `../outside.rs`, which is outside its package;"
            " it was not read",
        ),
    ]


def test_modules_an_included_file_declares_resolve_from_its_own_folder(tmp_path: Path) -> None:
    """crosvm's and tonic's shapes: inline modules and `#[path]` inside an `include!`d file
    start from that file's folder, and the including module's inline modules do not count."""
    tree = {
        "Cargo.toml": package("p"),
        "src/lib.rs": 'include!("bindings/include_modules.rs");\nmod outer;\n',
        "src/bindings/include_modules.rs": "pub mod client {\n    pub mod spaced;\n}\n",
        "src/bindings/client/spaced.rs": "",
        "src/outer.rs": 'mod inner {\n    include!("../generated/generated.rs");\n}\n',
        "generated/generated.rs": '#[path = "hello.pb.rs"]\nmod hello;\nmod plain;\n',
        "generated/hello.pb.rs": "",
        "generated/plain.rs": "",
    }
    files, problems = _collect(write_tree(tmp_path / "ws", tree) / "Cargo.toml")
    assert rel_paths(files) == set(tree) - {"Cargo.toml"}
    assert problems == ()


def test_includes_in_a_macros_input_are_read_in_item_position_only(tmp_path: Path) -> None:
    """`cfg_if!`-style item macros expand an `include!("imp.rs");` into the module's items; an
    `include!` as an expression (`= include!("table.rs")`) holds data, and a C++ header named
    in a `cxx::bridge`-like macro's input is never Rust."""
    lib = (
        ITEMS_MACRO
        + "macro_rules! swallow {\n    ($($t:tt)*) => {};\n}\n\n"
        + 'items! {\n    include!("imp.rs");\n'
        + '    static TABLE: [u8; 1] = include!("table.rs");\n}\n\n'
        + 'swallow! {\n    unsafe extern "C++" {\n        include!("shim.h");\n    }\n}\n'
    )
    tree = {
        "Cargo.toml": package("p"),
        "src/lib.rs": lib,
        "src/imp.rs": "pub fn f() {}\n",
        "src/table.rs": "[0]\n",
        "src/shim.h": "// C++\n",
    }
    root = write_tree(tmp_path / "ws", tree)
    for keep_trees in (True, False):
        files, problems = _collect(root / "Cargo.toml", keep_trees=keep_trees)
        assert rel_paths(files) == {"src/lib.rs", "src/imp.rs"}
        assert problems == ()


def test_modules_a_macro_rules_declares_from_its_input_are_followed(tmp_path: Path) -> None:
    """wasm-tools' `subcommands!` expands to `pub mod $name;` for each name it is given: each
    identifier of a call with a file is followed; the others (`Parse`) load nothing, quietly."""
    lib = (
        "macro_rules! subcommands {\n    ($(($name:ident, $Ty:ident))*) => {\n"
        "        $(pub mod $name;)*\n    };\n}\n\n"
        "subcommands! {\n    (parse, Parse)\n    (validate, Validate)\n}\n"
    )
    tree = {
        "Cargo.toml": package("p"),
        "src/lib.rs": lib,
        "src/parse.rs": "pub struct Parse;\n",
        "src/validate.rs": "pub struct Validate;\n",
    }
    root = write_tree(tmp_path / "ws", tree)
    for keep_trees in (True, False):
        files, problems = _collect(root / "Cargo.toml", keep_trees=keep_trees)
        assert rel_paths(files) == set(tree) - {"Cargo.toml"}
        assert problems == ()


def test_declarations_split_by_comments_are_found_and_inline_only_files_are_not_parsed(
    tmp_path: Path,
) -> None:
    lib = "pub mod /* the */ odd // name\n    ;\n#[cfg(test)]\nmod tests {\n    fn t() {}\n}\n"
    root = write_tree(
        tmp_path,
        {"Cargo.toml": package("p"), "src/lib.rs": lib, "src/odd.rs": "mod tests { }\n"},
    )
    files, problems = _collect(root / "Cargo.toml")
    by_path = {source.rel_path: source for source in files}
    assert set(by_path) == {"src/lib.rs", "src/odd.rs"}
    assert by_path["src/lib.rs"].tree is not None
    assert by_path["src/odd.rs"].tree is None  # inline modules only: nothing to follow
    assert problems == ()


def test_inline_module_inside_a_macro_body(tmp_path: Path) -> None:
    # tokio: `cfg_aio! { pub mod bsd { mod poll_aio; } }` loads src/io/bsd/poll_aio.rs.
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": package("p"),
            "src/lib.rs": "mod io;\n",
            "src/io.rs": "cfg_aio! {\n    pub mod bsd {\n        mod poll_aio;\n    }\n}\n",
            "src/io/bsd/poll_aio.rs": "",
        },
    )
    files, problems = _collect(root / "Cargo.toml")
    assert rel_paths(files) == {"src/lib.rs", "src/io.rs", "src/io/bsd/poll_aio.rs"}
    assert problems == ()


def test_a_doc_comment_about_include_does_not_hang_the_search() -> None:
    """`include` followed by `//`-heavy comment lines and no `!` once made the regex
    backtrack exponentially (it hung on wasmtime's component/mod.rs)."""
    import time

    from unsound.engine import mod_decls

    text = b"/// includes\n" + b"///     // containing lists are excluded; // to include\n" * 40
    started = time.perf_counter()
    assert mod_decls._INCLUDE_CALL.search(text) is None
    assert mod_decls._OUT_OF_LINE_MOD.search(b"mod x\n" + text) is None
    assert time.perf_counter() - started < 5  # exponential backtracking takes minutes


def test_in_process_and_streamed_discovery_agree_on_a_broken_file(tmp_path: Path) -> None:
    """An unclosed brace after the last declaration: tree-sitter's recovery of the whole file
    swallows the `include!` above it; both ways of discovery (keeping trees for an in-process
    scan, or not for workers) read the error-free part before it and find the same files."""
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": package("p"),
            "src/lib.rs": (
                "pub mod a;\npub fn run() -> u8 {\n    1\n}\n"
                'include!("extra.rs");\n\nmod b;\nfn tail() {\n{\n    let x = 1;\n}\n'
            ),
            "src/a.rs": "",
            "src/b.rs": "",
            "src/extra.rs": "pub fn extra() {}\n",
        },
    )
    ws = load_workspace(root / "Cargo.toml")
    selected = select_packages(ws)
    kept, kept_problems = collect_sources(selected, ws.root, keep_trees=True)
    streamed, streamed_problems = collect_sources(selected, ws.root, keep_trees=False)
    expected = {"src/lib.rs", "src/a.rs", "src/b.rs", "src/extra.rs"}
    assert rel_paths(kept) == rel_paths(streamed) == expected
    assert kept_problems == streamed_problems == ()


ITEMS_MACRO = "macro_rules! items {\n    ($($item:item)*) => { $($item)* };\n}\n\n"


@pytest.mark.parametrize(
    "tree",
    [
        # mio's `cfg_os_poll! { #[cfg_attr(…, path = "selector/epoll.rs")] mod selector; }`.
        {
            "src/lib.rs": ITEMS_MACRO + "items! {\n"
            '    #[cfg_attr(unix, path = "imp/unix.rs")]\n'
            '    #[cfg_attr(not(unix), path = "imp/other.rs")]\n'
            "    mod imp;\n}\n",
            "src/imp/unix.rs": "",
            "src/imp/other.rs": "",
        },
        # A `path` only inside a nested `cfg_attr`, then beside a flat one.
        {
            "src/lib.rs": '#[cfg_attr(all(), cfg_attr(all(), path = "platform.rs"))]\nmod imp;\n',
            "src/platform.rs": "",
        },
        {
            "src/lib.rs": '#[cfg_attr(unix, cfg_attr(target_os = "linux", path = "a.rs"))]\n'
            '#[cfg_attr(not(all(unix, target_os = "linux")), path = "b.rs")]\n'
            "mod imp;\n",
            "src/a.rs": "",
            "src/b.rs": "",
        },
        # A doc comment between `#[path]` and `mod` in a macro's input.
        {
            "src/lib.rs": ITEMS_MACRO
            + 'items! {\n    #[path = "unix/imp.rs"]\n    /// The Unix one.\n    mod imp;\n}\n',
            "src/unix/imp.rs": "",
        },
        # A non-ASCII name (rustc wants a `#[path]` for it), alone and after an ASCII one.
        {"src/lib.rs": '#[path = "cafe.rs"]\npub mod café;\n', "src/cafe.rs": ""},
        {
            "src/lib.rs": 'pub mod a;\n#[path = "cafe.rs"]\npub mod café;\n',
            "src/a.rs": "",
            "src/cafe.rs": "",
        },
        # `#[path]` in an inline module inside a function of `a.rs`: rustc drops the pending
        # `a/` in a block, so the file is `inl/x.rs` beside `a.rs`.
        {
            "src/lib.rs": "pub mod a;\n",
            "src/a.rs": 'pub fn f() {\n    mod inl {\n        #[path = "x.rs"]\n'
            "        pub mod m;\n    }\n}\n",
            "src/inl/x.rs": "",
        },
        # `cfg_attr(…, path = "dir")` on an inline module: each folder may hold the module.
        {
            "src/lib.rs": '#[cfg_attr(unix, path = "sys_unix")]\n'
            '#[cfg_attr(not(unix), path = "sys_other")]\nmod sys {\n    pub mod imp;\n}\n',
            "src/sys_unix/imp.rs": "",
            "src/sys_other/imp.rs": "",
        },
        # An inline module under `#[cfg]`: rustc may never look for the file (a generated one).
        {"src/lib.rs": '#[cfg(feature = "regenerate")]\nmod bindings {\n    mod generated;\n}\n'},
    ],
    ids=[
        "cfg-attr-in-macro",
        "nested-cfg-attr",
        "nested-and-flat-cfg-attr",
        "doc-after-path",
        "non-ascii-name",
        "non-ascii-name-after-ascii",
        "path-in-inline-mod-in-fn",
        "cfg-attr-folder-of-inline-mod",
        "cfg-on-inline-mod",
    ],
)
@pytest.mark.parametrize("keep_trees", [True, False], ids=["in-process", "for-workers"])
def test_path_attributes_rustc_reads_are_followed(
    tmp_path: Path, tree: dict[str, str], keep_trees: bool
) -> None:
    root = write_tree(tmp_path / "ws", {"Cargo.toml": package("p"), **tree})
    files, problems = _collect(root / "Cargo.toml", keep_trees=keep_trees)
    assert rel_paths(files) == set(tree)
    assert problems == ()
