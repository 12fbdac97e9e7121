"""Entries of one rule → `RuleAst`: required keys, duplicates, value ranges.

Kept apart from the parser so the structure rules of a rule (what must be there, what may repeat)
live in one place that reads like the documentation.
"""

from __future__ import annotations

from collections.abc import Sequence

from unsound.dsl import ast
from unsound.errors import RuleError
from unsound.model import Severity

_REPEATABLE = {"match", "where", "related", "example", "severity-if"}
_REQUIRED = ("title", "severity", "match", "message", "help")


def assemble_rule(
    rule_id: str,
    span: ast.SrcSpan,
    entries: Sequence[ast.Entry],
    path: str,
    text: str,
) -> ast.RuleAst:
    """Check one rule's entries and build its AST; raise `RuleError` at the offending entry."""
    lines = text.splitlines()
    seen: dict[str, ast.Entry] = {}
    for entry in entries:
        if entry.key in seen and entry.key not in _REPEATABLE:
            raise _at(
                f"`{entry.key}` is given twice in rule `{rule_id}`",
                entry.span,
                lines,
                hint=f"the first is on line {seen[entry.key].span.line}; keep one",
            )
        seen.setdefault(entry.key, entry)
    for key in _REQUIRED:
        if key not in seen:
            raise _at(
                f"rule `{rule_id}` has no `{key}`",
                span,
                lines,
                hint=f"add a `{key}` entry (see docs/rule-language.md)",
                width=len(rule_id),
            )
    examples = tuple(e.value for e in entries if e.key == "example")
    for kind in ("bad", "good"):
        if not any(isinstance(x, ast.Example) and x.kind == kind for x in examples):
            raise _at(
                f"rule `{rule_id}` has no `example {kind}`",
                span,
                lines,
                hint="every rule needs a bad and a good example: they are its tests",
                width=len(rule_id),
            )
    security = _value(seen, "security")
    if security is not None and not (0 < float(security) <= 10):  # type: ignore[arg-type]
        raise _at(
            f"security severity {security} is out of range",
            seen["security"].span,
            lines,
            hint="use a number in (0, 10], as GitHub's security-severity",
        )
    return ast.RuleAst(
        id=rule_id,
        span=span,
        title=str(_value(seen, "title")),
        severity=_typed(seen, "severity", Severity),
        severity_ifs=tuple(e.value for e in entries if e.key == "severity-if"),  # type: ignore[misc]
        security=float(security) if security is not None else None,  # type: ignore[arg-type]
        cwe=_value(seen, "cwe") or (),  # type: ignore[arg-type]
        tags=_value(seen, "tags") or (),  # type: ignore[arg-type]
        precision=_value(seen, "precision"),  # type: ignore[arg-type]
        enabled=bool(_value(seen, "enabled", True)),
        patterns=tuple(e.value for e in entries if e.key == "match"),  # type: ignore[misc]
        conditions=tuple(e.value for e in entries if e.key == "where"),  # type: ignore[misc]
        message=str(_value(seen, "message")),
        message_span=seen["message"].span,
        location=_value(seen, "location"),  # type: ignore[arg-type]
        related=tuple(e.value for e in entries if e.key == "related"),  # type: ignore[misc]
        examples=examples,  # type: ignore[arg-type]
        help=str(_value(seen, "help")),
        source_path=path,
        fix=_value(seen, "fix"),  # type: ignore[arg-type]
        fix_span=seen["fix"].span if "fix" in seen else None,
    )


def _value(seen: dict[str, ast.Entry], key: str, default: object = None) -> object:
    entry = seen.get(key)
    return entry.value if entry is not None else default


def _typed(seen: dict[str, ast.Entry], key: str, kind: type[Severity]) -> Severity:
    value = seen[key].value
    assert isinstance(value, kind)
    return value


def _at(
    message: str,
    span: ast.SrcSpan,
    lines: list[str],
    *,
    hint: str | None = None,
    width: int = 1,
) -> RuleError:
    source = lines[span.line - 1] if 0 < span.line <= len(lines) else None
    return RuleError(
        message,
        path=span.path,
        line=span.line,
        column=span.column,
        hint=hint,
        source_line=source,
        width=width,
    )
