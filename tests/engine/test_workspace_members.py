"""Workspace roots and members, checked against what `cargo metadata` reports for each fixture."""

from __future__ import annotations

from pathlib import Path

from ws_helpers import FIXTURES, package, write_tree

from unsound.engine.workspace import Workspace, load_workspace

VIRTUAL = FIXTURES / "virtual_globs"
ROOT_PACKAGE = FIXTURES / "root_package"


def _names(ws: Workspace) -> list[str]:
    return [member.name for member in ws.members]


def test_virtual_root_members_from_globs_and_path_dependencies() -> None:
    # `cargo metadata`: alpha, beta (glob), cli (explicit), shared (workspace.dependencies),
    # helper (dev-dependency), gen (build-dependency); `excluded` and `nested` are not members.
    ws = load_workspace(VIRTUAL / "Cargo.toml")
    assert _names(ws) == ["alpha", "beta", "cli", "gen", "helper", "shared"]
    assert ws.root == VIRTUAL.resolve()
    assert ws.manifest_path == VIRTUAL.resolve() / "Cargo.toml"
    assert ws.current is None
    assert ws.default_members == ("alpha", "cli")
    folders = {member.name: member.root.relative_to(ws.root).as_posix() for member in ws.members}
    assert folders == {
        "alpha": "crates/alpha",
        "beta": "crates/beta",
        "cli": "tools/cli",
        "gen": "tools/gen",
        "helper": "helpers/helper",
        "shared": "libs/shared",
    }


def test_loading_from_a_member_finds_the_same_workspace() -> None:
    ws = load_workspace(VIRTUAL / "crates/beta/Cargo.toml")
    assert ws.root == VIRTUAL.resolve()
    assert ws.current == "beta"
    assert _names(ws) == ["alpha", "beta", "cli", "gen", "helper", "shared"]


def test_path_dependency_member_knows_it_is_current() -> None:
    ws = load_workspace(VIRTUAL / "libs/shared/Cargo.toml")
    assert ws.current == "shared"
    assert ws.root == VIRTUAL.resolve()


def test_root_package_with_members() -> None:
    ws = load_workspace(ROOT_PACKAGE / "Cargo.toml")
    assert _names(ws) == ["app", "core_lib", "plugin-one", "plugin-two"]
    assert ws.current == "app"
    assert ws.default_members == ("app",)


def test_excluded_and_nested_packages_stand_alone() -> None:
    excluded = load_workspace(VIRTUAL / "crates/excluded/Cargo.toml")
    assert (_names(excluded), excluded.root) == (["excluded"], (VIRTUAL / "crates/excluded"))
    nested = load_workspace(VIRTUAL / "crates/alpha/nested/Cargo.toml")
    assert _names(nested) == ["nested"]


def test_excluded_package_without_own_workspace_is_its_own_root(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["crates/*"]\nexclude = ["crates/old"]\n',
            "crates/new/Cargo.toml": package("new"),
            "crates/new/src/lib.rs": "",
            "crates/old/Cargo.toml": package("old"),
            "crates/old/src/lib.rs": "",
        },
    )
    assert _names(load_workspace(root / "Cargo.toml")) == ["new"]
    alone = load_workspace(root / "crates/old/Cargo.toml")
    assert (_names(alone), alone.root, alone.current) == (["old"], root / "crates/old", "old")


def test_explicit_member_overrides_a_broader_exclude(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["vendor/kept"]\nexclude = ["vendor"]\n',
            "vendor/kept/Cargo.toml": package("kept"),
            "vendor/kept/src/lib.rs": "",
        },
    )
    assert _names(load_workspace(root / "Cargo.toml")) == ["kept"]


def test_lone_package_has_no_path_dependency_members(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "app/Cargo.toml": package("app", '\n[dependencies]\nlib = { path = "lib" }\n'),
            "app/src/main.rs": "fn main() {}",
            "app/lib/Cargo.toml": package("lib"),
            "app/lib/src/lib.rs": "",
        },
    )
    ws = load_workspace(root / "app/Cargo.toml")
    assert (_names(ws), ws.current, ws.default_members) == (["app"], "app", ("app",))


def test_package_workspace_pointer(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "ws/Cargo.toml": '[workspace]\nmembers = ["../elsewhere/pkg"]\n',
            "elsewhere/pkg/Cargo.toml": package("pkg", 'workspace = "../../ws"\n'),
            "elsewhere/pkg/src/lib.rs": "",
        },
    )
    ws = load_workspace(root / "elsewhere/pkg/Cargo.toml")
    assert (ws.root, _names(ws), ws.current) == (root / "ws", ["pkg"], "pkg")


def test_path_dependency_outside_the_root_is_not_a_member(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path,
        {
            "ws/Cargo.toml": package(
                "app", '\n[workspace]\n\n[dependencies]\nx = { path = "../x" }\n'
            ),
            "ws/src/lib.rs": "",
            "x/Cargo.toml": package("x"),
            "x/src/lib.rs": "",
        },
    )
    assert _names(load_workspace(root / "ws/Cargo.toml")) == ["app"]


def test_target_specific_and_renamed_path_dependencies_are_members(tmp_path: Path) -> None:
    manifest = package(
        "app",
        '\n[workspace]\n\n[target."cfg(unix)".dependencies]\nu = { path = "u" }\n'
        '\n[dependencies]\nrenamed = { package = "r", path = "r" }\n',
    )
    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": manifest,
            "src/lib.rs": "",
            "u/Cargo.toml": package("u"),
            "u/src/lib.rs": "",
            "r/Cargo.toml": package("r"),
            "r/src/lib.rs": "",
        },
    )
    assert _names(load_workspace(root / "Cargo.toml")) == ["app", "r", "u"]


def test_member_of_another_workspace_is_rejected(tmp_path: Path) -> None:
    from unsound.errors import WorkspaceError

    root = write_tree(
        tmp_path,
        {
            "Cargo.toml": '[workspace]\nmembers = ["inner"]\n',
            "inner/Cargo.toml": package("inner", "\n[workspace]\n"),
            "inner/src/lib.rs": "",
        },
    )
    try:
        load_workspace(root / "Cargo.toml")
    except WorkspaceError as error:
        assert error.message == (
            f"this package is a member of the workspace at `{root}/Cargo.toml` "
            f"but belongs to the workspace at `{root}/inner/Cargo.toml`"
        )
        assert (error.line, error.column) == (6, 1)
    else:  # pragma: no cover
        raise AssertionError("expected a WorkspaceError")


def test_root_is_resolved_through_a_symlinked_start(tmp_path: Path) -> None:
    real = write_tree(tmp_path / "real", {"Cargo.toml": package("p"), "src/lib.rs": ""})
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    ws = load_workspace(link / "Cargo.toml")
    assert ws.root == real
    assert ws.members[0].targets[0].root == real / "src/lib.rs"
