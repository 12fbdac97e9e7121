"""Inline suppressions through a real scan: silenced, listed for review, and policed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from unsound.cli.entry import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seeded-workspace"
DATA = "crates/component-lower/src/data.rs"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("target"))
    return root


def edit(root: Path, old: str, new: str) -> None:
    path = root / DATA
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def scan(root: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main([str(root), "--format", "json", "-q", "-j", "1", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_a_reasoned_suppression_silences_and_is_listed(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(
        workspace,
        "pub fn bar<'a>",
        "// unsound: allow(raw-pointer-escapes-lifetime): callers pin the pointee for 'a\n"
        "pub fn bar<'a>",
    )
    code, report = scan(workspace, capsys)
    assert code == 1
    assert DATA not in {f["path"] for f in report["findings"]}
    assert len(report["findings"]) == 8
    (silenced,) = report["suppressed"]
    assert (silenced["rule"], silenced["path"], silenced["line"]) == (
        "raw-pointer-escapes-lifetime",
        DATA,
        35,
    )
    assert silenced["suppression"]["reason"] == "callers pin the pointee for 'a"


def test_a_suppression_without_reason_is_reported_and_suppresses_nothing(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(
        workspace,
        "pub fn bar<'a>",
        "// unsound: allow(raw-pointer-escapes-lifetime)\npub fn bar<'a>",
    )
    _, report = scan(workspace, capsys)
    rules_at_data = sorted((f["rule"], f["line"]) for f in report["findings"] if f["path"] == DATA)
    assert rules_at_data == [("invalid-suppression", 34), ("raw-pointer-escapes-lifetime", 35)]
    assert report["suppressed"] == []


def test_an_unused_suppression_is_reported(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(
        workspace,
        "pub struct Measured",
        "// unsound: allow(raw-pointer-escapes-lifetime): nothing here\npub struct Measured",
    )
    _, report = scan(workspace, capsys)
    unused = [f for f in report["findings"] if f["rule"] == "unused-suppression"]
    assert [(f["path"], f["line"]) for f in unused] == [(DATA, 29)]
