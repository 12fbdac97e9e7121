"""A parsed source file and the conversions from tree-sitter byte positions to report spans."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tree_sitter import Node, Tree

from unsound.model import Span

_NEWLINE = re.compile(b"\n")


class WholeFileNeeded(Exception):
    """Raised when matching a partly parsed file (`ParsedFile.partial`) needs a top-level item
    that was left out: the file is then matched again, parsed whole."""


@dataclass(frozen=True)
class ParsedFile:
    """One Rust file with its tree: the unit the matcher works on."""

    rel_path: str
    crate: str
    data: bytes
    tree: Tree
    # The file as written, when `data` is a same-length rewrite (a macro body read as Rust).
    display: bytes | None = field(default=None, compare=False, repr=False)
    _line_starts: list[int] = field(default_factory=list, compare=False, repr=False)
    # GitHub's per-line hashes, computed on the first finding (one per unit, never shared:
    # a memo keyed by `id()` handed a freed unit's hashes to the next file at that address).
    _line_hashes: list[Sequence[str]] = field(default_factory=list, compare=False, repr=False)
    # `inside` relations already matched in this unit's tree (see `relations.relate`).
    relation_memo: dict[object, list[dict[str, object]]] = field(
        default_factory=dict, compare=False, repr=False
    )
    # What the crate index read off this tree (its definitions, its impls): a file that answers
    # several lookups is queried once.
    index_memo: dict[str, object] = field(default_factory=dict, compare=False, repr=False)

    # Whether `data` is valid UTF-8 (tree-sitter's `#match?` then works on it): empty until
    # first asked; a derived unit takes its file's answer.
    _utf8: list[bool] = field(default_factory=list, compare=False, repr=False)
    # Whether `tree` holds only some of the file's top-level items (`engine.item_ranges`).
    partial: bool = field(default=False, compare=False)
    # For a partly parsed file: a parse of its first item and its top-level declarations
    # (`ItemCuts.declaration_ranges`), None when they do not parse apart; made when first asked.
    parse_declarations: Callable[[], Tree | None] | None = field(
        default=None, compare=False, repr=False
    )
    _declarations: list[Tree] = field(default_factory=list, compare=False, repr=False)

    def top_level(self, scope: Node) -> list[Node]:
        """The named children of a module body, as a reader of its `use` and `static`
        declarations needs them: for the root of a partly parsed file, those of its first item
        and top-level declarations, parsed when first asked (a file's candidates seldom ask:
        6 of wasmtime's 494 partly parsed files); `WholeFileNeeded` when they do not parse
        apart, so that the file is matched again whole."""
        if scope.parent is not None or self.parse_declarations is None:
            return scope.named_children
        if not self._declarations:
            tree = self.parse_declarations()
            if tree is None:
                raise WholeFileNeeded
            self._declarations.append(tree)
        return self._declarations[0].root_node.named_children

    @property
    def utf8(self) -> bool:
        if not self._utf8:
            try:
                self.data.decode("utf-8")
            except UnicodeDecodeError:
                self._utf8.append(False)
            else:
                self._utf8.append(True)
        return self._utf8[0]

    @property
    def line_starts(self) -> list[int]:
        """Byte offsets of the lines' starts, built on first use (most units make no finding
        and need none): the list object is shared with the units derived from this one, and
        built from the file as written."""
        if not self._line_starts:
            source = self.display if self.display is not None else self.data
            self._line_starts.append(0)
            self._line_starts.extend(match.end() for match in _NEWLINE.finditer(source))
        return self._line_starts

    def derived(self, data: bytes, tree: Tree) -> ParsedFile:
        """A unit over a same-length rewrite of this file, sharing its line table."""
        return ParsedFile(
            self.rel_path,
            self.crate,
            data,
            tree,
            display=self.data,
            _line_starts=self._line_starts,
            _utf8=[self.utf8],  # a rewrite changes only ASCII (`$x` → `_x`)
        )

    def line_hashes(self) -> Sequence[str]:
        if not self._line_hashes:
            from unsound.fingerprints import LineHashes

            source = self.display if self.display is not None else self.data
            self._line_hashes.append(LineHashes(source.decode("utf-8", "replace")))
        return self._line_hashes[0]

    def text(self, node: Node) -> str:
        return self.data[node.start_byte : node.end_byte].decode("utf-8", "replace")

    def span(self, start_byte: int, end_byte: int) -> Span:
        """Report span for a byte range: 1-based lines, code-point and UTF-16 columns."""
        start_line, start_col, start_u16 = self._position(start_byte)
        end_line, end_col, end_u16 = self._position(end_byte)
        return Span(
            start_line=start_line,
            start_column=start_col,
            end_line=end_line,
            end_column=end_col,
            start_utf16=start_u16,
            end_utf16=end_u16,
            start_byte=start_byte,
            end_byte=end_byte,
        )

    def node_span(self, node: Node) -> Span:
        return self.span(node.start_byte, node.end_byte)

    def lines(self, first: int, last: int) -> tuple[str, ...]:
        """The text of lines first..last (1-based, inclusive), without line endings."""
        out = []
        for number in range(first, last + 1):
            starts = self.line_starts
            start = starts[number - 1]
            end = starts[number] if number < len(starts) else len(self.data)
            source = self.display if self.display is not None else self.data
            out.append(source[start:end].decode("utf-8", "replace").rstrip("\r\n"))
        return tuple(out)

    def _position(self, byte: int) -> tuple[int, int, int]:
        starts = self.line_starts
        line_index = bisect.bisect_right(starts, byte) - 1
        prefix = self.data[starts[line_index] : byte].decode("utf-8", "replace")
        utf16 = len(prefix.encode("utf-16-le")) // 2
        return line_index + 1, len(prefix) + 1, utf16 + 1
