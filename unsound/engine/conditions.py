"""Evaluation of a rule's `where` conditions on one match's bindings."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from unsound.dsl import ast
from unsound.dsl.compiler import CompiledRule
from unsound.engine.bindings import Bindings, Bound
from unsound.engine.comments import has_doc_section, has_safety_comment
from unsound.engine.crate_index import CrateIndex
from unsound.engine.dataflow import flows_into_node, flows_into_return
from unsound.engine.generics import has_bound, is_unconstrained
from unsound.engine.relations import relate
from unsound.engine.shapes import SHAPE_TESTS, lifetimes_in_type, type_names_in
from unsound.engine.syntax import declared_type, enclosing_function, enclosing_impl, type_base_name


@dataclass(frozen=True)
class MatchContext:
    """What conditions may consult beyond the bindings: the rule and the crate's items."""

    rule: CompiledRule
    crate: CrateIndex


def evaluate(condition: ast.Cond, bindings: Bindings, context: MatchContext) -> Bindings | None:
    """The bindings, extended with any `via`/lifetime names, if the condition holds; else None."""
    if isinstance(condition, ast.And):
        current: Bindings | None = bindings
        for part in condition.parts:
            current = evaluate(part, current, context) if current is not None else None
        return current
    if isinstance(condition, ast.Or):
        for part in condition.parts:
            result = evaluate(part, bindings, context)
            if result is not None:
                return result
        return None
    if isinstance(condition, ast.Not):
        return bindings if evaluate(condition.inner, bindings, context) is None else None
    if isinstance(condition, ast.Unconstrained):
        lifetime = bindings[condition.lifetime_var].node
        return bindings if lifetime is not None and is_unconstrained(lifetime) else None
    bound = bindings[condition.var]
    node = bound.node
    if node is None:
        return None
    if isinstance(condition, ast.IsShape):
        if condition.shape == "static-mut":
            return bindings if context.crate.is_static_mut(bound.text()) else None
        return bindings if SHAPE_TESTS[condition.shape](node) else None
    if isinstance(condition, ast.MatchesRegex):
        return _matches(condition, bound, bindings, context)
    if isinstance(condition, ast.HasLifetime):
        return _has_lifetime(condition, bound, node, bindings, context)
    if isinstance(condition, ast.FlowsInto):
        return _flows_into(condition, bound, node, bindings)
    if isinstance(condition, ast.Holds):
        return _holds(condition, bound, node, bindings, context)
    return _structural(condition, bound, node, bindings, context)


def _structural(
    condition: ast.Cond, bound: Bound, node: Node, bindings: Bindings, context: MatchContext
) -> Bindings | None:
    """Kinds, relations, bounds, docs, comments and impls."""
    if isinstance(condition, ast.HasKind):
        return bindings if node.type == condition.kind else None
    if isinstance(condition, ast.Relation):
        pattern = context.rule.relations[condition.pattern]
        return relate(condition.relation, pattern, node, bound.unit, bindings, condition.within)
    if isinstance(condition, ast.HasBound):
        found = has_bound(node, condition.trait, context.crate.supertraits)
        return bindings if found else None
    if isinstance(condition, ast.HasDocSection):
        return bindings if has_doc_section(node, condition.section) else None
    if isinstance(condition, ast.HasSafetyComment):
        return bindings if has_safety_comment(node, bound.unit) else None
    if isinstance(condition, ast.Implements):
        name = _type_name(node)
        found = name is not None and context.crate.implements(name, condition.trait)
        return bindings if found else None
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


def _matches(
    condition: ast.MatchesRegex, bound: Bound, bindings: Bindings, context: MatchContext
) -> Bindings | None:
    try:
        found = context.rule.regexes[condition.regex].search(
            bound.text(), timeout=REGEX_BUDGET_SECONDS
        )
    except TimeoutError:
        raise RuleBudgetExceeded(
            f"rule `{context.rule.id}` stopped: its regex {condition.regex!r} ran past "
            f"{REGEX_BUDGET_SECONDS:g} s (catastrophic backtracking?); fix the rule's regex"
        ) from None
    return bindings if found else None


def _has_lifetime(
    condition: ast.HasLifetime,
    bound: Bound,
    node: Node,
    bindings: Bindings,
    context: MatchContext,
) -> Bindings | None:
    lifetimes = lifetimes_in_type(node)
    if lifetimes:
        found = Bound(bound.unit, (lifetimes[0],))
    else:
        elided = _elided_lifetime(node, context)
        if elided is None:
            return None
        found = elided
    if condition.lifetime_var is None:
        return bindings
    return {**bindings, condition.lifetime_var: found}


def _elided_lifetime(node: Node, context: MatchContext) -> Bound | None:
    """A lifetime parameter of a crate type named without its lifetime (`-> Data` for
    `struct Data<'a>`, which `elided_lifetimes_in_paths` allows by default)."""
    for name in type_names_in(node):
        for definition in context.crate.definitions(name):
            parameters = definition.item.child_by_field_name("type_parameters")
            if parameters is None:
                continue
            for parameter in parameters.named_children:
                if parameter.type == "lifetime_parameter" and parameter.named_child_count:
                    return Bound(definition.unit, (parameter.named_children[0],))
    return None


def _flows_into(
    condition: ast.FlowsInto, bound: Bound, node: Node, bindings: Bindings
) -> Bindings | None:
    function = enclosing_function(node)
    if function is None or node.type != "identifier":
        return None
    if condition.target is None:
        sink = flows_into_return(node, function)
    else:
        target = bindings[condition.target]
        if target.unit is not bound.unit or target.node is None:
            return None
        sink = flows_into_node(node, function, target.node)
    if sink is None:
        return None
    if condition.via is None:
        return bindings
    return {**bindings, condition.via: Bound(bound.unit, (sink,))}


def _holds(
    condition: ast.Holds, bound: Bound, node: Node, bindings: Bindings, context: MatchContext
) -> Bindings | None:
    type_node = declared_type(node)
    name = type_base_name(type_node)
    if name == "Self":
        impl = enclosing_impl(node)
        self_type = impl.child_by_field_name("type") if impl is not None else None
        name = type_base_name(self_type) if self_type is not None else None
    if name is None:
        return None
    test = SHAPE_TESTS[condition.shape]
    for definition in context.crate.definitions(name):
        for field_node, field_type in definition.field_types():
            if test(field_type):
                if condition.via is None:
                    return bindings
                return {**bindings, condition.via: Bound(definition.unit, (field_node,))}
    return None
