"""A successful match → a `Finding`: location, message, severity, related places, fingerprints."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from unsound import fingerprints
from unsound.dsl import ast
from unsound.engine.bindings import Bindings, Bound
from unsound.engine.conditions import MatchContext, evaluate
from unsound.engine.syntax import enclosing_impl, item_path, node_text
from unsound.engine.units import ParsedFile
from unsound.model import Finding, Fix, Location, Severity

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MAX_INTERPOLATED = 80


@dataclass(frozen=True)
class _Range:
    unit: ParsedFile
    start: int
    end: int


def build_finding(
    root: Node, unit: ParsedFile, bindings: Bindings, context: MatchContext
) -> Finding | None:
    """The finding for one match, or None if its primary location cannot be placed."""
    rule = context.rule.ast
    primary_ref = rule.location.ref if rule.location else None
    primary = _resolve(primary_ref, root, unit, bindings)
    if primary is None:
        return None
    label = _interpolate(rule.location.label, bindings) if rule.location else ""
    related = []
    for labelled in rule.related:
        place = _resolve(labelled.ref, root, unit, bindings)
        if place is not None and (place.start, place.end) != (primary.start, primary.end):
            related.append(_location(place, _interpolate(labelled.label, bindings)))
    primary_location = _location(primary, label)
    matched_text = unit.data[primary.start : primary.end].decode("utf-8", "replace")
    path = item_path(root)
    fix = None
    if rule.fix is not None:
        fix = Fix(
            description=_interpolate(rule.fix.description, bindings) or "apply the rule's fix",
            replacement=_interpolate(rule.fix.replacement, bindings, raw=True),
        )
    return Finding(
        rule_id=rule.id,
        severity=_severity(rule, bindings, context),
        message=_interpolate(rule.message, bindings),
        primary=primary_location,
        crate=unit.crate,
        related=tuple(related),
        item_path=path,
        fingerprints={
            "primaryLocationLineHash": _line_hash(unit, primary_location.span.start_line),
            "cargoUnsound/v1": fingerprints.stable_fingerprint(rule.id, path, matched_text),
        },
        fix=fix,
    )


def _severity(rule: ast.RuleAst, bindings: Bindings, context: MatchContext) -> Severity:
    for override in rule.severity_ifs:
        if evaluate(override.cond, bindings, context) is not None:
            return override.severity
    return rule.severity


def _resolve(
    ref: ast.SpanRef | None, root: Node, unit: ParsedFile, bindings: Bindings
) -> _Range | None:
    if ref is None or ref.start is None:
        return _header(root, unit)
    first = bindings.get(ref.start)
    last = bindings.get(ref.end) if ref.end else first
    if first is None or last is None or first.unit is not last.unit:
        return None
    start, end = first.start_byte, last.end_byte
    if start is None or end is None:
        return None
    return _Range(first.unit, start, max(start, end))


def _header(root: Node, unit: ParsedFile) -> _Range:
    """An item's header: from its start to its body, without trailing whitespace."""
    body = root.child_by_field_name("body")
    end = body.start_byte if body is not None else root.end_byte
    while end > root.start_byte and unit.data[end - 1 : end] in (b" ", b"\t", b"\n", b"\r"):
        end -= 1
    first_line_end = unit.data.find(b"\n", root.start_byte, end)
    if body is None and first_line_end != -1:
        end = first_line_end
    return _Range(unit, root.start_byte, end)


def _location(place: _Range, label: str) -> Location:
    span = place.unit.span(place.start, place.end)
    return Location(
        path=place.unit.rel_path,
        span=span,
        label=label,
        source_lines=place.unit.lines(span.start_line, span.end_line),
    )


def _interpolate(template: str, bindings: Bindings, *, raw: bool = False) -> str:
    """Fill `{NAME}` placeholders; messages get one-line, shortened text, fixes the code as is."""

    def replace(match: re.Match[str]) -> str:
        bound: Bound | None = bindings.get(match.group(1))
        if bound is None:
            return match.group(0)
        if raw:
            return bound.text()
        text = " ".join(bound.text().split())
        if bound.node is not None and re.search(r"\bSelf\b", text):
            text = _resolve_self(bound.node, text)
        if bound.node is not None and bound.node.type == "lifetime":
            text = text.lstrip("'")
        if len(text) > _MAX_INTERPOLATED:
            text = text[: _MAX_INTERPOLATED - 1] + "…"
        return text

    return _PLACEHOLDER.sub(replace, template)


def _resolve_self(node: Node, text: str) -> str:
    """Show `Self` in a type as the impl's type, which is what a reader needs to see."""
    if not node.type.endswith("type") and node.type != "type_identifier":
        return text
    impl = enclosing_impl(node)
    self_type = impl.child_by_field_name("type") if impl is not None else None
    if self_type is None:
        return text
    replacement = " ".join(node_text(self_type).split())
    return re.sub(r"\bSelf\b", replacement, text)


def _line_hash(unit: ParsedFile, line: int) -> str:
    hashes = unit.line_hashes()
    return hashes[min(line, len(hashes)) - 1]
