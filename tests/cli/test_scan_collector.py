"""The scan runs with what was loaded before it frozen out of the cyclic collector's passes,
and the process gets its own settings back afterwards."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from unsound.cli.entry import main
from unsound.engine import scan as scan_module

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seeded-workspace"


def test_the_scan_runs_with_the_loaded_objects_frozen_and_they_are_freed_after(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[int] = []
    real = scan_module.scan_workspace

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.get_freeze_count())
        return real(*args, **kwargs)

    monkeypatch.setattr(scan_module, "scan_workspace", recording)
    assert main([str(EXAMPLE), "--no-cache", "-j1", "-q", "--fail-on", "never"]) == 0
    capsys.readouterr()
    (frozen,) = seen
    assert frozen > 0
    assert gc.get_freeze_count() == 0
