"""The parts of a file worth parsing: the top-level items, and the members of top-level impls,
that can hold a match.

A file passes the literal prefilter when it spells a rule's words anywhere; its matches then lie
in the few items that spell them. tree-sitter parses just those pieces when given them as
included ranges, every node keeping its byte offset and point in the file, so the matcher and
the report see the same positions as in a whole parse.

The pieces are cut from the text, since the tree is what is being saved: in a file laid out the
usual way (rustfmt's), a top-level item starts at column 0 on the line after one that ends an
item with `;` or `}`, and an impl's members one indentation in. A cut never splits an item's
leading comments and attributes from it (a comment line does not end an item). An impl is
parsed with its header and closing brace around the members kept. Whatever the layout, a cut is
trusted only when the parse proves it: no ERROR or MISSING node, and every top-level node (or
each part of an impl cut at its members) inside one range. Otherwise, or when the chosen pieces
are most of the file, the whole file is parsed.

Besides the pieces a rule's locators pick (`CompiledRule.locators`; per member only for a rule
whose matches stay in one, `rule_facts.member_local`), what conditions read around a match is
always parsed: the file's first item (its inner attributes, `#![allow]`) and every piece
holding an `// unsound:` comment (suppressions). The top-level `use`, `extern crate` and
`static` declarations (name resolution, `is static-mut`) are parsed apart, with the first item,
only when a condition reads them (`declaration_ranges`, `ParsedFile.top_level`): they were 18%
of what wasmtime parsed and 26% of rust-analyzer's, for 6 and 1 of their partly parsed files.
A `macro_rules!` is an item like the others: its transcribers are matched in (`engine.macros`)
only for the rules whose locators it holds, the candidates of the rest being turned away
outside their items (`RuleItems`); parsed whatever the rules, such pieces were 0.26 of
wasmtime's 3.7 MB parsed and 0.58 of rust-analyzer's 5.5 MB. Anything else that would read a
piece left out (a `follows` among top-level items or an impl's members; the crate index, which
reads whole files) asks for the whole file (`units.WholeFileNeeded`).
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
# An impl's first line of code.
_FIRST_CODE_LINE = re.compile(rb"(?m)^[A-Za-z]")
_IMPL = re.compile(rb"(?:unsafe[ \t]+)?impl\b")
# After a line break, so that `re` scans for the `\n` (`(?:^|\n)` tries every position).
_IMPL_LINE = re.compile(rb"\n(?:unsafe[ \t]+)?impl\b")

# Top-level declarations that conditions read beside the match, parsed apart when one does
# (after a line break: `re` then scans for the `\n`), and the word whose items are parsed
# whatever the rules: `unsound` (suppression comments).
_TOP_DECLARATION = re.compile(
    rb"\n(?:pub(?:\([^)\n]*\))?[ \t]+)?(?:use|extern[ \t]+crate|static)\b"
)
_ALWAYS_WORDS = (b"unsound",)
# An inner attribute (`#![allow(clippy::…)]`): the lint levels read a file's off its root. A
# file's are before its first item, so in its first piece: no cut follows a line that ends in
# `]` (one spelled in a later piece is a string's or an inline module's).
_INNER_ATTRIBUTE = re.compile(rb"#\s*!\s*\[")

# A parse of the chosen items pays when they leave out this share of the file, or more
# (alternating cold scans, 9 runs each, CPU: 0.15 -> 0.05 took rust-analyzer 2.75 -> 2.61 s and
# wasmtime 3.37 -> 3.24 s; 0.0 was no better than 0.05).
_MIN_SAVING = 0.05


# What a piece of a file is: a whole top-level item, or the header (up to the first member), a
# member or the closing brace of a top-level `impl` cut at its members.
ITEM, HEADER, MEMBER, FOOTER = range(4)


class ItemCuts:
    """Where a file's pieces start, and which of them hold given positions. A piece is a
    top-level item, or a part of a top-level `impl` cut at its members: its header, each
    member (a method, an associated item, with its comments and attributes) and its closing
    brace, so that a parse can leave out the members no rule can match in."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.starts: list[int] = []
        self.roles: list[int] = []
        self.header: list[int] = []  # per piece, the piece its item starts with
        self.last: list[int] = []  # per piece, the last piece of its item
        item_starts = [0, *_item_starts(data)]
        # The items with a line at column 0 that opens an impl (one scan of the file), which
        # alone are cut at their members.
        impls = {bisect.bisect_right(item_starts, m.end()) - 1 for m in _IMPL_LINE.finditer(data)}
        if _IMPL.match(data):
            impls.add(0)
        for index, (start, end) in enumerate(_pairs(item_starts, len(data))):
            first = len(self.starts)
            members = _impl_members(data, start, end) if index in impls else []
            self.starts.append(start)
            self.roles.append(HEADER if members else ITEM)
            for cut in members:
                self.starts.append(cut)
                self.roles.append(MEMBER)
            if members:
                self.roles[-1] = FOOTER
            self.header += [first] * (len(self.starts) - first)
            self.last += [len(self.starts) - 1] * (len(self.starts) - first)

    def whole_items(self, pieces: set[int]) -> set[int]:
        """Every piece of the items these pieces belong to."""
        return {p for piece in pieces for p in range(self.header[piece], self.last[piece] + 1)}

    def with_headers(self, pieces: set[int]) -> set[int]:
        """These pieces, and the members of the impls whose header is among them: a member's
        match can be about its impl's header (`inside impl … $S`, the trait it implements)."""
        found = set(pieces)
        for piece in pieces:
            if self.roles[piece] == HEADER:
                found.update(range(piece + 1, self.last[piece]))
        return found

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
        """The byte ranges of the chosen items with the ones always parsed (those holding the
        word `unsound`, the first when it holds an inner attribute), adjacent ones merged;
        None when they are (nearly) the whole file. The first piece is otherwise left out: its
        comments and `use`s are the header of most files (wasmtime: 226 KB of 2.55 MB)."""
        data = self.data
        pieces = chosen | self.holding(_always_parsed(data))
        first_end = self.starts[1] if len(self.starts) > 1 else len(data)
        if not pieces or _INNER_ATTRIBUTE.search(data, 0, first_end):
            # The file's inner attributes; or, with nothing chosen (no piece holds all of
            # any wanted rule's locators), a tree to match nothing in.
            pieces.add(0)
        return _merged_ranges(data, self.starts, self._with_bounds(pieces))

    def declaration_ranges(self) -> list[tuple[int, int]]:
        """The byte ranges of the first item and of the pieces holding top-level `use`,
        `extern crate` and `static` declarations, which conditions read around a match (name
        resolution, `is static-mut`): parsed apart, when one asks (`ParsedFile.top_level`)."""
        data = self.data
        pieces = self._with_bounds({0} | self.holding(_declarations(data)))
        return _merged_ranges(data, self.starts, pieces, whole_if_most=False) or []

    def _with_bounds(self, chosen: set[int]) -> set[int]:
        """The pieces, with the header and closing brace of each impl one is a member of: an
        impl's members are parsed between them."""
        chosen = set(chosen)
        for piece in list(chosen):
            if self.roles[piece] != ITEM:
                chosen |= {self.header[piece], self.last[piece]}
        return chosen


@dataclass(frozen=True)
class ItemPlan:
    """What a file's matching can be limited to: the items each wanted rule that can locate
    its matches may match in (`rule_items`), and the byte ranges to parse (None: all)."""

    cuts: ItemCuts
    rule_items: dict[str, set[int]]
    parse: list[tuple[int, int]] | None
    # The wanted rules one of whose locators (or located-by names) is nowhere in the file: no
    # match of them is, whatever its layout, so the file need not be parsed for them.
    unmatchable: frozenset[str] = frozenset()

    def filter_for(self, tree: Tree, partial: bool) -> RuleItems | None:
        """The rules' items as a candidate filter, when the tree proves every cut inside what
        it parsed (a top-level node starts at each, or an impl's member on the line a cut
        starts): the plan's ranges when `partial`, else the whole file. None otherwise (a file
        laid out so that a cut falls inside an item)."""
        starts = self.cuts.starts
        root_starts = set()
        for child in tree.root_node.children:
            root_starts.add(child.start_byte)
            body = child.child_by_field_name("body") if child.type == "impl_item" else None
            if body is not None:  # the lines an impl's members and closing brace start on
                root_starts.update(m.start_byte - m.start_point.column for m in body.children)
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

    def allow_any(self, rule_ids: Iterable[str], node: Node) -> bool:
        """Whether one of the rules may match at `node`: `allows` with one search for its
        piece."""
        piece = (
            None if node.parent is None else bisect.bisect_right(self._starts, node.start_byte) - 1
        )
        for rule_id in rule_ids:
            items = self._rule_items.get(rule_id)
            if items is None or piece is None or piece in items:
                return True
        return False


def items_holding(data: bytes, positions: Iterable[int]) -> list[tuple[int, int]] | None:
    """The byte ranges of the top-level items that hold these positions (adjacent ones merged),
    for a parse of just them (`parse_items`, which proves the cuts); None when they are (nearly)
    the whole file.

    An item's outer attributes are part of it: a cut falls only after a line whose code ends
    with `;` or `}`, and an attribute's line ends with `]` unless a comment follows it
    (`#[cfg(test)] // …;`). So where the line before a chosen item has a comment, the item
    before it is taken too (and so on back): an attribute left out would not make the parse
    fail, it would only be missing."""
    positions = list(positions)
    starts = [0, *_item_starts(data, max(positions, default=0))]
    chosen = {bisect.bisect_right(starts, position) - 1 for position in positions}
    for index in sorted(chosen, reverse=True):
        while index > 0 and index - 1 not in chosen:
            line = _line_before(data, starts[index] - 1)
            if b"//" not in line and b"/*" not in line:
                break
            index -= 1
            chosen.add(index)
    return _merged_ranges(data, starts, chosen)


def _merged_ranges(
    data: bytes, starts: list[int], chosen: set[int], whole_if_most: bool = True
) -> list[tuple[int, int]] | None:
    """The byte ranges of the chosen pieces (by their starts), adjacent ones merged; None when
    they leave out less than `_MIN_SAVING` of the file (and `whole_if_most`)."""
    ends = [*starts[1:], len(data)]
    ranges: list[tuple[int, int]] = []
    for index in sorted(chosen):
        start, end = starts[index], ends[index]
        if ranges and ranges[-1][1] == start:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    parsed = sum(end - start for start, end in ranges)
    return None if whole_if_most and parsed > (1 - _MIN_SAVING) * len(data) else ranges


def _pairs(starts: list[int], end: int) -> list[tuple[int, int]]:
    return list(zip(starts, [*starts[1:], end], strict=True))


# The last byte of a line before a cut: `;`, `}` (or `{`, an impl's body), or whitespace (a
# blank line, a line's trailing spaces). A line that ends with another byte ends no item: most
# column-0 lines follow a doc comment's line, and are turned away without a look further back.
_MAY_END_ITEM = frozenset((b";", b"}", b" ", b"\t", b"\r", b"\n", b"\x0b", b"\x0c", b""))
_MAY_END_ITEM_OR_OPEN = _MAY_END_ITEM | {b"{"}


def _item_starts(data: bytes, stop: int | None = None) -> list[int]:
    """The column-0 lines after a line of code (not a comment) that ends with `;` or `}`, and
    any blank lines, outside raw string literals. With `stop`, those before it and the first
    after it (the end of the item that holds `stop`), which is not checked against the raw
    strings that open after `stop`: a cut inside one makes the parse fail."""
    starts = []
    for match in _COLUMN_ZERO.finditer(data):
        at = match.start()
        last = data[at - 1 : at]
        if last == b";" or last == b"}":
            # The usual case, without a look further back: the line before ends the item
            # unless it is a comment (`_ends_item` on `_line_before`, inlined: rust-analyzer's
            # planned files hold 35,000 column-0 lines).
            if data[data.rfind(b"\n", 0, at) + 1 : at].lstrip().startswith(_COMMENT_STARTS):
                continue
        elif last not in _MAY_END_ITEM or not _ends_item(_line_before(data, at), opening=False):
            continue
        starts.append(match.end())
        if stop is not None and match.end() > stop:
            break
    return _outside(starts, _raw_string_spans(data, stop)) if starts else starts


# The opening of a raw string literal (`r"`, `r#"`, `br##"`, `cr"`).
_RAW_STRING_OPEN = re.compile(rb'r(#*)"')
_IDENTIFIER_BYTES = frozenset(
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_" + bytes(range(0x80, 0x100))
)


def _raw_string_spans(data: bytes, stop: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of the raw string literals that span lines, as the text shows them.

    Their lines may look like items at column 0: rust-analyzer's tests hold Rust fixtures in
    `r#"…"#`, and a cut inside one broke the parse of 123 of its files, which were then parsed
    whole after all. Found by text, so an opening spelled in a comment or a string may be
    taken for one: a cut left out then only makes a piece bigger (the parse still proves it).
    """
    spans = []
    end = 0
    # The closings (`"` and the hashes) not found after some opening: not after any later one
    # either. Without this, each of a file's unterminated `r#"` searched to its end again
    # (160 KB of them: 1.5 s; the time grew with the square of the file).
    missing: set[bytes] = set()
    for match in _RAW_STRING_OPEN.finditer(data, 0, len(data) if stop is None else stop):
        start = match.start()
        if start < end:
            continue  # inside the literal before
        first = start - 1 if data[start - 1 : start] in (b"b", b"c") else start
        if first > 0 and data[first - 1] in _IDENTIFIER_BYTES:
            continue  # the end of a name (`for"` cannot be code; `bar"` neither)
        hashes = match.group(1)
        close = -1 if hashes in missing else data.find(b'"' + hashes, match.end())
        if close == -1:
            missing.add(hashes)
            continue  # unterminated: not a literal after all
        end = close + 1 + len(hashes)
        if data.find(b"\n", match.end(), close) != -1:
            spans.append((first, end))
    return spans


def _outside(cuts: list[int], spans: list[tuple[int, int]]) -> list[int]:
    """The cuts (sorted) that lie in none of the spans (sorted, disjoint)."""
    if not spans:
        return cuts
    span_starts = [start for start, _ in spans]
    kept = []
    for cut in cuts:
        index = bisect.bisect_right(span_starts, cut) - 1
        if index < 0 or cut >= spans[index][1]:
            kept.append(cut)
    return kept


def _impl_members(data: bytes, start: int, end: int) -> list[int]:
    """For a top-level `impl` laid out the usual way, where its members start (lines indented
    as its last member's last line is, after a line of code that ends a member or after the
    line at column 0 that opens the impl's body) and where its closing brace's line starts; []
    for another item."""
    first = _FIRST_CODE_LINE.search(data, start, end)
    if first is None or _IMPL.match(data, first.start()) is None:
        return []
    closing = data.rfind(b"\n}", start, end) + 1
    if closing == 0 or data[closing:end].strip() != b"}":
        return []
    # The members' indentation is that of the line before the closing brace, which ends the
    # last member: rustfmt's four spaces by default, two in deno (whose four-space lines are
    # statements inside the members), a tab with `hard_tabs`. (The header's first indented
    # line may be a generic parameter of a header written over several lines.)
    last_line = _line_before(data, closing - 1)
    indent = last_line[: len(last_line) - len(last_line.lstrip(b" \t"))]
    if not indent:
        return []
    members = [
        match.end()
        for match in _member_line(indent).finditer(data, first.start(), closing)
        if data[match.start() - 1 : match.start()] in _MAY_END_ITEM_OR_OPEN
        and _ends_item(_line_before(data, match.start()), opening=True)
    ]
    return [*members, closing] if members else []


@cache
def _member_line(indent: bytes) -> re.Pattern[bytes]:
    """Lines that start with exactly `indent`, then an item, attribute or comment."""
    return re.compile(rb"\n(?=" + re.escape(indent) + rb"[A-Za-z_#/])")


def _line_before(data: bytes, end: int) -> bytes:
    """The last line that is not blank before the line break at `end`, as written."""
    while True:
        line_start = data.rfind(b"\n", 0, end) + 1
        line = data[line_start:end]
        if line.strip() or line_start == 0:
            return line
        end = line_start - 1


def _ends_item(line: bytes, opening: bool) -> bool:
    """Whether an item may start after this line: a line of code (not a comment) that ends with
    `;` or `}`; with `opening`, also one at column 0 that ends with `{` (an impl's body)."""
    code = line.strip()
    if code.startswith(_COMMENT_STARTS):
        return False
    at_column_zero = line[:1] not in b" \t"
    return code.endswith((b";", b"}")) or (opening and code.endswith(b"{") and at_column_zero)


def _declarations(data: bytes) -> list[int]:
    return [match.end() - 1 for match in _TOP_DECLARATION.finditer(data)]


def _always_parsed(data: bytes) -> list[int]:
    found = []
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
    cuts: an ERROR or MISSING node, or a node across the end of its range (a top-level node,
    or a part of an impl whose members were left out in part: its header's nodes, a member),
    or a range that may start inside a string literal (`_may_open_string`)."""
    if _may_open_string(data, ranges):
        return None
    parser = _parser()
    parser.included_ranges = _tree_ranges(data, ranges)
    tree = parser.parse(data)
    root = tree.root_node
    if root.has_error:
        return None
    starts = [start for start, _ in ranges]

    def within_one(node: Node) -> bool:
        index = bisect.bisect_right(starts, node.start_byte) - 1
        return index >= 0 and node.end_byte <= ranges[index][1]

    for child in root.children:
        if within_one(child):
            continue
        body = child.child_by_field_name("body") if child.type == "impl_item" else None
        if body is None:
            return None
        parts = [c for c in child.children if c != body] + body.children
        if not all(within_one(part) for part in parts):
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


def _may_open_string(data: bytes, ranges: list[tuple[int, int]]) -> bool:
    """Whether the text left out before one of the ranges may end inside a string literal.

    A multi-line string holding Rust at column 0 (a test's fixture in `"…"`) is cut like code,
    and a piece inside it parses on its own without an error: its code was matched as the
    file's (a false finding). The text before each range holds whole items when the cuts are
    right, so an odd number of the quotes that delimit strings there means one is left open:
    quotes are counted after dropping escaped backslashes, less the escaped quotes and the
    `'"'` character literals. A quote in a comment or in a raw string can make the count odd
    where no string is open (the file is then parsed whole: 0 of wasmtime's 513 partial parses,
    5 of deno's 372); it takes a second such quote to hide an open string."""
    previous = 0
    for start, end in ranges:
        if start > previous:
            gap = data[previous:start].replace(b"\\\\", b"")
            if (gap.count(b'"') - gap.count(b'\\"') - gap.count(b"'\"'")) % 2:
                return True
        previous = end
    return False
