"""Macro bodies and arguments read as Rust, so patterns match inside them too.

tree-sitter sees a `macro_rules!` transcriber and a macro call's arguments as opaque token trees,
and so do Semgrep and ast-grep; yet real bugs live there (a transcriber that writes an
`unsafe impl` per type). Each region is re-parsed in place with tree-sitter's included ranges, so
every node keeps its byte offset in the original file and findings point at the real source:

- a `macro_rules!` arm's transcriber is rewritten to Rust of the same length: `$x` fragments
  become identifiers (`_x`), `$( … ),*` repetitions are read once (their `$(`, `)`, separator and
  operator become spaces), then parsed as items or statements;
- the arguments of a macro call (`vec![…]`, `assert!(…)`, user macros) are parsed as the
  expression their delimiters make: a tuple, an array or a block. Arguments that are not Rust
  (a DSL) parse with errors and simply match nothing.

Only one level is expanded (a macro call inside these regions is not re-parsed again).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache

from tree_sitter import Node, Parser, Point, Range, Tree

from unsound.dsl.rust_parser import rust_language
from unsound.engine.units import ParsedFile

# The query patterns that find macro regions; `RuleSetMatcher` runs them in its own query.
REGION_PATTERNS = (
    "(macro_rule (token_tree) @transcriber)",
    "(macro_invocation (token_tree) @arguments)",
)
_REPETITION_OPERATORS = b"*+?"


@cache
def _parser() -> Parser:
    return Parser(rust_language())


def macro_units(
    unit: ParsedFile, regions: list[tuple[str, Node]], wanted: Callable[[Node], bool]
) -> Iterator[ParsedFile]:
    """A derived unit per macro region whose token tree `wanted` accepts (the items the rules
    may match in, their prefilter on its text).

    `regions` are the unit's `REGION_PATTERNS` captures: (`transcriber` or `arguments`, token
    tree)."""
    if not regions:
        return
    shadow: bytearray | None = None  # the text with the chosen transcribers rewritten
    selected: list[tuple[int, int]] = []
    for name, node in sorted(regions, key=lambda r: r[1].start_byte):
        if not wanted(node):
            continue
        if name == "transcriber":
            start, end = node.start_byte + 1, node.end_byte - 1  # inside the delimiters
            if shadow is None:
                shadow = bytearray(unit.data)
            shadow[start:end] = rewrite_transcriber(unit.data[start:end])
        else:
            start, end = node.start_byte, node.end_byte
        if end > start:
            selected.append((start, end))
    data = unit.data if shadow is None else bytes(shadow)
    for start, end in selected:
        yield unit.derived(data, _parse_region(unit, data, start, end))


def _parse_region(unit: ParsedFile, data: bytes, start: int, end: int) -> Tree:
    parser = _parser()
    parser.included_ranges = [Range(_point(unit, start), _point(unit, end), start, end)]
    try:
        return parser.parse(data)
    finally:
        parser.included_ranges = []


def _point(unit: ParsedFile, byte: int) -> Point:
    span = unit.span(byte, byte)
    line_start = byte - _column_bytes(unit.data, byte)
    return Point(span.start_line - 1, byte - line_start)


def _column_bytes(data: bytes, byte: int) -> int:
    return byte - (data.rfind(b"\n", 0, byte) + 1)


def rewrite_transcriber(body: bytes) -> bytes:
    """Same-length Rust for a transcriber: `$x` → `_x`, repetition syntax → spaces."""
    out = bytearray(body)
    groups: list[int] = []  # paren depth at which each open `$(` started
    depth = 0
    index = 0
    while index < len(out):
        char = out[index]
        if char == ord("$") and index + 1 < len(out):
            following = out[index + 1]
            if following == ord("("):
                out[index : index + 2] = b"  "
                groups.append(depth)
                depth += 1
                index += 2
                continue
            out[index] = ord("_")  # `$name` / `$crate` → `_name` / `_crate`
        elif char == ord("("):
            depth += 1
        elif char == ord(")"):
            depth -= 1
            if groups and groups[-1] == depth:
                groups.pop()
                out[index] = ord(" ")
                index = _blank_repetition_tail(out, index + 1)
                continue
        index += 1
    return bytes(out)


def _blank_repetition_tail(out: bytearray, index: int) -> int:
    """Blank an optional separator and the `*`/`+`/`?` after a repetition's `)`."""
    if index < len(out) and out[index] in _REPETITION_OPERATORS:
        out[index] = ord(" ")
        return index + 1
    if (
        index + 1 < len(out)
        and out[index] not in b" \t\r\n"
        and out[index + 1] in _REPETITION_OPERATORS
    ):
        out[index : index + 2] = b"  "
        return index + 2
    return index
