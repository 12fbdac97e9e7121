"""Rule files → `RuleAst`: the Lark parser, the transformer and syntax-error reporting.

Lark's exceptions are turned into one `RuleError` with file:line:col, the source line, a caret and a
hint, because a rule author should never see a parser's internals.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from unsound.dsl import ast
from unsound.dsl.assemble import assemble_rule
from unsound.dsl.ast import MAX_CONDITION_DEPTH
from unsound.errors import RuleError
from unsound.model import Severity

ENTRY_KEYS = (
    "title",
    "severity",
    "security",
    "cwe",
    "tags",
    "precision",
    "enabled",
    "match",
    "where",
    "message",
    "location",
    "related",
    "example",
    "help",
    "fix",
)
CONDITION_WORDS = (
    "is",
    "has lifetime",
    "matches",
    "flows into",
    "flows from allocation other than",
    "holds",
    "kind",
    "inside",
    "has",
    "follows",
    "precedes",
    "has bound",
    "has marker lifetime",
    "has safe method using unsafe",
    "has doc section",
    "has safety comment",
    "allows lint",
    "implements",
    "is unconstrained",
)

_TERMINAL_NAMES = {
    "RULE_ID": "a rule id such as `my-rule`",
    "STRING": 'a "string"',
    "LONG_STRING": 'a """long string"""',
    "PATTERN": "Rust code in backticks",
    "METAVAR": "a metavariable such as `$X`",
    "LIFETIME_VAR": "a lifetime metavariable such as `'$a`",
    "LEVEL": "`error`, `warning` or `note`",
    "PRECISION": "`very-high`, `high`, `medium` or `low`",
    "EXAMPLE_KIND": "`bad` or `good`",
    "SHAPE": "a shape such as `raw-pointer`",
    "NUMBER": "a number",
    "INT": "an integer",
    "TAG": "a tag",
    "BOOL": "`true` or `false`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COMMA": "`,`",
    "NODE_KIND": "a tree-sitter node kind such as `call_expression`",
}


def build_parser() -> None:
    """Build the rule parser now (lark's grammar analysis, about 50 ms), so that a process
    forked afterwards inherits it."""
    _lark()


@cache
def _lark() -> Lark:
    grammar = resources.files("unsound.dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True)


def parse_rule_file(text: str, path: str) -> tuple[ast.RuleAst, ...]:
    """Parse a whole rule file; raise `RuleError` at the first syntax or structure error."""
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, text, path) from None
    transformer = _ToAst(path)
    rules = []
    for rule_tree in tree.children:
        assert isinstance(rule_tree, Tree)
        rule_id_token = rule_tree.children[0]
        assert isinstance(rule_id_token, Token)
        try:
            entries = [
                transformer.transform(child)
                for child in rule_tree.children[1:]
                if isinstance(child, Tree)
            ]
        except (RecursionError, VisitError) as exc:
            if isinstance(exc, VisitError) and not isinstance(exc.orig_exc, RecursionError):
                raise
            raise _error(
                f"rule `{rule_id_token}` nests conditions too deeply",
                path,
                rule_id_token.line or 1,
                rule_id_token.column or 1,
                text.splitlines(),
                hint=f"keep `not`/`and`/`or`/parentheses under {MAX_CONDITION_DEPTH} levels",
                width=len(rule_id_token),
            ) from None
        rules.append(
            assemble_rule(
                str(rule_id_token),
                _token_span(rule_id_token, path),
                entries,
                path,
                text,
            )
        )
    return tuple(rules)


# Syntax errors ------------------------------------------------------------------------------


def _syntax_error(exc: UnexpectedInput, text: str, path: str) -> RuleError:
    lines = text.splitlines()
    line = getattr(exc, "line", None) or len(lines) or 1
    column = getattr(exc, "column", None) or 1
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, UnexpectedToken) and exc.token.type == "$END"
    ):
        line = max(1, len(lines))
        column = len(lines[-1]) + 1 if lines else 1
        return _error("unexpected end of file", path, line, column, lines, hint="is a `}` missing?")
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    word = _word_at(source_line, column)
    expected = set(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or ())
    if _expects_entry(expected) and isinstance(exc, UnexpectedToken):
        swallowed = _swallowed_key(source_line, column)
        if swallowed is not None and line > 1:
            previous = _previous_line(lines, line)
            return _error(
                f"the entry before `{swallowed}` is incomplete: `{swallowed}` was read as its "
                "value",
                path,
                previous,
                len(lines[previous - 1].rstrip()) + 1,
                lines,
                hint="finish that entry (a shape after `is`, a pattern after `has`, …)",
            )
    if _expects_entry(expected):
        suggestion = _did_you_mean(word, ENTRY_KEYS)
        hint = f"did you mean `{suggestion}`?" if suggestion else _known("keys", ENTRY_KEYS)
        return _error(
            f"unknown key `{word}` in rule", path, line, column, lines, hint=hint, width=len(word)
        )
    if _expects_condition(expected):
        suggestion = _did_you_mean(word.replace("-", " "), CONDITION_WORDS)
        hint = (
            f"did you mean `{suggestion}`?" if suggestion else _known("conditions", CONDITION_WORDS)
        )
        return _error(
            f"unknown condition `{word}`", path, line, column, lines, hint=hint, width=len(word)
        )
    if isinstance(exc, UnexpectedCharacters) and not word:
        char = source_line[column - 1 : column] if source_line else "?"
        if char == "`":
            return _error(
                "unterminated code block",
                path,
                line,
                column,
                lines,
                hint="close the pattern with a matching backtick",
            )
        if char == '"':
            return _error(
                "unterminated string", path, line, column, lines, hint='close the string with `"`'
            )
        return _error(
            f"unexpected character `{char}`",
            path,
            line,
            column,
            lines,
            hint=_expected_hint(expected),
        )
    shown = word or (source_line[column - 1 : column] if source_line else "")
    return _error(
        f"unexpected `{shown}`",
        path,
        line,
        column,
        lines,
        hint=_expected_hint(expected),
        width=max(1, len(shown)),
    )


def _swallowed_key(line: str, column: int) -> str | None:
    """An entry key right before the error on its line (`message "…"` where `message` was taken
    as the value of an incomplete entry above, such as `where $X is`)."""
    before = line[: column - 1].split()
    if before and before[-1] in ENTRY_KEYS and len(before) == 1:
        return before[-1]
    return None


def _previous_line(lines: list[str], line: int) -> int:
    number = line - 1
    while number > 1 and not lines[number - 1].strip():
        number -= 1
    return number


def _expects_entry(expected: set[str]) -> bool:
    return "TITLE" in expected and "HELP" in expected


def _expects_condition(expected: set[str]) -> bool:
    return "IS" in expected and "HOLDS" in expected


def _expected_hint(expected: set[str]) -> str:
    names = sorted(_TERMINAL_NAMES.get(name, _keyword(name)) for name in expected)
    if not names:
        return "check the rule syntax in docs/rule-language.md"
    if len(names) > 6:
        names = [*names[:6], "…"]
    return "expected " + ", ".join(names)


def _keyword(terminal: str) -> str:
    return f"`{terminal.lower()}`" if terminal.isalpha() else terminal


def _word_at(line: str, column: int) -> str:
    match = re.match(r"[A-Za-z_$'][\w$'-]*", line[column - 1 :])
    return match.group(0) if match else ""


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def _known(what: str, choices: tuple[str, ...]) -> str:
    return f"known {what}: " + ", ".join(choices)


def _error(
    message: str,
    path: str,
    line: int,
    column: int,
    lines: list[str],
    *,
    hint: str | None = None,
    width: int = 1,
) -> RuleError:
    source = lines[line - 1] if 0 < line <= len(lines) else None
    return RuleError(
        message, path=path, line=line, column=column, hint=hint, source_line=source, width=width
    )


# Transformer --------------------------------------------------------------------------------


def _token_span(token: Token, path: str) -> ast.SrcSpan:
    return ast.SrcSpan(
        path,
        token.line or 1,
        token.column or 1,
        token.end_line or token.line or 1,
        token.end_column or token.column or 1,
    )


def _meta_span(meta: Any, path: str) -> ast.SrcSpan:
    if getattr(meta, "empty", True):
        return ast.SrcSpan(path, 1, 1, 1, 1)
    return ast.SrcSpan(path, meta.line, meta.column, meta.end_line, meta.end_column)


def _unquote(token: Token) -> str:
    raw = str(token)
    if raw.startswith('"""'):
        return _dedent_help(raw[3:-3])
    body = raw[1:-1]
    # Only \", \\, \n and \t are escapes; any other backslash stays, so a regex such as
    # "\bfoo\s" reads as written.
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), body)


def _dedent_help(text: str) -> str:
    import textwrap

    return textwrap.dedent(text.strip("\n")).strip() + "\n"


def _code_block(token: Token, path: str) -> ast.CodeBlock:
    raw = str(token)
    fence = 3 if raw.startswith("```") else 1
    return ast.CodeBlock(
        code=raw[fence:-fence],
        span=_token_span(token, path),
        line=token.line or 1,
        column=(token.column or 1) + fence,
    )


@v_args(meta=True)
class _ToAst(Transformer[Token, Any]):
    """Turns one rule entry's parse tree into an `ast.Entry` (or a condition)."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def _entry(self, key: str, value: object, meta: Any) -> ast.Entry:
        return ast.Entry(key, value, _meta_span(meta, self.path))

    def string(self, meta: Any, children: list[Token]) -> str:
        return _unquote(children[0])

    def title(self, meta: Any, children: list[Any]) -> ast.Entry:
        return self._entry("title", children[0], meta)

    def severity(self, meta: Any, children: list[Token]) -> ast.Entry:
        return self._entry("severity", Severity.parse(children[0]), meta)

    def severity_if(self, meta: Any, children: list[Any]) -> ast.Entry:
        span = _meta_span(meta, self.path)
        return self._entry(
            "severity-if", ast.SeverityIf(Severity.parse(children[0]), children[1], span), meta
        )

    def security(self, meta: Any, children: list[Token]) -> ast.Entry:
        return self._entry("security", float(children[0]), meta)

    def cwe(self, meta: Any, children: list[Token]) -> ast.Entry:
        return self._entry("cwe", tuple(int(c) for c in children), meta)

    def tags(self, meta: Any, children: list[Token | None]) -> ast.Entry:
        return self._entry("tags", tuple(str(c) for c in children if c is not None), meta)

    def precision(self, meta: Any, children: list[Token]) -> ast.Entry:
        return self._entry("precision", str(children[0]), meta)

    def enabled(self, meta: Any, children: list[Token]) -> ast.Entry:
        return self._entry("enabled", str(children[0]) == "true", meta)

    def match(self, meta: Any, children: list[Token]) -> ast.Entry:
        return self._entry("match", _code_block(children[0], self.path), meta)

    def where(self, meta: Any, children: list[Any]) -> ast.Entry:
        return self._entry("where", children[0], meta)

    def message(self, meta: Any, children: list[Any]) -> ast.Entry:
        return self._entry("message", children[0], meta)

    def location(self, meta: Any, children: list[Any]) -> ast.Entry:
        label = children[1] if len(children) > 1 else ""
        return self._entry("location", ast.Labelled(children[0], label), meta)

    def related(self, meta: Any, children: list[Any]) -> ast.Entry:
        return self._entry("related", ast.Labelled(children[0], children[1]), meta)

    def example(self, meta: Any, children: list[Token]) -> ast.Entry:
        return self._entry(
            "example", ast.Example(str(children[0]), _code_block(children[1], self.path)), meta
        )

    def fix(self, meta: Any, children: list[Any]) -> ast.Entry:
        description = children[1] if len(children) > 1 and children[1] is not None else ""
        return self._entry("fix", ast.FixTemplate(children[0], description), meta)

    def help(self, meta: Any, children: list[Any]) -> ast.Entry:
        return self._entry("help", children[0], meta)

    def span_ref(self, meta: Any, children: list[Token]) -> ast.SpanRef:
        end = _var(children[1]) if len(children) > 1 else None
        return ast.SpanRef(_var(children[0]), end, _meta_span(meta, self.path))

    def header_ref(self, meta: Any, children: list[Token]) -> ast.SpanRef:
        return ast.SpanRef(None, None, _meta_span(meta, self.path))

    # Conditions ---------------------------------------------------------------------------

    def or_cond(self, meta: Any, children: list[ast.Cond]) -> ast.Cond:
        return ast.Or(tuple(children), _meta_span(meta, self.path))

    def and_cond(self, meta: Any, children: list[ast.Cond]) -> ast.Cond:
        return ast.And(tuple(children), _meta_span(meta, self.path))

    def negation(self, meta: Any, children: list[ast.Cond]) -> ast.Cond:
        return ast.Not(children[0], _meta_span(meta, self.path))

    def is_shape(self, meta: Any, children: list[Token]) -> ast.Cond:
        return ast.IsShape(_var(children[0]), str(children[1]), _meta_span(meta, self.path))

    def has_lifetime(self, meta: Any, children: list[Token | None]) -> ast.Cond:
        lifetime = children[1] if len(children) > 1 else None
        return ast.HasLifetime(
            _var(children[0]),  # type: ignore[arg-type]
            str(lifetime)[2:] if lifetime is not None else None,
            _meta_span(meta, self.path),
        )

    def matches_regex(self, meta: Any, children: list[Any]) -> ast.Cond:
        return ast.MatchesRegex(_var(children[0]), children[1], _meta_span(meta, self.path))

    def flows_into(self, meta: Any, children: list[Any]) -> ast.Cond:
        via = _var(children[2]) if len(children) > 2 and children[2] is not None else None
        return ast.FlowsInto(_var(children[0]), children[1], via, _meta_span(meta, self.path))

    def flows_from_other(self, meta: Any, children: list[Any]) -> ast.Cond:
        via = _var(children[2]) if len(children) > 2 and children[2] is not None else None
        span = _meta_span(meta, self.path)
        return ast.FlowsInto(_var(children[0]), None, via, span, unlike=_var(children[1]))

    def holds(self, meta: Any, children: list[Any]) -> ast.Cond:
        via = _var(children[2]) if len(children) > 2 and children[2] is not None else None
        return ast.Holds(_var(children[0]), str(children[1]), via, _meta_span(meta, self.path))

    def holds_type(self, meta: Any, children: list[Any]) -> ast.Cond:
        via = _var(children[2]) if len(children) > 2 and children[2] is not None else None
        span = _meta_span(meta, self.path)
        return ast.Holds(_var(children[0]), "", via, span, type_name=str(children[1]).strip())

    def has_kind(self, meta: Any, children: list[Token]) -> ast.Cond:
        return ast.HasKind(_var(children[0]), str(children[1]), _meta_span(meta, self.path))

    def _relation(self, name: str, meta: Any, children: list[Any]) -> ast.Cond:
        within = int(children[2]) if len(children) > 2 and children[2] is not None else None
        return ast.Relation(
            _var(children[0]),
            name,
            _code_block(children[1], self.path),
            within,
            _meta_span(meta, self.path),
        )

    def inside(self, meta: Any, children: list[Any]) -> ast.Cond:
        return self._relation("inside", meta, children)

    def has_descendant(self, meta: Any, children: list[Any]) -> ast.Cond:
        return self._relation("has", meta, children)

    def follows(self, meta: Any, children: list[Any]) -> ast.Cond:
        return self._relation("follows", meta, children)

    def precedes(self, meta: Any, children: list[Any]) -> ast.Cond:
        return self._relation("precedes", meta, children)

    def has_bound(self, meta: Any, children: list[Any]) -> ast.Cond:
        return ast.HasBound(_var(children[0]), children[1], _meta_span(meta, self.path))

    def has_lifetime_bound(self, meta: Any, children: list[Any]) -> ast.Cond:
        lifetime = str(children[1])[2:]
        return ast.HasLifetimeBound(_var(children[0]), lifetime, _meta_span(meta, self.path))

    def has_marker_lifetime(self, meta: Any, children: list[Any]) -> ast.Cond:
        return ast.HasMarkerLifetime(_var(children[0]), _meta_span(meta, self.path))

    def safe_method_uses_unsafe(self, meta: Any, children: list[Any]) -> ast.Cond:
        return ast.SafeMethodUsesUnsafe(_var(children[0]), _meta_span(meta, self.path))

    def has_doc_section(self, meta: Any, children: list[Any]) -> ast.Cond:
        return ast.HasDocSection(_var(children[0]), children[1], _meta_span(meta, self.path))

    def allows_lint(self, meta: Any, children: list[Any]) -> ast.Cond:
        return ast.AllowsLint(_var(children[0]), children[1], _meta_span(meta, self.path))

    def has_safety_comment(self, meta: Any, children: list[Any]) -> ast.Cond:
        return ast.HasSafetyComment(_var(children[0]), _meta_span(meta, self.path))

    def implements(self, meta: Any, children: list[Any]) -> ast.Cond:
        return ast.Implements(_var(children[0]), children[1], _meta_span(meta, self.path))

    def unconstrained(self, meta: Any, children: list[Token]) -> ast.Cond:
        return ast.Unconstrained(str(children[0])[2:], _meta_span(meta, self.path))

    def flow_return(self, meta: Any, children: list[Token]) -> str | None:
        return None

    def flow_binding(self, meta: Any, children: list[Token]) -> str:
        return _var(children[0])


def _var(token: Token) -> str:
    """`$NAME` or `$..NAME` → `NAME`."""
    return str(token)[1:].lstrip(".")
