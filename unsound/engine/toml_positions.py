"""Where each key (and array element) of a TOML document is written.

tomllib reports positions only for syntax errors. Semantic errors in a manifest (a wrong type for
`workspace.members`, a member folder that does not exist) must still point at `Cargo.toml:LINE:COL`,
so this module scans the text once and records the position of every key it defines. It is run only
on text tomllib has already accepted, so it can be lenient: it never decides what is valid TOML.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

KeyPath = tuple["str | int", ...]
Position = tuple[int, int]  # 1-based line, 1-based column in code points

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR_END = frozenset(",]}#\n")


@dataclass
class _Scanner:
    """A cursor over the text that records key and element positions as it goes."""

    text: str
    pos: int = 0
    found: dict[KeyPath, Position] = field(default_factory=dict)
    table_counts: dict[KeyPath, int] = field(default_factory=dict)
    # Offsets where each line starts: a key's line is a bisection, not a count of every newline
    # before it (quadratic on bevy's 3,000-line manifest: 0.2 s).
    line_starts: list[int] = field(default_factory=list)

    def position(self, offset: int) -> Position:
        if not self.line_starts:
            self.line_starts = [0, *(m.end() for m in re.finditer("\n", self.text))]
        line = bisect.bisect_right(self.line_starts, offset)
        column = offset - self.line_starts[line - 1] + 1
        return line, column

    def record(self, path: KeyPath, offset: int) -> None:
        self.found.setdefault(path, self.position(offset))

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_blank(self, *, newlines: bool) -> None:
        """Skip spaces, comments and (when allowed) line ends."""
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self.pos += 1
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def read_key(self) -> list[tuple[str, int]]:
        """A dotted key: each part with the offset where it starts."""
        parts: list[tuple[str, int]] = []
        while True:
            self.skip_blank(newlines=False)
            start = self.pos
            if self.peek() in "\"'":
                parts.append((self.read_string(), start))
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                end = match.end() if match else self.pos + 1
                parts.append((self.text[self.pos : end], start))
                self.pos = end
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.pos += 1

    def read_string(self) -> str:
        """A basic, literal or multi-line string; returns its raw content (escapes kept)."""
        quote = self.peek()
        triple = self.text.startswith(quote * 3, self.pos)
        delimiter = quote * 3 if triple else quote
        self.pos += len(delimiter)
        start = self.pos
        while self.pos < len(self.text):
            if quote == '"' and self.text[self.pos] == "\\":
                self.pos += 2
                continue
            if self.text.startswith(delimiter, self.pos):
                # A multi-line string may end with up to two extra quotes: `""""` ends after them.
                while triple and self.text.startswith(delimiter + quote, self.pos):
                    self.pos += 1
                content = self.text[start : self.pos]
                self.pos += len(delimiter)
                return content
            self.pos += 1
        return self.text[start:]

    def read_value(self, path: KeyPath) -> None:
        """Skip one value, recording keys of inline tables and elements of arrays under `path`."""
        self.skip_blank(newlines=False)
        char = self.peek()
        if char in "\"'":
            self.read_string()
        elif char == "[":
            self.read_array(path)
        elif char == "{":
            self.read_inline_table(path)
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in _SCALAR_END:
                self.pos += 1

    def read_array(self, path: KeyPath) -> None:
        self.pos += 1
        index = 0
        while self.pos < len(self.text):
            self.skip_blank(newlines=True)
            if self.peek() == "]":
                self.pos += 1
                return
            if self.peek() == ",":
                self.pos += 1
                continue
            self.record((*path, index), self.pos)
            self.read_value((*path, index))
            index += 1

    def read_inline_table(self, path: KeyPath) -> None:
        self.pos += 1
        while self.pos < len(self.text):
            self.skip_blank(newlines=True)
            if self.peek() == "}":
                self.pos += 1
                return
            if self.peek() == ",":
                self.pos += 1
                continue
            self.read_key_value(path)

    def read_key_value(self, table: KeyPath) -> None:
        parts = self.read_key()
        full: KeyPath = table
        for name, offset in parts:
            full = (*full, name)
            self.record(full, offset)
        self.skip_blank(newlines=False)
        if self.peek() == "=":
            self.pos += 1
        self.read_value(full)

    def read_header(self) -> KeyPath:
        """`[a.b]` or `[[a.b]]`: returns the path later keys live under."""
        array = self.text.startswith("[[", self.pos)
        header_start = self.pos
        self.pos += 2 if array else 1
        parts = self.read_key()
        self.pos += 2 if array else 1
        names: KeyPath = tuple(name for name, _ in parts)
        if array:
            index = self.table_counts.get(names, 0)
            self.table_counts[names] = index + 1
            self.record(names, header_start)
            names = (*names, index)
        self.record(names, header_start)
        return names

    def scan(self) -> dict[KeyPath, Position]:
        table: KeyPath = ()
        while True:
            self.skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return self.found
            before = self.pos
            if self.peek() == "[":
                table = self.read_header()
            else:
                self.read_key_value(table)
            if self.pos == before:  # never loop on text this scanner does not understand
                self.pos += 1


def key_positions(text: str) -> dict[KeyPath, Position]:
    """Every key path defined in `text` (tables, keys, array elements as int indexes) → position.

    `[[bin]]` tables are indexed like arrays: the second `[[bin]]`'s `path` is `("bin", 1, "path")`.
    The first definition wins when a path appears twice (e.g. a table header and a dotted key).
    """
    return _Scanner(text).scan()


def locate(found: Mapping[KeyPath, Position], path: KeyPath) -> Position:
    """The position of `path`, else of its longest recorded prefix, else the start of the file."""
    for length in range(len(path), 0, -1):
        position = found.get(path[:length])
        if position is not None:
            return position
    return (1, 1)
