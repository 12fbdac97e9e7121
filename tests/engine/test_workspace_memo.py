"""Whole workspaces kept by what loading them asked the file system (`engine.workspace_memo`):
reused while every answer is the same, loaded again after any change a load could see, and
never kept when the load fails. The loaders ask only through `fs_probe` (checked on their
source), so no question escapes the record."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from test_scan_support import seeded_copy

from unsound.engine import workspace_memo
from unsound.engine.manifest_memo import ManifestMemo
from unsound.engine.workspace import Workspace, find_manifest, load_workspace
from unsound.errors import WorkspaceError

ENGINE = Path(__file__).resolve().parents[2] / "unsound" / "engine"


pytestmark = pytest.mark.usefixtures("private_key_folder")  # the memo's own folder


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The manifests `load_workspace` really loads from now on (a memo hit loads none)."""
    seen: list[Path] = []

    def counting(manifest: Path, memo: object = None) -> Workspace:
        seen.append(manifest)
        return load_workspace(manifest, memo)  # type: ignore[arg-type]

    monkeypatch.setattr(workspace_memo, "load_workspace", counting)
    return seen


def remembered(root: Path) -> Workspace:
    """As a run with the cache does: open the memo, load, save."""
    memo = ManifestMemo.open()
    assert memo is not None
    manifest = find_manifest(manifest_path=None, path=root, cwd=root)
    workspace = workspace_memo.load_workspace_remembered(manifest, memo)
    memo.save()
    return workspace


def fresh(root: Path) -> Workspace:
    return load_workspace(find_manifest(manifest_path=None, path=root, cwd=root))


def names(workspace: Workspace) -> list[str]:
    return [package.name for package in workspace.members]


def test_an_unchanged_workspace_is_taken_from_the_memo(tmp_path: Path, loads: list[Path]) -> None:
    root = seeded_copy(tmp_path)
    first = remembered(root)
    assert first == fresh(root) and len(loads) == 1
    for _ in range(2):
        assert remembered(root) == first
    assert len(loads) == 1


def _rename_member(root: Path) -> None:
    manifest = root / "crates" / "slab-arena" / "Cargo.toml"
    manifest.write_text(manifest.read_text().replace("slab-arena", "slab-arena-2", 1))


def _new_member_matched_by_the_glob(root: Path) -> None:
    shutil.copytree(root / "crates" / "napi-shim", root / "crates" / "napi-shim-2")
    manifest = root / "crates" / "napi-shim-2" / "Cargo.toml"
    manifest.write_text(manifest.read_text().replace("napi-shim", "napi-shim-2", 1))


def _stray_file_where_the_glob_looks(root: Path) -> None:
    (root / "crates" / "notes.txt").write_text("not a package\n")


def _new_bin_target(root: Path) -> None:
    folder = root / "crates" / "slab-arena" / "src" / "bin"
    folder.mkdir()
    (folder / "tool.rs").write_text("fn main() {}\n")


def _new_example_folder(root: Path) -> None:
    folder = root / "crates" / "slab-arena" / "examples" / "demo"
    folder.mkdir(parents=True)
    (folder / "main.rs").write_text("fn main() {}\n")


def _new_build_script(root: Path) -> None:
    (root / "crates" / "js-bridge" / "build.rs").write_text("fn main() {}\n")


def _exclusion_lifted(root: Path) -> None:
    manifest = root / "Cargo.toml"
    manifest.write_text(manifest.read_text().replace('exclude = ["crates/legacy-ffi"]', ""))


def _member_folder_becomes_a_symlink_to_another_package(root: Path) -> None:
    elsewhere = root.parent / "elsewhere"
    shutil.copytree(root / "crates" / "js-bridge", elsewhere)
    manifest = elsewhere / "Cargo.toml"
    manifest.write_text(manifest.read_text().replace("js-bridge", "js-bridge-moved", 1))
    shutil.rmtree(root / "crates" / "js-bridge")
    (root / "crates" / "js-bridge").symlink_to(elsewhere, target_is_directory=True)


MUTATIONS: list[Callable[[Path], None]] = [
    _rename_member,
    _new_member_matched_by_the_glob,
    _new_bin_target,
    _new_example_folder,
    _new_build_script,
    _exclusion_lifted,
    _member_folder_becomes_a_symlink_to_another_package,
]


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda mutate: mutate.__name__.strip("_"))
def test_any_change_a_load_could_see_loads_it_again(
    tmp_path: Path, loads: list[Path], mutate: Callable[[Path], None]
) -> None:
    root = seeded_copy(tmp_path)
    before = remembered(root)
    mutate(root)
    after = remembered(root)
    assert len(loads) == 2, "the memo was not used"
    assert after == fresh(root) != before
    assert remembered(root) == after and len(loads) == 2, "and the new load is kept"


def test_a_change_no_load_looks_at_keeps_the_memo(tmp_path: Path, loads: list[Path]) -> None:
    """A stray file beside the members (the glob matches folders only) and a source edit
    change nothing the load asked: the workspace is the same, and taken from the memo."""
    root = seeded_copy(tmp_path)
    before = remembered(root)
    _stray_file_where_the_glob_looks(root)
    assert fresh(root) == before
    lib = root / "crates" / "slab-arena" / "src" / "lib.rs"
    lib.write_text(lib.read_text() + "\n// edited\n")
    assert remembered(root) == before
    # The stray file is listed with the `crates` folder, which the glob lists: that answer
    # changed, so the workspace was loaded again once, and is the same.
    assert len(loads) == 2


def test_another_cargo_home_is_another_key(
    tmp_path: Path, loads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = seeded_copy(tmp_path)
    remembered(root)
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "cargo-home"))
    remembered(root)
    remembered(root)
    assert len(loads) == 2


def test_a_failed_load_is_never_kept(tmp_path: Path, loads: list[Path]) -> None:
    root = seeded_copy(tmp_path)
    remembered(root)
    manifest = root / "crates" / "slab-arena" / "Cargo.toml"
    manifest.write_text(manifest.read_text() + "\n[broken\n")
    for _ in range(2):
        with pytest.raises(WorkspaceError) as error:
            remembered(root)
        assert error.value.path == str(manifest)
    assert len(loads) == 3


def test_a_memo_of_another_shape_is_loaded_again(tmp_path: Path, loads: list[Path]) -> None:
    root = seeded_copy(tmp_path)
    first = remembered(root)
    memo = ManifestMemo.open()
    assert memo is not None
    (key,) = memo.workspaces
    memo.remember_workspace(key, b"not marshal")
    memo.save()
    assert remembered(root) == first and len(loads) == 2


# The modules `load_workspace` runs, and every way into the file system they could take other
# than `fs_probe`. `lint_groups` reads the tool's own package data, not the workspace.
LOADERS = (
    "workspace",
    "workspace_members",
    "workspace_root",
    "targets",
    "member_globs",
    "manifest",
    "cargo_lints",
    "lint_groups",
    "toml_positions",
)
FILE_SYSTEM = re.compile(
    r"(?<!fs_probe)\.(is_file|is_dir|exists|resolve|iterdir|glob|rglob|read_bytes|read_text|"
    r"stat|lstat|is_symlink|samefile|readlink|owner|open)\("
    r"|os\.(listdir|scandir|stat|lstat|readlink|walk|open|access)\b"
    r"|os\.path\.(realpath|exists|isdir|isfile|lexists|islink|getsize|getmtime|samefile)\b"
    r"|(?<![\w.])open\("
)


def test_the_loaders_ask_the_file_system_only_through_fs_probe() -> None:
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, unsound.engine.workspace\n"
            "print('\\n'.join(m for m in sys.modules if m.startswith('unsound.engine.')))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    loaders = {name.removeprefix("unsound.engine.") for name in imported} - {"fs_probe"}
    assert loaders <= set(LOADERS), "a new module in workspace loading: check it, then list it"
    for name in LOADERS:
        source = (ENGINE / f"{name}.py").read_text(encoding="utf-8")
        found = [m.group(0) for m in FILE_SYSTEM.finditer(source)]
        if name == "lint_groups":
            assert found == [".read_text("], "only its own package data"
        else:
            assert found == [], f"{name}.py asks the file system past fs_probe: {found}"
