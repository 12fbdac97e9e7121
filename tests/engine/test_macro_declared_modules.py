"""Modules declared by a crate's `macro_rules!` where the macro is called (`macro_mods`).

The crate below was checked with `cargo check` (rustc 1.95): its dep-info lists exactly
`src/lib.rs src/macros.rs src/sub.rs src/types.rs src/parse.rs src/sub/types.rs
src/other/types.rs`. libc has the
first shape: `macro_rules! prelude { () => { mod types; … } }` in `src/macros.rs`, called as
`prelude!();` in `src/lib.rs`, loads `src/types.rs`, which discovery missed before.
"""

from __future__ import annotations

from pathlib import Path

from test_scan_support import rule_findings
from ws_helpers import package, write_tree

from unsound.engine.sources import collect_sources
from unsound.engine.workspace import load_workspace, select_packages

LIB = """#[macro_use]
mod macros;

prelude!();

subcommands! {
    (parse, Parse)
}

pub mod sub;

// libc calls `prelude!();` in each branch of a `cfg_if! { … }`: a call in another macro's input.
items! {
    pub mod other {
        prelude!();
    }
}

pub fn first(v: &[u8]) -> u8 {
    types::head(v)
}

pub fn in_a_body() {
    // Items of a block: no `mod name;` there can load a file.
    blocked!();
}
"""

MACROS = """macro_rules! prelude {
    () => {
        mod types;
        #[allow(unused_imports)]
        pub(crate) use types::*;
    };
}

macro_rules! subcommands {
    ($(($name:ident, $ty:ident))*) => {
        $(pub mod $name;)*
    };
}

macro_rules! items {
    ($($item:item)*) => {
        $($item)*
    };
}

macro_rules! blocked {
    () => {
        #[allow(dead_code)]
        struct Blocked;
    };
    (never) => {
        mod never;
    };
}
"""

TYPES = """pub fn head(v: &[u8]) -> u8 {
    unsafe { *v.as_ptr() }
}

pub fn forever(s: &str) -> &'static str {
    unsafe { std::mem::transmute(s) }
}
"""

CRATE = {
    "Cargo.toml": package("mm"),
    "src/lib.rs": LIB,
    "src/macros.rs": MACROS,
    "src/types.rs": TYPES,
    "src/parse.rs": "pub struct Parse;\n",
    # `prelude!()` called in `sub`: its `mod types;` is `sub`'s child.
    "src/sub.rs": "prelude!();\n",
    "src/sub/types.rs": "pub fn tail(v: &[u8]) -> u8 {\n    v[v.len() - 1]\n}\n",
    "src/other/types.rs": "pub struct Other;\n",
    # What `blocked!()` would declare if it were called at item position: never read.
    "src/never.rs": "pub struct Never;\n",
}


def _files(root: Path, keep_trees: bool) -> tuple[set[str], tuple[object, ...]]:
    ws = load_workspace(root / "Cargo.toml")
    files, problems = collect_sources(select_packages(ws), ws.root, keep_trees=keep_trees)
    return {source.rel_path for source in files}, problems


def test_modules_a_macro_declares_resolve_from_each_call(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "ws", CRATE)
    expected = {
        "src/lib.rs",
        "src/macros.rs",
        "src/sub.rs",
        "src/types.rs",
        "src/parse.rs",
        "src/sub/types.rs",
        "src/other/types.rs",
    }
    for keep_trees in (True, False):
        assert _files(root, keep_trees) == (expected, ())


def test_a_finding_in_a_file_only_a_macro_declares_is_reported(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "ws", CRATE)
    assert rule_findings(root, "transmute-extends-lifetime") == [
        ("transmute-extends-lifetime", "src/types.rs", 6, 14)
    ]


def test_a_declaring_macro_in_a_module_read_later_is_found_for_earlier_calls(
    tmp_path: Path,
) -> None:
    """The call (`src/lib.rs`) is read before the file defining the macro (`src/z/defs.rs`,
    reached through `src/z.rs`), and the declared file defines another declaring macro whose
    call in `src/lib.rs` declares one more: the discovery runs until nothing new turns up.
    (`cargo check`: dep-info `src/lib.rs src/z.rs src/z/defs.rs src/first.rs src/second.rs`.)"""
    tree = {
        "Cargo.toml": package("late"),
        "src/lib.rs": "#[macro_use]\nmod z;\n\nouter!();\ninner!();\n",
        "src/z.rs": "#[macro_use]\nmod defs;\n",
        "src/z/defs.rs": (
            "macro_rules! outer {\n    () => {\n        #[macro_use]\n        mod first;\n"
            "    };\n}\n"
        ),
        "src/first.rs": "macro_rules! inner {\n    () => {\n        mod second;\n    };\n}\n",
        "src/second.rs": "pub struct Second;\n",
    }
    root = write_tree(tmp_path / "ws", tree)
    assert _files(root, keep_trees=False) == (set(tree) - {"Cargo.toml"}, ())


def test_the_declaring_macros_survive_the_scan_cache(tmp_path: Path) -> None:
    """A rescan takes `src/macros.rs`'s declarations (its macros among them) from the cache;
    after an edit of `src/lib.rs` its discovery runs again and still reaches `src/types.rs`."""
    root = write_tree(tmp_path / "ws", CRATE)
    expected = [("transmute-extends-lifetime", "src/types.rs", 6, 14)]
    assert rule_findings(root, "transmute-extends-lifetime", use_cache=True) == expected
    assert rule_findings(root, "transmute-extends-lifetime", use_cache=True) == expected
    (root / "src/lib.rs").write_text(LIB + "\npub fn added() {}\n", encoding="utf-8")
    assert rule_findings(root, "transmute-extends-lifetime", use_cache=True) == expected


def test_a_macro_making_modules_from_its_input_may_be_called_in_another_file(
    tmp_path: Path,
) -> None:
    """wasm-tools' `mod $name;` shape with the macro in `src/macros.rs` (defined after the
    file's last `mod name;`, never called there) and the call in `src/cmds.rs`
    (`cargo check`: dep-info `src/lib.rs src/macros.rs src/cmds.rs src/cmds/parse.rs`)."""
    tree = {
        "Cargo.toml": package("cmds"),
        "src/lib.rs": "#[macro_use]\nmod macros;\npub mod cmds;\n",
        "src/macros.rs": (
            "mod helpers {}\n\nmacro_rules! subcommands {\n    ($($name:ident)*) => {\n"
            "        $(pub mod $name;)*\n    };\n}\n"
        ),
        "src/cmds.rs": "subcommands! {\n    parse\n}\n",
        "src/cmds/parse.rs": "pub struct Parse;\n",
    }
    root = write_tree(tmp_path / "ws", tree)
    for keep_trees in (True, False):
        assert _files(root, keep_trees) == (set(tree) - {"Cargo.toml"}, ())


def test_a_macro_given_the_path_of_the_module_it_declares(tmp_path: Path) -> None:
    """`#[path = $p] mod $name;`: the call passes the path, read from the calling file's folder
    (`cargo check`: dep-info `src/lib.rs src/platform/unix.rs src/sub.rs src/impls/x.rs`)."""
    tree = {
        "Cargo.toml": package("pm"),
        "src/lib.rs": (
            "macro_rules! module_at {\n    ($name:ident, $path:literal) => {\n"
            "        #[path = $path]\n        pub mod $name;\n    };\n}\n\n"
            'module_at!(imp, "platform/unix.rs");\n\npub mod sub;\n'
        ),
        "src/platform/unix.rs": "pub fn g() -> u8 {\n    1\n}\n",
        "src/sub.rs": 'module_at!(x, "impls/x.rs");\n',
        "src/impls/x.rs": "pub struct X;\n",
    }
    root = write_tree(tmp_path / "ws", tree)
    for keep_trees in (True, False):
        assert _files(root, keep_trees) == (set(tree) - {"Cargo.toml"}, ())


def test_a_rescan_after_the_macro_stops_declaring_the_module_drops_its_file(
    tmp_path: Path,
) -> None:
    """The record that replays discovery holds `src/macros.rs`: once its `prelude!` no longer
    declares `mod types;`, the rescan does not read `src/types.rs` (`cargo check` of the edited
    crate: dep-info `src/lib.rs src/macros.rs src/sub.rs src/parse.rs`)."""
    root = write_tree(tmp_path / "ws", CRATE)
    expected = [("transmute-extends-lifetime", "src/types.rs", 6, 14)]
    assert rule_findings(root, "transmute-extends-lifetime", use_cache=True) == expected
    macros = (root / "src/macros.rs").read_text(encoding="utf-8")
    edited = macros.replace(
        "        mod types;\n        #[allow(unused_imports)]\n        pub(crate) use types::*;\n",
        "",
    )
    assert edited != macros
    (root / "src/macros.rs").write_text(edited, encoding="utf-8")
    (root / "src/lib.rs").write_text(
        LIB.replace("    types::head(v)\n", "    v[0]\n"), encoding="utf-8"
    )
    assert rule_findings(root, "transmute-extends-lifetime", use_cache=True) == []
