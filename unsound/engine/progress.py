"""Files done / total on one stderr line, for long scans on a terminal.

The engine only calls `update(done, total)`; whether anything is shown is decided once, by the CLI
(stderr is a TTY and not `-q`), so logs and pipes never get carriage returns. Updates are
throttled: redrawing on each of thousands of files would cost more than it tells.
"""

from __future__ import annotations

import time
from typing import Protocol, TextIO


class Progress(Protocol):
    def update(self, done: int, total: int) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    """Shows nothing (not a terminal, or `-q`)."""

    def update(self, done: int, total: int) -> None:
        return None

    def finish(self) -> None:
        return None


class TerminalProgress:
    """`scanning 812/1843 files` redrawn in place, then erased when the scan ends."""

    def __init__(self, stream: TextIO, interval: float = 0.1) -> None:
        self._stream = stream
        self._interval = interval
        self._last = 0.0
        self._shown = False

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < self._interval:
            return
        self._last = now
        self._stream.write(f"\r\x1b[2K    Scanning {done}/{total} files")
        self._stream.flush()
        self._shown = True

    def finish(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
            self._shown = False


def progress_for(stream: TextIO, quiet: bool) -> Progress:
    """A terminal progress line when `stream` is a TTY and the user did not ask for quiet."""
    return TerminalProgress(stream) if not quiet and stream.isatty() else NoProgress()
