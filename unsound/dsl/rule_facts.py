"""What the engine works out from a compiled rule's conditions and patterns: the relations a
file must hold, the traits and names a crate must spell, the lints that silence it.

Apart from `compiled` because these read the rule's syntax tree (`dsl.ast`), which the process
that runs the CLI never loads (`dsl.rule_pickle`); the workers and the compiler do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeGuard, TypeVar

from unsound.dsl import ast
from unsound.dsl.compiled import MATCH_VAR, CompiledRule
from unsound.dsl.phrases import destructured_type_prefix

if TYPE_CHECKING:
    from unsound.dsl.ast import CodeBlock
    from unsound.dsl.pattern import Pattern, PatternNode

_T = TypeVar("_T")


def required_relations(rule: CompiledRule, beside: bool = True) -> list[tuple[Pattern, ...]]:
    """For each `where` line that needs a structural relation in the matched node's own file,
    the patterns of which one must match somewhere in that file (or macro region).

    Only relations of `$MATCH` or of a metavariable every `match` pattern binds qualify: those
    nodes are in the file being matched, so the related node is too. A variable bound by
    `holds`, `has lifetime` and the like may be in another file of the crate. Without
    `beside`, not `follows` / `precedes` either: their statements may be top-level items or
    impl members that a partly parsed file left out (`engine.item_ranges`).
    """
    local = match_variables(rule.patterns)
    kinds = _RELATIONS if beside else _NEAR_RELATIONS
    required = []
    for part in required_parts(rule.ast.conditions):
        patterns = _local_relation_patterns(part, local, rule.relations, kinds)
        if patterns:
            required.append(patterns)
    return required


def required_impls(rule: CompiledRule) -> tuple[str, ...]:
    """Traits named by `where $V implements "T"` lines whose `$V` is in the matched file: a
    pattern's metavariable, `$MATCH`, or one bound by a relation of those (`inside impl $S`).
    The file must then spell the name of a type the crate implements `T` for."""
    parts = _required_local_parts(rule)
    return tuple(dict.fromkeys(p.trait for p in parts if isinstance(p, ast.Implements)))


def required_parts(conditions: tuple[ast.Cond, ...]) -> Iterator[ast.Cond]:
    """The `where` lines and the parts of `and` lines: what every finding satisfies each of."""
    for condition in conditions:
        yield from condition.parts if isinstance(condition, ast.And) else (condition,)


def required_enclosing_impl(rule: CompiledRule) -> str | None:
    """The trait `T` of `where $X inside `impl<…> $S { … }`` with `where $S implements "T"`,
    both on lines every finding satisfies (not under `not` or `or`): every match then lies in
    an impl block whose self type implements `T`. None for any other rule."""
    parts = list(required_parts(rule.ast.conditions))
    impl_types: set[str] = set()
    for part in parts:
        if isinstance(part, ast.Relation) and part.relation == "inside" and part.within is None:
            names = {_impl_type_var(p.root) for p in rule.relations[part.pattern]}
            if len(names) == 1 and None not in names:
                impl_types |= names  # type: ignore[arg-type]
    for part in parts:
        if isinstance(part, ast.Implements) and part.var in impl_types:
            return part.trait
    return None


def _impl_type_var(root: PatternNode) -> str | None:
    """`$S` of a pattern `impl<…> $S { … }` (its self type, a plain metavariable)."""
    if root.kind != "impl_item" or root.var is not None:
        return None
    for child in root.children:
        if child.field == "type" and child.var is not None and not child.sequence:
            return child.var
    return None


def requires_static_mut(rule: CompiledRule) -> bool:
    """Whether a `where $V is static-mut` line of a `$V` in the matched file must hold: the file
    must then spell the name of a `static mut` the crate declares."""
    return any(
        isinstance(part, ast.IsShape) and part.shape == "static-mut"
        for part in _required_local_parts(rule)
    )


def walk_conditions(condition: ast.Cond) -> list[ast.Cond]:
    """The condition and every condition inside it (`not`, `and`, `or`)."""
    out: list[ast.Cond] = []
    stack = [condition]
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, ast.Not):
            stack.append(node.inner)
        elif isinstance(node, ast.And | ast.Or):
            stack.extend(node.parts)
    return out


# Pattern roots whose matches may hold several members of an impl (or more).
_BEYOND_MEMBER = frozenset(
    {"impl_item", "declaration_list", "trait_item", "mod_item", "source_file", "foreign_mod_item"}
)
# Ancestors an `inside` may match with their members bound to `$..I`: an impl, a trait, an
# inline module (modules and traits are parsed whole; an impl's header always).
_ANCESTOR_BODIES = frozenset({"impl_item", "trait_item", "mod_item"})
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def within_one_piece(rule: CompiledRule) -> bool:
    """Whether every match of the rule lies in one member of an impl, in an impl's header or in
    one top-level item that is not an impl: no pattern is a bare metavariable or a node that
    holds members (`engine.item_ranges` cuts impls at their members)."""
    return all(p.root.var is None and p.root.kind not in _BEYOND_MEMBER for p in rule.patterns)


def member_local(rule: CompiledRule) -> bool:
    """Whether every match of the rule, and whatever its conditions read of the file, lies in
    one member of an impl (a method, an associated item) or in the impl's header: then a file's
    parse can leave out the impl's other members (`engine.item_ranges`).

    No `match` pattern may be a bare metavariable or a node that holds members (an impl, a
    trait, a module), nor an `inside` pattern (an ancestor), except an impl, trait or module
    whose body is `$..I` sequences that nothing else in the rule names: with members left out,
    `$..I` binds fewer of them. `has`, `follows` and `precedes` look below or beside a node of
    the member."""
    conditions = [
        node
        for condition in (*rule.ast.conditions, *(s.cond for s in rule.ast.severity_ifs))
        for node in walk_conditions(condition)
    ]
    used: set[str] = set()
    body_vars: set[str] = set()
    for pattern in rule.patterns:
        if pattern.root.var is not None or pattern.root.kind in _BEYOND_MEMBER:
            return False
        used |= pattern.metavariables()
    for node in conditions:
        used |= {value for value in vars(node).values() if isinstance(value, str)}
        if not isinstance(node, ast.Relation):
            continue
        for pattern in rule.relations[node.pattern]:
            root = pattern.root
            # Below or beside a node of the member (`has`, `follows`): what it finds is in the
            # member too (a `follows` at an impl's level asks for the whole file: `relations`).
            if node.relation != "inside" or (root.var is None and root.kind not in _BEYOND_MEMBER):
                used |= pattern.metavariables()
                continue
            if root.kind not in _ANCESTOR_BODIES:
                return False
            for child in root.children:
                if child.kind != "declaration_list":
                    used |= {n.var for n in child.walk() if n.var}
                    continue
                members = [c for c in child.children if c.named]
                if not all(c.var is not None and c.sequence for c in members):
                    return False
                body_vars |= {c.var for c in members if c.var}
    texts = [rule.ast.message, *(r.label for r in rule.ast.related)]
    if rule.ast.location is not None:
        texts.append(rule.ast.location.label)
    if rule.ast.fix is not None:
        texts.append(rule.ast.fix.replacement)
    for text in texts:
        used |= set(_PLACEHOLDER.findall(text))
    for labelled in (*([rule.ast.location] if rule.ast.location else []), *rule.ast.related):
        used |= {name for name in (labelled.ref.start, labelled.ref.end) if name}
    return not body_vars & used


def locating_facts(rule: CompiledRule) -> tuple[str, ...]:
    """Crate facts whose names the top-level item around every match spells, for the items a
    file's parse is limited to (`CompiledRule.locators` are the rule's own texts): the trait of
    `required_enclosing_impl` (the impl's header names its self type), `static mut` for a
    required `$V is static-mut` of a variable the match binds (`&$X`: `$X` is the name), and
    the trait of a required `$S implements "T"` of a variable inside the match (`let $S(..) =
    $V;`: the type's name is spelled in the match, or `Self` in the impl's header). The crate
    gate's names for them (`engine.crate_gate`)."""
    facts = []
    trait = required_enclosing_impl(rule)
    if trait is not None:
        facts.append(trait)
    local = match_variables(rule.patterns)
    # A variable that is a whole pattern is the match itself: its type may be declared in a
    # `let` or a field outside it (`syntax.declared_type` reads the binding's parent).
    inner = local - {MATCH_VAR} - {p.root.var for p in rule.patterns}
    for part in required_parts(rule.ast.conditions):
        if isinstance(part, ast.IsShape) and part.shape == "static-mut" and part.var in local:
            facts.append(STATIC_MUT_FACT)
        elif isinstance(part, ast.Implements) and part.var in inner:
            facts.append(part.trait)
    return tuple(dict.fromkeys(facts))


def fact_phrases(rule: CompiledRule) -> tuple[tuple[str, str], ...]:
    """(trait, prefix) for each trait of `locating_facts` that a required `$S implements "T"`
    asks of a struct every pattern destructures (`let $S(..) = $V;`): every match spells the
    prefix (`phrases.destructured_type_prefix`, `let` and the path before the name) then one of
    the crate's names for the trait, or `Self`. A sharper locating fact than the names anywhere
    in the item: on rust-analyzer, `handle-duplicated-by-destructuring` chose every item with a
    destructuring `let` and a mention of a `Drop` type of its crate (1.69 MB; 0.10 MB so)."""
    if not rule.patterns:
        return ()
    found = []
    for part in required_parts(rule.ast.conditions):
        if not isinstance(part, ast.Implements):
            continue
        prefixes = {destructured_type_prefix(pattern, part.var) for pattern in rule.patterns}
        if len(prefixes) == 1 and (prefix := prefixes.pop()) is not None:
            found.append((part.trait, prefix))
    return tuple(dict.fromkeys(found))


# The crate gate's name for the fact `is static-mut` (the others are trait names).
STATIC_MUT_FACT = "static mut"


def lints_silencing(rule: CompiledRule) -> tuple[str, ...]:
    """The lints whose being allowed silences the rule wherever it would match: each `L` of a
    line every finding satisfies that says `not $V allows lint "L"` (or `not (… or $V allows
    lint "L" or …)`). A crate whose manifest allows `L` cannot give the rule a finding."""
    lints: list[str] = []
    for part in required_parts(rule.ast.conditions):
        if not isinstance(part, ast.Not):
            continue
        inner = part.inner
        for alternative in inner.parts if isinstance(inner, ast.Or) else (inner,):
            if isinstance(alternative, ast.AllowsLint):
                lints.append(alternative.lint)
    return tuple(dict.fromkeys(lints))


def crate_words(rule: CompiledRule) -> tuple[str, ...]:
    """Names one of which a crate must spell for the rule to match anywhere in it; () when
    that says no more than the file prefilter.

    A pattern whose own words are keywords (`pub type $A = $T;`) passes the prefilter in most
    files, but if every finding of it needs `$T implements "…"`, one of those traits must be
    spelled in the crate (`CrateIndex.implements` answers no otherwise, whatever the type).
    `$MATCH kind K` lines are decided by each pattern's root kind first
    (`napi-external-by-value`: `not $MATCH kind type_item or $T implements …`). A pattern that
    needs no trait gives one of its identifiers, which its matches spell.
    """
    alternatives: list[str] = []
    from_traits = False
    for pattern in rule.patterns:
        traits = _required_traits(rule.ast.conditions, pattern.root.kind)
        if traits is not None:
            alternatives.extend(traits)
            from_traits = True
            continue
        names = sorted(w for w in pattern.literal_words() if w not in _RARE_KEYWORDS)
        if not names:
            return ()
        alternatives.append(max(names, key=len))
    return tuple(dict.fromkeys(alternatives)) if from_traits else ()


# Keywords `Pattern.literal_words` gives besides identifiers.
_RARE_KEYWORDS = frozenset({"unsafe", "static", "extern", "union"})


def _required_traits(conditions: tuple[ast.Cond, ...], kind: str) -> tuple[str, ...] | None:
    """Traits one of which every finding of a pattern with this root kind needs implemented
    (by the last segment of their path), or None."""
    for part in required_parts(conditions):
        decided = _with_match_kind(part, kind)
        if decided is False:
            return ()  # no finding at all: the pattern needs nothing of the crate
        if decided is True:
            continue

        def leaf(condition: ast.Cond) -> tuple[str, ...] | None:
            if isinstance(condition, ast.Implements):
                return (condition.trait.rsplit("::", 1)[-1],)
            return None

        traits = through_and_or(decided, leaf)
        if traits:
            return traits
    return None


def _with_match_kind(condition: ast.Cond, kind: str) -> ast.Cond | bool:
    """The condition with its `$MATCH kind K` lines decided for a match of this kind."""
    if isinstance(condition, ast.HasKind) and condition.var == MATCH_VAR:
        return condition.kind == kind
    if isinstance(condition, ast.Not):
        inner = _with_match_kind(condition.inner, kind)
        return (not inner) if isinstance(inner, bool) else ast.Not(inner, condition.span)
    if isinstance(condition, ast.And | ast.Or):
        absorbing = isinstance(condition, ast.Or)  # `or` is true with one true part
        parts: list[ast.Cond] = []
        for part in condition.parts:
            decided = _with_match_kind(part, kind)
            if decided is absorbing:
                return absorbing
            if not isinstance(decided, bool):
                parts.append(decided)
        if not parts:
            return not absorbing
        if len(parts) == 1:
            return parts[0]
        return type(condition)(tuple(parts), condition.span)
    return condition


def match_variables(patterns: tuple[Pattern, ...]) -> set[str]:
    """`$MATCH` and the metavariables every pattern binds: nodes of the matched code itself."""
    local = {MATCH_VAR}
    if patterns:
        local |= set.intersection(*(p.metavariables() for p in patterns))
    return local


def _required_local_parts(rule: CompiledRule) -> list[ast.Cond]:
    """The `where` lines (and parts of `and` lines) that every finding satisfies, about a
    variable whose node is in the matched file."""
    local = match_variables(rule.patterns)
    required: list[ast.Cond] = []
    for part in required_parts(rule.ast.conditions):
        if isinstance(part, ast.Relation) and part.var in local:
            patterns = rule.relations[part.pattern]
            local |= set.intersection(*(p.metavariables() for p in patterns))
        elif getattr(part, "var", None) in local:
            required.append(part)
    return required


_RELATIONS = frozenset({"inside", "has", "follows", "precedes"})
_NEAR_RELATIONS = frozenset({"inside", "has"})


def _local_relation_patterns(
    condition: ast.Cond,
    local: set[str],
    relations: dict[CodeBlock, tuple[Pattern, ...]],
    kinds: frozenset[str],
) -> tuple[Pattern, ...] | None:
    """Patterns one of which must match in the file when `condition` holds, or None."""

    def leaf(part: ast.Cond) -> tuple[Pattern, ...] | None:
        if isinstance(part, ast.Relation) and part.var in local and part.relation in kinds:
            return relations[part.pattern]
        return None

    return through_and_or(condition, leaf)


def through_and_or(
    condition: ast.Cond, leaf: Callable[[ast.Cond], tuple[_T, ...] | None]
) -> tuple[_T, ...] | None:
    """What every finding needs when `condition` holds, one of a tuple of alternatives (or
    None): `leaf`'s answer for a plain condition, the first answer of an `and`'s parts, and for
    an `or` the alternatives of all its parts when each part has some."""
    if isinstance(condition, ast.And):
        for part in condition.parts:
            found = through_and_or(part, leaf)
            if found:
                return found
        return None
    if isinstance(condition, ast.Or):
        alternatives = [through_and_or(part, leaf) for part in condition.parts]
        if all(alternatives):
            return tuple(dict.fromkeys(a for group in alternatives if group for a in group))
        return None
    return leaf(condition)


def asks_unconstrained_next(
    part: ast.Cond, parts: tuple[ast.Cond, ...]
) -> TypeGuard[ast.HasLifetime]:
    """Whether `part` binds `'$a` with `has lifetime` and the next part (of `parts`, which
    start with it) asks `'$a is unconstrained`: then only a lifetime the type writes counts
    (or `Self`'s), never an elided one, which is another item's parameter."""
    if not isinstance(part, ast.HasLifetime) or part.lifetime_var is None or len(parts) < 2:
        return False
    after = parts[1]
    return isinstance(after, ast.Unconstrained) and after.lifetime_var == part.lifetime_var
