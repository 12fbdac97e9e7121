"""Progress: a line on a terminal's stderr, nothing on a pipe or with -q."""

from __future__ import annotations

import io
from pathlib import Path

from test_scan_support import scan_folder, seeded_copy

from unsound.engine.progress import NoProgress, TerminalProgress, progress_for


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_only_a_terminal_without_quiet_gets_progress() -> None:
    assert isinstance(progress_for(_Tty(), quiet=False), TerminalProgress)
    assert isinstance(progress_for(_Tty(), quiet=True), NoProgress)
    assert isinstance(progress_for(io.StringIO(), quiet=False), NoProgress)


def test_a_scan_reports_every_file_done_then_erases_the_line(tmp_path: Path) -> None:
    stream = _Tty()
    report = scan_folder(seeded_copy(tmp_path), jobs=2, progress=TerminalProgress(stream, 0.0))
    text = stream.getvalue()
    total = report.files_scanned
    assert f"Scanning {total}/{total} files" in text
    assert text.endswith("\r\x1b[2K")
