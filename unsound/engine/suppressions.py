"""Inline suppressions: `// unsound: allow(rule-id): reason`.

Three places, all plain (non-doc) line comments:

- at the end of a line of code: covers findings that start on that line;
- alone on its line: covers the next line of code (other comments and attributes in between are
  skipped, so several suppressions can be stacked);
- alone on its line right above an item (`fn`, `impl`, `struct`, `mod`, …, attributes included):
  covers the whole item.

A suppression must say why: one without a reason suppresses nothing and is reported as
`invalid-suppression`, as is a comment that starts `// unsound: allow` but does not parse. A
suppression (per rule id) that covers no finding is reported as `unused-suppression`, like
`#[expect]`, so stale ones do not pile up and hide the next real bug. Both are findings of
built-in pseudo-rules (`SUPPRESSION_RULES`) rather than scan problems: they belong to a line of
code, get fingerprints, can be baselined, and show up on the pull request like any finding. They
cannot themselves be suppressed.

The module is a pure function of one parsed file and its findings; comments are found with one
tree-sitter query whose `#match?` predicate runs in C, and files that do not contain `unsound:` are
not queried at all.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from functools import cache

from tree_sitter import Node, Query, QueryCursor

from unsound import fingerprints
from unsound.dsl.rust_parser import rust_language
from unsound.engine.syntax import ITEM_KINDS, enclosing, item_path
from unsound.engine.units import ParsedFile
from unsound.model import Finding, Location, RuleInfo, Severity, Suppression

INVALID_RULE_ID = "invalid-suppression"
UNUSED_RULE_ID = "unused-suppression"

_MARKER = b"unsound:"
_QUERY = r'((line_comment) @comment (#match? @comment "^//[ \t]*unsound:[ \t]*allow"))'
_SYNTAX = re.compile(
    r"^//\s*unsound:\s*allow\s*\(\s*(?P<ids>[^()]*?)\s*\)\s*(?::\s*(?P<reason>.*?))?\s*$"
)
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# What "above an item" skips: more comments and attributes between the suppression and the code.
_SKIPPED = frozenset({"line_comment", "block_comment", "attribute_item"})
_ITEMS = ITEM_KINDS | {"foreign_mod_item", "extern_crate_declaration", "use_declaration"}
_HELP_BASE = "https://github.com/cargo-unsound/cargo-unsound/blob/main/docs/github.md"


def _pseudo_rule(rule_id: str, title: str, what: str) -> RuleInfo:
    help_markdown = (
        f"## What it does\n{what}\n\n"
        "## Why is this bad?\nA suppression hides a finding from every later reviewer; it must "
        "say why the code is sound, and must go when the finding does.\n\n"
        "## Example\n```rust\n// unsound: allow(raw-pointer-escapes-lifetime)\n```\n\n"
        "## Use instead\n```rust\n// unsound: allow(raw-pointer-escapes-lifetime): the pointer "
        "is owned by `self.store`, which outlives `'a`\n```\n\n"
        "## References\n- docs/github.md, Suppressions\n"
    )
    return RuleInfo(
        id=rule_id,
        title=title,
        severity=Severity.WARNING,
        pack="builtin",
        help_markdown=help_markdown,
        help_text=re.sub(r"(?m)^(#+ |```.*$)", "", help_markdown).strip() + "\n",
        help_uri=f"{_HELP_BASE}#suppressions",
        tags=("suppression",),
    )


SUPPRESSION_RULES: tuple[RuleInfo, ...] = (
    _pseudo_rule(
        INVALID_RULE_ID,
        "Suppression without a reason, or that does not parse",
        "Finds `// unsound: allow(...)` comments that give no reason or do not parse; they "
        "suppress nothing.",
    ),
    _pseudo_rule(
        UNUSED_RULE_ID,
        "Suppression that matches no finding",
        "Finds `// unsound: allow(rule)` comments that cover no finding of that rule, like "
        "`#[expect]` that is not fulfilled.",
    ),
)


@dataclass(frozen=True)
class InlineSuppression:
    """One parsed `// unsound: allow(...)` comment and the bytes it covers."""

    rule_ids: tuple[str, ...]
    reason: str
    comment: Node = field(compare=False, repr=False)
    covers: tuple[int, int]  # [start, end) byte range of the file


@dataclass(frozen=True)
class SuppressionResult:
    """What `apply_suppressions` decided for one file.

    `kept` are reported as before; `suppressed` carry their `Finding.suppression` and belong in
    `Report.suppressed`; `diagnostics` are new findings (invalid and unused suppressions) to be
    reported next to `kept`.
    """

    kept: tuple[Finding, ...]
    suppressed: tuple[Finding, ...]
    diagnostics: tuple[Finding, ...]


def may_hold_suppressions(data: bytes) -> bool:
    """Whether a file's text may hold a suppression comment (only such files are queried)."""
    return _MARKER in data


def apply_suppressions(
    unit: ParsedFile,
    findings: Sequence[Finding],
    *,
    active_rules: Collection[str] | None = None,
) -> SuppressionResult:
    """Split one file's findings into kept and suppressed, and report bad or unused suppressions.

    `findings` should be those whose primary location is in `unit`; any other finding is kept
    unchanged. `active_rules` are the ids of the rules that ran: a suppression for a rule that did
    not run (`--select`, `--ignore`) is not called unused, since it may well be needed. None means
    every rule ran.
    """
    if not may_hold_suppressions(unit.data):
        return SuppressionResult(tuple(findings), (), ())
    parsed, diagnostics = _parse_all(unit)
    used: set[tuple[int, str]] = set()
    kept: list[Finding] = []
    suppressed: list[Finding] = []
    for finding in findings:
        match = _covering(parsed, finding, unit)
        if match is None:
            kept.append(finding)
            continue
        index, suppression = match
        used.add((index, finding.rule_id))
        line = suppression.comment.start_point.row + 1
        reason = Suppression(reason=suppression.reason, path=unit.rel_path, line=line)
        suppressed.append(replace(finding, suppression=reason))
    for index, suppression in enumerate(parsed):
        for rule_id in suppression.rule_ids:
            if (index, rule_id) in used or (
                active_rules is not None and rule_id not in active_rules
            ):
                continue
            message = f"`// unsound: allow({rule_id})` suppresses nothing here: remove it"
            diagnostics.append(_diagnostic(unit, suppression.comment, UNUSED_RULE_ID, message))
    diagnostics.sort(key=Finding.sort_key)
    return SuppressionResult(tuple(kept), tuple(suppressed), tuple(diagnostics))


def _covering(
    parsed: Sequence[InlineSuppression], finding: Finding, unit: ParsedFile
) -> tuple[int, InlineSuppression] | None:
    if finding.primary.path != unit.rel_path or finding.rule_id in _PSEUDO_IDS:
        return None
    start = finding.primary.span.start_byte
    for index, suppression in enumerate(parsed):
        low, high = suppression.covers
        if finding.rule_id in suppression.rule_ids and low <= start < high:
            return index, suppression
    return None


_PSEUDO_IDS = frozenset(rule.id for rule in SUPPRESSION_RULES)


def _parse_all(unit: ParsedFile) -> tuple[list[InlineSuppression], list[Finding]]:
    """Valid suppressions, and diagnostics for the invalid ones (which suppress nothing)."""
    nodes = QueryCursor(_query()).captures(unit.tree.root_node).get("comment", [])
    parsed: list[InlineSuppression] = []
    diagnostics: list[Finding] = []
    for comment in sorted(nodes, key=lambda node: node.start_byte):
        text = unit.text(comment).rstrip("\r\n")
        syntax = _SYNTAX.match(text)
        ids = tuple(i.strip() for i in syntax.group("ids").split(",")) if syntax else ()
        if syntax is None or not ids or not all(_RULE_ID.match(i) for i in ids):
            message = (
                "this suppression does not parse: write "
                "`// unsound: allow(rule-id): why the code is sound`"
            )
            diagnostics.append(_diagnostic(unit, comment, INVALID_RULE_ID, message))
            continue
        reason = syntax.group("reason") or ""
        if not reason:
            message = (
                f"`// unsound: allow({', '.join(ids)})` gives no reason, so it suppresses "
                "nothing: add one after a colon (`: why the code is sound`)"
            )
            diagnostics.append(_diagnostic(unit, comment, INVALID_RULE_ID, message))
            continue
        parsed.append(InlineSuppression(ids, reason, comment, _coverage(unit, comment)))
    return parsed, diagnostics


@cache
def _query() -> Query:
    return Query(rust_language(), _QUERY)


def _coverage(unit: ParsedFile, comment: Node) -> tuple[int, int]:
    """The byte range one suppression comment covers (see the module docstring)."""
    line_start = _line_start(comment)
    if unit.data[line_start : comment.start_byte].strip():
        return _line_range(unit, comment)  # at the end of a line of code
    first = comment.next_sibling
    target = first
    while target is not None and target.type in _SKIPPED:
        target = target.next_sibling
    if first is None or target is None:
        return comment.end_byte, comment.end_byte  # nothing follows: covers nothing
    if target.type in _ITEMS:
        return first.start_byte, target.end_byte
    return _line_range(unit, target)


def _line_start(node: Node) -> int:
    """The byte where the node's first line starts (tree-sitter columns count bytes)."""
    return node.start_byte - node.start_point.column


def _line_range(unit: ParsedFile, node: Node) -> tuple[int, int]:
    """[start, end) bytes of the node's first line, without its line break."""
    start = _line_start(node)
    end = unit.data.find(b"\n", start)
    return start, len(unit.data) if end == -1 else end


def _diagnostic(unit: ParsedFile, comment: Node, rule_id: str, message: str) -> Finding:
    """A pseudo-rule finding at the comment, with both fingerprints like any other finding."""
    start = comment.start_byte
    end = comment.end_byte
    while end > start and unit.data[end - 1 : end] in (b"\n", b"\r"):
        end -= 1
    span = unit.span(start, end)
    owner = enclosing(comment, _ITEMS)
    path = item_path(owner) if owner is not None else ""
    text = unit.data[start:end].decode("utf-8", "replace")
    hashes = unit.line_hashes()
    return Finding(
        rule_id=rule_id,
        severity=Severity.WARNING,
        message=message,
        primary=Location(
            path=unit.rel_path,
            span=span,
            label="this suppression",
            source_lines=unit.lines(span.start_line, span.end_line),
        ),
        crate=unit.crate,
        item_path=path,
        fingerprints=fingerprints.fingerprints_for(hashes, span.start_line, rule_id, path, text),
    )
