"""The rule-file AST: what the Lark transformer produces, with source spans for error messages."""

from __future__ import annotations

from dataclasses import dataclass

from unsound.model import Severity

# How deeply `not`/`and`/`or`/parentheses may nest: the parser and the compiler both enforce it
# (deeper conditions would exhaust the recursion of the transformer and of the engine).
MAX_CONDITION_DEPTH = 50


@dataclass(frozen=True)
class SrcSpan:
    """Where a construct sits in its rule file (1-based line and column, code points)."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int


@dataclass(frozen=True)
class CodeBlock:
    """Rust code between backticks: a pattern or an example.

    `line`/`column` locate the first character of the code itself (after the backticks) so that a
    tree-sitter error inside the code maps back to the rule file.
    """

    code: str
    span: SrcSpan
    line: int
    column: int


# Conditions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IsShape:
    var: str
    shape: str
    span: SrcSpan


@dataclass(frozen=True)
class HasLifetime:
    var: str
    lifetime_var: str | None
    span: SrcSpan


@dataclass(frozen=True)
class MatchesRegex:
    var: str
    regex: str
    span: SrcSpan


@dataclass(frozen=True)
class FlowsInto:
    """`$P flows into return|$X`; with `unlike`, `$P flows from allocation other than $B`: the
    pointer `$P` was made (here, through a callback's user data or a field) by an allocation
    that is not a `Box<$B>`."""

    var: str
    target: str | None  # None means the function's return value; else a metavariable name
    via: str | None
    span: SrcSpan
    unlike: str | None = None


@dataclass(frozen=True)
class Holds:
    """`$T holds SHAPE` / `$T holds "TypeName"`: a field of the type `$T` names has the shape, or
    mentions the named type (`"napi_ref"` matches `sys::napi_ref` and `Option<napi_ref>`)."""

    var: str
    shape: str
    via: str | None
    span: SrcSpan
    type_name: str | None = None


@dataclass(frozen=True)
class HasKind:
    var: str
    kind: str
    span: SrcSpan


@dataclass(frozen=True)
class Relation:
    """`$X inside|has|follows|precedes PATTERN`: a structural relation to other code."""

    var: str
    relation: str  # "inside" | "has" | "follows" | "precedes"
    pattern: CodeBlock
    within: int | None
    span: SrcSpan


@dataclass(frozen=True)
class HasBound:
    """`$T has bound "Send"`: a generic parameter bounded by a trait (item, `where`, impl)."""

    var: str
    trait: str
    span: SrcSpan


@dataclass(frozen=True)
class HasLifetimeBound:
    """`$T has bound '$a`: a generic type parameter bounded by that lifetime (`F: 'a`, in the
    item's generics, its `where` clause or an enclosing impl's)."""

    var: str
    lifetime_var: str
    span: SrcSpan


@dataclass(frozen=True)
class HasMarkerLifetime:
    """`$T has marker lifetime`: the crate type that carries the lifetime in `$T` uses each of
    its lifetime parameters only inside `PhantomData` fields (it holds no real borrow)."""

    var: str
    span: SrcSpan


@dataclass(frozen=True)
class SafeMethodUsesUnsafe:
    """`$T has safe method using unsafe`: a crate type named in `$T` has a method that is not an
    `unsafe fn` and holds an `unsafe` block (its safe API relies on its fields)."""

    var: str
    span: SrcSpan


@dataclass(frozen=True)
class HasDocSection:
    var: str
    section: str
    span: SrcSpan


@dataclass(frozen=True)
class HasSafetyComment:
    var: str
    span: SrcSpan


@dataclass(frozen=True)
class AllowsLint:
    """`$F allows lint "clippy::missing_safety_doc"`: `#[allow]` or `#[expect]` of that lint
    on the item or an enclosing one, or `#![allow]` in its file or a file of an enclosing
    module (the crate root included)."""

    var: str
    lint: str
    span: SrcSpan


@dataclass(frozen=True)
class Implements:
    """`$T implements "Drop"`: the crate has an `impl Drop for T`."""

    var: str
    trait: str
    span: SrcSpan


@dataclass(frozen=True)
class Unconstrained:
    """`'$a is unconstrained`: a lifetime the function declares but no input mentions, so the
    caller chooses it freely."""

    lifetime_var: str
    span: SrcSpan


@dataclass(frozen=True)
class Not:
    inner: Cond
    span: SrcSpan


@dataclass(frozen=True)
class And:
    parts: tuple[Cond, ...]
    span: SrcSpan


@dataclass(frozen=True)
class Or:
    parts: tuple[Cond, ...]
    span: SrcSpan


Cond = (
    IsShape
    | HasLifetime
    | MatchesRegex
    | FlowsInto
    | Holds
    | HasKind
    | Relation
    | HasBound
    | HasLifetimeBound
    | HasMarkerLifetime
    | SafeMethodUsesUnsafe
    | HasDocSection
    | HasSafetyComment
    | AllowsLint
    | Implements
    | Unconstrained
    | Not
    | And
    | Or
)


# Rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpanRef:
    """A reported location: one binding, a range between two bindings, or the item header."""

    start: str | None  # None means the matched item's header
    end: str | None
    span: SrcSpan


@dataclass(frozen=True)
class Labelled:
    ref: SpanRef
    label: str


@dataclass(frozen=True)
class FixTemplate:
    """`fix "replacement with {BINDINGS}" "description"`: replaces the primary location."""

    replacement: str
    description: str


@dataclass(frozen=True)
class Example:
    kind: str  # "bad" | "good"
    code: CodeBlock


@dataclass(frozen=True)
class SeverityIf:
    severity: Severity
    cond: Cond
    span: SrcSpan


@dataclass(frozen=True)
class Entry:
    """One `key value` line of a rule, before the rule is assembled (keeps its span for checks)."""

    key: str
    value: object
    span: SrcSpan


@dataclass(frozen=True)
class RuleAst:
    id: str
    span: SrcSpan
    title: str
    severity: Severity
    severity_ifs: tuple[SeverityIf, ...]
    security: float | None
    cwe: tuple[int, ...]
    tags: tuple[str, ...]
    precision: str | None
    enabled: bool
    patterns: tuple[CodeBlock, ...]
    conditions: tuple[Cond, ...]
    message: str
    message_span: SrcSpan
    location: Labelled | None
    related: tuple[Labelled, ...]
    examples: tuple[Example, ...]
    help: str
    source_path: str
    fix: FixTemplate | None = None
    fix_span: SrcSpan | None = None
