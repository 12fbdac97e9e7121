"""Generic parameters and their bounds, from the item, its `where` clause and enclosing impls."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from tree_sitter import Node

from unsound.engine.syntax import node_text

_GENERIC_OWNERS = frozenset(
    {
        "function_item",
        "function_signature_item",
        "impl_item",
        "struct_item",
        "enum_item",
        "union_item",
        "trait_item",
        "type_item",
    }
)


def parameter_name(node: Node) -> str | None:
    """`T` for a type parameter declaration (`T`, `T: Clone`, `T = u8`) or a type naming it."""
    if node.type in ("constrained_type_parameter", "optional_type_parameter"):
        left = node.child_by_field_name("left") or node.child_by_field_name("name")
        if left is None and node.named_child_count:
            left = node.named_children[0]
        return node_text(left) if left is not None else None
    if node.type == "type_parameter":
        name = node.child_by_field_name("name")
        return node_text(name if name is not None else node)
    if node.type == "type_identifier":
        return node_text(node)
    return None


def is_type_parameter(node: Node) -> bool:
    """A type parameter's declaration, or a type that names a parameter of an enclosing item."""
    if node.type in ("constrained_type_parameter", "optional_type_parameter", "type_parameter"):
        return True
    name = parameter_name(node)
    if name is None:
        return False
    if node.parent is not None and node.parent.type == "type_parameters":
        return True
    return any(name in _declared_names(owner) for owner in _owners(node))


def type_parameters_in_scope(node: Node) -> set[str]:
    """Names of the generic type parameters declared by the items around a node (the function,
    its impl, …): a type written with such a name is the parameter, never a crate type."""
    return {name for owner in _owners(node) for name in _declared_names(owner)}


def has_bound(
    node: Node,
    trait: str,
    supertraits: Callable[[str], list[str]] | None = None,
) -> bool:
    """Whether the type parameter named by `node` is bounded by `trait` anywhere in scope.

    `trait` matches a bound's last path segment (`Send` matches `core::marker::Send`), or the
    whole path when it contains `::`. `supertraits` follows the crate's own traits
    (`T: MyTrait` where `trait MyTrait: Send`).
    """
    name = parameter_name(node)
    if name is None:
        return False
    wanted = trait.strip()
    seen: set[str] = set()
    frontier = [bound for owner in _owners(node) for bound in _bounds_of(owner, name)]
    while frontier:
        bound = frontier.pop()
        if _same_trait(bound, wanted):
            return True
        base = bound.rsplit("::", 1)[-1].split("<", 1)[0].strip()
        if supertraits is not None and base not in seen:
            seen.add(base)
            frontier.extend(supertraits(base))
    return False


def bounds_of(node: Node) -> list[str]:
    """Every bound written for the type parameter named by `node`, in the generics and `where`
    clauses of its item and the enclosing items, as written (`core::marker::Send`, `View<'a>`)."""
    name = parameter_name(node)
    if name is None:
        return []
    return [bound for owner in _owners(node) for bound in _bounds_of(owner, name)]


def has_lifetime_bound(node: Node, lifetime: str) -> bool:
    """Whether the type parameter named by `node` is bounded by `lifetime` (`F: 'a`,
    `where F: Fn() + 'a`) in the item's generics, its `where` clause or an enclosing impl's."""
    name = parameter_name(node)
    if name is None:
        return False
    wanted = lifetime.strip()
    return any(
        wanted in _lifetime_names(bounds)
        for owner in _owners(node)
        for bounds in _bound_lists_of(owner, name)
    )


def _bound_lists_of(owner: Node, name: str) -> list[Node]:
    """The `trait_bounds` nodes written for `name` in the owner's generics and `where` clause."""
    return [
        bounds
        for declaring, bounded, bounds in written_bounds(owner)
        if bounded == name
        and declaring.type in ("constrained_type_parameter", "type_parameter", "where_predicate")
    ]


def written_bounds(owner: Node) -> Iterator[tuple[Node, str | None, Node]]:
    """(declaring node, bounded name, bounds) for every bound list of an item's generics
    (`<T: Send>`) and `where` clause (`where T: Send`)."""
    parameters = owner.child_by_field_name("type_parameters")
    if parameters is not None:
        for child in parameters.named_children:
            bounds = child.child_by_field_name("bounds")
            if bounds is not None:
                yield child, parameter_name(child), bounds
    for child in owner.children:
        if child.type != "where_clause":
            continue
        for predicate in child.named_children:
            left = predicate.child_by_field_name("left")
            bounds = predicate.child_by_field_name("bounds")
            if left is not None and bounds is not None:
                yield predicate, node_text(left), bounds


def _lifetime_names(bounds: Node) -> set[str]:
    return {node_text(child).strip() for child in bounds.named_children if child.type == "lifetime"}


def _same_trait(bound: str, wanted: str) -> bool:
    bound = bound.split("<", 1)[0].strip()
    if "::" in wanted:
        return bound == wanted or bound.endswith("::" + wanted.split("::", 1)[1])
    return bound.rsplit("::", 1)[-1] == wanted


def _owners(node: Node) -> list[Node]:
    owners = []
    current: Node | None = node
    while current is not None:
        if current.type in _GENERIC_OWNERS:
            owners.append(current)
        current = current.parent
    return owners


def _declared_names(owner: Node) -> set[str]:
    parameters = owner.child_by_field_name("type_parameters")
    if parameters is None:
        return set()
    return {
        name for child in parameters.named_children if (name := parameter_name(child)) is not None
    }


def _bounds_of(owner: Node, name: str) -> list[str]:
    """Bounds written for `name` in the owner's generics and `where` clause."""
    bounds: list[str] = []
    parameters = owner.child_by_field_name("type_parameters")
    if parameters is not None:
        for child in parameters.named_children:
            if (
                child.type in ("constrained_type_parameter", "type_parameter")
                and parameter_name(child) == name
            ):
                bounds.extend(_trait_names(child.child_by_field_name("bounds")))
    for child in owner.children:
        if child.type != "where_clause":
            continue
        for predicate in child.named_children:
            left = predicate.child_by_field_name("left")
            if left is not None and node_text(left) == name:
                bounds.extend(_trait_names(predicate.child_by_field_name("bounds")))
    return bounds


def _trait_names(bounds: Node | None) -> list[str]:
    if bounds is None:
        return []
    names = []
    for child in bounds.named_children:
        if child.type in ("type_identifier", "scoped_type_identifier", "generic_type"):
            names.append(node_text(child))
        elif child.type == "higher_ranked_trait_bound":
            inner = child.child_by_field_name("type")
            if inner is not None:
                names.append(node_text(inner))
        elif child.type == "function_type":
            # `F: FnMut(&T) -> U`: the closure trait, written with its sugar.
            trait = child.child_by_field_name("trait")
            if trait is not None:
                names.append(node_text(trait))
    return names


# Items whose lifetime parameters are their own: a lifetime inside one is not the function's.
_OTHER_ITEMS = frozenset(
    {"struct_item", "enum_item", "union_item", "type_item", "trait_item", "impl_item", "block"}
)


def is_unconstrained(lifetime: Node) -> bool:
    """A named lifetime declared by the enclosing function that no parameter's type (nor
    `self`, nor a `where` bound) mentions: the caller picks it, so nothing ties it to the data.
    """
    name = node_text(lifetime).strip()
    if name in ("'static", "'_") or not name.startswith("'"):
        return False
    function = lifetime.parent
    while function is not None and function.type not in (
        "function_item",
        "function_signature_item",
    ):
        if function.type in _OTHER_ITEMS:
            # Another item's lifetime (a struct's `'a`, bound for an elided `-> Data`) is that
            # item's parameter, never one the caller of this function picks.
            return False
        function = function.parent
    if function is None:
        return False
    parameters = function.child_by_field_name("type_parameters")
    declared = parameters is not None and any(
        child.type == "lifetime_parameter" and node_text(child).split(":")[0].strip() == name
        for child in parameters.named_children
    )
    if not declared:
        return False
    inputs = function.child_by_field_name("parameters")
    mentioned = inputs is not None and _mentions_lifetime(inputs, name)
    for child in function.children:
        if child.type == "where_clause" and _mentions_lifetime(child, name):
            mentioned = True
    if parameters is not None:
        for child in parameters.named_children:
            # `'b: 'a` ties `'a` to another lifetime the caller must also provide
            outlives = node_text(child).partition(":")[2]
            if child.type == "lifetime_parameter" and name in outlives:
                mentioned = True
            if child.type in ("constrained_type_parameter", "type_parameter") and name in node_text(
                child
            ):
                mentioned = True
    return not mentioned


def _mentions_lifetime(node: Node, name: str) -> bool:
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "lifetime" and node_text(current).strip() == name:
            return True
        stack.extend(current.children)
    return False
