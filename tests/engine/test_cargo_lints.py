"""A manifest's `[lints]` read as Cargo passes them to rustc and Clippy: by priority, then by
name descending (checked with `cargo check -v`, cargo 1.95), the last entry naming a lint or one
of its groups deciding its level."""

from __future__ import annotations

from pathlib import Path

import pytest
from ws_helpers import package, write_tree

from unsound.engine.cargo_lints import LintLevels
from unsound.engine.lint_groups import groups_of
from unsound.engine.workspace import load_workspace
from unsound.errors import WorkspaceError

LINT = "clippy::missing_safety_doc"


def levels_of(tmp_path: Path, lints: str, workspace_lints: str = "") -> LintLevels:
    root = write_tree(
        tmp_path / "ws",
        {
            "Cargo.toml": '[workspace]\nmembers = ["a"]\n' + workspace_lints,
            "a/Cargo.toml": package("a", lints),
            "a/src/lib.rs": "",
        },
    )
    (member,) = load_workspace(root / "Cargo.toml").members
    return member.lints


@pytest.mark.parametrize(
    ("lints", "level"),
    [
        ("[lints.clippy]\nmissing_safety_doc = 'deny'\n", "deny"),
        ("[lints.clippy]\nmissing-safety-doc = { level = 'allow' }\n", "allow"),
        # Same priority: names descending, so `all` comes after `missing_safety_doc` and wins.
        ("[lints.clippy]\nmissing_safety_doc = 'warn'\nall = 'allow'\n", "allow"),
        ("[lints.clippy]\nall = { level = 'allow', priority = -1 }\nstyle = 'warn'\n", "warn"),
        ("[lints.clippy]\nstyle = { level = 'deny', priority = 1 }\nall = 'allow'\n", "deny"),
        ("[lints.clippy]\npedantic = 'allow'\n", None),
        ("[lints.rust]\nmissing_safety_doc = 'allow'\n", None),  # rustc's, not Clippy's
        ("", None),
    ],
)
def test_the_last_entry_naming_the_lint_or_a_group_decides(
    tmp_path: Path, lints: str, level: str | None
) -> None:
    assert levels_of(tmp_path, lints).level(LINT) == level


def test_workspace_true_takes_the_workspace_table(tmp_path: Path) -> None:
    inherited = levels_of(
        tmp_path, "[lints]\nworkspace = true\n", "[workspace.lints.clippy]\nall = 'allow'\n"
    )
    assert inherited.allows(LINT)
    assert inherited.entries == (("clippy::all", "allow"),)


@pytest.mark.parametrize(
    ("lints", "line", "column"),
    [
        ("[lints.clippy]\nmissing_safety_doc = 'loud'\n", 6, 1),
        ("[lints.clippy]\nall = { level = 'allow', priority = 'low' }\n", 6, 1),
        ("[lints]\nclippy = 'allow'\n", 6, 1),
    ],
)
def test_a_malformed_lints_table_is_a_located_error(
    tmp_path: Path, lints: str, line: int, column: int
) -> None:
    with pytest.raises(WorkspaceError) as raised:
        levels_of(tmp_path, lints)
    assert raised.value.path == str((tmp_path / "ws/a/Cargo.toml").resolve())
    assert (raised.value.line, raised.value.column) == (line, column)


def test_clippy_groups() -> None:
    assert groups_of("clippy::missing-safety-doc") == ("clippy::style", "clippy::all")
    assert groups_of("clippy::mut_from_ref") == ("clippy::correctness", "clippy::all")
    assert groups_of("clippy::undocumented_unsafe_blocks") == ("clippy::restriction",)
    assert groups_of("clippy::style") == ("clippy::all",)
    assert groups_of("clippy::no_such_lint") == ()
    assert groups_of("unsafe_code") == ()
