"""Clippy's lint levels, as `missing-safety-doc` honours them: a finding is dropped where the
project turned `clippy::missing_safety_doc` off, down to the crate root's `#![allow(…)]`."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan_support import rule_findings
from ws_helpers import package, write_tree

from unsound.engine.lint_attributes import names_lint

pytestmark = pytest.mark.usefixtures("private_key_folder")

RULE = "missing-safety-doc"
FFI = "pub unsafe fn raw(p: *const u8) -> u8 {\n    *p\n}\n"
ALLOW_ALL = """//! A crate that turns Clippy's lint off for all of it.
#![allow(
    // the FFI wrappers are documented upstream
    clippy::missing_safety_doc,
)]

pub mod ffi;
"""


def workspace(root: Path, lib: str) -> Path:
    return write_tree(
        root,
        {
            "Cargo.toml": '[workspace]\nmembers = ["quiet", "loud"]\nresolver = "2"\n',
            "quiet/Cargo.toml": package("quiet"),
            "quiet/src/lib.rs": lib,
            "quiet/src/ffi.rs": FFI,
            "loud/Cargo.toml": package("loud"),
            "loud/src/lib.rs": "pub mod ffi;\n",
            "loud/src/ffi.rs": FFI,
        },
    )


def found(root: Path, *, use_cache: bool = False) -> list[tuple[str, str, int, int]]:
    return rule_findings(root, RULE, use_cache=use_cache)


def test_a_crate_wide_allow_in_the_root_silences_the_crates_modules_only(tmp_path: Path) -> None:
    root = workspace(tmp_path / "ws", ALLOW_ALL)
    assert found(root) == [(RULE, "loud/src/ffi.rs", 1, 15)]


def test_removing_the_crate_wide_allow_brings_the_finding_back_on_a_rescan(
    tmp_path: Path,
) -> None:
    root = workspace(tmp_path / "ws", ALLOW_ALL)
    assert found(root, use_cache=True) == [(RULE, "loud/src/ffi.rs", 1, 15)]
    (root / "quiet/src/lib.rs").write_text("pub mod ffi;\n")
    assert found(root, use_cache=True) == [
        (RULE, "loud/src/ffi.rs", 1, 15),
        (RULE, "quiet/src/ffi.rs", 1, 15),
    ]
    (root / "quiet/src/lib.rs").write_text(ALLOW_ALL)
    assert found(root, use_cache=True) == [(RULE, "loud/src/ffi.rs", 1, 15)]


def test_an_allow_names_the_lint_among_others_and_comments() -> None:
    lint = "clippy::missing_safety_doc"
    assert names_lint("#![allow(dead_code, clippy :: missing_safety_doc)]", lint)
    assert names_lint('#[expect(clippy::missing_safety_doc, reason = "hidden API")]', lint)
    assert names_lint("#![allow(\n    // TODO!\n    clippy::missing_safety_doc,\n)]", lint)
    assert not names_lint("#![warn(clippy::missing_safety_doc)]", lint)
    assert not names_lint("#![allow(clippy::missing_safety_docs)]", lint)
    assert not names_lint("#![cfg_attr(test, allow(clippy::missing_safety_doc))]", lint)


def lints_workspace(root: Path, workspace_lints: str, quiet_lints: str) -> Path:
    """`quiet` takes the workspace's `[lints]` (or its own); `loud` sets none."""
    manifest = '[workspace]\nmembers = ["quiet", "loud"]\nresolver = "2"\n' + workspace_lints
    return write_tree(
        root,
        {
            "Cargo.toml": manifest,
            "quiet/Cargo.toml": package("quiet", quiet_lints),
            "quiet/src/lib.rs": "pub mod ffi;\n",
            "quiet/src/ffi.rs": FFI,
            "loud/Cargo.toml": package("loud"),
            "loud/src/lib.rs": "pub mod ffi;\n",
            "loud/src/ffi.rs": FFI,
        },
    )


WASMTIME_LIKE = """
[workspace.lints.clippy]
all = { level = 'allow', priority = -1 }
clone_on_copy = 'warn'
"""


@pytest.mark.parametrize(
    ("workspace_lints", "quiet_lints"),
    [
        (WASMTIME_LIKE, "\n[lints]\nworkspace = true\n"),
        ("", "\n[lints.clippy]\nmissing-safety-doc = 'allow'\n"),
        ("", "\n[lints.clippy]\nstyle = 'allow'\n"),
    ],
    ids=["workspace-allows-all", "package-allows-the-lint", "package-allows-its-group"],
)
def test_a_manifest_that_allows_the_lint_silences_its_crate(
    tmp_path: Path, workspace_lints: str, quiet_lints: str
) -> None:
    root = lints_workspace(tmp_path / "ws", workspace_lints, quiet_lints)
    assert found(root) == [(RULE, "loud/src/ffi.rs", 1, 15)]


@pytest.mark.parametrize(
    "quiet_lints",
    [
        # The lint itself at a higher priority than the group: Cargo passes it last.
        "\n[lints.clippy]\nall = { level = 'allow', priority = -1 }\nmissing_safety_doc = 'warn'\n",
        # A group the lint is not in.
        "\n[lints.clippy]\npedantic = 'allow'\n",
        # Without `workspace = true` the workspace's table is not the package's.
        "\n[lints.rust]\nunsafe_code = 'allow'\n",
    ],
    ids=["lint-warned-after-group", "other-group", "own-table-only"],
)
def test_a_manifest_that_leaves_the_lint_on_keeps_the_finding(
    tmp_path: Path, quiet_lints: str
) -> None:
    root = lints_workspace(tmp_path / "ws", WASMTIME_LIKE, quiet_lints)
    assert found(root) == [(RULE, "loud/src/ffi.rs", 1, 15), (RULE, "quiet/src/ffi.rs", 1, 15)]


def test_changing_the_manifests_lints_changes_a_cached_rescan(tmp_path: Path) -> None:
    root = lints_workspace(tmp_path / "ws", WASMTIME_LIKE, "")
    both = [(RULE, "loud/src/ffi.rs", 1, 15), (RULE, "quiet/src/ffi.rs", 1, 15)]
    assert found(root, use_cache=True) == both
    manifest = root / "quiet/Cargo.toml"
    manifest.write_text(package("quiet", "\n[lints]\nworkspace = true\n"))
    assert found(root, use_cache=True) == [(RULE, "loud/src/ffi.rs", 1, 15)]
    manifest.write_text(package("quiet"))
    assert found(root, use_cache=True) == both


def test_an_attribute_naming_a_group_of_the_lint_silences_it(tmp_path: Path) -> None:
    lib = "#![allow(clippy::style)]\npub mod ffi;\n"
    root = workspace(tmp_path / "ws", lib)
    assert found(root) == [(RULE, "loud/src/ffi.rs", 1, 15)]


# Outer attributes on an out-of-line module's declaration cover its files, as rustc reads
# them (arrow-ipc: `#[allow(clippy::all, clippy::pedantic)] pub mod Schema;` in `gen/mod.rs`).
# Clippy 1.95 reports none of the silenced functions below and all of the loud ones.
DECLARED = {
    "Cargo.toml": package("declared"),
    "src/lib.rs": (
        "#[allow(clippy::all)]\npub mod quiet;\npub mod loud;\n"
        "#[allow(clippy::missing_safety_doc)]\npub mod generated;\n"
        "#[allow(clippy::style)]\nmod wrapper {\n    pub mod inner;\n}\npub mod parent;\n"
    ),
    "src/quiet.rs": FFI,
    "src/loud.rs": FFI,
    "src/generated/mod.rs": "pub mod schema;\n",
    "src/generated/schema.rs": FFI,
    "src/wrapper/inner.rs": FFI,
    "src/parent.rs": "#[allow(clippy::all)]\npub mod child;\npub mod sibling;\n",
    "src/parent/child.rs": FFI,
    "src/parent/sibling.rs": FFI,
}


def test_an_allow_on_a_modules_declaration_silences_its_files(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "declared", DECLARED)
    assert found(root) == [(RULE, "src/loud.rs", 1, 15), (RULE, "src/parent/sibling.rs", 1, 15)]


def test_removing_the_allow_on_a_declaration_brings_the_finding_back_on_a_rescan(
    tmp_path: Path,
) -> None:
    root = write_tree(tmp_path / "declared", DECLARED)
    loud = [(RULE, "src/loud.rs", 1, 15), (RULE, "src/parent/sibling.rs", 1, 15)]
    assert found(root, use_cache=True) == loud
    parent = root / "src/parent.rs"
    parent.write_text("pub mod child;\npub mod sibling;\n")
    assert found(root, use_cache=True) == [
        *loud[:1],
        (RULE, "src/parent/child.rs", 1, 15),
        *loud[1:],
    ]
    parent.write_text(DECLARED["src/parent.rs"])
    assert found(root, use_cache=True) == loud


# A file that allows the lint for itself, but declares no module and is never matched: its
# top alone says so. 60 functions after the attribute, none spelling the lint or `mod`.
QUIET_LEAF = "#![allow(clippy::missing_safety_doc)]\n\n" + "".join(
    f"pub fn helper_{i}(x: u32) -> u32 {{\n    x + {i}\n}}\n\n" for i in range(60)
)


def test_a_files_own_allow_is_read_from_its_top_not_from_a_whole_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`files_allowing` parses the items that spell the lint's name (an inner attribute is
    before the first item), and `modules_allowing` skips a file that says no `mod`: the leaf is
    never parsed whole, and the findings are the same."""
    from test_scan_support import count_parses

    from unsound.engine import crate_scan

    root = write_tree(
        tmp_path / "ws",
        {
            "Cargo.toml": package("leafy"),
            "src/lib.rs": "pub mod ffi;\npub mod leaf;\n",
            "src/ffi.rs": FFI,
            "src/leaf.rs": QUIET_LEAF,
        },
    )
    whole = count_parses(monkeypatch, crate_scan)
    assert found(root) == [(RULE, "src/ffi.rs", 1, 15)]
    assert len(QUIET_LEAF.encode()) not in whole
