"""The parts of a file worth parsing: the top-level items that can hold a match.

A file passes the literal prefilter when it spells a rule's words anywhere; its matches then lie
in the few top-level items that spell them (wasmtime: 39% of the bytes of the files it parses).
tree-sitter parses just those items when given them as included ranges, every node keeping its
byte offset and point in the file, so the matcher and the report see the same positions as in
a whole parse.

The items are cut from the text, since the tree is what is being saved: in a file laid out the
usual way (rustfmt's), a top-level item starts at column 0 on the line after one that ends an
item with `;` or `}`. A cut never splits an item's leading comments and attributes from it (a
comment line does not end an item). Whatever the layout, a cut is trusted only when the parse of
the chosen items proves it: no ERROR or MISSING node, and every top-level node inside one chosen
range. Otherwise, or when the chosen items are most of the file, the whole file is parsed.

Besides the items a rule's locators pick (`CompiledRule.locators`), the items that conditions
read around a match are always parsed: the file's first item (its inner attributes, `#![allow]`),
its top-level `use`, `extern crate` and `static` declarations (name resolution, `is static-mut`),
every item holding `macro_rules` or an `// unsound:` comment (suppressions). Anything else that
would read a top-level item left out (a `follows` relation at the top level; the crate index,
which reads whole files) asks for the whole file (`units.WholeFileNeeded`).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache

from tree_sitter import Node, Parser, Point, Range, Tree

from unsound.dsl.needle import Needle
from unsound.dsl.rust_parser import rust_language

# Lines that start at column 0 with a letter, `#` or `/` (an item, an attribute or a comment
# before one): where a top-level item may start. The regex starts with a literal, which `re`
# scans for fast; the line before is tested in Python (a regex that tests both scanned
# wasmtime's parsed files 15 times slower).
_COLUMN_ZERO = re.compile(rb"\n(?=[A-Za-z_#/])")
_COMMENT_STARTS = (b"//", b"/*", b"*")

# Top-level declarations that conditions read beside the match (after a line break: `re` then
# scans for the `\n`), and words whose items are parsed whatever the rules: `macro_rules` (macro
# regions) and `unsound` (suppression comments).
_TOP_DECLARATION = re.compile(
    rb"\n(?:pub(?:\([^)\n]*\))?[ \t]+)?(?:use|extern[ \t]+crate|static)\b"
)
_ALWAYS_WORDS = (b"macro_rules", b"unsound")

# A parse of the chosen items pays when they leave out this share of the file, or more.
_MIN_SAVING = 0.15


class ItemCuts:
    """Where a file's top-level items may start, and which of them hold given positions."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.starts = [0, *_item_starts(data)]

    def holding_needle(self, needle: Needle) -> set[int]:
        """The indices of the items that may hold a match of the needle."""
        return self._holding_found(needle.finders())

    def holding_regex(self, regex: re.Pattern[bytes]) -> set[int]:
        """The indices of the items that hold a match of the regex."""

        def find(data: bytes, start: int) -> int:
            matched = regex.search(data, start)
            return -1 if matched is None else matched.start()

        return self._holding_found([find])

    def _holding_found(self, finders: Iterable[Callable[[bytes, int], int]]) -> set[int]:
        """The items where each finder finds something. A finder searches on from the item
        after the last one it found something in: its scans add up to one pass over the file."""
        data, starts = self.data, self.starts
        last = len(starts) - 1
        found: set[int] = set()
        for find in finders:
            position = find(data, 0)
            while position != -1:
                index = bisect.bisect_right(starts, position) - 1
                found.add(index)
                if index == last:
                    break
                position = find(data, starts[index + 1])
        return found

    def holding(self, positions: Iterable[int]) -> set[int]:
        """The indices of the items that hold these byte positions."""
        starts = self.starts
        return {bisect.bisect_right(starts, position) - 1 for position in positions}

    def ranges(self, chosen: set[int]) -> list[tuple[int, int]] | None:
        """The byte ranges of the chosen items with the ones always parsed, adjacent ones
        merged; None when they are (nearly) the whole file."""
        data, starts = self.data, self.starts
        chosen = chosen | {0} | self.holding(_always_parsed(data))
        ends = [*starts[1:], len(data)]
        ranges: list[tuple[int, int]] = []
        for index in sorted(chosen):
            start, end = starts[index], ends[index]
            if ranges and ranges[-1][1] == start:
                ranges[-1] = (ranges[-1][0], end)
            else:
                ranges.append((start, end))
        parsed = sum(end - start for start, end in ranges)
        return None if parsed > (1 - _MIN_SAVING) * len(data) else ranges


@dataclass(frozen=True)
class ItemPlan:
    """What a file's matching can be limited to: the items each wanted rule that can locate
    its matches may match in (`rule_items`), and the byte ranges to parse (None: all)."""

    cuts: ItemCuts
    rule_items: dict[str, set[int]]
    parse: list[tuple[int, int]] | None

    def filter_for(self, tree: Tree, partial: bool) -> RuleItems | None:
        """The rules' items as a candidate filter, when the tree proves every cut inside what
        it parsed (a top-level node starts at each): the plan's ranges when `partial`, else the
        whole file. None otherwise (a file laid out so that a cut falls inside an item)."""
        starts = self.cuts.starts
        root_starts = {child.start_byte for child in tree.root_node.children}
        whole = [(0, len(self.cuts.data))]
        parsed = self.parse if partial and self.parse is not None else whole
        range_starts = [start for start, _ in parsed]
        for cut in starts[1:]:
            index = bisect.bisect_right(range_starts, cut) - 1
            inside = index >= 0 and cut < parsed[index][1]
            if inside and cut not in root_starts:
                return None
        return RuleItems(starts, self.rule_items)


class RuleItems:
    """Per rule that locates its matches, the top-level items (by their starts) a match of it
    may lie in: a candidate elsewhere cannot hold its locators and is not matched."""

    def __init__(self, starts: list[int], rule_items: dict[str, set[int]]) -> None:
        self._starts = starts
        self._rule_items = rule_items

    def allows(self, rule_id: str, node: Node) -> bool:
        items = self._rule_items.get(rule_id)
        if items is None or node.parent is None:  # the file itself spans every item
            return True
        return bisect.bisect_right(self._starts, node.start_byte) - 1 in items


def _item_starts(data: bytes) -> list[int]:
    """The column-0 lines after a line of code (not a comment) that ends with `;` or `}`, and
    any blank lines."""
    found = []
    for match in _COLUMN_ZERO.finditer(data):
        end = match.start()
        while True:
            line_start = data.rfind(b"\n", 0, end) + 1
            line = data[line_start:end].strip()
            if line or line_start == 0:
                break
            end = line_start - 1
        if line.endswith((b";", b"}")) and not line.startswith(_COMMENT_STARTS):
            found.append(match.end())
    return found


def _always_parsed(data: bytes) -> list[int]:
    found = [match.end() - 1 for match in _TOP_DECLARATION.finditer(data)]
    for word in _ALWAYS_WORDS:
        start = data.find(word)
        while start != -1:
            found.append(start)
            start = data.find(word, start + 1)
    return found


@cache
def _parser() -> Parser:
    # Its own parser: the shared one (`parse_rust`) keeps parsing whole files.
    return Parser(rust_language())


def parse_items(data: bytes, ranges: list[tuple[int, int]]) -> Tree | None:
    """The tree of just these byte ranges of the file, or None when it does not prove the
    cuts: an ERROR or MISSING node, or a top-level node across the end of its range."""
    parser = _parser()
    parser.included_ranges = _tree_ranges(data, ranges)
    tree = parser.parse(data)
    root = tree.root_node
    if root.has_error:
        return None
    starts = [start for start, _ in ranges]
    for child in root.children:
        index = bisect.bisect_right(starts, child.start_byte) - 1
        if index < 0 or child.end_byte > ranges[index][1]:
            return None
    return tree


def _tree_ranges(data: bytes, ranges: list[tuple[int, int]]) -> list[Range]:
    """tree-sitter's ranges (bytes and points) for byte ranges that start at a line's start."""
    out = []
    row, counted = 0, 0
    for start, end in ranges:
        row += data.count(b"\n", counted, start)
        start_row = row
        row += data.count(b"\n", start, end)
        counted = end
        line_start = data.rfind(b"\n", 0, end) + 1
        out.append(Range(Point(start_row, 0), Point(row, end - line_start), start, end))
    return out
