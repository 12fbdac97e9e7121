"""The guess of each package's size that orders a cold scan's crates (`engine.crate_sizes`), and
the plan the scan makes of it (`scan._discovery_plan`): biggest first, only a crate big beside
the whole cut into slices; a rescan keeps the changed crates first."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from unsound.engine.crate_sizes import discovery_order, estimated_sizes
from unsound.engine.scan import _SLICE_BYTES, _discovery_plan
from unsound.engine.targets import Target
from unsound.engine.workspace import Package


def _write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"/" * size)
    return path


def _package(name: str, root: Path, *roots: tuple[str, str]) -> Package:
    targets = tuple(Target(kind, name, root / path) for kind, path in roots)
    return Package(name, root / "Cargo.toml", root, targets)


def test_a_package_counts_the_rust_files_under_its_crate_roots_folders(tmp_path: Path) -> None:
    """The root package's `src/` and `tests/`, and its build script alone (not the members'
    folders beside it); a member whose `lib.rs` sits beside its manifest has its own folder
    walked, a nested member's folder left out. Not `target`, hidden folders, other files, or
    a folder reached through a symbolic link."""
    _write(tmp_path / "build.rs", 7)
    _write(tmp_path / "src" / "main.rs", 100)
    _write(tmp_path / "src" / "cli" / "args.rs", 30)
    _write(tmp_path / "src" / "notes.md", 5000)
    _write(tmp_path / "tests" / "it.rs", 20)
    _write(tmp_path / "target" / "debug" / "gen.rs", 9000)
    _write(tmp_path / "docs" / "example.rs", 9000)  # no crate root of the package is there
    member = tmp_path / "crates" / "flat"
    _write(member / "lib.rs", 50)
    _write(member / "inner" / "mod.rs", 4)
    _write(member / ".hidden" / "x.rs", 9000)
    _write(member / "target" / "x.rs", 9000)
    nested = member / "nested"
    _write(nested / "src" / "lib.rs", 11)
    outside = _write(tmp_path.parent / f"{tmp_path.name}-elsewhere" / "big.rs", 9000)
    os.symlink(outside.parent, member / "linked")
    packages = [
        _package(
            "root",
            tmp_path,
            ("build-script", "build.rs"),
            ("bin", "src/main.rs"),
            ("test", "tests/it.rs"),
        ),
        _package("flat", member, ("lib", "lib.rs")),
        _package("nested", nested, ("lib", "src/lib.rs")),
    ]
    assert estimated_sizes(packages) == {"root": 157, "flat": 54, "nested": 11}


def test_packages_are_discovered_biggest_first_ties_in_their_order(tmp_path: Path) -> None:
    names = ["a", "b", "c", "d"]
    packages = [_package(name, tmp_path / name) for name in names]
    sizes = {"a": 5, "b": 9, "c": 5, "d": 0}
    assert [p.name for p in discovery_order(packages, sizes)] == ["b", "a", "c", "d"]


@pytest.mark.parametrize(("jobs", "slice_bytes"), [(2, 3_000_000), (4, _SLICE_BYTES)])
def test_a_cold_scan_cuts_only_a_crate_big_beside_the_whole(
    tmp_path: Path, jobs: int, slice_bytes: int
) -> None:
    """Cut from half of one job's share of the whole (12 MB: 3 MB on two jobs), never below
    the fixed 2 MB (1.5 MB on four)."""
    big = _package("big", tmp_path / "big", ("lib", "src/lib.rs"))
    small = _package("small", tmp_path / "small", ("lib", "src/lib.rs"))
    _write(tmp_path / "big" / "src" / "lib.rs", 8_000_000)
    _write(tmp_path / "small" / "src" / "lib.rs", 4_000_000)
    order, cut_from = _discovery_plan([small, big], None, jobs)
    assert [p.name for p in order] == ["big", "small"]
    assert cut_from == slice_bytes


def test_one_job_keeps_the_given_order_without_sizing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing to balance on one worker: the packages are not walked."""
    from unsound.engine import scan

    monkeypatch.setattr(scan, "estimated_sizes", lambda packages: pytest.fail("walked"))
    small = _package("small", tmp_path / "small", ("lib", "src/lib.rs"))
    big = _package("big", tmp_path / "big", ("lib", "src/lib.rs"))
    order, cut_from = _discovery_plan([small, big], None, 1)
    assert [p.name for p in order] == ["small", "big"]
    assert cut_from == _SLICE_BYTES


def test_a_rescan_takes_the_changed_crates_first_and_cuts_as_before(tmp_path: Path) -> None:
    """The cache names what changed: no walk, the changed crate first, the fixed size."""
    big = _package("big", tmp_path / "big", ("lib", "src/lib.rs"))
    small = _package("small", tmp_path / "small", ("lib", "src/lib.rs"))
    _write(tmp_path / "big" / "src" / "lib.rs", 8_000_000)
    order, cut_from = _discovery_plan([big, small], {"small": 10}, 2)
    assert [p.name for p in order] == ["small", "big"]
    assert cut_from == _SLICE_BYTES
