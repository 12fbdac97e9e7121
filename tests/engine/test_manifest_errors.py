"""Manifest errors: exact messages, `Cargo.toml:LINE:COL`, and what to do about it."""

from __future__ import annotations

from pathlib import Path

import pytest
from ws_helpers import package, write_tree

from unsound.engine.workspace import load_workspace
from unsound.errors import WorkspaceError

LIB = {"src/lib.rs": ""}


def _error(root: Path, start: str = "Cargo.toml") -> WorkspaceError:
    with pytest.raises(WorkspaceError) as caught:
        load_workspace(root / start)
    return caught.value


def _where(error: WorkspaceError, root: Path) -> tuple[str, int | None, int | None]:
    assert error.path is not None
    return Path(error.path).relative_to(root).as_posix(), error.line, error.column


def test_toml_syntax_error_renders_with_line_column_and_caret(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": '[package]\nname = "x"\nversion = \n'})
    error = _error(root)
    assert error.render() == (
        f"{root}/Cargo.toml:3:11: error: invalid TOML: Invalid value"
        " — fix the syntax of this manifest\n"
        "  |\n"
        "3 | version = \n"
        "  |           ^"
    )


def test_unclosed_table_header(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": "[workspace\nmembers = []\n"})
    error = _error(root)
    assert error.message == "invalid TOML: Expected ']' at the end of a table declaration"
    assert _where(error, root) == ("Cargo.toml", 1, 11)


def test_neither_package_nor_workspace(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": "[dependencies]\n"})
    error = _error(root)
    assert error.message == "manifest is missing either a `[package]` or a `[workspace]`"
    assert error.hint == "add a `[package]` table with a `name`, or a `[workspace]` table"
    assert _where(error, root) == ("Cargo.toml", 1, 1)


def test_members_of_the_wrong_type(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": '[workspace]\nresolver = "2"\nmembers = "a/*"\n'})
    error = _error(root)
    assert error.message == "`workspace.members` must be an array of strings"
    assert error.hint == 'write it as `members = ["crates/*"]`'
    assert _where(error, root) == ("Cargo.toml", 3, 1)
    assert error.source_line == 'members = "a/*"'


def test_member_entry_that_is_not_a_string(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": '[workspace]\nmembers = [\n  "a",\n  3,\n]\n'})
    error = _error(root)
    assert error.message == "`workspace.members` entries must be strings"
    assert _where(error, root) == ("Cargo.toml", 4, 3)


def test_explicit_member_folder_missing(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a", "crates/missing"]\n',
            "a/Cargo.toml": package("a"),
            "a/src/lib.rs": "",
        },
    )
    error = _error(root)
    assert error.message == "workspace member `crates/missing` does not exist"
    assert error.hint == "create the package, or remove the entry from `workspace.members`"
    assert _where(error, root) == ("Cargo.toml", 2, 17)


def test_explicit_member_folder_without_manifest(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": '[workspace]\nmembers = ["docs"]\n', "docs/x": ""})
    error = _error(root)
    assert error.message == "workspace member `docs` has no Cargo.toml"
    assert error.hint == "add a Cargo.toml to it, or remove the entry from `workspace.members`"
    assert _where(error, root) == ("Cargo.toml", 2, 12)


def test_glob_matching_a_folder_without_manifest_is_an_error_as_in_cargo(tmp_path: Path) -> None:
    # Cargo 1.95: "failed to load manifest for workspace member … referenced via `crates/*`".
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\n',
            "crates/a/Cargo.toml": package("a"),
            "crates/a/src/lib.rs": "",
            "crates/scratch/notes.rs": "",
        },
    )
    error = _error(root)
    assert error.message == (
        "folder `crates/scratch`, matched by workspace member glob `crates/*`, has no Cargo.toml"
    )
    assert error.hint == "add a Cargo.toml to it, or list it in `workspace.exclude`"
    assert _where(error, root) == ("Cargo.toml", 2, 12)


def test_glob_matching_nothing(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": '[workspace]\nmembers = ["zz/*"]\n'})
    error = _error(root)
    assert error.message == "workspace member glob `zz/*` matches nothing"
    assert _where(error, root) == ("Cargo.toml", 2, 12)


def test_invalid_glob(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": '[workspace]\nmembers = ["crates/a**"]\n'})
    error = _error(root)
    assert error.message == (
        "`crates/a**` is not a valid glob: recursive wildcards must form a single path component"
    )
    assert _where(error, root) == ("Cargo.toml", 2, 12)


def test_default_member_that_is_not_a_member(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a"]\ndefault-members = ["a", "b"]\n',
            "a/Cargo.toml": package("a"),
            "a/src/lib.rs": "",
            "b/Cargo.toml": package("b", "[workspace]\n"),
            "b/src/lib.rs": "",
        },
    )
    error = _error(root)
    assert error.message == (
        "`b` is listed in `workspace.default-members` but is not a workspace member"
    )
    assert error.hint == (
        "add it to `workspace.members`, or remove it from `workspace.default-members`"
    )
    assert _where(error, root) == ("Cargo.toml", 3, 25)
    # Cargo checks default-members only when run at the root.
    assert load_workspace(root / "a/Cargo.toml").current == "a"


def test_current_package_not_listed_by_its_workspace(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a"]\n',
            "a/Cargo.toml": package("a"),
            "a/src/lib.rs": "",
            "tools/stray/Cargo.toml": package("stray"),
            "tools/stray/src/lib.rs": "",
        },
    )
    error = _error(root, "tools/stray/Cargo.toml")
    assert error.message == (
        f"current package believes it's in a workspace when it's not: `{root}/Cargo.toml` "
        "does not list it"
    )
    assert error.hint == (
        "add `tools/stray` to `workspace.members` there, or to `workspace.exclude` to keep it"
        " out, or add an empty `[workspace]` table to this manifest"
    )
    assert _where(error, root) == ("tools/stray/Cargo.toml", 1, 1)


def test_two_packages_with_one_name(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a", "b"]\n',
            "a/Cargo.toml": package("same"),
            "a/src/lib.rs": "",
            "b/Cargo.toml": package("same"),
            "b/src/lib.rs": "",
        },
    )
    error = _error(root)
    assert error.message == (
        "two packages named `same` in this workspace: `a/Cargo.toml` and `b/Cargo.toml`"
    )


def test_missing_and_inherited_package_name(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": '[package]\nversion = "1.0.0"\n', **LIB})
    error = _error(root)
    assert (error.message, error.line, error.column) == ("`package.name` is missing", 1, 1)
    root = write_tree(
        tmp_path / "inherit",
        {"Cargo.toml": "[package]\nname.workspace = true\n", **LIB},
    )
    error = _error(root)
    assert error.message == "`package.name` cannot be inherited from the workspace"
    assert _where(error, root) == ("Cargo.toml", 2, 1)


def test_path_dependency_without_manifest(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": package("a", '[workspace]\n\n[dependencies]\nb = { path = "b" }\n'),
            **LIB,
        },
    )
    error = _error(root)
    assert error.message == "dependency `b` points at `b`, which has no Cargo.toml"
    assert error.hint == "fix the dependency's `path`"
    assert _where(error, root) == ("Cargo.toml", 8, 7)


def test_workspace_pointer_to_a_manifest_without_workspace(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": package("outer"),
            "src/lib.rs": "",
            "inner/Cargo.toml": package("inner", 'workspace = ".."\n'),
            "inner/src/lib.rs": "",
        },
    )
    error = _error(root, "inner/Cargo.toml")
    assert error.message == "the workspace root `../Cargo.toml` has no `[workspace]` table"
    assert _where(error, root) == ("inner/Cargo.toml", 5, 1)


def test_package_without_targets(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": package("empty"), "build.rs": "fn main() {}"})
    error = _error(root)
    assert error.message == "no targets specified in the manifest"
    assert error.hint == ("add src/lib.rs, src/main.rs, a `[lib]` section, or a `[[bin]]` section")
    assert _where(error, root) == ("Cargo.toml", 1, 1)


def test_explicit_bin_without_name(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {"Cargo.toml": package("p", '\n[[bin]]\npath = "src/x.rs"\n'), "src/x.rs": ""},
    )
    error = _error(root)
    assert error.message == "binary target `bin.name` is required"
    assert error.hint == 'add `name = "…"` to this `[[bin]]` entry'
    assert _where(error, root) == ("Cargo.toml", 6, 1)


def test_library_file_not_found(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": package("my-lib", "\n[lib]\ncrate-type = []\n")})
    error = _error(root)
    assert error.message == "can't find library `my_lib`"
    assert error.hint == "rename the file to `src/lib.rs`, or set `path` in `[lib]`"
    assert _where(error, root) == ("Cargo.toml", 6, 1)


def test_exclude_of_the_wrong_type(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a"]\nexclude = "a/old"\n',
            "a/Cargo.toml": package("a"),
            "a/src/lib.rs": "",
        },
    )
    error = _error(root)
    assert error.message == "`workspace.exclude` must be an array of strings"
    assert error.hint == 'write it as `exclude = ["crates/old"]`'
    assert _where(error, root) == ("Cargo.toml", 3, 1)


def test_toml_1_1_inline_tables_over_several_lines_load_as_cargo_reads_them(
    tmp_path: Path,
) -> None:
    """embassy's manifests: an inline table over several lines, with a trailing comma (TOML 1.1,
    which Cargo reads and Python's tomllib reads only from 3.15)."""
    member = package("net", '\n[dependencies]\nhelper = {\n    path = "../helper",\n}\n')
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["net", "helper"]\nresolver = "2"\n',
            "net/Cargo.toml": member,
            "net/src/lib.rs": "",
            "helper/Cargo.toml": package("helper"),
            "helper/src/lib.rs": "",
        },
    )
    workspace = load_workspace(root / "Cargo.toml")
    assert [package.name for package in workspace.members] == ["helper", "net"]


def test_a_document_neither_toml_version_reads_is_a_located_error(tmp_path: Path) -> None:
    root = write_tree(tmp_path, {"Cargo.toml": '[package]\nname = "x"\ndeps = {\n  a = 1,,\n}\n'})
    assert _where(_error(root), root) == ("Cargo.toml", 4, 9)  # the second comma
