"""Rule ASTs → `CompiledRule`s: patterns compiled, names checked, prefilter derived."""

from __future__ import annotations

import difflib
import re

import regex

from unsound.dsl import ast
from unsound.dsl.ast import MAX_CONDITION_DEPTH, CodeBlock

# `CompiledRule` lives in `compiled`, what is worked out from it in `rule_facts`; some are also
# named here for the modules that import them from the compiler.
from unsound.dsl.compiled import MATCH_VAR, CompiledRule, LazyRegexes
from unsound.dsl.needle import Needle
from unsound.dsl.pattern import Pattern, VarConstraint, compile_pattern_variants, constrained
from unsound.dsl.phrases import (
    declared_after_colon,
    in_return_type,
    phrase_regex,
    returned_var,
    self_borrow_with_lifetime,
    typed_with_shape,
)
from unsound.dsl.rule_facts import (
    asks_unconstrained_next,
    match_variables,
    required_impls,
    required_parts,
    required_relations,
    requires_static_mut,
    through_and_or,
    walk_conditions,
)
from unsound.dsl.shapes import CRATE_SHAPES, SHAPES
from unsound.errors import RuleError
from unsound.model import RuleInfo

__all__ = [
    "MATCH_VAR",
    "CompiledRule",
    "compile_rule",
    "required_impls",
    "required_relations",
    "requires_static_mut",
]

HELP_URI_BASE = "https://github.com/cargo-unsound/cargo-unsound/blob/main/docs/rules/"
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

_KEYWORDS = frozenset({"unsafe", "static", "extern", "union"})
# Words nearly every Rust file spells: a prefilter needle for one would reject nothing.
_COMMON_WORDS = frozenset(
    {
        *("as", "const", "crate", "dyn", "enum", "fn", "for", "impl", "let", "mut", "pub"),
        *("ref", "self", "Self", "struct", "super", "trait", "type", "use", "where"),
        *("bool", "char", "str", "usize", "isize", "f32", "f64"),
        *(f"{sign}{bits}" for sign in "ui" for bits in (8, 16, 32, 64, 128)),
    }
)

# Words that any match of a shape condition must contain, for the literal prefilter.
_SHAPE_WORDS: dict[str, str] = {
    "raw-pointer": r"\*\s*(?:const|mut)\b|NonNull",
    "mut-pointer": r"\*\s*mut\b",
    "const-pointer": r"\*\s*const\b",
    "non-null": r"NonNull",
    "phantom-data": r"PhantomData",
    "unsafe": r"\bunsafe\b",
    # A `static mut` may be declared in another file, but touching one always takes `unsafe`.
    "static-mut": r"\bunsafe\b",
}


# What the text of a type has when it has the shape (`engine.shapes`): a pointer type starts
# with `*`, a `NonNull` names it (also inside an `Option`).
_SHAPE_TYPE_TEXT: dict[str, str] = {
    "raw-pointer": r"\*|NonNull",
    "mut-pointer": r"\*",
    "const-pointer": r"\*",
    "non-null": r"NonNull",
}


# The node kinds a binding can have when it has the shape. `static-mut` is decided on the
# binding's text, which must be a name or a path ending in one (`COUNTER`, `crate::LOG`): an
# expression or type of another kind (`self.x`, `f()`, `&T`) never is one, nor are `self`,
# `crate` and `super`, which no `static` can be named.
_SHAPE_KINDS: dict[str, tuple[str, ...]] = {
    "static-mut": (
        "identifier",
        "scoped_identifier",
        "type_identifier",
        "scoped_type_identifier",
        "primitive_type",
    ),
}


def compile_rule(rule: ast.RuleAst, pack: str, source_text: str) -> CompiledRule:
    """Compile and check one rule; raise `RuleError` with a caret at the first problem."""
    lines = source_text.splitlines()
    patterns = tuple(p for block in rule.patterns for p in compile_pattern_variants(block))
    constraints = _var_constraints(rule.conditions)
    patterns = tuple(constrained(p, constraints) for p in patterns)
    relations = _relation_patterns(rule)
    bound = _bound_names(patterns, rule.conditions, relations)
    for condition in (*rule.conditions, *(s.cond for s in rule.severity_ifs)):
        _check_condition(condition, bound, lines)
    _check_placeholders(rule.message, rule.message_span, bound, lines)
    if rule.fix is not None and rule.fix_span is not None:
        _check_placeholders(rule.fix.replacement, rule.fix_span, bound, lines)
    for labelled in (*([rule.location] if rule.location else []), *rule.related):
        _check_ref(labelled.ref, bound, lines)
        _check_placeholders(labelled.label, labelled.ref.span, bound, lines)
    regexes = _compile_regexes((*rule.conditions, *(s.cond for s in rule.severity_ifs)), lines)
    locators = _locators(patterns, rule.conditions, relations)
    compiled = CompiledRule(
        ast=rule,
        info=_info(rule, pack),
        patterns=patterns,
        relations=relations,
        regexes=regexes,
        prefilter=_prefilter(patterns, rule.conditions, relations),
        region_prefilter=_region_prefilter(patterns, rule.conditions, relations),
        locators=tuple(Needle(r) for r in locators),
        locators_in_match=_in_match(locators, patterns, rule.conditions, relations),
    )
    compiled.fingerprint  # noqa: B018 - computed here (perhaps in a forked process), pickled with it
    return compiled


def _info(rule: ast.RuleAst, pack: str) -> RuleInfo:
    return RuleInfo(
        id=rule.id,
        title=rule.title,
        severity=rule.severity,
        pack=pack,
        help_markdown=rule.help,
        help_text=_plain(rule.help),
        help_uri=f"{HELP_URI_BASE}{rule.id}.md",
        tags=rule.tags,
        cwe=rule.cwe,
        security_severity=rule.security,
        precision=rule.precision,
        enabled_by_default=rule.enabled,
    )


def _plain(markdown: str) -> str:
    """Markdown help as plain text: headings without `#`, code fences dropped."""
    out = []
    for line in markdown.splitlines():
        if line.startswith("```"):
            continue
        out.append(re.sub(r"^#+\s*", "", line))
    return "\n".join(out).strip() + "\n"


def _relation_patterns(rule: ast.RuleAst) -> dict[ast.CodeBlock, tuple[Pattern, ...]]:
    out = {}
    for condition in (*rule.conditions, *(s.cond for s in rule.severity_ifs)):
        for node in walk_conditions(condition):
            if isinstance(node, ast.Relation):
                out[node.pattern] = compile_pattern_variants(node.pattern)
    return out


def _bound_names(
    patterns: tuple[Pattern, ...],
    conditions: tuple[ast.Cond, ...],
    relations: dict[ast.CodeBlock, tuple[Pattern, ...]],
) -> set[str]:
    """Names every pattern binds, plus names that conditions bind (`via $X`, `'$a`, and the
    metavariables of a relation's pattern), plus `$MATCH`."""
    names = set.intersection(*(p.metavariables() for p in patterns)) if patterns else set()
    names.add(MATCH_VAR)
    for condition in conditions:
        for node in walk_conditions(condition):
            if isinstance(node, ast.Relation):
                names |= relations[node.pattern][0].metavariables()
            if isinstance(node, ast.FlowsInto | ast.Holds) and node.via:
                names.add(node.via)
            if isinstance(node, ast.HasLifetime) and node.lifetime_var:
                names.add(node.lifetime_var)
    return names


def _depth(condition: ast.Cond) -> int:
    deepest = 0
    stack = [(condition, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, ast.Not):
            stack.append((node.inner, depth + 1))
        elif isinstance(node, ast.And | ast.Or):
            stack.extend((part, depth + 1) for part in node.parts)
    return deepest


def _check_condition(condition: ast.Cond, bound: set[str], lines: list[str]) -> None:
    if _depth(condition) > MAX_CONDITION_DEPTH:
        raise RuleError(
            "this condition nests too deeply",
            path=condition.span.path,
            line=condition.span.line,
            column=condition.span.column,
            hint=f"keep `not`/`and`/`or`/parentheses under {MAX_CONDITION_DEPTH} levels",
            source_line=_line(lines, condition.span.line),
        )
    for node in walk_conditions(condition):
        var = getattr(node, "var", None) or getattr(node, "lifetime_var", None)
        if isinstance(node, ast.HasLifetime):
            var = node.var
        if var is not None and var not in bound:
            raise _unbound(var, node.span, lines)
        if isinstance(node, ast.FlowsInto) and node.target and node.target not in bound:
            raise _unbound(node.target, node.span, lines)
        if isinstance(node, ast.FlowsInto) and node.unlike and node.unlike not in bound:
            raise _unbound(node.unlike, node.span, lines)
        if isinstance(node, ast.HasKind) and node.kind not in _node_kinds():
            close = difflib.get_close_matches(node.kind, sorted(_node_kinds()), n=1)
            raise RuleError(
                f"unknown node kind `{node.kind}`",
                path=node.span.path,
                line=node.span.line,
                column=_find_column(lines, node.span, node.kind),
                hint=f"did you mean `{close[0]}`?" if close else "use a tree-sitter-rust node kind",
                source_line=_line(lines, node.span.line),
                width=len(node.kind),
            )
        if isinstance(node, ast.Holds) and node.type_name is not None:
            continue
        if isinstance(node, ast.Holds) and node.shape in CRATE_SHAPES:
            raise RuleError(
                f"`holds` cannot test `{node.shape}`",
                path=node.span.path,
                line=node.span.line,
                column=_find_column(lines, node.span, node.shape),
                hint="use `is` for this shape",
                source_line=_line(lines, node.span.line),
                width=len(node.shape),
            )
        if isinstance(node, ast.IsShape | ast.Holds) and node.shape not in SHAPES:
            close = difflib.get_close_matches(node.shape, list(SHAPES), n=1)
            hint = f"did you mean `{close[0]}`?" if close else "known shapes: " + ", ".join(SHAPES)
            column = _find_column(lines, node.span, node.shape)
            raise RuleError(
                f"unknown shape `{node.shape}`",
                path=node.span.path,
                line=node.span.line,
                column=column,
                hint=hint,
                source_line=_line(lines, node.span.line),
                width=len(node.shape),
            )


def _node_kinds() -> set[str]:
    from unsound.dsl.rust_parser import rust_language

    language = rust_language()
    return {
        name
        for index in range(language.node_kind_count)
        if (name := language.node_kind_for_id(index)) and language.node_kind_is_named(index)
    }


def _unbound(name: str, span: ast.SrcSpan, lines: list[str]) -> RuleError:
    needle = f"${name}" if name[:1].isupper() or name[:1] == "_" else f"'${name}"
    return RuleError(
        f"metavariable `{needle}` is used but never bound",
        path=span.path,
        line=span.line,
        column=_find_column(lines, span, needle),
        hint="bind it in every `match` pattern, or with `via` / `has lifetime` before using it",
        source_line=_line(lines, span.line),
        width=len(needle),
    )


def _check_placeholders(text: str, span: ast.SrcSpan, bound: set[str], lines: list[str]) -> None:
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1)
        if name not in bound:
            raise RuleError(
                f"`{{{name}}}` names a metavariable that is never bound",
                path=span.path,
                line=span.line,
                column=_find_column(lines, span, match.group(0)),
                hint="use a metavariable bound by the pattern or a condition",
                source_line=_line(lines, span.line),
                width=len(match.group(0)),
            )


def _check_ref(ref: ast.SpanRef, bound: set[str], lines: list[str]) -> None:
    for name in (ref.start, ref.end):
        if name is not None and name not in bound:
            raise _unbound(name, ref.span, lines)


def _compile_regexes(conditions: tuple[ast.Cond, ...], lines: list[str]) -> LazyRegexes:
    regexes: dict[str, regex.Pattern[str]] = {}
    for condition in conditions:
        for node in walk_conditions(condition):
            if isinstance(node, ast.MatchesRegex):
                try:
                    regexes[node.regex] = regex.compile(node.regex, regex.VERSION0)
                except regex.error as exc:
                    raise RuleError(
                        f"bad regular expression: {exc.msg}",
                        path=node.span.path,
                        line=node.span.line,
                        column=_find_column(lines, node.span, '"'),
                        hint="regexes use Python `re` syntax",
                        source_line=_line(lines, node.span.line),
                    ) from None
    return LazyRegexes(tuple(regexes), regexes)


def _prefilter(
    patterns: tuple[Pattern, ...],
    conditions: tuple[ast.Cond, ...],
    relations: dict[CodeBlock, tuple[Pattern, ...]],
) -> tuple[Needle, ...]:
    """What a file must all contain for this rule to possibly match it.

    From the `match` patterns (any one of them must match: the rarest word or phrase of each),
    and from every `where` line that must hold in the same file: `is` shapes with a telltale
    spelling and positive relations (`has`, `inside`, `follows`, `precedes`), whose pattern's
    words must be in the file too. `holds`, `implements` and the like may look at other files:
    never used.
    """
    alternatives = _words_of(patterns)
    required = [alternatives] if alternatives else []
    # Each pattern gives its rarest word; a name every pattern spells is required too
    # (`Box::from_raw(..)`: `Box` beside `from_raw`; on rust-analyzer, 53 files say
    # `X::from_raw(` and none of them a `Box::from_raw(` the rule could match).
    required += [(rf"\b{re.escape(word)}\b",) for word in _shared_names(patterns)]
    required += _required_texts(conditions, relations, None)
    return tuple(Needle(r) for r in dict.fromkeys(required))


def _shared_names(patterns: tuple[Pattern, ...]) -> list[str]:
    """The names (not keywords, not primitive types: words most files spell) that every
    pattern spells, so that every match holds them as tokens."""
    if not patterns:
        return []
    shared = set.intersection(*(pattern.literal_words() for pattern in patterns))
    return sorted(word for word in shared if word not in _COMMON_WORDS)


def _var_constraints(conditions: tuple[ast.Cond, ...]) -> dict[str, VarConstraint]:
    """What the `where` lines every finding satisfies demand of single metavariables: a kind
    (`$V kind identifier`, one of several: `$V kind identifier or $V kind scoped_identifier`,
    or the kinds a shape allows: `$X is static-mut`) or a word in the text (`$FN matches
    "(^|::)transmute"`), for the candidate queries."""
    kinds: dict[str, tuple[str, ...]] = {}
    shape_kinds: dict[str, tuple[str, ...]] = {}
    words: dict[str, str] = {}
    type_texts: dict[str, str] = {}
    for part in required_parts(conditions):
        if isinstance(part, ast.IsShape) and part.shape in _SHAPE_TYPE_TEXT:
            type_texts.setdefault(part.var, _SHAPE_TYPE_TEXT[part.shape])
        elif isinstance(part, ast.IsShape) and part.shape in _SHAPE_KINDS:
            shape_kinds.setdefault(part.var, _SHAPE_KINDS[part.shape])
        elif isinstance(part, ast.HasKind):
            kinds.setdefault(part.var, (part.kind,))
        elif isinstance(part, ast.Or) and (either := _kinds_of_one_var(part)) is not None:
            kinds.setdefault(*either)
        elif isinstance(part, ast.MatchesRegex):
            word = _regex_literal(part.regex)
            if word is not None and len(word) > len(words.get(part.var, "")):
                words[part.var] = word
    return {
        var: VarConstraint(
            # An explicit `kind` is the narrower demand.
            kinds=kinds[var] if var in kinds else shape_kinds.get(var, ()),
            word=words.get(var),
            type_text=type_texts.get(var),
        )
        for var in kinds.keys() | words.keys() | type_texts.keys() | shape_kinds.keys()
    }


def _kinds_of_one_var(condition: ast.Or) -> tuple[str, tuple[str, ...]] | None:
    """`$V kind A or $V kind B …` as the variable and its kinds; None for any other `or`."""
    parts = condition.parts
    if not all(isinstance(part, ast.HasKind) for part in parts):
        return None
    variables = {part.var for part in parts if isinstance(part, ast.HasKind)}
    if len(variables) != 1:
        return None
    return variables.pop(), tuple(part.kind for part in parts if isinstance(part, ast.HasKind))


def _region_prefilter(
    patterns: tuple[Pattern, ...],
    conditions: tuple[ast.Cond, ...],
    relations: dict[CodeBlock, tuple[Pattern, ...]],
) -> tuple[Needle, ...]:
    """What a macro region must all contain, beyond its patterns' words, for this rule to match
    in it: the text of every `where` line about a node of the match itself (`$MATCH`, or a
    variable every pattern binds). A region is parsed on its own, so such a node, and whatever
    a relation of it finds, is inside the region."""
    required = _required_texts(conditions, relations, match_variables(patterns))
    return tuple(Needle(r) for r in dict.fromkeys(required))


def _in_match(
    locators: list[tuple[str, ...]],
    patterns: tuple[Pattern, ...],
    conditions: tuple[ast.Cond, ...],
    relations: dict[CodeBlock, tuple[Pattern, ...]],
) -> tuple[bool, ...]:
    """Per locator (`_locators`), whether every match holds it in its own text (its patterns'
    words, what `has` or `matches` reads of its nodes), not only around it (`inside`,
    `follows`): a piece of the file that holds a match holds all such locators at once."""
    own = set(_locators(patterns, conditions, relations, in_match_only=True))
    return tuple(alternatives in own for alternatives in locators)


def _locators(
    patterns: tuple[Pattern, ...],
    conditions: tuple[ast.Cond, ...],
    relations: dict[CodeBlock, tuple[Pattern, ...]],
    in_match_only: bool = False,
) -> list[tuple[str, ...]]:
    """What the top-level item around every match holds, each one: a match of one of its
    patterns' words, the names every pattern spells, and the text of every `where` line about
    the match's own code (`$MATCH`, a variable every pattern binds) that reads only that code
    (`matches`, the shapes of its types, `is unsafe`), its subtree (`has`) or its ancestors
    (`inside`). `follows` / `precedes` only when every match is inside a function (their
    statements stop at its body; at the top level they are the file's other items). Never
    `is static-mut` (the `static` may be anywhere). Empty: the rule cannot locate its matches,
    and a file it wants is parsed whole. With `in_match_only`, only what the match's own text
    holds (not what `inside`, `follows` or `precedes` finds)."""
    local = match_variables(patterns)
    written = _written_lifetimes(conditions)
    # The metavariable every pattern's whole return type is (`-> $R`), if one is.
    returned_vars = {returned_var(pattern) for pattern in patterns}
    whole_return = returned_vars.pop() if len(returned_vars) == 1 else None
    in_function = any(
        isinstance(part, ast.Relation)
        and part.relation == "inside"
        and part.var == MATCH_VAR
        and all(p.root.kind == "function_item" for p in relations[part.pattern])
        for part in required_parts(conditions)
    )

    def leaf(part: ast.Cond) -> tuple[str, ...] | None:
        var = getattr(part, "var", None)
        if var is not None and var not in local:
            return None
        if isinstance(part, ast.IsShape):
            typed = typed_with_shape(part.shape)
            if typed is not None and all(declared_after_colon(p, part.var) for p in patterns):
                return typed  # `p: *const T`: rarer than `*const` anywhere in the item
            shape = _SHAPE_WORDS.get(part.shape) if part.shape != "static-mut" else None
            return (shape,) if shape else None
        returned = var is not None and var == whole_return
        if isinstance(part, ast.HasLifetime) and returned and id(part) in written:
            # Only a lifetime the return type writes, or `Self`'s (its impl's) counts.
            return (in_return_type(r"(?:'|\bSelf\b)"),)
        if isinstance(part, ast.Relation):
            if returned and part.relation == "has" and _writes_lifetime(relations[part.pattern]):
                return (in_return_type("'"),)  # `$R has `&'$a $T``: in the return type
            if in_match_only and part.relation != "has":
                return None
            near = part.relation in ("has", "inside") or in_function
            return _words_of(relations[part.pattern]) if near else None
        if isinstance(part, ast.MatchesRegex):
            word = _regex_literal(part.regex)
            if not word:
                return None
            if var == whole_return:
                # `-> … mut` is rarer than `mut`: the word is in the signature.
                return (in_return_type(re.escape(word)),)
            return (re.escape(word),)
        return None

    words = _words_of(patterns)
    required = [words] if words else []
    required += [(rf"\b{re.escape(word)}\b",) for word in _shared_names(patterns)]
    # `&'a self` in every pattern: rarer than the `fn NAME<'` its function is found by.
    borrows = [self_borrow_with_lifetime(pattern) for pattern in patterns]
    if patterns and all(borrows):
        required.append(tuple(sorted({b for b in borrows if b})))
    for part in required_parts(conditions):
        needed = through_and_or(part, leaf)
        if needed:
            required.append(needed)
    return list(dict.fromkeys(required))


def _written_lifetimes(conditions: tuple[ast.Cond, ...]) -> set[int]:
    """The `$R has lifetime '$a` conditions (by identity) that `'$a is unconstrained` follows,
    at the top level or in an `and` or `or`: they count only a lifetime the type writes (or
    `Self`'s), never an elided one (`asks_unconstrained_next`)."""
    found: set[int] = set()
    sequences: list[tuple[ast.Cond, ...]] = [conditions]
    while sequences:
        sequence = sequences.pop()
        for index, part in enumerate(sequence):
            if isinstance(part, (ast.And, ast.Or)):
                sequences.append(part.parts)
            if asks_unconstrained_next(part, sequence[index:]):
                found.add(id(part))
    return found


def _writes_lifetime(patterns: tuple[Pattern, ...]) -> bool:
    """Whether every pattern spells a lifetime (`&'$a $T`): a match's text holds a `'`."""
    return bool(patterns) and all(
        any(node.kind == "lifetime" for node in pattern.root.walk()) for pattern in patterns
    )


def _required_texts(
    conditions: tuple[ast.Cond, ...],
    relations: dict[CodeBlock, tuple[Pattern, ...]],
    local: set[str] | None,
) -> list[tuple[str, ...]]:
    """For each `where` line (or part of an `and` line) that every finding satisfies, the
    regexes one of which the text must contain (see `_required_text`)."""
    required = []
    for part in required_parts(conditions):
        needed = _required_text(part, relations, local)
        if needed:
            required.append(needed)
    return required


def _required_text(
    condition: ast.Cond,
    relations: dict[CodeBlock, tuple[Pattern, ...]],
    local: set[str] | None = None,
) -> tuple[str, ...] | None:
    """Regexes one of which the file must contain when the condition holds, or None.

    With `local`, only conditions about those variables count, and no `is` shape (a `static
    mut`'s `unsafe` may be outside the matched code)."""

    def leaf(part: ast.Cond) -> tuple[str, ...] | None:
        if local is not None:
            var = getattr(part, "var", None)
            if isinstance(part, ast.IsShape) or (var is not None and var not in local):
                return None
        if isinstance(part, ast.IsShape):
            shape = _SHAPE_WORDS.get(part.shape)
            return (shape,) if shape else None
        if isinstance(part, ast.Relation):
            return _words_of(relations[part.pattern])
        if isinstance(part, ast.MatchesRegex):
            word = _regex_literal(part.regex)
            return (re.escape(word),) if word else None
        return None

    return through_and_or(condition, leaf)


def _regex_literal(regex: str) -> str | None:
    """The longest plain word (3+ letters) every match of the regex contains: outside groups and
    classes, not under a quantifier, and only if the regex has no top-level `|`."""
    if "(?" in regex and re.search(r"\(\?[a-zA-Z]*i", regex):
        return None  # case-insensitive: the literal prefilter is case-sensitive
    depth, index, runs, current = 0, 0, [], ""
    while index < len(regex):
        char = regex[index]
        if char == "\\":
            runs.append(current)
            current = ""
            index += 2
            continue
        if char == "[":
            end = regex.find("]", index + 2)
            index = len(regex) if end == -1 else end + 1
            runs.append(current)
            current = ""
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            return None
        if depth == 0 and (char.isalnum() or char == "_") and char != "(":
            current += char
        else:
            if char in "?*{" and current:
                current = current[:-1]  # the quantifier applies to the last character only
            runs.append(current)
            current = ""
        index += 1
    runs.append(current)
    words = [run for run in runs if len(run) >= 3]
    return max(words, key=len) if words else None


def _words_of(patterns: tuple[Pattern, ...]) -> tuple[str, ...] | None:
    """Regexes one of which any match of the patterns contains, or None if some pattern has
    neither a word nor a phrase."""
    if not patterns:
        return None
    alternatives = []
    for pattern in patterns:
        words = pattern.literal_words()
        # Its rarest word: an identifier before a keyword, then the longest.
        # Ties: a function's name before a type's (a type is also named in signatures and
        # imports), then the word itself: set order changes with each process's hash seed, and
        # a prefilter must be the same in every run.
        word = min(words, key=_rarity) if words else None
        # A phrase holding that word (`.as_ptr()`, `&mut *`) is rarer still.
        phrase = phrase_regex(pattern, word)
        if phrase is not None:
            alternatives.append(phrase)
        elif word is not None:
            alternatives.append(rf"\b{re.escape(word)}\b")
        else:
            return None
    return tuple(sorted(set(alternatives)))


def _rarity(word: str) -> tuple[bool, int, bool, str]:
    """Sort key of a pattern's literal words, rarest first (by a guess that holds in practice:
    an identifier before a keyword, the longest, a lowercase name before a capitalized one)."""
    return word in _KEYWORDS, -len(word), word[:1].isupper(), word


def _find_column(lines: list[str], span: ast.SrcSpan, needle: str) -> int:
    line = _line(lines, span.line) or ""
    index = line.find(needle, max(0, span.column - 1))
    return index + 1 if index >= 0 else span.column


def _line(lines: list[str], number: int) -> str | None:
    return lines[number - 1] if 0 < number <= len(lines) else None
