"""Parsed manifests kept by content across runs: the same workspace, without parsing again."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_scan_support import seeded_copy

from unsound.cli.entry import main
from unsound.engine import manifest as manifest_module
from unsound.engine.manifest_memo import ManifestMemo
from unsound.engine.workspace import Workspace, find_manifest, load_workspace


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "cargo-unsound"


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts tomllib parses from now on."""
    seen: list[str] = []
    real = manifest_module.tomllib.loads

    def counting(text: str) -> dict[str, object]:
        seen.append(text)
        return real(text)

    monkeypatch.setattr(manifest_module.tomllib, "loads", counting)
    return seen


def load(root: Path, memo: ManifestMemo | None) -> Workspace:
    workspace = load_workspace(find_manifest(manifest_path=None, path=root, cwd=root), memo)
    if memo is not None:
        memo.save()
    return workspace


def test_a_second_run_parses_no_manifest_and_loads_the_same_workspace(
    tmp_path: Path, cache_home: Path, parsed: list[str]
) -> None:
    root = seeded_copy(tmp_path)
    plain = load(root, None)
    manifests = len(parsed)
    assert manifests >= 5
    parsed.clear()
    assert load(root, ManifestMemo.open()) == plain
    assert len(parsed) == manifests
    parsed.clear()
    assert load(root, ManifestMemo.open()) == plain
    assert parsed == []


def test_a_changed_manifest_is_parsed_again(
    tmp_path: Path, cache_home: Path, parsed: list[str]
) -> None:
    root = seeded_copy(tmp_path)
    load(root, ManifestMemo.open())
    member = root / "crates" / "slab-arena" / "Cargo.toml"
    member.write_text(member.read_text().replace("slab-arena", "slab-arena-2", 1))
    parsed.clear()
    workspace = load(root, ManifestMemo.open())
    assert [text for text in parsed if "slab-arena-2" in text] and len(parsed) == 1
    assert "slab-arena-2" in [package.name for package in workspace.members]


def test_a_tampered_memo_is_ignored(tmp_path: Path, cache_home: Path, parsed: list[str]) -> None:
    """Same key as the caches: a document planted without it is never used."""
    root = seeded_copy(tmp_path)
    load(root, ManifestMemo.open())
    path = cache_home / "manifests.bin"
    mac, _, body = path.read_bytes().partition(b"\n")
    path.write_bytes(mac + b"\n" + body.replace(b"slab-arena", b"slab-evil!"))
    parsed.clear()
    workspace = load(root, ManifestMemo.open())
    assert parsed, "an unauthentic memo must not be used"
    assert "slab-arena" in [package.name for package in workspace.members]


def test_a_date_time_manifest_is_parsed_every_time(
    tmp_path: Path, cache_home: Path, parsed: list[str]
) -> None:
    """marshal cannot hold a TOML date-time: such a manifest is simply not kept."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "lib.rs").write_text("")
    (tmp_path / "Cargo.toml").write_text(
        '[package]\nname = "t"\nversion = "0.1.0"\nedition = "2021"\n\n'
        "[package.metadata]\nreleased = 2026-11-24T06:00:00Z\n"
    )
    first = load(tmp_path, ManifestMemo.open())
    parsed.clear()
    assert load(tmp_path, ManifestMemo.open()) == first
    assert len(parsed) == 1


def test_no_cache_neither_reads_nor_writes_the_memo(
    tmp_path: Path, cache_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = seeded_copy(tmp_path)
    main([str(root), "--workspace", "--no-cache", "-q", "--format", "json"])
    assert not (cache_home / "manifests.bin").exists()
    main([str(root), "--workspace", "-q", "--format", "json"])
    assert (cache_home / "manifests.bin").exists()
    capsys.readouterr()
