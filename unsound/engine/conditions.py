"""Evaluation of a rule's `where` conditions on one match's bindings."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial

from tree_sitter import Node

from unsound.dsl import ast
from unsound.dsl.compiled import CompiledRule
from unsound.dsl.pattern import Pattern
from unsound.dsl.rule_facts import asks_unconstrained_next, walk_conditions
from unsound.engine import node_memo
from unsound.engine.bindings import Bindings, Bound
from unsound.engine.comments import has_doc_section, has_safety_comment
from unsound.engine.crate_index import CrateIndex, TypeDefinition, resolve_visible
from unsound.engine.dataflow import flows_into_node, flows_into_return
from unsound.engine.generics import (
    has_bound,
    has_lifetime_bound,
    is_unconstrained,
    type_parameters_in_scope,
)
from unsound.engine.lint_levels import lint_allowed
from unsound.engine.raw_origins import mismatched_origins
from unsound.engine.relations import relate
from unsound.engine.shapes import SHAPE_TESTS, is_phantom_data, lifetimes_in_type, type_names_in
from unsound.engine.syntax import (
    declared_type,
    enclosing_function,
    enclosing_impl,
    is_module_body,
    node_text,
    type_base_name,
)
from unsound.engine.units import ParsedFile
from unsound.engine.variance import has_crate_bound, is_exposed, is_internal_type, is_stored


@dataclass(frozen=True)
class MatchContext:
    """What conditions may consult beyond the bindings: the rule and the crate's items."""

    rule: CompiledRule
    crate: CrateIndex


def evaluate(condition: ast.Cond, bindings: Bindings, context: MatchContext) -> Bindings | None:
    """The first solution of the condition (bindings extended with any names it binds)."""
    return next(solutions(condition, bindings, context), None)


def solutions(condition: ast.Cond, bindings: Bindings, context: MatchContext) -> Iterator[Bindings]:
    """Every way the condition holds, each with the names it binds.

    Conditions that bind (`via`, `has lifetime '$a`, relations) may hold in several ways; a
    later condition that fails for the first way is retried with the next (backtracking), so
    "some field whose type mentions $P" can be written as `holds … via $F` then a test on `$F`.
    """
    if isinstance(condition, ast.And):
        yield from _conjunction(condition.parts, bindings, context)
        return
    if isinstance(condition, ast.Or):
        for part in condition.parts:
            yield from solutions(part, bindings, context)
        return
    if isinstance(condition, ast.Not):
        if next(solutions(condition.inner, bindings, context), None) is None:
            yield bindings
        return
    if isinstance(condition, ast.Unconstrained):
        lifetime = bindings[condition.lifetime_var].node
        if lifetime is not None and is_unconstrained(lifetime):
            yield bindings
        return
    bound = bindings[condition.var]
    node = bound.node
    if node is None:
        return
    if isinstance(condition, ast.HasLifetime):
        yield from _has_lifetime(condition, bound, node, bindings, context)
    elif isinstance(condition, ast.FlowsInto) and condition.unlike is not None:
        yield from _flows_from_other(condition, bound, node, bindings, context)
    elif isinstance(condition, ast.FlowsInto):
        yield from _flows_into(condition, bound, node, bindings)
    elif isinstance(condition, ast.Holds):
        yield from _holds_solutions(condition, bindings, context)
    elif isinstance(condition, ast.HasLifetimeBound):
        bound_lifetime = bindings.get(condition.lifetime_var)
        lifetime_node = bound_lifetime.node if bound_lifetime is not None else None
        if lifetime_node is not None and has_lifetime_bound(node, node_text(lifetime_node)):
            yield bindings
    elif isinstance(condition, ast.Relation):
        # A `$..XS` binding relates through each of its nodes (`$..PARAMS has `&mut $T``),
        # and a pattern through each context it is valid in (expression, type).
        for pattern in context.rule.relations[condition.pattern]:
            for member in bound.nodes if bound.sequence else (node,):
                yield from relate(
                    condition.relation, pattern, member, bound.unit, bindings, condition.within
                )
    elif _test(condition, bound, node, context):
        yield bindings


def _conjunction(
    parts: tuple[ast.Cond, ...],
    bindings: Bindings,
    context: MatchContext,
    onward: tuple[frozenset[str], ...] | None = None,
) -> Iterator[Bindings]:
    """Every way all the parts hold. With `onward` (`shared_onward(parts)`), the first way
    alone: a part is then not tried again for its other ways when the parts after it read
    none of the names it binds."""
    if not parts:
        yield bindings
        return
    first_part = parts[0]
    if asks_unconstrained_next(first_part, parts):
        # `$R has lifetime '$a and '$a is unconstrained`: an elided lifetime (`-> Data` for
        # `struct Data<'a>`) is the struct's parameter, never unconstrained, so the crate index
        # is not asked for it (on rust-analyzer three quarters of the rule's time).
        bound = bindings[first_part.var]
        firsts = (
            _has_lifetime(first_part, bound, bound.node, bindings, context, written_only=True)
            if bound.node is not None
            else iter(())
        )
    elif isinstance(first_part, (ast.Holds, ast.Or)) and (
        field_tests := _tests_of_via(first_part, parts[1:])
    ):
        # `$T holds reference via $F and $F matches "…"`: a field that fails the tests gives
        # no solution, so `holds` turns it away before it looks through the field's type (on
        # tokio, `unsafe impl Send` rules walked every field's types through the crate).
        firsts = _holds_fields_passing(first_part, field_tests, bindings, context)
    else:
        firsts = solutions(first_part, bindings, context)
    if onward is None:
        for first in firsts:
            yield from _conjunction(parts[1:], first, context)
        return
    if all(name in bindings for name in onward[0]):
        # The parts after this one read only names bound before it: they hold for every way
        # it holds or for none, so its other ways are not tried when they fail for the first
        # (`mut-from-ref`'s `or` of four signatures, each binding names of its own, tried the
        # eight `not inside` after it once per `&` parameter: on wasmtime 5,485 relations
        # were asked, 5,234 now).
        firsts = itertools.islice(firsts, 1)
    for first in firsts:
        yield from _conjunction(parts[1:], first, context, onward[1:])


def _tests_of_via(first: ast.Cond, rest: tuple[ast.Cond, ...]) -> tuple[ast.Cond, ...]:
    """The node tests right after a `holds … via $F` (or an `or` of such, all via the same
    `$F`) that test `$F`: every solution must pass them, and they read only the field."""
    alternatives = first.parts if isinstance(first, ast.Or) else (first,)
    vias = {c.via if isinstance(c, ast.Holds) else None for c in alternatives}
    if len(vias) != 1 or None in vias:
        return ()  # not all `holds … via` one variable
    (via,) = vias
    tests = []
    for condition in rest:
        if not _is_node_test(condition) or precheck_var(condition) != via:
            break
        tests.append(condition)
    return tuple(tests)


def _holds_fields_passing(
    first: ast.Cond, tests: tuple[ast.Cond, ...], bindings: Bindings, context: MatchContext
) -> Iterator[Bindings]:
    """`solutions(first)` (a `holds … via $F` or an `or` of them) without the fields that fail
    `tests`: the same solutions that pass them, in the same order."""

    def passes(field: Bound) -> bool:
        return all(precheck_holds(test, field, context) for test in tests)

    for condition in first.parts if isinstance(first, ast.Or) else (first,):
        assert isinstance(condition, ast.Holds)
        yield from _holds_solutions(condition, bindings, context, passes)


def _holds_solutions(
    condition: ast.Holds,
    bindings: Bindings,
    context: MatchContext,
    accept: Callable[[Bound], bool] | None = None,
) -> Iterator[Bindings]:
    bound = bindings[condition.var]
    node = bound.node
    if node is not None and not _imported_from_another_crate(bound, _type_name(node)):
        yield from _holds(condition, node, bindings, context, accept)


def all_hold(
    conditions: tuple[ast.Cond, ...],
    bindings: Bindings,
    context: MatchContext,
    onward: tuple[frozenset[str], ...] | None = None,
) -> Bindings | None:
    """The first bindings under which every condition holds, trying every way each can (with
    `onward`, `shared_onward(conditions)`: every way that can change what follows)."""
    return next(_conjunction(conditions, bindings, context, onward), None)


def shared_onward(
    conditions: tuple[ast.Cond, ...], relations: Mapping[ast.CodeBlock, tuple[Pattern, ...]]
) -> tuple[frozenset[str], ...]:
    """Per condition, the names it mentions that a condition after it mentions too.

    A condition binds only names it mentions (a relation's pattern's, `via`, `'$a`), and
    reads only the names it mentions, never rebinding one bound before it. When every name
    it shares with the conditions after it is bound before it, its ways of holding differ
    only in names nothing after reads: the rest holds for all of them or for none, and the
    first complete solution is the one made with its first way."""
    mentioned = [_mentioned(condition, relations) for condition in conditions]
    shared: list[frozenset[str]] = []
    later: set[str] = set()
    for names in reversed(mentioned):
        shared.append(frozenset(names & later))
        later |= names
    return tuple(reversed(shared))


def _mentioned(
    condition: ast.Cond, relations: Mapping[ast.CodeBlock, tuple[Pattern, ...]]
) -> set[str]:
    names: set[str] = set()
    for node in walk_conditions(condition):
        for attribute in ("var", "lifetime_var", "target", "unlike", "via"):
            name = getattr(node, attribute, None)
            if name:
                names.add(name)
        if isinstance(node, ast.Relation):
            for pattern in relations[node.pattern]:
                names |= pattern.metavariables()
    return names


# Conditions that bind nothing and test one variable's node: `solutions` answers them with
# `_test` alone, so they can be asked before a candidate's bindings are built.
_NODE_TESTS = (ast.IsShape, ast.MatchesRegex, ast.HasKind)


def split_prechecks(
    conditions: tuple[ast.Cond, ...], matched: frozenset[str] = frozenset()
) -> tuple[tuple[ast.Cond, ...], tuple[ast.Cond, ...]]:
    """The node tests to run first (`$PT is raw-pointer`, `not $R is reference`, `$C kind
    identifier`), and the other conditions in their order. The tests are the leading ones and,
    after them, those about a metavariable in `matched` (bound by the structural match itself:
    the patterns' and `$MATCH`). A node test binds nothing and reads only its node, fixed once
    the match is made, so `all_hold(conditions)` and "every test holds, then `all_hold(rest)`"
    give the same first solution; most candidates fail a test, before any binding is built.
    (A test about a metavariable a match leaves unbound is left to `all_hold` with every
    condition: see `matcher._prechecks_hold`.)"""
    run: list[ast.Cond] = []
    rest: list[ast.Cond] = []
    for condition in conditions:
        # `$R matches "…" and not $R matches "'_"`: an `and` line of node tests is tests too.
        parts = condition.parts if isinstance(condition, ast.And) else (condition,)
        if all(_is_node_test(part) for part in parts) and (
            not rest or all(precheck_var(part) in matched for part in parts)
        ):
            run.extend(parts)
        else:
            rest.append(condition)
    return tuple(run), tuple(rest)


def _is_node_test(condition: ast.Cond) -> bool:
    inner = condition.inner if isinstance(condition, ast.Not) else condition
    return isinstance(inner, _NODE_TESTS)


def precheck_var(condition: ast.Cond) -> str:
    """The variable a condition of a precheck run tests."""
    inner = condition.inner if isinstance(condition, ast.Not) else condition
    assert isinstance(inner, _NODE_TESTS)
    return inner.var


def pure_node_test(condition: ast.Cond) -> Callable[[Node], bool] | None:
    """For a condition of a precheck run that reads nothing but its node (a shape without crate
    facts, a kind), the test itself, negation folded in: the matcher calls it on the structural
    match's node without building a binding. None for the others (`precheck_holds`)."""
    negated = isinstance(condition, ast.Not)
    inner = condition.inner if isinstance(condition, ast.Not) else condition
    test: Callable[[Node], bool] | None = None
    if isinstance(inner, ast.HasKind):
        kind = inner.kind

        def test(node: Node) -> bool:
            return node.type == kind

    elif (
        isinstance(inner, ast.IsShape)
        and inner.shape != "static-mut"
        and inner.shape not in _VARIANCE_SHAPES
        and inner.shape in SHAPE_TESTS
    ):
        test = SHAPE_TESTS[inner.shape]
    if test is None or not negated:
        return test
    positive = test
    return lambda node: not positive(node)


def precheck_holds(condition: ast.Cond, bound: Bound, context: MatchContext) -> bool:
    """What `solutions` says of a condition of a precheck run: whether it has a solution."""
    negated = isinstance(condition, ast.Not)
    inner = condition.inner if isinstance(condition, ast.Not) else condition
    node = bound.node
    return (node is not None and _test(inner, bound, node, context)) != negated


def _test(condition: ast.Cond, bound: Bound, node: Node, context: MatchContext) -> bool:
    """Conditions that bind nothing: shapes, regexes, kinds, bounds, docs, comments, impls."""
    if isinstance(condition, ast.IsShape):
        if condition.shape == "static-mut":
            local = _nearest_static(node, bound.text(), bound.unit)
            if local is None and bound.unit.display is not None:
                local = _nearest_static_text(bound.unit.data, node.start_byte, bound.text())
            if local is not None:
                return local
            return context.crate.is_static_mut(bound.text())
        variance = _VARIANCE_SHAPES.get(condition.shape)
        if variance is not None:
            # The `Send`/`Sync` rules ask these of the same impl's `$T` and `$P` (tokio: three
            # rules' `is internal-type` each looked through the crate for the same type).
            return node_memo.remember(
                condition.shape, node, partial(variance, context.crate, node, bound.unit)
            )
        return SHAPE_TESTS[condition.shape](node)
    if isinstance(condition, ast.MatchesRegex):
        return _matches(condition, bound, context)
    if isinstance(condition, ast.HasKind):
        return node.type == condition.kind
    if isinstance(condition, ast.HasBound):
        return has_bound(node, condition.trait, context.crate.supertraits)
    if isinstance(condition, ast.HasDocSection):
        return has_doc_section(node, condition.section)
    if isinstance(condition, ast.HasSafetyComment):
        return has_safety_comment(node, bound.unit)
    if isinstance(condition, ast.AllowsLint):
        return lint_allowed(node, bound.unit, condition.lint, context.crate)
    if isinstance(condition, ast.Implements):
        name = _type_name(node)
        return name is not None and context.crate.implements(name, condition.trait)
    if isinstance(condition, ast.HasMarkerLifetime):
        return _has_marker_lifetime(node, bound, context)
    if isinstance(condition, ast.SafeMethodUsesUnsafe):
        return _safe_method_uses_unsafe(node, bound, context)
    raise AssertionError(f"unhandled condition {condition!r}")


def _in_pattern(node: Node) -> bool:
    parent = node.parent
    return parent is not None and parent.type in ("tuple_struct_pattern", "struct_pattern")


_STATIC_SCOPES = frozenset({"block", "declaration_list", "source_file"})


def _nearest_static(node: Node, name: str, unit: ParsedFile) -> bool | None:
    """Whether the `static` that a plain name resolves to in its own scope is `mut`: a
    function-local `static WHO` hides a `static mut WHO` of another function or module.
    None when no enclosing block or module declares it (the crate index answers then)."""
    if "::" in name or not name.isidentifier():
        return None
    wanted = name.encode()
    current = node.parent
    while current is not None:
        if current.type in _STATIC_SCOPES:
            found = node_memo.remember(
                "statics declared", current, partial(_statics_declared_in, current, unit)
            ).get(wanted)
            if found is not None:
                return found
        current = current.parent
    return None


def _statics_declared_in(scope: Node, unit: ParsedFile) -> dict[bytes, bool]:
    """The `static`s a block or module declares directly (name → whether it is `mut`; the
    first of a name wins): asked for every candidate of a file, read once per scope."""
    found: dict[bytes, bool] = {}
    for child in unit.top_level(scope):
        if child.type != "static_item":
            continue
        declared = child.child_by_field_name("name")
        if declared is not None and declared.text is not None and declared.text not in found:
            found[declared.text] = any(c.type == "mutable_specifier" for c in child.children)
    return found


def _nearest_static_text(data: bytes, before: int, name: str) -> bool | None:
    """Inside a macro call (parsed on its own, so the tree has no enclosing blocks): whether the
    nearest `static NAME` written before it in the file is `mut`."""
    if not name.isidentifier():
        return None
    pattern = re.compile(rb"\bstatic\s+(mut\s+)?" + re.escape(name.encode()) + rb"\s*:")
    last = None
    for match in pattern.finditer(data, 0, before):
        last = match
    return None if last is None else last.group(1) is not None


# Shapes that read the crate index: (crate, node, the node's file) → whether it holds.
_VARIANCE_SHAPES: dict[str, Callable[[CrateIndex, Node, ParsedFile], bool]] = {
    "internal-type": lambda crate, node, _: is_internal_type(crate, node),
    "crate-bounded": has_crate_bound,
    "stored-param": lambda crate, node, _: is_stored(crate, node),
    "exposed-param": lambda crate, node, _: is_exposed(crate, node, by_reference=False),
    "lent-param": lambda crate, node, _: is_exposed(crate, node, by_reference=True),
}


def _type_name(node: Node) -> str | None:
    if node.type in ("identifier", "scoped_identifier") and _in_pattern(node):
        # A struct named in a pattern (`let Handle(p, _) = h;`) is spelled as a path.
        name: str | None = node_text(node).rsplit("::", 1)[-1]
    else:
        name = type_base_name(declared_type(node))
    if name is None and node.type == "identifier" and node_text(node)[:1].isupper():
        name = node_text(node)  # a tuple-struct constructor in an expression: `Wrapper(x)`
    if name == "Self":  # in a pattern too: `let Self(raw) = other;`
        impl = enclosing_impl(node)
        self_type = impl.child_by_field_name("type") if impl is not None else None
        name = type_base_name(self_type) if self_type is not None else None
    return name


REGEX_BUDGET_SECONDS = 1.0


class RuleBudgetExceeded(Exception):
    """A rule's condition ran past its time budget on one file; the file's scan is incomplete."""


def _matches(condition: ast.MatchesRegex, bound: Bound, context: MatchContext) -> bool:
    try:
        found = context.rule.regexes[condition.regex].search(
            bound.text(), timeout=REGEX_BUDGET_SECONDS
        )
    except TimeoutError:
        raise RuleBudgetExceeded(
            f"rule `{context.rule.id}` stopped: its regex {condition.regex!r} ran past "
            f"{REGEX_BUDGET_SECONDS:g} s (catastrophic backtracking?); fix the rule's regex"
        ) from None
    return found is not None


def _has_lifetime(
    condition: ast.HasLifetime,
    bound: Bound,
    node: Node,
    bindings: Bindings,
    context: MatchContext,
    written_only: bool = False,
) -> Iterator[Bindings]:
    """The lifetimes the type names (`'$a` bound to each), else the one it elides, unless
    `written_only`."""
    known = bindings.get(condition.lifetime_var) if condition.lifetime_var else None
    if known is not None:
        # Already bound (`fn f<'$c>(&'$c self) -> $R` then `$R has lifetime '$c`): the type must
        # name that lifetime somewhere, bounds included (`impl Iterator + 'c`), as a relation's
        # bound metavariable must be the same code. An elided lifetime is another item's
        # parameter, never this one.
        names = {node_text(lifetime) for lifetime in known.nodes}
        if any(node_text(lifetime) in names for lifetime in _lifetimes_written(node)):
            yield bindings
        return
    lifetimes = [Bound(bound.unit, (lifetime,)) for lifetime in lifetimes_in_type(node)]
    if not lifetimes and not written_only:
        elided = node_memo.remember(
            "elided-lifetime", node, lambda: _elided_lifetime(node, bound, context)
        )
        lifetimes = [elided] if elided is not None else []
    if condition.lifetime_var is None:
        if lifetimes:
            yield bindings
        return
    for found in lifetimes:
        yield {**bindings, condition.lifetime_var: found}


def has_some_lifetime(
    condition: ast.HasLifetime, bound: Bound, context: MatchContext, written_only: bool = False
) -> bool:
    """Whether `condition` (`$V has lifetime …`) can hold of `bound` whatever else is bound: the
    type writes a lifetime somewhere (all a lifetime bound already must be found among), or
    names one as `_has_lifetime` binds it (`Self`'s, or unless `written_only`, an elided one)."""
    node = bound.node
    if node is None:
        return False

    def some() -> bool:
        if _lifetimes_written(node):
            return True
        found = _has_lifetime(condition, bound, node, {}, context, written_only=written_only)
        return next(found, None) is not None

    # The same for every rule that asks it of this node (50 copies of a rule ask it 50 times).
    name = "some-written-lifetime" if written_only else "some-lifetime"
    return node_memo.remember(name, node, some)


def _elided_lifetime(node: Node, bound: Bound, context: MatchContext) -> Bound | None:
    """A lifetime parameter of a crate type named without its lifetime (`-> Data` for
    `struct Data<'a>`, which `elided_lifetimes_in_paths` allows by default).

    The name is resolved as the file sees it (its own module, then its `use`s); a name that
    stays ambiguous counts only if every candidate has a lifetime (tokio's `Arc<Inner>` is not
    the `Inner<'a, T>` of another module)."""
    parameters = type_parameters_in_scope(node)
    for name in type_names_in(node):
        if name in parameters:
            continue  # `Dependent` in `impl<Owner, Dependent>` is a parameter, not a crate type
        if not context.crate.may_have_generics(name):
            # No definition of it has a lifetime: the declaring files need not be parsed (on
            # wasmtime, 34 of the 40 files parsed again whole because the index asked them).
            continue
        candidates = resolve_visible(context.crate.definitions(name), bound.unit, node)
        lifetimes = [_first_lifetime_parameter(d) for d in candidates]
        if lifetimes and all(lifetime is not None for lifetime in lifetimes):
            return lifetimes[0]
    return None


def _flows_from_other(
    condition: ast.FlowsInto, bound: Bound, node: Node, bindings: Bindings, context: MatchContext
) -> Iterator[Bindings]:
    taken = bindings.get(condition.unlike or "")
    if taken is None or taken.node is None:
        return
    for origin in mismatched_origins(node, bound.unit, taken.node, context.crate):
        if condition.via is None:
            yield bindings
            return
        yield {**bindings, condition.via: Bound(origin.unit, (origin.site,))}


def _first_lifetime_parameter(definition: TypeDefinition) -> Bound | None:
    parameters = definition.item.child_by_field_name("type_parameters")
    if parameters is None:
        return None
    for parameter in parameters.named_children:
        if parameter.type == "lifetime_parameter" and parameter.named_child_count:
            return Bound(definition.unit, (parameter.named_children[0],))
    return None


def _named_crate_types(node: Node, bound: Bound, context: MatchContext) -> list[TypeDefinition]:
    """The crate's definitions of the types named in a type (`Self` resolved), as the file at
    `node` resolves each name; an ambiguous name contributes every candidate."""
    out = []
    parameters = type_parameters_in_scope(node)
    for name in dict.fromkeys(type_names_in(node)):
        if name not in parameters:
            out.extend(resolve_visible(context.crate.definitions(name), bound.unit, node))
    return out


def _has_marker_lifetime(node: Node, bound: Bound, context: MatchContext) -> bool:
    """The first crate type in `node` with lifetime parameters uses them only in PhantomData."""
    for definition in _named_crate_types(node, bound, context):
        parameters = definition.item.child_by_field_name("type_parameters")
        names = {
            node_text(p.named_children[0])
            for p in (parameters.named_children if parameters is not None else [])
            if p.type == "lifetime_parameter" and p.named_child_count
        }
        if not names:
            continue
        for _, field_type in definition.field_types():
            if is_phantom_data(field_type):
                continue
            if any(node_text(lt) in names for lt in _lifetimes_written(field_type)):
                return False
        return True
    return False


def _lifetimes_written(node: Node) -> list[Node]:
    out = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "lifetime":
            out.append(current)
            continue
        stack.extend(current.children)
    return out


def _safe_method_uses_unsafe(node: Node, bound: Bound, context: MatchContext) -> bool:
    """Some crate type named in `node` has a safe method with an `unsafe` block; a type the
    crate does not define (std, a macro's `$name`) cannot be told, and counts as having one."""
    definitions = _named_crate_types(node, bound, context)
    if not definitions:
        return True
    return any(context.crate.safe_method_uses_unsafe(d.name) for d in definitions)


def _flows_into(
    condition: ast.FlowsInto, bound: Bound, node: Node, bindings: Bindings
) -> Iterator[Bindings]:
    function = enclosing_function(node)
    # A name, or `self` (a method's receiver, which the data flow tracks as a name too).
    if function is None or node.type not in ("identifier", "self"):
        return
    if condition.target is None:
        sink = flows_into_return(node, function)
    else:
        target = bindings[condition.target]
        if target.unit is not bound.unit or target.node is None:
            return
        sink = flows_into_node(node, function, target.node)
    if sink is None:
        return
    if condition.via is None:
        yield bindings
    else:
        yield {**bindings, condition.via: Bound(bound.unit, (sink,))}


def _mentions_type(name: str, type_node: Node) -> bool:
    last = name.rsplit("::", 1)[-1]
    return last in type_names_in(type_node)


def _holds(
    condition: ast.Holds,
    node: Node,
    bindings: Bindings,
    context: MatchContext,
    accept: Callable[[Bound], bool] | None = None,
) -> Iterator[Bindings]:
    """Each field of the type that holds the shape (`accept`: only fields it accepts)."""
    name = _type_name(node)
    if name is None:
        return
    wanted = condition.type_name
    # Every field type asked about is in a file of the crate (a definition's, an alias's), so
    # one that names the type spells it: a crate that spells it nowhere has none, and no
    # definition is parsed to learn so (tikv: `send-impl-without-send-bound` judged its
    # candidates in 0.20 s, 0.08 s now).
    if wanted is not None and not context.crate.spells(wanted.rsplit("::", 1)[-1]):
        return
    test = SHAPE_TESTS[condition.shape] if wanted is None else partial(_mentions_type, wanted)
    for definition in context.crate.definitions(name):
        for field_node, field_type in definition.field_types():
            if accept is not None and not accept(Bound(definition.unit, (field_node,))):
                continue
            if not _holds_in(field_type, test, context.crate, {name}, 0):
                continue
            if condition.via is None:
                yield bindings
                return
            yield {**bindings, condition.via: Bound(definition.unit, (field_node,))}


_HOLDS_DEPTH = 3
_USE = re.compile(rb"\buse\s+(::)?([A-Za-z_][A-Za-z0-9_]*)::([^;]*);")


def _imported_from_another_crate(bound: Bound, name: str | None) -> bool:
    """Whether the module around the node imports `name` from another crate
    (`use serde_json::{Map, Value};`): then the crate's own `struct Value` is another type, and
    `holds` must not look at it. `use other::X as Y` imports `Y`."""
    node = bound.node
    if name is None or node is None:
        return False
    # The module's body: past an impl's or a trait's, where no `use` can be.
    scope = node.parent
    while scope is not None and not is_module_body(scope):
        scope = scope.parent
    if scope is None:
        return False
    word = re.compile(rb"\b" + re.escape(name.encode()) + rb"\b(?!\s*::)")
    own = bound.unit.crate.replace("-", "_")
    for child in bound.unit.top_level(scope):
        if child.type != "use_declaration":
            continue
        match = _USE.search(bound.unit.data[child.start_byte : child.end_byte])
        if match is None or match.group(2).decode() in ("crate", "self", "super", own):
            continue
        imported = re.sub(rb"\b[A-Za-z_][A-Za-z0-9_]*\s+as\s+", b"", match.group(3))
        if word.search(imported):
            return True
    return False


def _holds_in(
    field_type: Node,
    test: Callable[[Node], bool],
    crate: CrateIndex,
    seen: set[str],
    depth: int,
) -> bool:
    """Whether a field's type has the shape: itself, through a type alias of the crate
    (`napi_value` = `*mut napi_value__`), or through a field of a crate type it holds by value
    (`JsObject(Value)` where `Value { value: napi_value }`), a few levels deep."""
    if test(field_type):
        return True
    if depth >= _HOLDS_DEPTH:
        return False
    for name in _value_type_names(field_type):
        if name in seen:
            continue
        seen.add(name)
        alias = crate.type_alias(name)
        if alias is not None and _holds_in(alias, test, crate, seen, depth + 1):
            return True
        for definition in crate.definitions(name):
            for _, inner in definition.field_types():
                if _holds_in(inner, test, crate, seen, depth + 1):
                    return True
    return False


def _value_type_names(type_node: Node) -> list[str]:
    """Type names a type holds by value: not behind a reference, pointer or function type."""
    names: list[str] = []
    stack = [declared_type(type_node)]
    while stack:
        current = stack.pop()
        if current.type in ("reference_type", "pointer_type", "function_type"):
            continue
        if current.type == "type_identifier":
            names.append(node_text(current))
        elif current.type == "scoped_type_identifier":
            last = current.child_by_field_name("name")
            if last is not None:
                names.append(node_text(last))
        else:
            stack.extend(current.named_children)
    return names
