"""A scan with the compiled-rules cache: the same report as a cold run, and `--no-cache` really
is cold (it neither reads nor writes the cache)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unsound.cli.entry import main
from unsound.dsl import loader
from unsound.dsl.loader import builtin_rule_files
from unsound.dsl.rule_cache import RuleCache

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seeded-workspace"


@pytest.fixture(autouse=True)
def cache_folder(rule_cache_folder: Path) -> Path:
    return rule_cache_folder


def scan(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    target: Path,
    *options: str,
) -> str:
    """The JSON report of a new run (nothing remembered in this process), with its own
    scan-cache folder so that only the rules can come from a cache."""
    loader._COMPILED.clear()
    monkeypatch.setenv("CARGO_TARGET_DIR", str(target))
    code = main([str(EXAMPLE), "--format", "json", "-j1", "-q", "--fail-on", "never", *options])
    assert code == 0
    return capsys.readouterr().out


def test_the_report_is_the_same_with_cold_and_cached_rules(
    tmp_path: Path,
    cache_folder: Path,
    compiles: list[int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cold = scan(capsys, monkeypatch, tmp_path / "t1", "--no-cache")
    filling = scan(capsys, monkeypatch, tmp_path / "t2")
    cached = scan(capsys, monkeypatch, tmp_path / "t3")
    assert compiles == [4, 4]  # the third run compiled nothing
    assert len(list(cache_folder.glob("rules-*.bin"))) == 1
    assert cached == cold
    assert filling == cold
    assert len(json.loads(cold)["findings"]) == 9


def test_no_cache_neither_reads_nor_writes_the_rules_cache(
    tmp_path: Path,
    cache_folder: Path,
    compiles: list[int],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    full = scan(capsys, monkeypatch, tmp_path / "t1", "--no-cache")
    assert not list(cache_folder.glob("rules-*.bin"))
    # An authentic cache file that holds one rule only: a run that read it would show it.
    store = RuleCache.open(tuple(builtin_rule_files()))
    assert store is not None
    one = [r for r in loader.compile_rule_files(builtin_rule_files()) if r.id == "mut-from-ref"]
    store.write(one)
    planted = store.path.read_bytes()
    stamp = store.path.stat().st_mtime_ns
    assert scan(capsys, monkeypatch, tmp_path / "t2", "--no-cache") == full
    assert store.path.read_bytes() == planted
    assert store.path.stat().st_mtime_ns == stamp
    assert [p.name for p in cache_folder.glob("rules-*.bin")] == [store.path.name]
    # Without `--no-cache` the same file is read: the check above was not vacuous.
    report = json.loads(scan(capsys, monkeypatch, tmp_path / "t3"))
    assert [r["id"] for r in report["rules"]] == ["mut-from-ref"]
    assert compiles == [4, 4, 4]
