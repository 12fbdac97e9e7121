"""Which manifest the tool starts from, and which packages Cargo's flags select."""

from __future__ import annotations

from pathlib import Path

import pytest
from ws_helpers import FIXTURES, package, write_tree

from unsound.engine.workspace import find_manifest, load_workspace, select_packages
from unsound.errors import UsageError

VIRTUAL = FIXTURES / "virtual_globs"
ROOT_PACKAGE = FIXTURES / "root_package"


def _selected(start: Path, **flags: object) -> list[str]:
    ws = load_workspace(start)
    return [package.name for package in select_packages(ws, **flags)]  # type: ignore[arg-type]


# --- find_manifest ---------------------------------------------------------------------------


def test_manifest_path_must_name_a_cargo_toml() -> None:
    with pytest.raises(UsageError) as caught:
        find_manifest(manifest_path=Path("crates"), path=None, cwd=VIRTUAL)
    assert caught.value.message == "`--manifest-path` must name a Cargo.toml file, not `crates`"
    with pytest.raises(UsageError) as caught:
        find_manifest(manifest_path=Path("nope/Cargo.toml"), path=None, cwd=VIRTUAL)
    assert caught.value.message == "manifest path `nope/Cargo.toml` does not exist"


def test_manifest_path_relative_to_cwd() -> None:
    found = find_manifest(manifest_path=Path("crates/beta/Cargo.toml"), path=None, cwd=VIRTUAL)
    assert found == VIRTUAL / "crates/beta/Cargo.toml"


def test_path_may_be_a_folder_or_a_manifest() -> None:
    assert find_manifest(manifest_path=None, path=Path("crates/beta"), cwd=VIRTUAL) == (
        VIRTUAL / "crates/beta/Cargo.toml"
    )
    assert find_manifest(manifest_path=None, path=VIRTUAL / "Cargo.toml", cwd=Path("/")) == (
        VIRTUAL / "Cargo.toml"
    )
    # A folder below a package is treated as if the tool ran there.
    assert find_manifest(manifest_path=None, path=Path("crates/beta/src/bin"), cwd=VIRTUAL) == (
        VIRTUAL / "crates/beta/Cargo.toml"
    )


def test_bad_path() -> None:
    with pytest.raises(UsageError) as caught:
        find_manifest(manifest_path=None, path=Path("missing"), cwd=VIRTUAL)
    assert caught.value.message == "`missing` does not exist"
    with pytest.raises(UsageError) as caught:
        find_manifest(manifest_path=None, path=Path("crates/beta/src/lib.rs"), cwd=VIRTUAL)
    assert caught.value.message == "`crates/beta/src/lib.rs` is neither a folder nor a Cargo.toml"


def test_walks_up_from_cwd(tmp_path: Path) -> None:
    cwd = VIRTUAL / "crates/alpha/src"
    assert find_manifest(manifest_path=None, path=None, cwd=cwd) == (
        VIRTUAL / "crates/alpha/Cargo.toml"
    )
    with pytest.raises(UsageError) as caught:
        find_manifest(manifest_path=None, path=None, cwd=tmp_path)
    assert caught.value.message == (
        f"could not find `Cargo.toml` in `{tmp_path}` or any parent directory"
    )


# --- select_packages: no flags -----------------------------------------------------------------


def test_virtual_root_selects_default_members() -> None:
    assert _selected(VIRTUAL / "Cargo.toml") == ["alpha", "cli"]


def test_virtual_root_without_default_members_selects_all(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["a", "b"]\n',
            "a/Cargo.toml": package("a"),
            "a/src/lib.rs": "",
            "b/Cargo.toml": package("b"),
            "b/src/lib.rs": "",
        },
    )
    assert _selected(root / "Cargo.toml") == ["a", "b"]


def test_member_folder_selects_that_member_only() -> None:
    # Even one that is not among default-members, and even a path-dependency member.
    assert _selected(VIRTUAL / "crates/beta/Cargo.toml") == ["beta"]
    assert _selected(VIRTUAL / "libs/shared/Cargo.toml") == ["shared"]


def test_root_package_selects_itself() -> None:
    assert _selected(ROOT_PACKAGE / "Cargo.toml") == ["app"]


def test_root_package_with_default_members(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": package(
                "top", '\n[workspace]\nmembers = ["a"]\ndefault-members = ["a"]\n'
            ),
            "src/lib.rs": "",
            "a/Cargo.toml": package("a"),
            "a/src/lib.rs": "",
        },
    )
    assert _selected(root / "Cargo.toml") == ["a"]


# --- select_packages: flags --------------------------------------------------------------------


def test_p_is_repeatable() -> None:
    assert _selected(VIRTUAL / "Cargo.toml", packages=["shared", "beta"]) == ["beta", "shared"]


def test_p_accepts_globs_and_versions() -> None:
    assert _selected(ROOT_PACKAGE / "Cargo.toml", packages=["plugin-*"]) == [
        "plugin-one",
        "plugin-two",
    ]
    assert _selected(VIRTUAL / "Cargo.toml", packages=["gen@0.1.0"]) == ["gen"]


def test_p_unknown_name_lists_the_members() -> None:
    ws = load_workspace(VIRTUAL / "Cargo.toml")
    with pytest.raises(UsageError) as caught:
        select_packages(ws, packages=["beta", "gamma"])
    assert caught.value.message == "package `gamma` is not a member of this workspace"
    assert caught.value.hint == "workspace members: alpha, beta, cli, gen, helper, shared"


def test_workspace_selects_every_member() -> None:
    assert _selected(VIRTUAL / "crates/beta/Cargo.toml", workspace=True) == [
        "alpha",
        "beta",
        "cli",
        "gen",
        "helper",
        "shared",
    ]


def test_workspace_with_exclude() -> None:
    assert _selected(VIRTUAL / "Cargo.toml", workspace=True, exclude=["beta", "he*"]) == [
        "alpha",
        "cli",
        "gen",
        "shared",
    ]


def test_workspace_wins_over_p_as_in_cargo() -> None:
    assert len(_selected(VIRTUAL / "Cargo.toml", workspace=True, packages=["beta"])) == 6


def test_exclude_needs_workspace() -> None:
    ws = load_workspace(VIRTUAL / "Cargo.toml")
    with pytest.raises(UsageError) as caught:
        select_packages(ws, exclude=["beta"])
    assert caught.value.message == "`--exclude` can only be used together with `--workspace`"
