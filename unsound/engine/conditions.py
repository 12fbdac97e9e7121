"""Evaluation of a rule's `where` conditions on one match's bindings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

from tree_sitter import Node

from unsound.dsl import ast
from unsound.dsl.compiler import CompiledRule
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
from unsound.engine.relations import relate
from unsound.engine.shapes import SHAPE_TESTS, is_phantom_data, lifetimes_in_type, type_names_in
from unsound.engine.syntax import (
    declared_type,
    enclosing_function,
    enclosing_impl,
    node_text,
    type_base_name,
)


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
    elif isinstance(condition, ast.FlowsInto):
        yield from _flows_into(condition, bound, node, bindings)
    elif isinstance(condition, ast.Holds):
        yield from _holds(condition, node, bindings, context)
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
    parts: tuple[ast.Cond, ...], bindings: Bindings, context: MatchContext
) -> Iterator[Bindings]:
    if not parts:
        yield bindings
        return
    for first in solutions(parts[0], bindings, context):
        yield from _conjunction(parts[1:], first, context)


def all_hold(
    conditions: tuple[ast.Cond, ...], bindings: Bindings, context: MatchContext
) -> Bindings | None:
    """The first bindings under which every condition holds, trying every way each can."""
    return next(_conjunction(conditions, bindings, context), None)


def _test(condition: ast.Cond, bound: Bound, node: Node, context: MatchContext) -> bool:
    """Conditions that bind nothing: shapes, regexes, kinds, bounds, docs, comments, impls."""
    if isinstance(condition, ast.IsShape):
        if condition.shape == "static-mut":
            return context.crate.is_static_mut(bound.text())
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
    if isinstance(condition, ast.Implements):
        name = _type_name(node)
        return name is not None and context.crate.implements(name, condition.trait)
    if isinstance(condition, ast.HasMarkerLifetime):
        return _has_marker_lifetime(node, bound, context)
    if isinstance(condition, ast.SafeMethodUsesUnsafe):
        return _safe_method_uses_unsafe(node, bound, context)
    raise AssertionError(f"unhandled condition {condition!r}")


def _type_name(node: Node) -> str | None:
    name = type_base_name(declared_type(node))
    if name == "Self":
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
) -> Iterator[Bindings]:
    lifetimes = [Bound(bound.unit, (lifetime,)) for lifetime in lifetimes_in_type(node)]
    if not lifetimes:
        elided = _elided_lifetime(node, bound, context)
        lifetimes = [elided] if elided is not None else []
    if condition.lifetime_var is None:
        if lifetimes:
            yield bindings
        return
    for found in lifetimes:
        yield {**bindings, condition.lifetime_var: found}


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
        candidates = resolve_visible(context.crate.definitions(name), bound.unit, node)
        lifetimes = [_first_lifetime_parameter(d) for d in candidates]
        if lifetimes and all(lifetime is not None for lifetime in lifetimes):
            return lifetimes[0]
    return None


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
    if function is None or node.type != "identifier":
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
    condition: ast.Holds, node: Node, bindings: Bindings, context: MatchContext
) -> Iterator[Bindings]:
    name = _type_name(node)
    if name is None:
        return
    wanted = condition.type_name
    test = SHAPE_TESTS[condition.shape] if wanted is None else partial(_mentions_type, wanted)
    for definition in context.crate.definitions(name):
        for field_node, field_type in definition.field_types():
            if not test(field_type):
                continue
            if condition.via is None:
                yield bindings
                return
            yield {**bindings, condition.via: Bound(definition.unit, (field_node,))}
