"""The scan runs with the cyclic collector tuned (what is loaded before it frozen, rarer
collections), and the process gets its own settings back afterwards."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from unsound.cli import scan_cmd
from unsound.cli.entry import main
from unsound.engine import scan as scan_module

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seeded-workspace"


def test_the_scan_runs_tuned_and_the_settings_come_back(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[tuple[tuple[int, int, int], int]] = []
    real = scan_module.scan_workspace

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        return real(*args, **kwargs)

    monkeypatch.setattr(scan_module, "scan_workspace", recording)
    before = gc.get_threshold()
    assert main([str(EXAMPLE), "--no-cache", "-j1", "-q", "--fail-on", "never"]) == 0
    capsys.readouterr()
    ((threshold, frozen),) = seen
    assert threshold[0] == scan_cmd._GC_FIRST_GENERATION and frozen > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
