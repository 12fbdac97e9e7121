"""Shared helpers for the scan tests (no tests here): scan a workspace with chosen jobs, cache."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

import pytest

from unsound.dsl.compiler import CompiledRule
from unsound.dsl.loader import load_rules
from unsound.engine.progress import Progress
from unsound.engine.scan import scan_workspace, workspace_crate_names
from unsound.engine.workspace import find_manifest, load_workspace, select_packages
from unsound.model import Report

ROOT = Path(__file__).resolve().parents[2]
SEEDED = ROOT / "examples" / "seeded-workspace"
RULE_FIXTURES = ROOT / "tests" / "fixtures" / "rust"


def scan_folder(
    root: Path,
    *,
    jobs: int = 0,
    use_cache: bool = False,
    rules: list[CompiledRule] | None = None,
    progress: Progress | None = None,
) -> Report:
    """Every member of the workspace at `root`, as `cargo unsound --workspace` would scan it."""
    workspace = load_workspace(find_manifest(manifest_path=None, path=root, cwd=root))
    packages = select_packages(workspace, packages=[], workspace=True, exclude=[])
    return scan_workspace(
        workspace,
        packages,
        rules if rules is not None else load_rules(),
        jobs=jobs,
        use_cache=use_cache,
        progress=progress,
    )


def crate_names(root: Path) -> frozenset[str]:
    """The library names of the workspace's members, which key its scan cache."""
    return workspace_crate_names(
        load_workspace(find_manifest(manifest_path=None, path=root, cwd=root))
    )


def seeded_copy(tmp_path: Path) -> Path:
    """A private copy of the seeded workspace (the cache writes under its `target/`)."""
    copy = tmp_path / "seeded"
    shutil.copytree(SEEDED, copy, ignore=shutil.ignore_patterns("target"))
    return copy


def rule_findings(
    root: Path, rule_id: str, *, use_cache: bool = False
) -> list[tuple[str, str, int, int]]:
    """(rule, path, line, column) of one built-in rule's findings in the workspace at `root`."""
    rules = [rule for rule in load_rules() if rule.id == rule_id]
    report = scan_folder(root, use_cache=use_cache, rules=rules)
    return [
        (f.rule_id, f.primary.path, f.primary.span.start_line, f.primary.span.start_column)
        for f in report.findings
    ]


def count_parses(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> list[int]:
    """Sizes of the files `module` parses from now on (its `parse_rust`, counted)."""
    seen: list[int] = []
    real = module.parse_rust

    def counting(data: bytes):  # type: ignore[no-untyped-def]
        seen.append(len(data))
        return real(data)

    monkeypatch.setattr(module, "parse_rust", counting)
    return seen
