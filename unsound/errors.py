"""The one error tree. Only the CLI catches these and turns them into exit codes and messages.

Every user-facing error renders as `path:line:col: error: what is wrong — what to do`, and, when
the offending source line is known, that line with a caret under the problem.
"""

from __future__ import annotations

from pathlib import Path


class UnsoundError(Exception):
    """Base of every expected error; the CLI maps it to exit code 2."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        column: int | None = None,
        hint: str | None = None,
        source_line: str | None = None,
        width: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.hint = hint
        self.source_line = source_line
        self.width = max(1, width)

    def render(self) -> str:
        """The full message: one headline, then the source line and caret when known."""
        where = ""
        if self.path is not None:
            where = self.path
            if self.line is not None:
                where += f":{self.line}:{self.column or 1}"
            where += ": "
        headline = f"{where}error: {self.message}"
        if self.hint:
            headline += f" — {self.hint}"
        if self.source_line is None or self.line is None:
            return headline
        gutter = str(self.line)
        pad = " " * len(gutter)
        text = self.source_line.rstrip("\r\n").replace("\t", " ")
        caret = " " * max(0, (self.column or 1) - 1) + "^" * self.width
        return f"{headline}\n{pad} |\n{gutter} | {text}\n{pad} | {caret}"

    def __str__(self) -> str:
        return self.render()


class UsageError(UnsoundError):
    """A bad command line."""


class ConfigError(UnsoundError):
    """A bad configuration file or value."""


class WorkspaceError(UnsoundError):
    """A Cargo.toml that cannot be read, or a workspace that cannot be resolved."""


class RuleError(UnsoundError):
    """A rule file with a syntax or semantic error."""


class SourceError(UnsoundError):
    """A Rust source file that cannot be read; reported per file, never fatal to the scan."""


class OutputError(UnsoundError):
    """An output file that cannot be written."""
