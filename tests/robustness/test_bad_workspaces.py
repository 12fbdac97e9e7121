"""The bad-input matrix, manifest rows: each bad workspace gives one located error line and exit 2.

Every test goes through the CLI entry (`main`), as a user would, and checks the exact first line
of stderr (`path:line:col: error: what — what to do`), the exit code, and that no traceback
leaked. A workspace that can be scanned despite an oddity (a symlink loop among its folders) must
give the correct result instead.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from unsound.cli.entry import main

PACKAGE = '[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n'


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def package(folder: Path, name: str) -> Path:
    write(folder / "src" / "lib.rs", "pub fn f() {}\n")
    return write(folder / "Cargo.toml", PACKAGE.format(name=name))


def scan(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def first_line(err: str) -> str:
    return err.splitlines()[0] if err else ""


def test_manifest_that_is_not_toml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write(tmp_path / "Cargo.toml", '[package\nname = "x"\n')
    code, _, err = scan([str(tmp_path)], capsys)
    assert code == 2
    assert err == (
        f"{manifest}:1:9: error: invalid TOML: Expected ']' at the end of a table declaration"
        " — fix the syntax of this manifest\n  |\n1 | [package\n  |         ^\n"
    )


def test_manifest_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "Cargo.toml"
    manifest.write_bytes(b'[package]\nname = "caf\xe9"\nversion = "0.1.0"\n')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lib.rs").write_text("pub fn f() {}\n")
    code, _, err = scan([str(tmp_path)], capsys)
    assert code == 0  # decoded with replacement, as the name is only a label here
    assert err == "no findings in 1 crate, 1 file\n" or err == ""


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        (
            '[package]\nname = 5\nversion = "0.1.0"\n',
            2,
            1,
            "`package.name` must be a string — write the name as a string, e.g. "
            '`name = "my-crate"`',
        ),
        (
            '[workspace]\nmembers = "crates/a"\n',
            2,
            1,
            "`workspace.members` must be an array of strings — "
            'write it as `members = ["crates/*"]`',
        ),
        (
            '[workspace]\nmembers = ["a", 7]\n',
            2,
            17,
            '`workspace.members` entries must be strings — write it as `members = ["crates/*"]`',
        ),
        (
            '[workspace]\nmembers = ["a"]\nexclude = "b"\n[package]\nname = "a"\n',
            3,
            1,
            "`workspace.exclude` must be an array of strings — "
            'write it as `exclude = ["crates/old"]`',
        ),
        (
            '[package]\nname = "a"\nworkspace = 3\n',
            3,
            1,
            "`package.workspace` must be a string — "
            'write the root folder as a string, e.g. "../.."',
        ),
        (
            "package = 5\n",
            1,
            1,
            "manifest is missing either a `[package]` or a `[workspace]` — add a `[package]` "
            "table with a `name`, or a `[workspace]` table",
        ),
    ],
    ids=[
        "name-int",
        "members-string",
        "members-entry-int",
        "exclude-string",
        "pointer-int",
        "package-not-table",
    ],
)
def test_manifest_with_wrong_types(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    line: int,
    column: int,
    message: str,
) -> None:
    manifest = write(tmp_path / "Cargo.toml", text)
    package(tmp_path / "a", "a")
    write(tmp_path / "a" / "Cargo.toml", PACKAGE.format(name="a"))
    code, _, err = scan([str(tmp_path)], capsys)
    assert code == 2
    assert first_line(err) == f"{manifest}:{line}:{column}: error: {message}"


def test_manifest_nested_too_deeply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """tomllib recurses per nesting level; a deep value must not become a RecursionError."""
    deep = "[" * 5000 + "]" * 5000
    manifest = write(
        tmp_path / "Cargo.toml", PACKAGE.format(name="d") + f"[package.metadata]\nx = {deep}\n"
    )
    code, _, err = scan([str(tmp_path)], capsys)
    assert code == 2
    assert first_line(err) == (
        f"{manifest}:6:69: error: invalid TOML: arrays or inline tables are nested too deeply"
        " — a manifest needs only a few levels of nesting; remove the deep value"
    )


def test_member_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write(tmp_path / "Cargo.toml", '[workspace]\nmembers = ["crates/gone"]\n')
    code, _, err = scan([str(tmp_path)], capsys)
    assert code == 2
    assert first_line(err) == (
        f"{manifest}:2:12: error: workspace member `crates/gone` does not exist"
        " — create the package, or remove the entry from `workspace.members`"
    )


def test_member_folder_without_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write(tmp_path / "Cargo.toml", '[workspace]\nmembers = ["crates/empty"]\n')
    (tmp_path / "crates" / "empty").mkdir(parents=True)
    code, _, err = scan([str(tmp_path)], capsys)
    assert code == 2
    assert first_line(err) == (
        f"{manifest}:2:12: error: workspace member `crates/empty` has no Cargo.toml"
        " — add a Cargo.toml to it, or remove the entry from `workspace.members`"
    )


def test_glob_that_matches_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write(tmp_path / "Cargo.toml", '[workspace]\nmembers = ["a", "crates/*"]\n')
    package(tmp_path / "a", "a")
    code, _, err = scan([str(tmp_path)], capsys)
    assert code == 2
    assert first_line(err) == (
        f"{manifest}:2:17: error: workspace member glob `crates/*` matches nothing"
        " — create a package it matches, or remove the entry from `workspace.members`"
    )


def test_glob_that_is_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = write(tmp_path / "Cargo.toml", '[workspace]\nmembers = ["crates/a**"]\n')
    code, _, err = scan([str(tmp_path)], capsys)
    assert code == 2
    assert first_line(err) == (
        f"{manifest}:2:12: error: `crates/a**` is not a valid glob: recursive wildcards must "
        "form a single path component — use `*`, `?`, `[…]`, and `**` only as a whole path "
        "component"
    )


def test_glob_with_a_reversed_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`[z-a]` is a range the glob crate rejects; Python's `re` would raise its own error."""
    manifest = write(tmp_path / "Cargo.toml", '[workspace]\nmembers = ["crates/[z-a]"]\n')
    (tmp_path / "crates").mkdir()
    code, _, err = scan([str(tmp_path)], capsys)
    assert code == 2
    assert first_line(err) == (
        f"{manifest}:2:12: error: `crates/[z-a]` is not a valid glob: invalid range pattern"
        " — use `*`, `?`, `[…]`, and `**` only as a whole path component"
    )


def test_symlink_loops_among_member_folders(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Links that loop (a → b → a) are not folders, so a glob skips them, as Cargo's does; the
    `--all-files` walk through a link back to the package folder ends, reading each file once."""
    write(tmp_path / "Cargo.toml", '[workspace]\nmembers = ["crates/*"]\n')
    real = tmp_path / "crates" / "real"
    package(real, "real")
    write(real / "src" / "inner" / "deep.rs", "pub fn g() {}\n")
    (tmp_path / "crates" / "a").symlink_to("b")
    (tmp_path / "crates" / "b").symlink_to("a")
    (real / "src" / "inner" / "again").symlink_to("../..", target_is_directory=True)
    (real / "src" / "inner" / "self").symlink_to(".", target_is_directory=True)
    code, out, err = scan([str(tmp_path), "--workspace", "--all-files", "--format", "json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["summary"]["files"] == 2
    assert report["problems"] == []


def test_member_listed_as_a_symlink_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write(tmp_path / "Cargo.toml", '[workspace]\nmembers = ["loop"]\n')
    (tmp_path / "loop").symlink_to("loop")
    code, _, err = scan([str(tmp_path)], capsys)
    assert code == 2
    assert first_line(err) == (
        f"{manifest}:2:12: error: workspace member `loop` does not exist"
        " — create the package, or remove the entry from `workspace.members`"
    )


def test_manifest_that_is_a_symlink_loop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Cargo.toml").symlink_to("Cargo.toml")
    code, _, err = scan(["--manifest-path", str(tmp_path / "Cargo.toml")], capsys)
    assert code == 2
    assert first_line(err) == (
        f"error: manifest path `{tmp_path / 'Cargo.toml'}` does not exist"
        " — check the path given to `--manifest-path`"
    )


def test_member_outside_the_workspace_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    write(root / "Cargo.toml", '[workspace]\nmembers = ["../elsewhere"]\n')
    outside = package(tmp_path / "elsewhere", "elsewhere")
    code, _, err = scan([str(root)], capsys)
    assert code == 2
    assert first_line(err) == (
        f"{outside}:1:1: error: this package is a member of the workspace at "
        f"`{root / 'Cargo.toml'}` but is not inside its folder — move it below the workspace "
        "root, or set `package.workspace` to the root folder"
    )


@pytest.mark.parametrize(
    ("text", "line"),
    [("[workspace]\n", 1), ("[workspace]\nmembers = []\n", 2)],
    ids=["no-members-key", "empty-members"],
)
def test_workspace_with_no_packages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, line: int
) -> None:
    """Cargo refuses a virtual workspace without members; a clean "0 files" would be a lie."""
    manifest = write(tmp_path / "Cargo.toml", text)
    code, _, err = scan([str(tmp_path), "--workspace"], capsys)
    assert code == 2
    assert first_line(err) == (
        f"{manifest}:{line}:1: error: the workspace has no packages: it is virtual and "
        "`workspace.members` names none — list the package folders in `workspace.members`, "
        "or add a `[package]` table"
    )


def test_workspace_whose_only_members_are_excluded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write(
        tmp_path / "Cargo.toml", '[workspace]\nmembers = ["crates/*"]\nexclude = ["crates/a"]\n'
    )
    package(tmp_path / "crates" / "a", "a")
    code, _, err = scan([str(tmp_path), "--workspace"], capsys)
    assert code == 2
    assert first_line(err).startswith(f"{manifest}:2:1: error: the workspace has no packages")


def test_unreadable_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Permissions do not stop root, so the read itself is made to fail."""
    manifest = package(tmp_path, "a")
    real_read = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == "Cargo.toml":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    code, _, err = scan([str(tmp_path)], capsys)
    assert code == 2
    assert first_line(err) == (
        f"{manifest}: error: cannot read the manifest: Permission denied"
        " — check that the file exists and is readable"
    )


def test_no_manifest_anywhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    if any((parent / "Cargo.toml").is_file() for parent in empty.parents):
        pytest.skip("a Cargo.toml above the temporary folder")
    code, _, err = scan([str(empty)], capsys)
    assert code == 2
    assert first_line(err) == (
        f"error: could not find `Cargo.toml` in `{empty}` or any parent directory"
        " — run inside a Cargo project, or pass its folder as PATH"
    )


def test_path_that_does_not_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = scan([str(tmp_path / "nope")], capsys)
    assert code == 2
    assert first_line(err) == (
        f"error: `{tmp_path / 'nope'}` does not exist"
        " — pass the folder of a Cargo project, or its Cargo.toml"
    )


def test_relative_paths_in_messages_use_forward_slashes(tmp_path: Path) -> None:
    assert os.sep == "/" or pytest.skip("POSIX paths")
