"""Reading one Cargo.toml: TOML parsing, typed access to its values, and located errors.

Every error about a manifest must say `Cargo.toml:LINE:COL` and what to do. tomllib gives a position
only for syntax errors, so semantic errors locate the offending key in the text themselves
(`toml_positions`). Nothing here knows about workspaces; it only reads and checks one file.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

from unsound.engine import fs_probe
from unsound.engine.toml_positions import KeyPath, key_positions, locate
from unsound.errors import WorkspaceError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_AT_END = re.compile(r"\s*\(at end of document\)\s*$")

Table = Mapping[str, Any]
_DEEP = 64  # bracket depth past which a "nested too deeply" error points


@dataclass(frozen=True)
class Manifest:
    """One parsed Cargo.toml, with its text kept so errors can point into it."""

    path: Path  # absolute
    text: str
    data: Table

    @property
    def folder(self) -> Path:
        return self.path.parent

    @property
    def package(self) -> Table | None:
        value = self.data.get("package")
        return value if isinstance(value, Mapping) else None

    @property
    def workspace(self) -> Table | None:
        value = self.data.get("workspace")
        return value if isinstance(value, Mapping) else None

    @cached_property
    def _positions(self) -> dict[KeyPath, tuple[int, int]]:
        try:
            return key_positions(self.text)
        except RecursionError:  # deep values: errors then point at the nearest table header
            return {}

    def has_key(self, path: KeyPath) -> bool:
        """Whether `path` is written in the text (not merely implied)."""
        return path in self._positions

    def error(self, message: str, key: KeyPath, hint: str) -> WorkspaceError:
        """A WorkspaceError pointing at `key` (or its nearest written parent) in this manifest."""
        line, column = locate(self._positions, key)
        return WorkspaceError(
            message,
            path=self.path,
            line=line,
            column=column,
            hint=hint,
            source_line=_line_text(self.text, line),
        )

    def string(self, key: KeyPath, *, hint: str) -> str | None:
        """The string at `key`, None when absent; a located error when it is not a string."""
        value = self.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self.error(f"`{_dotted(key)}` must be a string", key, hint)

    def string_list(self, key: KeyPath, *, hint: str) -> list[str] | None:
        """The array of strings at `key`, None when absent; located errors for wrong types."""
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.error(f"`{_dotted(key)}` must be an array of strings", key, hint)
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise self.error(f"`{_dotted(key)}` entries must be strings", (*key, index), hint)
        return list(value)

    def table(self, key: KeyPath, *, hint: str) -> Table | None:
        """The table at `key`, None when absent; a located error when it is not a table."""
        value = self.get(key)
        if value is None or isinstance(value, Mapping):
            return value
        raise self.error(f"`{_dotted(key)}` must be a table", key, hint)

    def get(self, key: KeyPath) -> Any:
        """The raw value at `key` (None when any part is missing)."""
        value: Any = self.data
        for part in key:
            if isinstance(part, int):
                if not isinstance(value, list) or part >= len(value):
                    return None
                value = value[part]
            elif isinstance(value, Mapping):
                value = value.get(part)
            else:
                return None
        return value


class ParseMemo(Protocol):
    """Documents parsed in earlier runs, by the manifest's bytes (`ManifestMemo`)."""

    def parse(self, raw: bytes, parse: Callable[[], dict[str, Any]]) -> dict[str, Any]: ...


def read_manifest(path: Path, memo: ParseMemo | None = None) -> Manifest:
    """Read and parse a Cargo.toml; a located WorkspaceError when it cannot be read or parsed.
    With `memo`, a manifest whose bytes were parsed before is not parsed again."""
    try:
        raw = fs_probe.read_bytes(path)
    except OSError as error:
        raise WorkspaceError(
            f"cannot read the manifest: {error.strerror or error}",
            path=path,
            hint="check that the file exists and is readable",
        ) from error
    text = raw.decode("utf-8", errors="replace")
    try:
        data = memo.parse(raw, lambda: parse_toml(text)) if memo else parse_toml(text)
    except ValueError as error:  # both parsers' `TOMLDecodeError`
        raise _syntax_error(path, text, str(error)) from error
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively and fails a few hundred
        # levels down; Cargo's own parser rejects deep nesting too, so this is a manifest error.
        raise _too_deep(path, text) from None
    return Manifest(path=path, text=text, data=data)


def parse_toml(text: str) -> dict[str, Any]:
    """The document, as Cargo reads it: TOML 1.1, which allows inline tables over several lines
    and with a trailing comma (embassy's manifests). The standard library reads TOML 1.0 before
    Python 3.15, so a document it refuses is read again by tomli (TOML 1.1 since 2.4), whose
    error is the one reported if it refuses it too."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        if sys.version_info >= (3, 15):
            raise
    import tomli  # only for a document tomllib refuses: most manifests never need it

    return tomli.loads(text)


def _too_deep(path: Path, text: str) -> WorkspaceError:
    """A located error at the bracket where nesting first gets deep (strings roughly skipped)."""
    depth, offset, quote = 0, 0, ""
    for index, char in enumerate(text):
        offset = index
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > _DEEP:
                break
        elif char in "]}":
            depth = max(0, depth - 1)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return WorkspaceError(
        "invalid TOML: arrays or inline tables are nested too deeply",
        path=path,
        line=line,
        column=column,
        hint="a manifest needs only a few levels of nesting; remove the deep value",
        source_line=_line_text(text, line),
    )


def _syntax_error(path: Path, text: str, message: str) -> WorkspaceError:
    """Turn tomllib's "… (at line X, column Y)" into a located error."""
    line: int | None = None
    column: int | None = None
    match = _TOML_POSITION.search(message)
    if match:
        line, column = int(match.group(1)), int(match.group(2))
        message = message[: match.start()]
    elif _TOML_AT_END.search(message):
        message = _TOML_AT_END.sub("", message)
        line = text.count("\n") + 1
        column = len(text) - (text.rfind("\n") + 1) + 1
    return WorkspaceError(
        f"invalid TOML: {message}",
        path=path,
        line=line,
        column=column,
        hint="fix the syntax of this manifest",
        source_line=_line_text(text, line) if line is not None else None,
    )


def _line_text(text: str, line: int) -> str | None:
    lines = text.splitlines()
    return lines[line - 1] if 0 < line <= len(lines) else None


def _dotted(key: KeyPath) -> str:
    """`("workspace", "members", 2)` → `workspace.members[2]`, as a user would write it."""
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out
